#pragma once
/// @file
/// DevMap and DevMapHash: the interfaces an XDP program redirects to with bpf_redirect_map
/// (BPF_MAP_TYPE_DEVMAP, kernel 4.14+; BPF_MAP_TYPE_DEVMAP_HASH, 5.4+).
///
///     ebpfpp::DevMap<> ports(skel->maps.tx_ports);
///     ports.set(0, ebpfpp::Interface("veth1").index());
///
/// The value is the target's ifindex (a __u32), or, from 5.8, a DevMapValue that also names an
/// XDP program to run on the target (BPF_XDP_DEVMAP programs).

#include "detail/config.hpp"

#include <cstdint>
#include <string_view>

#include "detail/map_kind.hpp"

namespace ebpfpp {

/// The long form of a devmap value (struct bpf_devmap_val, 5.8+): the target interface and an
/// XDP program (SEC("xdp/devmap")) to run on frames redirected there.
struct DevMapValue {
  std::uint32_t ifindex = 0;
  /// The program's fd when writing (-1 or 0: none); its id when reading.
  std::int32_t prog = 0;
};

/// A typed view of a devmap (BPF_MAP_TYPE_DEVMAP, kernel 4.14+): an array of target interfaces,
/// by slot. V is std::uint32_t (the ifindex) or DevMapValue. Writing an ifindex that does not
/// exist in the caller's network namespace throws Error (the kernel says EINVAL). Throws like
/// ArrayMap.
template <MapData V = std::uint32_t>
class DevMap
    : public detail::RedirectArray<DevMap<V>, V, detail::Kind<"DevMap", BPF_MAP_TYPE_DEVMAP>> {
public:
  using DevMap::RedirectArray::RedirectArray;

  // create(size, name, map_flags) (detail::MapKind).
};

/// A typed view of a hashed devmap (BPF_MAP_TYPE_DEVMAP_HASH, kernel 5.4+): targets keyed by any
/// __u32 you choose (usually the ifindex itself), for sparse sets. V as in DevMap.
template <MapData V = std::uint32_t>
class DevMapHash
    : public detail::HashOps<DevMapHash<V>, std::uint32_t, detail::PlainValue<V>>,
      public detail::MapKind<DevMapHash<V>, detail::Kind<"DevMapHash", BPF_MAP_TYPE_DEVMAP_HASH>,
                             std::uint32_t, V> {
  static_assert(sizeof(V) == 4 || sizeof(V) == 8, "a devmap value is a __u32 or a DevMapValue");

public:
  using detail::HashOps<DevMapHash<V>, std::uint32_t, detail::PlainValue<V>>::HashOps;

  // create(max_entries, name, map_flags) (detail::MapKind).
};

} // namespace ebpfpp
