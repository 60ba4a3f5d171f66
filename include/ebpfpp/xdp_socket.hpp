#pragma once
/// @file
/// XdpSocket: an AF_XDP socket (kernel 4.18+, CONFIG_XDP_SOCKETS) that receives the frames an
/// XDP program redirects to it through an XskMap, as bytes, without the rest of the stack.
///
///     ebpfpp::XdpSocket sock("veth0", 0);                 // the interface's RX queue 0
///     ebpfpp::XskMap(skel->maps.xsks).set(0, sock);       // bpf_redirect_map(&xsks, queue, ...)
///     ebpfpp::Xdp xdp(skel.program("to_xsk"), "veth0");
///     for (std::span<const std::byte> frame : sock.frames(ebpfpp::StreamOptions().stop_fd(sig)))
///       parse(frame);
///
/// A socket owns its UMEM (the frames the kernel writes packets into, in this process's memory)
/// and its four rings, mmapped from the socket: the fill ring hands empty frames to the kernel,
/// the RX ring brings back the filled ones, the TX and completion rings do the same for frames
/// sent. frames() and receive() show each received frame in place, then give its UMEM frame back
/// to the fill ring. It binds in copy mode by default (the kernel copies each frame into the
/// UMEM), which every driver has; veth, for one, has no zero-copy. And with need-wakeup (5.4+)
/// where the kernel has it: the kernel flags a ring when it wants a system call to see what was
/// put there, and the socket makes one only then (a zero-copy driver that sends by itself, or
/// one with frames to fill, costs none).
///
/// Our own code rather than libxdp's xsk API (Debian's libxdp-dev 1.3): AF_XDP is a socket, a
/// few setsockopts, four mmaps and a bind, about 200 lines here; libxdp would add a library to
/// link, its own loader of XDP programs (by default it loads and attaches a program of its own
/// for every socket, through its multi-program dispatcher, beside the one the user attaches with
/// Xdp), and a second layer over libbpf for what ebpfpp's typed maps already do.

#include "detail/config.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <linux/if_xdp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "detail/fd.hpp"
#include "detail/format.hpp"
#include "detail/hints.hpp"
#include "detail/unique_fd.hpp"
#include "detail/xsk_ring.hpp"
#include "error.hpp"
#include "generator.hpp"
#include "interface.hpp"
#include "kernel.hpp"
#include "stream.hpp"

namespace ebpfpp {

/// How an XdpSocket takes frames from its queue.
enum class XdpCopyMode {
  copy,      ///< the kernel copies each frame into the UMEM (XDP_COPY): every driver, veth too
  zero_copy, ///< the driver writes into the UMEM itself (XDP_ZEROCOPY): drivers that have it
  automatic, ///< zero-copy where the driver has it, else copy (the kernel's choice)
};

/// The sizes of an XdpSocket's UMEM and rings.
struct XdpSocketOptions {
  /// UMEM frames for receiving, and as many again for sending; also the size of each ring. A
  /// power of two.
  std::uint32_t frames = 256;
  /// Bytes per frame: a power of two from 2048 to the page size (the kernel's aligned mode).
  std::uint32_t frame_size = 2048;
  /// How the socket binds.
  XdpCopyMode mode = XdpCopyMode::copy;
  /// Bind with XDP_USE_NEED_WAKEUP where the kernel has it (5.4+; need_wakeup() says): system
  /// calls to wake the kernel only when it flags a ring. Off: one per send, as before 5.4.
  bool need_wakeup = true;
  /// How long frames() spins on the RX ring before it sleeps in poll (the streams' spin: see
  /// WaitOptions::spin). 0 never spins.
  std::chrono::microseconds spin = detail::WaitTuning{}.spin;
};

/// What the kernel counted for a socket (getsockopt XDP_STATISTICS; the last three 5.9+).
struct XdpSocketStats {
  std::uint64_t rx_dropped = 0;          ///< frames dropped for other reasons
  std::uint64_t rx_invalid_descs = 0;    ///< bad descriptors in the fill ring
  std::uint64_t tx_invalid_descs = 0;    ///< bad descriptors in the TX ring
  std::uint64_t rx_ring_full = 0;        ///< frames dropped because the RX ring was full
  std::uint64_t rx_fill_ring_empty = 0;  ///< times the fill ring had no frame to give
  std::uint64_t tx_ring_empty = 0;       ///< times the TX ring had nothing to send
};

/// An AF_XDP socket bound to one RX queue of an interface. Move-only; a moved-from socket is
/// empty (fd() is -1). Needs CAP_NET_RAW; kernel 4.18+ with CONFIG_XDP_SOCKETS.
///
/// Throws Error: no such interface (ENODEV); the queue is beyond the interface's queues
/// (EINVAL); another AF_XDP socket is bound to the queue (EBUSY); zero-copy that the driver
/// lacks (EOPNOTSUPP); sizes the kernel does not take (EINVAL, checked here first); missing
/// CAP_NET_RAW (EPERM). FeatureError where the kernel has no AF_XDP sockets.
class XdpSocket {
public:
  XdpSocket() noexcept = default;

