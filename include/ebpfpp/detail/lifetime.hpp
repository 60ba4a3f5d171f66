#pragma once
// The liveness of an Object or Skeleton, shared with the views (Program, MapRef) it hands out.
// A view points into libbpf's bpf_object; once its owner closes that object, the pointer is
// freed memory. The view keeps a flag its owner clears on the way out, so it can tell, and
// answer as an empty view instead of reading what libbpf freed.

#include <memory>
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
