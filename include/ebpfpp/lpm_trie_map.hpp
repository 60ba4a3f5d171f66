#pragma once
/// @file
/// LpmTrieMap<Key, V>: a longest-prefix-match trie (BPF_MAP_TYPE_LPM_TRIE, kernel 4.11+), keyed
/// by an address prefix: LpmKey<N> (N bytes of address), Ipv4Prefix, Ipv6Prefix.
///
///     ebpfpp::LpmTrieMap<ebpfpp::Ipv4Prefix, std::uint32_t> blocked(skel->maps.blocked);
///     blocked.update(ebpfpp::Ipv4Prefix::parse("10.0.0.0/8"), 1);
///     blocked.lookup(ebpfpp::Ipv4Prefix::parse("10.1.2.3"));   // the /8 entry: longest match
///
/// The BPF side declares the key as `struct { __u32 prefixlen; __u8 data[N]; }` (or
/// `struct bpf_lpm_trie_key` followed by the data) and the map with BPF_F_NO_PREALLOC, which
/// the kernel requires. A lookup with a full-length prefix returns the value of the longest
/// stored prefix that contains the address.

#include "detail/config.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <arpa/inet.h>

#include "detail/format.hpp"
#include "detail/map_kind.hpp"

namespace ebpfpp {

/// A prefix key of an LPM trie: `prefixlen` leading bits of `data` (network byte order).
template <std::size_t N>
struct LpmKey {
  /// How many leading bits of data count (0 to 8 * N).
  std::uint32_t prefixlen = 0;
  /// The address bytes, most significant first.
  std::array<std::uint8_t, N> data{};

  friend bool operator==(const LpmKey&, const LpmKey&) = default;

  /// Parses "10.0.0.0/8" (N == 4) or "fd00::/8" (N == 16); without "/len", the full length.
  /// Throws Error (EINVAL) naming the text when it is not such an address or the length is too
  /// long.
  static LpmKey parse(std::string_view cidr) requires(N == 4 || N == 16) {
    const auto bad = [&](std::string_view why) {
      return Error(EINVAL,
                   detail::format("parse the {} prefix '{}'", N == 4 ? "IPv4" : "IPv6", cidr),
                   std::string(why));
    };
    LpmKey key;
    const auto slash = cidr.find('/');
    const std::string addr(cidr.substr(0, slash));
    if (::inet_pton(N == 4 ? AF_INET : AF_INET6, addr.c_str(), key.data.data()) != 1)
      throw bad(N == 4 ? "write an IPv4 address, optionally with /len: 10.0.0.0/8"
                       : "write an IPv6 address, optionally with /len: fd00::/8");
    key.prefixlen = 8 * N;
    if (slash != std::string_view::npos) {
      const std::string len(cidr.substr(slash + 1));
      char* end = nullptr;
      const unsigned long n = std::strtoul(len.c_str(), &end, 10);
      if (len.empty() || *end != '\0' || n > 8 * N)
        throw bad(detail::format("the prefix length must be a number from 0 to {}", 8 * N));
      key.prefixlen = static_cast<std::uint32_t>(n);
    }
    return key;
  }

  /// "10.0.0.0/8" (N == 4, 16); hex bytes otherwise.
  std::string str() const {
    if constexpr (N == 4 || N == 16) {
      char buf[INET6_ADDRSTRLEN] = {};
      ::inet_ntop(N == 4 ? AF_INET : AF_INET6, data.data(), buf, sizeof buf);
      return detail::format("{}/{}", buf, prefixlen);
    } else {
      std::string s;
      for (auto b : data) s += detail::format("{:02x}", b);
      return detail::format("{}/{}", s, prefixlen);
    }
  }
};

/// An IPv4 prefix key: LpmKey<4>.
using Ipv4Prefix = LpmKey<4>;
/// An IPv6 prefix key: LpmKey<16>.
using Ipv6Prefix = LpmKey<16>;

/// A typed view of an LPM trie map (BPF_MAP_TYPE_LPM_TRIE, kernel 4.11+; iteration 4.16+).
/// Key is an LpmKey<N> (or any struct starting with a __u32 prefixlen); lookup() is a longest-
/// prefix match; update() and erase() work on exact prefixes. Throws like Map<K,V>.
template <MapData Key, MapData V>
class LpmTrieMap
    : public detail::HashOps<LpmTrieMap<Key, V>, Key, detail::PlainValue<V>>,
      public detail::MapKind<LpmTrieMap<Key, V>, detail::Kind<"LpmTrieMap", BPF_MAP_TYPE_LPM_TRIE>,
                             Key, V> {
  static_assert(sizeof(Key) > sizeof(std::uint32_t),
                "an LPM trie key is a __u32 prefixlen followed by the address bytes");

public:
  using detail::HashOps<LpmTrieMap<Key, V>, Key, detail::PlainValue<V>>::HashOps;

  /// Creates a new BPF_MAP_TYPE_LPM_TRIE of up to `max_entries` prefixes (BPF_F_NO_PREALLOC is
  /// added: the kernel requires it). Throws Error.
  static LpmTrieMap create(std::uint32_t max_entries, std::string_view name,
                           std::uint32_t map_flags = 0) {
    return LpmTrieMap::create_as(BPF_MAP_TYPE_LPM_TRIE, max_entries, name,
                                 map_flags | BPF_F_NO_PREALLOC);
  }
};

} // namespace ebpfpp
