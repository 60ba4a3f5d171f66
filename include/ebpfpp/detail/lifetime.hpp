#pragma once
// The liveness of an Object or Skeleton, shared with the views (Program, MapRef) it hands out.
// A view points into libbpf's bpf_object; once its owner closes that object, the pointer is
// freed memory. The view keeps a flag its owner clears on the way out, so it can tell, and
// answer as an empty view instead of reading what libbpf freed.

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace ebpfpp::detail {

/// A view's side: empty for a view made from a raw libbpf pointer (not tracked: the caller
/// answers for its lifetime), else its owner's flag.
class LifeWatch {
public:
  LifeWatch() noexcept = default;
  explicit LifeWatch(std::shared_ptr<const bool> alive) noexcept : alive_(std::move(alive)) {}
  /// Whether the owner is known to be gone.
  bool expired() const noexcept { return alive_ && !*alive_; }

private:
  std::shared_ptr<const bool> alive_;
};

/// What MapRef and Program are made of: a non-owning view of one libbpf `T` (bpf_map,
/// bpf_program) inside an Object or Skeleton, with its LifeWatch. It keeps the name (`name_of`,
/// e.g. bpf_map__name), so that the name outlives the object; every other answer goes through
/// get(), which is nullptr once the owner is gone, so that a view kept too long reads as empty.
template <class T, const char* (*name_of)(const T*)>
class WatchedView {
public:
  WatchedView() noexcept = default;
  /// A view of a skeleton's `skel->maps.x` or `skel->progs.x`: not tracked, valid while the
  /// skeleton is.
  explicit WatchedView(T* p) : WatchedView(p, {}) {}
  /// A view that knows when its Object or Skeleton is gone (what their map() and program()
  /// return).
  WatchedView(T* p, LifeWatch watch)
      : p_(p), name_(p ? name_of(p) : ""), watch_(std::move(watch)) {}

  /// "" for an empty view. It stays after the Object or Skeleton is gone.
  std::string_view name() const noexcept { return name_; }
  /// The libbpf object; nullptr for an empty view and once its Object or Skeleton is gone.
  T* get() const noexcept { return watch_.expired() ? nullptr : p_; }
  explicit operator bool() const noexcept { return get() != nullptr; }
  /// Whether the Object or Skeleton it came from is gone (false for an untracked view).
  bool expired() const noexcept { return watch_.expired(); }

private:
  T* p_ = nullptr;
  std::string name_;
  LifeWatch watch_;
};

/// An owner's side: the flag is set while the owner lives and cleared by end(). Move-only; a
/// moved-from Life tracks nothing.
class Life {
public:
  Life() noexcept = default;
  /// A live flag (allocates; throws std::bad_alloc).
  static Life start() {
    Life life;
    life.alive_ = std::make_shared<bool>(true);
    return life;
  }
  Life(Life&& other) noexcept : alive_(std::move(other.alive_)) {}
  Life& operator=(Life&& other) noexcept {
    if (this != &other) {
      end();
      alive_ = std::move(other.alive_);
    }
    return *this;
  }
  Life(const Life&) = delete;
  Life& operator=(const Life&) = delete;
  ~Life() { end(); }

  /// The owner is gone: every watch taken so far expires.
  void end() noexcept {
    if (alive_) *alive_ = false;
    alive_.reset();
  }
  /// The owner hands its object to someone else (release()): watches taken so far stay live for
  /// good, as views of a raw pointer do; this Life tracks nothing more.
  void forget() noexcept { alive_.reset(); }
  LifeWatch watch() const noexcept { return LifeWatch(alive_); }

private:
  std::shared_ptr<bool> alive_;
};

} // namespace ebpfpp::detail
