#pragma once
/// @file
/// Maps of sockets: SockMap (BPF_MAP_TYPE_SOCKMAP, kernel 4.14+), SockHash
/// (BPF_MAP_TYPE_SOCKHASH, 4.18+) and ReuseportSockArray (BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
/// 4.19+, for sk_reuseport programs: sk_reuseport.hpp).
///
///     #include <ebpfpp/sock_map_link.hpp>   // SockMapLink, for attach()
///     ebpfpp::SockMap<> socks(skel->maps.socks);
///     ebpfpp::SockMapLink verdict = socks.attach(skel.program("echo"),
///                                                ebpfpp::SockMapHook::stream_verdict);
///     socks.set(0, connected_fd);   // after the attach: see below
///
/// A socket is put in with its fd and read back as its cookie (SO_COOKIE). Programs attached to
/// the map run for the sockets put in it: sk_msg programs on each sendmsg (redirect, drop, count,
/// bpf_msg_redirect_map), sk_skb programs on the data received (bpf_sk_redirect_map); sk_lookup
/// (sk_lookup.hpp) and other programs pick sockets from it with bpf_map_lookup_elem.
///
/// The kernel gives a socket the map's programs when it is put in the map: attach the programs
/// first, then add the sockets. Detaching leaves the sockets already in the map with the
/// program; erase and add them again to drop it.
///
/// The attachment, SockMapLink, is in sock_map_link.hpp: a file that only fills and reads a
/// socket map does not compile links and programs.

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <bpf/bpf.h>

#include "detail/enum_table.hpp"
#include "detail/format.hpp"
#include "detail/map_ops.hpp"
#include "error.hpp"

namespace ebpfpp {

/// Which of a socket map's program slots a program goes to.
enum class SockMapHook {
  msg_verdict,    ///< BPF_SK_MSG_VERDICT: SEC("sk_msg"), on each sendmsg (4.17+)
  stream_parser,  ///< BPF_SK_SKB_STREAM_PARSER: SEC("sk_skb/stream_parser"), frames the stream
  stream_verdict, ///< BPF_SK_SKB_STREAM_VERDICT: SEC("sk_skb/stream_verdict"), per message
  skb_verdict,    ///< BPF_SK_SKB_VERDICT: SEC("sk_skb/verdict"), per skb, no parser (5.13+)
};

/// "msg_verdict", "stream_parser", ...
constexpr std::string_view to_string(SockMapHook h) noexcept {
  return detail::enum_name(h, {"msg_verdict", "stream_parser", "stream_verdict", "skb_verdict"});
}

class Program;     // program.hpp
class SockMapLink; // sock_map_link.hpp

/// How a SockMapLink attaches.
enum class SockMapAttach {
  automatic,   ///< a kernel link where the kernel has one for socket maps (6.10+), else prog_attach
  link,        ///< a kernel link (BPF_LINK_CREATE), 6.10+: pinnable, one per hook
  prog_attach, ///< BPF_PROG_ATTACH to the map, detached by BPF_PROG_DETACH (every kernel)
};

namespace detail {

/// What the socket maps share: sockets in by fd, out by key; program attachment.
template <class Self, MapData K, MapData V>
class SockMapOps : public MapBase<Self> {
  static_assert(sizeof(V) == 4 || sizeof(V) == 8,
                "a socket map value is a __u32 or a __u64 (the fd in, the cookie out)");

public:
  using MapBase<Self>::MapBase;

  /// Puts the socket open at `socket_fd` in the map at `key` (replacing any socket there with
  /// BPF_ANY; BPF_NOEXIST refuses then). The socket must be TCP (established or listening), UDP
  /// (5.7+), or unix/vsock (5.15+). The map holds the socket, not the fd: closing the fd later
  /// takes the socket out. Throws Error: an unfit socket (EOPNOTSUPP), a full map (E2BIG), no
  /// such slot in a SockMap (E2BIG), a key taken with BPF_NOEXIST (EEXIST).
  void set(const K& key, int socket_fd, std::uint64_t flags = BPF_ANY) {
    const auto action = [&] {
      return detail::format("put socket fd {} in socket map '{}'", socket_fd, this->name());
    };
    this->require_not_empty(action);
    V value = static_cast<V>(socket_fd);
    if (socket_fd < 0) throw Error(EBADF, action(), std::string(detail::hint::socket_fd));
    check(bpf_map_update_elem(this->fd(), &key, &value, flags), action, detail::Op::map_access);
  }

