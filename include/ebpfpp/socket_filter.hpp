#pragma once
/// @file
/// SocketFilter: a socket filter program (SEC("socket"), BPF_PROG_TYPE_SOCKET_FILTER) attached
/// to one socket with SO_ATTACH_BPF, detached (SO_DETACH_BPF) when the handle is destroyed.
///
///     ebpfpp::SocketFilter filter(skel.progs.drop_x, udp_fd);   // every datagram passes it
///
/// The kernel runs the program for each packet queued to the socket, before the socket sees it:
/// it returns how many bytes to keep (0 drops the packet, skb->len keeps it whole). It sees a
/// UDP or TCP socket's packets from their transport header on, a packet socket's from the link
/// layer header on. Any socket can have one (UDP, TCP, raw, packet, unix); a socket has one
/// filter at a time, and attaching replaces the one before.
///
/// The attachment is not a kernel link: it lives as long as the socket, and the handle holds
/// no reference to the socket (it does not keep a port bound). Destroying the handle detaches
/// the filter from the socket when the fd still names the same socket (checked by its SO_COOKIE):
/// a socket closed meanwhile took its filter with it, and the fd's number may name another now.

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <sys/socket.h>

#include "detail/format.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// A socket filter program attached to one socket (SO_ATTACH_BPF). Kernel 3.19+. Needs CAP_BPF
/// to load the program (an unprivileged process may load socket filters where
/// kernel.unprivileged_bpf_disabled is 0); the attach needs only the socket.
///
/// Throws Error: `socket_fd` is not an open socket (EBADF, ENOTSOCK), the program is not a
/// socket filter (EINVAL); FeatureError on a kernel without socket filters.
class SocketFilter : public Link {
public:
  /// (A template over a parameter nobody gives: a file that includes this header and attaches
  /// no filter compiles none of attach_to_socket, nor the detach it keeps in a std::function.)
  template <class = void>
  [[nodiscard]] SocketFilter(const Program& prog, int socket_fd)
      : Link(detail::attach_to_socket(
            prog, socket_fd, SO_ATTACH_BPF, SO_DETACH_BPF,
            detail::format("socket filter on socket fd {}", socket_fd),
            {kernel::Feature::socket_filter, {}, detail::Op::attach_socket})),
        socket_fd_(socket_fd) {}

  /// The socket's fd, as given.
  int socket_fd() const noexcept { return socket_fd_; }

private:
  int socket_fd_;
};

} // namespace ebpfpp
