#pragma once
// AF_XDP's rings as user space sees them (Documentation/networking/af_xdp.rst): each ring is
// mmapped from the socket and is a power-of-two array of entries with a producer and a consumer
// index that run free (they wrap at 2^32, never at the ring's size). One side writes each index:
// user space produces to the fill and TX rings and consumes from the RX and completion rings.
// A producer writes its entries, then publishes the index with a release store; a consumer reads
// the index with an acquire load, then the entries, then releases them by storing its own index,
// again with release. The kernel does the same on its side (smp_load_acquire/smp_store_release
// in net/xdp/xsk_queue.h).
//
// XskReader, below the rings, is the receiving side of an XdpSocket: the RX ring, the fill ring
// and the one walk that hands received frames out and gives their UMEM frames back, for
// receive() and for the stream loop under frames().

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "../error.hpp"
#include "fd.hpp"
#include "format.hpp"
#include "hints.hpp"
#include "stream_loop.hpp"

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
    // Kernels before 5.4 have no flags word (xsk_offsets() gives offset 0 then).
    if (off.flags != 0) flags_ = reinterpret_cast<std::uint32_t*>(map_.get() + off.flags);
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
      flags_ = std::exchange(o.flags_, nullptr);
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

  /// Whether the kernel asks to be woken (XDP_RING_NEED_WAKEUP, set only on a socket bound with
  /// XDP_USE_NEED_WAKEUP) to see what was submitted: a driver that ran out of fill frames, a TX
  /// ring nothing sends by itself. The full fence orders our index store before the flag load
  /// (Dekker): else we could read a stale "no" while the kernel read our stale index.
  bool needs_wakeup() const noexcept {
    if (!flags_) return false;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return (std::atomic_ref<std::uint32_t>(*flags_).load(std::memory_order_relaxed) &
            XDP_RING_NEED_WAKEUP) != 0;
  }

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
  std::uint32_t* flags_ = nullptr; // XDP_RING_NEED_WAKEUP's word; none before 5.4
  // Our own side's index: the producer for fill and TX, the consumer for RX and completion.
  std::uint32_t local_ = 0;
};

/// The receiving side of an AF_XDP socket: hands out the frames of the RX ring in place, then
/// gives their UMEM frames back to the fill ring (and their descriptors to the kernel). A value
/// held by XdpSocket, which owns the socket and the UMEM it reads (and outlives it); the stream
/// loop (stream_loop.hpp) reads it through next() and waits on it through the members
/// StreamWaiter::wait uses. It never waits and never calls back up.
class XskReader {
public:
  XskReader() noexcept = default;
  /// Reads `rx` into `umem`, refilling `fill` (frames of `frame_size` bytes); `fd` is the
  /// socket's, to poll and to wake the kernel with. `what` names it in errors.
  XskReader(int fd, XskRing<std::uint64_t> fill, XskRing<xdp_desc> rx, const std::byte* umem,
            std::uint32_t frame_size, WaitTuning tuning, std::string what)
      : s_{.fill = std::move(fill),
           .rx = std::move(rx),
           .umem = umem,
           .fd = fd,
           .frame_size = frame_size,
           .tuning = tuning,
           .what = std::move(what)} {}
  // A move ends the loops of both sides first (move_reader, stream_loop.hpp).
  XskReader(XskReader&& o) noexcept { move_reader(*this, o); }
  XskReader& operator=(XskReader&& o) noexcept { return move_reader(*this, o); }
  XskReader(const XskReader&) = delete;
  XskReader& operator=(const XskReader&) = delete;
  ~XskReader() { end_loop(); }

  /// Frames received and not handed out yet.
  std::uint32_t ready() const noexcept { return s_.rx.ready() - s_.out; }

