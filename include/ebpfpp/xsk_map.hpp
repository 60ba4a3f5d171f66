#pragma once
/// @file
/// XskMap: the AF_XDP sockets an XDP program redirects frames to with bpf_redirect_map
/// (BPF_MAP_TYPE_XSKMAP, kernel 4.18+, CONFIG_XDP_SOCKETS), usually by RX queue:
///
///     ebpfpp::XdpSocket sock("veth0", 0);
///     ebpfpp::XskMap xsks(skel->maps.xsks);
///     xsks.set(0, sock);   // bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS) finds it
///
/// A slot holds an AF_XDP socket, put in by its fd; a frame goes to the socket only when the
/// socket is bound to the interface and queue the frame came in on (else it is dropped). The map holds the socket, not the fd: the socket leaves
/// the map when it closes. User space cannot read a slot back (the kernel refuses, EOPNOTSUPP).

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include <bpf/bpf.h>

#include "detail/format.hpp"
#include "detail/map_kind.hpp"
#include "error.hpp"
#include "xdp_socket.hpp"

namespace ebpfpp {

/// A typed view of an XSKMAP (kernel 4.18+): AF_XDP sockets by slot (a __u32 key, usually the
/// RX queue). Throws like ArrayMap on a map that does not fit.
class XskMap : public detail::MapBase<XskMap>,
               public detail::MapKind<XskMap, detail::Kind<"XskMap", BPF_MAP_TYPE_XSKMAP>,
                                      std::uint32_t, std::uint32_t, detail::KeyUse::index> {
public:
  using detail::MapBase<XskMap>::MapBase;

  /// The number of slots (max_entries).
  std::uint32_t size() const noexcept { return this->info_.max_entries; }

  /// Puts `socket` at slot `index`, replacing any there. Throws Error: an empty (moved-from)
  /// socket (EBADF), an index >= size() (ERANGE), an empty view.
  void set(std::uint32_t index, const XdpSocket& socket) { set(index, socket.fd()); }

  /// Puts the AF_XDP socket open at `socket_fd` at slot `index`. Throws Error: an fd that is not
  /// an AF_XDP socket (EOPNOTSUPP for another socket, ENOTSOCK, EBADF), an index >= size()
  /// (ERANGE).
  void set(std::uint32_t index, int socket_fd) {
    const auto action = [&] {
      return detail::format("put socket fd {} at slot {} of XSK map '{}'", socket_fd, index,
                            this->name_);
    };
    this->require_not_empty(action);
    check_index(index, action);
    const std::uint32_t value = static_cast<std::uint32_t>(socket_fd);
    if (bpf_map_update_elem(this->fd_.get(), &index, &value, BPF_ANY) == 0) return;
    const int err = errno;
    // The map's own fd is the view's (checked above): these are about the socket.
    if (err == EBADF || err == ENOTSOCK || err == EOPNOTSUPP || socket_fd < 0)
      throw Error(err, action(), std::string(detail::hint::xsk_map_socket));
    detail::fail(err, action, detail::Op::map_access);
  }

  /// Empties slot `index` (the kernel does not say whether it held a socket). Throws Error: an
  /// index >= size() (ERANGE), an empty view.
  void erase(std::uint32_t index) {
    const auto action = [&] {
      return detail::format("erase slot {} of XSK map '{}'", index, this->name_);
    };
    this->require_not_empty(action);
    check_index(index, action);
    if (bpf_map_delete_elem(this->fd_.get(), &index) != 0)
      detail::fail(errno, action, detail::Op::map_access);
  }

  // create(max_entries, name, map_flags) (detail::MapKind).

private:
  template <class Action>
  void check_index(std::uint32_t index, const Action& action) const {
    if (index >= size())
      throw Error(ERANGE, detail::format("{}: out of bounds (max_entries {})", action(), size()),
                  size() == 0 ? std::string(detail::hint::no_elements)
                              : detail::format("valid slots are 0..{}", size() - 1));
  }
};

} // namespace ebpfpp
