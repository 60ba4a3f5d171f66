#pragma once
// AF_XDP's rings as user space sees them (Documentation/networking/af_xdp.rst): each ring is
// mmapped from the socket and is a power-of-two array of entries with a producer and a consumer
// index that run free (they wrap at 2^32, never at the ring's size). One side writes each index:
// user space produces to the fill and TX rings and consumes from the RX and completion rings.
// A producer writes its entries, then publishes the index with a release store; a consumer reads
// the index with an acquire load, then the entries, then releases them by storing its own index,
// again with release. The kernel does the same on its side (smp_load_acquire/smp_store_release
// in net/xdp/xsk_queue.h).

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "../error.hpp"
#include "fd.hpp"
#include "format.hpp"

namespace ebpfpp::detail {

/// Which index of a ring user space writes.
enum class XskSide { produce, consume };

/// One mmapped AF_XDP ring of `Entry` (std::uint64_t UMEM addresses for the fill and completion
/// rings, xdp_desc for RX and TX). Move-only; empty when default-constructed.
template <class Entry>
class XskRing {
public:
  XskRing() noexcept = default;

  /// Maps the ring (user space writing its `side`) of `size` entries that the socket `fd` has at page offset `pgoff`, laid out
  /// as `off` says (getsockopt XDP_MMAP_OFFSETS). Throws Error.
  XskRing(int fd, XskSide side, std::uint32_t size, const xdp_ring_offset& off, off_t pgoff,
          std::string_view what)
      : size_(size), mask_(size - 1) {
    const std::size_t len = off.desc + size * sizeof(Entry);
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
    if (p == MAP_FAILED)
      fail(
          errno, [&] { return detail::format("mmap the {} ring of an AF_XDP socket", what); },
          Op::xdp_socket);
    map_ = Mapping(p, len);
    producer_ = reinterpret_cast<std::uint32_t*>(map_.get() + off.producer);
    consumer_ = reinterpret_cast<std::uint32_t*>(map_.get() + off.consumer);
    entries_ = reinterpret_cast<Entry*>(map_.get() + off.desc);
    // Start from where the kernel's indexes are (0 on a new socket).
    local_ = load(side == XskSide::produce ? producer_ : consumer_);
  }

  XskRing(XskRing&& o) noexcept { *this = std::move(o); }
  XskRing& operator=(XskRing&& o) noexcept {
    if (this != &o) {
      map_ = std::move(o.map_);
      size_ = std::exchange(o.size_, 0);
      mask_ = std::exchange(o.mask_, 0);
      producer_ = std::exchange(o.producer_, nullptr);
      consumer_ = std::exchange(o.consumer_, nullptr);
      entries_ = std::exchange(o.entries_, nullptr);
      local_ = std::exchange(o.local_, 0);
    }
    return *this;
  }
  XskRing(const XskRing&) = delete;
  XskRing& operator=(const XskRing&) = delete;
  ~XskRing() = default;

  std::uint32_t size() const noexcept { return size_; }

  // --- a ring user space consumes (RX, completion) ---

  /// How many entries the kernel has produced that are not released yet (0 when empty).
  std::uint32_t ready() const noexcept { return producer_ ? load(producer_) - local_ : 0; }
  /// The i-th entry not yet released (i < ready()).
  const Entry& peek(std::uint32_t i) const noexcept { return entries_[(local_ + i) & mask_]; }
  /// Gives the first `n` entries back to the kernel.
  void release(std::uint32_t n) noexcept { store(consumer_, local_ += n); }

  // --- a ring user space produces to (fill, TX) ---

  /// How many entries may be written now (0 when empty).
  std::uint32_t free() const noexcept { return consumer_ ? size_ - (local_ - load(consumer_)) : 0; }
  /// The i-th entry after those submitted (i < free()).
  Entry& slot(std::uint32_t i) noexcept { return entries_[(local_ + i) & mask_]; }
  /// Publishes the first `n` written slots to the kernel.
  void submit(std::uint32_t n) noexcept { store(producer_, local_ += n); }

private:
  static std::uint32_t load(std::uint32_t* index) noexcept {
    return std::atomic_ref<std::uint32_t>(*index).load(std::memory_order_acquire);
  }
  static void store(std::uint32_t* index, std::uint32_t v) noexcept {
    std::atomic_ref<std::uint32_t>(*index).store(v, std::memory_order_release);
  }

  Mapping map_;
  std::uint32_t size_ = 0, mask_ = 0;
  std::uint32_t* producer_ = nullptr;
  std::uint32_t* consumer_ = nullptr;
  Entry* entries_ = nullptr;
  // Our own side's index: the producer for fill and TX, the consumer for RX and completion.
  std::uint32_t local_ = 0;
};

/// Where each ring's indexes and entries are in its mapping (getsockopt XDP_MMAP_OFFSETS).
/// Kernels before 5.4 give the older, shorter layout without the flags word: it is translated.
/// Throws Error.
template <class Action>
xdp_mmap_offsets xsk_offsets(int fd, const Action& action) {
  xdp_mmap_offsets off{};
  socklen_t len = sizeof off;
  if (::getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len) != 0)
    fail(errno, action, Op::xdp_socket);
  if (len == sizeof off) return off;
  struct V1 {
    std::uint64_t producer, consumer, desc;
  };
  V1 v1[4]; // rx, tx, fill, completion
  static_assert(sizeof v1 == sizeof(std::uint64_t) * 12);
  std::memcpy(v1, &off, sizeof v1);
  xdp_ring_offset* rings[4] = {&off.rx, &off.tx, &off.fr, &off.cr};
  for (int i = 0; i < 4; ++i) *rings[i] = {v1[i].producer, v1[i].consumer, v1[i].desc, 0};
  return off;
}

} // namespace ebpfpp::detail
