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

#include "detail/config.hpp"

#include <cstdint>
#include <string_view>

#include <bpf/bpf.h>
#include <sys/socket.h>

#include "detail/format.hpp"
#include "kernel.hpp"
#include "socket_filter.hpp"
#include "sock_map.hpp"

namespace ebpfpp {

/// A typed view of a REUSEPORT_SOCKARRAY (kernel 4.19+): the sockets of one SO_REUSEPORT group
/// by index (a __u32 key), for bpf_sk_select_reuseport. V as in SockMap: std::uint64_t (the
/// default: the cookie can be read back) or std::uint32_t.
///
/// A socket is put in by its fd; it must be a UDP or TCP socket with SO_REUSEPORT set, bound
/// (a TCP one listening), and all sockets of one array in the same group. set() throws Error
/// otherwise: EINVAL for an unbound socket or one of another group, EOPNOTSUPP for an unfit
/// kind of socket. A socket leaves the array when it closes.
template <MapData V = std::uint64_t>
class ReuseportSockArray : public detail::SockMapOps<ReuseportSockArray<V>, std::uint32_t, V> {
  using Base = detail::SockMapOps<ReuseportSockArray<V>, std::uint32_t, V>;
  using Base::attach; // sk_msg/sk_skb hooks are SockMap's; the group's program is SkReuseport

public:
  using Base::Base;

  /// Creates a new REUSEPORT_SOCKARRAY of `size` slots. Throws Error.
  static ReuseportSockArray create(std::uint32_t size, std::string_view name) {
    return ReuseportSockArray(
        MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, name,
                                               sizeof(std::uint32_t), sizeof(V), size, 0),
                         std::string(name)),
        TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_REUSEPORT_SOCKARRAY};
    return detail::key_value_spec<std::uint32_t, V>("ReuseportSockArray", types, true);
  }
};

/// An sk_reuseport program attached to the SO_REUSEPORT group of the socket open at
/// `socket_fd` (SO_ATTACH_REUSEPORT_EBPF). Kernel 4.19+. The socket must have SO_REUSEPORT set;
/// it may be bound already or not yet. Attaching replaces the group's program before, if any.
///
/// Throws Error: `socket_fd` is not an open socket (EBADF, ENOTSOCK), the socket has no
/// SO_REUSEPORT or the program is not an sk_reuseport program (EINVAL); FeatureError below 4.19.
class SkReuseport : public Link {
public:
  [[nodiscard]] SkReuseport(const Program& prog, int socket_fd)
      : Link(detail::attach_to_socket(
            prog, socket_fd, SO_ATTACH_REUSEPORT_EBPF, SO_DETACH_REUSEPORT_BPF,
            detail::format("sk_reuseport on the group of socket fd {}", socket_fd),
            {kernel::Feature::sk_reuseport, {}, detail::Op::attach_socket})) {}
};

} // namespace ebpfpp
