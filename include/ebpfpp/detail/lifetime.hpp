#pragma once
// The liveness of an Object or Skeleton, shared with the views (Program, MapRef) it hands out.
// A view points into libbpf's bpf_object; once its owner closes that object, the pointer is
// freed memory. The view keeps a flag its owner clears on the way out, so it can tell, and
// answer as an empty view instead of reading what libbpf freed.

#include <string>
#include <string_view>
#include <utility>

namespace ebpfpp::detail {

/// The flag an owner and its views share, and how many hold it (the owner and each watch); the
/// last to let go frees it. Counted here with the compiler's atomic builtins rather than held in
/// a std::shared_ptr<bool>: make_shared and the two shared_ptr types (bool, const bool) were
/// 2 MB of instantiations in every file that includes object.hpp, for what is two pointers' work.
class LifeFlag {
public:
  /// A live flag, held once (allocates; throws std::bad_alloc).
  static LifeFlag* make() { return new LifeFlag; }
  /// One more holder; returns this.
  LifeFlag* hold() noexcept {
    __atomic_fetch_add(&holders_, 1, __ATOMIC_RELAXED);
    return this;
  }
  /// One holder fewer; the last frees the flag.
  void drop() noexcept {
    if (__atomic_sub_fetch(&holders_, 1, __ATOMIC_ACQ_REL) == 0) delete this;
  }

  bool alive = true; // cleared by the owner on its way out

private:
  LifeFlag() noexcept = default;
  long holders_ = 1;
};

/// A view's side: empty for a view made from a raw libbpf pointer (not tracked: the caller
/// answers for its lifetime), else a hold on its owner's flag. Copyable; empty after a move.
class LifeWatch {
public:
  LifeWatch() noexcept = default;
  /// Takes over one hold on `flag` (nullptr: tracks nothing).
  explicit LifeWatch(LifeFlag* flag) noexcept : flag_(flag) {}
  LifeWatch(const LifeWatch& other) noexcept : flag_(other.flag_ ? other.flag_->hold() : nullptr) {}
  LifeWatch(LifeWatch&& other) noexcept : flag_(std::exchange(other.flag_, nullptr)) {}
  LifeWatch& operator=(const LifeWatch& other) noexcept {
    if (this != &other) *this = LifeWatch(other);
    return *this;
  }
  LifeWatch& operator=(LifeWatch&& other) noexcept {
    if (this != &other) {
      if (flag_) flag_->drop();
      flag_ = std::exchange(other.flag_, nullptr);
    }
    return *this;
  }
  ~LifeWatch() {
    if (flag_) flag_->drop();
  }
  /// Whether the owner is known to be gone.
  bool expired() const noexcept { return flag_ && !flag_->alive; }

private:
  LifeFlag* flag_ = nullptr;
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
    life.flag_ = LifeFlag::make();
    return life;
  }
  Life(Life&& other) noexcept : flag_(std::exchange(other.flag_, nullptr)) {}
  Life& operator=(Life&& other) noexcept {
    if (this != &other) {
      end();
      flag_ = std::exchange(other.flag_, nullptr);
    }
    return *this;
  }
  Life(const Life&) = delete;
  Life& operator=(const Life&) = delete;
  ~Life() { end(); }

  /// The owner is gone: every watch taken so far expires.
  void end() noexcept {
    if (flag_) flag_->alive = false;
    forget();
  }
  /// The owner hands its object to someone else (release()): watches taken so far stay live for
  /// good, as views of a raw pointer do; this Life tracks nothing more.
  void forget() noexcept {
    if (flag_) std::exchange(flag_, nullptr)->drop();
  }
  LifeWatch watch() const noexcept { return LifeWatch(flag_ ? flag_->hold() : nullptr); }

private:
  LifeFlag* flag_ = nullptr;
};

} // namespace ebpfpp::detail
