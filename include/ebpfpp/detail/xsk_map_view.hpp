#pragma once
// XskMap, the view of an XSKMAP (documented in xsk_map.hpp, which users include), without the
// AF_XDP socket it holds: map.hpp includes this, so that a file using other map kinds does not
// compile XdpSocket (xdp_socket.hpp: 204 MB of GCC memory for map.hpp -> 219 without it, 240
// with). set(index, socket) takes an XdpSocket where one is given, complete there.

#include "config.hpp"

#include <cerrno>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include <bpf/bpf.h>

#include "../error.hpp"
#include "format.hpp"
#include "map_kind.hpp"

namespace ebpfpp {

class XdpSocket; // xdp_socket.hpp

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
  template <std::same_as<XdpSocket> Socket> // a template: XdpSocket is complete where one is given
  void set(std::uint32_t index, const Socket& socket) {
    set(index, socket.fd());
  }

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