  /// receive()'s walk: `handle(frame)` on each ready frame, at most `max`, then their UMEM
  /// frames back to the fill ring (also when `handle` throws). Returns how many.
  template <class Handle>
  std::size_t receive(Handle& handle, std::size_t max) {
    if (s_.loop)
      throw Error(EBUSY, detail::format("receive from {}: a frames() loop is reading it", s_.what),
                  std::string(hint::one_loop_per_stream));
    const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(ready(), max));
    std::uint32_t done = 0;
    const OnExit give_back{[&] { recycle(done); }};
    while (done < n) std::invoke(handle, frame(done++)); // counted before: given back on a throw
    return n;
  }

  // --- for the stream loop and its waits (stream_loop.hpp) -----------------------------------

  LoopTether*& loop_slot() noexcept { return s_.loop; }
  const std::string& what() const noexcept { return s_.what; }
  int fd() const noexcept { return s_.fd; }
  const WaitTuning& tuning() const noexcept { return s_.tuning; }
  /// No bound: the kernel wakes a poll on the socket for every frame it puts in the RX ring.
  std::chrono::milliseconds wait_bound() const noexcept { return std::chrono::milliseconds(-1); }
  bool has_data() const noexcept { return s_.rx.ready() > 0; }
  // Nothing to publish before sleeping: a batch gives its frames back when it ends.
  void arm() const noexcept {}
  void disarm() const noexcept {}

  /// frames()'s step: the next frame of the batch into `run` (a batch: the frames ready when
  /// it began); when the batch is done, its frames go back to the fill ring and the batch ends.
  /// A frame handed out stays in the UMEM until its batch ends, after the loop moved past it.
  Next next(YieldRun& run) noexcept {
    if (s_.out == s_.batch) {
      if (s_.batch > 0) {
        recycle(std::exchange(s_.batch, 0));
        s_.out = 0;
        return Next::batch_end;
      }
      if ((s_.batch = s_.rx.ready()) == 0) return Next::dry;
    }
    s_.current = frame(s_.out++);
    run.first = &s_.current;
    run.remaining = 0;
    return Next::item;
  }

  /// Ends the loop's hold, if one runs: the frames it was handed go back to the fill ring, those
  /// of the batch it never reached stay in the RX ring, and the loop is cut off (LoopTether).
  void end_loop() noexcept {
    cut_loop(s_.loop);
    recycle(std::exchange(s_.out, 0));
    s_.batch = 0;
  }

private:
  template <class Reader>
  friend Reader& move_reader(Reader&, Reader&) noexcept;

  // The i-th frame not yet given back, in place in the UMEM.
  std::span<const std::byte> frame(std::uint32_t i) const noexcept {
    const xdp_desc& d = s_.rx.peek(i);
    return {s_.umem + d.addr, d.len};
  }

  // Gives the first `n` RX frames back: their UMEM frames to the fill ring, their descriptors
  // to the kernel. The fill ring has room: it is as large as the frames received into. A
  // kernel that ran out of fill frames and asked to be told (need-wakeup, zero-copy drivers) is
  // woken by a recvfrom, as libxdp does; otherwise no system call.
  void recycle(std::uint32_t n) noexcept {
    if (n == 0) return;
    for (std::uint32_t i = 0; i < n; ++i)
      s_.fill.slot(i) = s_.rx.peek(i).addr & ~std::uint64_t{s_.frame_size - 1};
    s_.fill.submit(n);
    s_.rx.release(n);
    if (s_.fill.needs_wakeup()) ::recvfrom(s_.fd, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
  }

  struct State {
    XskRing<std::uint64_t> fill;
    XskRing<xdp_desc> rx;
    const std::byte* umem = nullptr;
    int fd = -1;
    std::uint32_t frame_size = 0;
    WaitTuning tuning;
    std::string what;
    std::uint32_t batch = 0, out = 0;   // frames()'s batch, and how many of it were handed out
    std::span<const std::byte> current{}; // the frame handed out last
    LoopTether* loop = nullptr;         // the loop reading us, if one runs
  };
  State s_;
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