  /// Binds to RX queue `queue` of `iface` (in the calling thread's network namespace).
  /// (A template over a parameter nobody gives: a file that includes this header and opens no
  /// socket compiles none of the setup: the rings' mappings, the reader, the stream waiter.)
  template <class = void>
  XdpSocket(const Interface& iface, std::uint32_t queue, XdpSocketOptions options = {}) {
    s_.ifindex = iface.index();
    s_.queue = queue;
    s_.frame_size = options.frame_size;
    s_.frames = options.frames;
    const auto action = [&] {
      return detail::format("bind an AF_XDP socket to queue {} of '{}' (ifindex {})", queue,
                            iface.name(), iface.index());
    };
    check_sizes(options, action);
    s_.fd = detail::UniqueFd(::socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (!s_.fd) {
      const int err = errno;
      if (err == EAFNOSUPPORT) kernel::require(kernel::Feature::af_xdp, action());
      detail::fail(err, action, detail::Op::xdp_socket);
    }
    // Twice `frames`: the first half is received into, the second sent from.
    const std::size_t len = std::size_t{2} * s_.frames * s_.frame_size;
    void* mem = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) detail::fail(errno, action, detail::Op::xdp_socket);
    s_.umem = detail::Mapping(mem, len);
    xdp_umem_reg reg{};
    reg.addr = reinterpret_cast<std::uintptr_t>(mem);
    reg.len = len;
    reg.chunk_size = s_.frame_size;
    set_option(XDP_UMEM_REG, reg, action);
    for (int ring : {XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING, XDP_TX_RING})
      set_option(ring, s_.frames, action);
    map_rings(options, action);
    s_.waiter = detail::StreamWaiter(what());

    sockaddr_xdp sa{};
    sa.sxdp_family = AF_XDP;
    sa.sxdp_ifindex = static_cast<std::uint32_t>(s_.ifindex);
    sa.sxdp_queue_id = queue;
    sa.sxdp_flags = options.mode == XdpCopyMode::copy        ? XDP_COPY
                    : options.mode == XdpCopyMode::zero_copy ? XDP_ZEROCOPY
                                                             : 0;
    if (s_.need_wakeup) sa.sxdp_flags |= XDP_USE_NEED_WAKEUP;
    if (::bind(s_.fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0)
      detail::fail(errno, action, detail::Op::bind_xdp_socket);
  }

  /// A move (or the destructor) gives back what a running frames() loop was handed and cuts
  /// that loop off (see frames()).
  XdpSocket(XdpSocket&&) noexcept = default;
  XdpSocket& operator=(XdpSocket&& other) noexcept {
    // The rings and the UMEM go before the socket (members are destroyed in reverse order).
    if (this != &other) {
      XdpSocket gone(std::move(*this));
      swap(other);
    }
    return *this;
  }
  XdpSocket(const XdpSocket&) = delete;
  XdpSocket& operator=(const XdpSocket&) = delete;
  ~XdpSocket() = default;

  /// The socket's fd (-1 when empty): for an XskMap, or for poll/epoll (POLLIN: frames ready).
  int fd() const noexcept { return s_.fd.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(s_.fd); }
  /// The interface's index and the queue bound to.
  int ifindex() const noexcept { return s_.ifindex; }
  std::uint32_t queue() const noexcept { return s_.queue; }

  /// Whether the socket is bound with need-wakeup (XdpSocketOptions::need_wakeup on a 5.4+
  /// kernel).
  bool need_wakeup() const noexcept { return s_.need_wakeup; }

  /// Frames received and not handed out yet.
  std::uint32_t ready() const noexcept { return s_.fd ? s_.rx.ready() : 0; }

  /// Waits up to `timeout` for a frame; true when one is ready. Throws Error when poll fails
  /// (not on EINTR: then false).
  bool wait(std::chrono::milliseconds timeout) const {
    if (ready() > 0) return true;
    if (!s_.fd) return false;
    pollfd p{s_.fd.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n < 0 && errno != EINTR)
      detail::fail(errno, [&] { return std::string("wait on an AF_XDP socket"); });
    return ready() > 0;
  }

  /// The received frames as they come: each in place in the UMEM, valid until the loop moves
  /// on to the next one; its UMEM frame goes back to the fill ring after that (at the latest
  /// when the frames ready together have all been handed out). Blocks (spin, then poll) while
  /// none is ready; ends on the options' timeout, stop token or stop fd, or request_stop().
  ///
  /// Lifetime: the generator reads through this socket; keep it alive and in place until the
  /// loop ends. If it is destroyed, moved from or assigned to first, the loop is cut off: its
  /// next step throws Error. One loop at a time (another, or receive(), meanwhile: Error EBUSY).
  ///
  /// (It and frames(timeout) are templates over a parameter nobody gives: a file that includes
  /// this header and reads no frames compiles none of the loop's coroutine.)
  template <class = void>
  Generator<std::span<const std::byte>> frames(StreamOptions options = {}) & {
    return detail::stream_loop<std::span<const std::byte>>(&s_.rx, s_.waiter, std::move(options));
  }
  /// frames() until `timeout` passes (or a stop request).
  template <class = void> // see frames(StreamOptions)
  Generator<std::span<const std::byte>> frames(std::chrono::milliseconds timeout) & {
    return frames(StreamOptions().timeout(timeout));
  }
  // The loop reads through the socket: on a temporary it would outlive it.
  Generator<std::span<const std::byte>> frames(StreamOptions = {}) && = delete;
  Generator<std::span<const std::byte>> frames(std::chrono::milliseconds) && = delete;

  /// Ends the running (or the next) frames() loop. Async-signal-safe, any thread.
  void request_stop() const noexcept { s_.waiter.request_stop(); }

  /// Calls `handle(std::span<const std::byte>)` on each received frame in order, at most `max`,
  /// then gives their UMEM frames back to the fill ring (also when `handle` throws): a frame's
  /// bytes are valid during its call only. Returns how many frames were handed out. Throws
  /// Error (EBUSY) while a frames() loop runs.
  template <class Handle>
  std::size_t receive(Handle&& handle,
                      std::size_t max = std::numeric_limits<std::size_t>::max()) {
    return s_.rx.receive(handle, max);
  }

  /// Sends one frame (an Ethernet frame, at most frame_size bytes) out of the interface's queue
  /// through the TX ring. False when every TX frame is still in flight (try again after the
  /// kernel completes some). Throws Error: a frame too large (EMSGSIZE), or the kernel refuses
  /// the send.
  bool send(std::span<const std::byte> frame) {
    const auto action = [&] {
      return detail::format("send a {}-byte frame on an AF_XDP socket (ifindex {}, queue {})",
                            frame.size(), s_.ifindex, s_.queue);
    };
    if (frame.size() > s_.frame_size)
      throw Error(EMSGSIZE, action(),
                  std::string(detail::hint::xdp_frame_too_large));
    reclaim_tx();
    if (s_.free_tx.empty() || s_.tx.free() == 0) return false;
    const std::uint64_t addr = s_.free_tx.back();
    s_.free_tx.pop_back();
    // What std::copy of bytes is, without instantiating it over span iterators in every file.
    std::memmove(s_.umem.get() + addr, frame.data(), frame.size());
    s_.tx.slot(0) = xdp_desc{addr, static_cast<std::uint32_t>(frame.size()), 0};
    s_.tx.submit(1);
    // The kernel sends what the TX ring holds when asked to, by a sendto: always in copy mode,
    // only when it flags the ring with need-wakeup.
    if ((!s_.need_wakeup || s_.tx.needs_wakeup()) &&
        ::sendto(s_.fd.get(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 && errno != EAGAIN &&
        errno != EBUSY && errno != ENOBUFS)
      detail::fail(errno, action, detail::Op::xdp_socket);
    reclaim_tx();
    return true;
  }

  /// Frames sent whose TX frames the kernel has not given back yet.
  std::uint32_t in_flight() {
    reclaim_tx();
    return s_.frames - static_cast<std::uint32_t>(s_.free_tx.size());
  }

  /// The kernel's counters for this socket. Throws Error.
  XdpSocketStats stats() const {
    xdp_statistics s{};
    socklen_t len = sizeof s;
    if (::getsockopt(s_.fd.get(), SOL_XDP, XDP_STATISTICS, &s, &len) != 0)
      detail::fail(
          errno, [] { return std::string("read an AF_XDP socket's statistics"); },
          detail::Op::xdp_socket);
    return {s.rx_dropped,   s.rx_invalid_descs,         s.tx_invalid_descs,
            s.rx_ring_full, s.rx_fill_ring_empty_descs, s.tx_ring_empty_descs};
  }

  /// Whether the driver writes into the UMEM itself (zero-copy), as the kernel says (5.3+;
  /// false where it cannot tell).
  bool zero_copy() const noexcept {
    xdp_options o{};
    socklen_t len = sizeof o;
    return s_.fd && ::getsockopt(s_.fd.get(), SOL_XDP, XDP_OPTIONS, &o, &len) == 0 &&
           (o.flags & XDP_OPTIONS_ZEROCOPY);
  }

  void swap(XdpSocket& o) noexcept { std::swap(s_, o.s_); }

private:
  template <class Action>
  static void check_sizes(const XdpSocketOptions& o, const Action& action) {
    const auto pow2 = [](std::uint32_t v) { return v != 0 && (v & (v - 1)) == 0; };
    const auto page = static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE));
    if (!pow2(o.frames) || o.frames > (1u << 16))
      throw Error(EINVAL, detail::format("{}: {} frames", action(), o.frames),
                  std::string(detail::hint::xdp_socket_frames));
    if (!pow2(o.frame_size) || o.frame_size < 2048 || o.frame_size > page)
      throw Error(EINVAL, detail::format("{}: frames of {} bytes", action(), o.frame_size),
                  detail::hint::xdp_frame_size(page));
  }

  template <class T, class Action>
  void set_option(int name, const T& value, const Action& action) {
    if (::setsockopt(s_.fd.get(), SOL_XDP, name, &value, sizeof value) != 0)
      detail::fail(errno, action, detail::Op::xdp_socket);
  }

  // Maps the four rings, hands every receive frame to the fill ring, and lists the TX frames.
  template <class Action>
  void map_rings(const XdpSocketOptions& options, const Action& action) {
    const xdp_mmap_offsets off = detail::xsk_offsets(s_.fd.get(), action);
    // The rings' flags word came with need-wakeup (5.4): without it, bind without the flag.
    s_.need_wakeup = options.need_wakeup && off.fr.flags != 0;
    using detail::XskSide;
    detail::XskRing<std::uint64_t> fill(s_.fd.get(), XskSide::produce, s_.frames, off.fr,
                                        XDP_UMEM_PGOFF_FILL_RING, "fill");
    s_.completion = {
        s_.fd.get(), XskSide::consume, s_.frames, off.cr, XDP_UMEM_PGOFF_COMPLETION_RING,
        "completion"};
    detail::XskRing<xdp_desc> rx(s_.fd.get(), XskSide::consume, s_.frames, off.rx,
                                 XDP_PGOFF_RX_RING, "RX");
    s_.tx = {s_.fd.get(), XskSide::produce, s_.frames, off.tx, XDP_PGOFF_TX_RING, "TX"};
    for (std::uint32_t i = 0; i < s_.frames; ++i) {
      fill.slot(i) = std::uint64_t{i} * s_.frame_size;
      s_.free_tx.push_back((std::uint64_t{s_.frames} + i) * s_.frame_size);
    }
    fill.submit(s_.frames);
    s_.rx = detail::XskReader(s_.fd.get(), std::move(fill), std::move(rx), s_.umem.get(),
                              s_.frame_size, {options.spin, {}}, what());
  }

  std::string what() const {
    return detail::format("AF_XDP socket (ifindex {}, queue {})", s_.ifindex, s_.queue);
  }

  // Takes back the TX frames the kernel has sent.
  void reclaim_tx() {
    const std::uint32_t n = s_.completion.ready();
    for (std::uint32_t i = 0; i < n; ++i) s_.free_tx.push_back(s_.completion.peek(i));
    s_.completion.release(n);
  }

  // The socket's state, one value: it moves and swaps whole. Declared first, destroyed last:
  // the socket outlives the mappings of its rings and UMEM. The receiving side (XskReader, with
  // its own two rings) after both: a loop cut off by its destruction gives back the frames it
  // was handed while the socket is still open.
  struct State {
    detail::UniqueFd fd;
    detail::Mapping umem;
    detail::StreamWaiter waiter;
    detail::XskRing<std::uint64_t> completion;
    detail::XskRing<xdp_desc> tx;
    detail::XskReader rx;
    std::vector<std::uint64_t> free_tx;
    int ifindex = 0;
    std::uint32_t queue = 0, frame_size = 0, frames = 0;
    bool need_wakeup = false;
  };
  State s_;
};

} // namespace ebpfpp
