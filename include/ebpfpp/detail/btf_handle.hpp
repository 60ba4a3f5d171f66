#pragma once
// The one owner of libbpf's struct btf, for every file that parses one: btf.hpp's Btf, the map
// check's map BTF (map_check.hpp), Freplace's look at its target and the freplace probe. BtfPtr
// owns one alone; SharedBtf shares one, as a module's Btf shares the kernel's it is split on.
//
// Plain classes, not std::unique_ptr<btf, Deleter> and std::shared_ptr<btf>: every distinct
// smart-pointer type cost each file that includes the umbrella 1-2 MB of GCC's memory (its
// templates are instantiated wherever an inline function names them), and there were four.

#include <atomic>
#include <utility>

#include <bpf/btf.h>

namespace ebpfpp::detail {

/// Owns one struct btf, freed by btf__free; move-only. Empty when made from null (libbpf's
/// constructors' NULL: wrap their results in btf_or_null first where they may return an error
/// pointer).
class BtfPtr {
public:
  BtfPtr() noexcept = default;
  explicit BtfPtr(btf* b) noexcept : b_(b) {}
  BtfPtr(BtfPtr&& other) noexcept : b_(other.b_) { other.b_ = nullptr; }
  BtfPtr& operator=(BtfPtr&& other) noexcept {
    btf* const mine = b_;
    b_ = other.b_;
    other.b_ = mine; // freed with `other`
    return *this;
  }
  BtfPtr(const BtfPtr&) = delete;
  BtfPtr& operator=(const BtfPtr&) = delete;
  ~BtfPtr() { btf__free(b_); } // btf__free(NULL) does nothing

  btf* get() const noexcept { return b_; }
  explicit operator bool() const noexcept { return b_ != nullptr; }

private:
  btf* b_ = nullptr;
};

/// Shares one struct btf: the last SharedBtf of it frees it. Copies may be made and dropped from
/// any thread (the count is atomic), as std::shared_ptr's.
class SharedBtf {
public:
  SharedBtf() noexcept = default;
  /// Shares `b` (freed by `b` itself when the count cannot be allocated).
  explicit SharedBtf(BtfPtr b) : shared_(b ? new Shared{std::move(b), {1}} : nullptr) {}
  SharedBtf(const SharedBtf& other) noexcept : shared_(other.shared_) {
    if (shared_) shared_->count.fetch_add(1, std::memory_order_relaxed);
  }
  SharedBtf(SharedBtf&& other) noexcept : shared_(other.shared_) { other.shared_ = nullptr; }
  SharedBtf& operator=(SharedBtf other) noexcept { // a copy or a move, then a swap
    Shared* const mine = shared_;
    shared_ = other.shared_;
    other.shared_ = mine; // released with `other`
    return *this;
  }
  ~SharedBtf() {
    if (shared_ && shared_->count.fetch_sub(1, std::memory_order_acq_rel) == 1) delete shared_;
  }

  btf* get() const noexcept { return shared_ ? shared_->b.get() : nullptr; }
  explicit operator bool() const noexcept { return shared_ != nullptr; }

private:
  struct Shared {
    BtfPtr b;
    std::atomic<unsigned> count;
  };
  Shared* shared_ = nullptr;
};

} // namespace ebpfpp::detail
