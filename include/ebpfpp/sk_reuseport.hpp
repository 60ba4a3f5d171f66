#pragma once
/// @file
/// sk_reuseport: a program that chooses which socket of a SO_REUSEPORT group gets each incoming
/// UDP datagram or TCP connection, from a ReuseportSockArray (BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
/// kernel 4.19+) of the group's sockets.
///
///     ebpfpp::ReuseportSockArray<> group(skel.maps.group);
///     for (std::uint32_t i = 0; i < n; ++i) group.set(i, socks[i]);  // bound, SO_REUSEPORT set
///     ebpfpp::SkReuseport pick(skel.progs.pick, socks[0]);           // for the whole group
///
/// The program (SEC("sk_reuseport")) calls bpf_sk_select_reuseport(ctx, &map, &index, 0) and
/// returns SK_PASS: the datagram goes to the socket at `index`; when it selects none, the
/// kernel picks by its own hash. SK_DROP drops the datagram or refuses the connection.
///
/// The program belongs to the group, not to the socket it was attached through: it goes when
/// the last socket of the group closes, or when SkReuseport is destroyed (SO_DETACH_REUSEPORT_BPF,
/// 5.3+; on older kernels it stays until then), if the socket it was attached through is still
/// open then.
///
/// ReuseportSockArray, a map kind, is in sock_map.hpp with the other maps of sockets (included
/// here).

#include "detail/config.hpp"

#include <sys/socket.h>

#include "detail/format.hpp"
#include "kernel.hpp"
#include "socket_filter.hpp"
#include "sock_map.hpp"

namespace ebpfpp {

/// An sk_reuseport program attached to the SO_REUSEPORT group of the socket open at
/// `socket_fd` (SO_ATTACH_REUSEPORT_EBPF). Kernel 4.19+. The socket must have SO_REUSEPORT set;
/// it may be bound already or not yet. Attaching replaces the group's program before, if any.
///
/// Throws Error: `socket_fd` is not an open socket (EBADF, ENOTSOCK), the socket has no
/// SO_REUSEPORT or the program is not an sk_reuseport program (EINVAL); FeatureError below 4.19.
class SkReuseport : public Link {
public:
  /// (A template over a parameter nobody gives, as SocketFilter's: see there.)
  template <class = void>
  [[nodiscard]] SkReuseport(const Program& prog, int socket_fd)
      : Link(detail::attach_to_socket(
            prog, socket_fd, SO_ATTACH_REUSEPORT_EBPF, SO_DETACH_REUSEPORT_BPF,
            detail::format("sk_reuseport on the group of socket fd {}", socket_fd),
            {kernel::Feature::sk_reuseport, {}, detail::Op::attach_socket})) {}
};

} // namespace ebpfpp
