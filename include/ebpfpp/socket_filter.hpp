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
#include "link.hpp"
#include "program.hpp"

namespace ebpfpp {

namespace detail {

/// The socket's cookie (SO_COOKIE, 4.12+): a number the kernel gives no other socket while this
/// one lives. nullopt when `fd` is not a socket.
inline std::optional<std::uint64_t> socket_cookie(int fd) noexcept {
  std::uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) return std::nullopt;
  return cookie;
}

/// Attaches `prog` to the socket open at `socket_fd` with setsockopt(SOL_SOCKET, `attach_opt`)
/// and returns the Link that undoes it with setsockopt(SOL_SOCKET, `detach_opt`), if the fd
/// still names that socket then. For the socket options that take a program fd: SO_ATTACH_BPF,
/// SO_ATTACH_REUSEPORT_EBPF.
inline Link attach_to_socket(const Program& prog, int socket_fd, int attach_opt, int detach_opt,
                             std::string description, AttachNeeds needs) {
  return attach_link(
      prog, std::move(description),
      [&]() -> std::function<void()> {
        const auto cookie = socket_cookie(socket_fd);
        if (!cookie) return nullptr; // errno: EBADF, ENOTSOCK
        const int prog_fd = prog.fd();
        if (::setsockopt(socket_fd, SOL_SOCKET, attach_opt, &prog_fd, sizeof prog_fd) != 0)
          return nullptr;
        return [socket_fd, detach_opt, cookie = *cookie]() noexcept {
          if (socket_cookie(socket_fd) != cookie) return;
          const int unused = 0;
          ::setsockopt(socket_fd, SOL_SOCKET, detach_opt, &unused, sizeof unused);
        };
      },
      std::move(needs));
}

} // namespace detail

/// A socket filter program attached to one socket (SO_ATTACH_BPF). Kernel 3.19+. Needs CAP_BPF
/// to load the program (an unprivileged process may load socket filters where
/// kernel.unprivileged_bpf_disabled is 0); the attach needs only the socket.
///
/// Throws Error: `socket_fd` is not an open socket (EBADF, ENOTSOCK), the program is not a
/// socket filter (EINVAL); FeatureError on a kernel without socket filters.
class SocketFilter : public Link {
public:
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