  /// Takes the socket at `key` out of the map; false when there was none. Throws Error on an
  /// empty view.
  bool erase(const K& key) {
    const auto action = [&] { return detail::format("erase from socket map '{}'", this->name()); };
    this->require_not_empty(action);
    if (bpf_map_delete_elem(this->fd(), &key) == 0) return true;
    if (errno == ENOENT) return false;
    // A sockmap answers EINVAL for an empty slot (and for one beyond its end).
    if constexpr (std::is_integral_v<K>) {
      if (errno == EINVAL && this->type() == BPF_MAP_TYPE_SOCKMAP &&
          static_cast<std::uint64_t>(key) < this->max_entries())
        return false;
    }
    fail(errno, action, detail::Op::map_access);
  }

  /// The cookie (SO_COOKIE) of the socket at `key`, or nullopt when there is none. Needs a
  /// 64-bit value (V of 8 bytes) and kernel 5.6+. Throws Error otherwise.
  std::optional<std::uint64_t> cookie(const K& key) const requires(sizeof(V) == 8) {
    const auto action = [&] { return detail::format("look up socket map '{}'", this->name()); };
    this->require_not_empty(action);
    std::uint64_t cookie = 0;
    if (!detail::found(bpf_map_lookup_elem(this->fd(), &key, &cookie), action)) return std::nullopt;
    return cookie;
  }

  /// Attaches an sk_msg or sk_skb program to this map (see SockMapLink, in sock_map_link.hpp,
  /// which the caller includes). Attach before adding sockets. Throws Error as SockMapLink does.
  template <class L = SockMapLink> // a template: SockMapLink need be complete only where called
  [[nodiscard]] L attach(const Program& prog, SockMapHook hook,
                         SockMapAttach how = SockMapAttach::automatic) const {
    return L(prog, this->fd(), this->name(), hook, how);
  }
};

} // namespace detail

/// A typed view of a socket map (BPF_MAP_TYPE_SOCKMAP, kernel 4.14+): an array of sockets by
/// slot (a __u32 key). V is the value's C++ type: std::uint64_t (default; the cookie can be read
/// back, 5.6+) or std::uint32_t. Throws like ArrayMap on a map that does not fit.
template <MapData V = std::uint64_t>
class SockMap : public detail::SockMapOps<SockMap<V>, std::uint32_t, V> {
public:
  using detail::SockMapOps<SockMap<V>, std::uint32_t, V>::SockMapOps;

  /// Creates a new BPF_MAP_TYPE_SOCKMAP of `size` slots. Throws Error.
  static SockMap create(std::uint32_t size, std::string_view name) {
    return SockMap(
        MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_SOCKMAP, name, sizeof(std::uint32_t),
                                               sizeof(V), size, 0),
                         std::string(name)),
        TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_SOCKMAP};
    return detail::key_value_spec<std::uint32_t, V>("SockMap", types, true);
  }
};

/// A typed view of a socket hash (BPF_MAP_TYPE_SOCKHASH, kernel 4.18+): sockets by a key of your
/// choosing (a 4-tuple, a connection id). V as in SockMap.
template <MapData K, MapData V = std::uint64_t>
class SockHash : public detail::SockMapOps<SockHash<K, V>, K, V> {
public:
  using detail::SockMapOps<SockHash<K, V>, K, V>::SockMapOps;

  /// Creates a new BPF_MAP_TYPE_SOCKHASH of up to `max_entries` sockets. Throws Error.
  static SockHash create(std::uint32_t max_entries, std::string_view name) {
    return SockHash(MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_SOCKHASH, name, sizeof(K),
                                                           sizeof(V), max_entries, 0),
                                     std::string(name)),
                    TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_SOCKHASH};
    return detail::key_value_spec<K, V>("SockHash", types);
  }
};

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

} // namespace ebpfpp
