#pragma once
/// @file
/// Map<K,V>: a typed hash map (BPF_MAP_TYPE_HASH, kernel 3.19+) or LRU hash map
/// (BPF_MAP_TYPE_LRU_HASH, 4.10+).
///
///     ebpfpp::Map<std::uint32_t, std::uint64_t> counts(skel->maps.counts);
///     if (auto n = counts.lookup(uid)) fmt::print("{}\n", *n);
///     for (auto [uid, n] : counts) fmt::print("ID {}: {}\n", uid, n);
///
/// This file is also the pattern for a map kind: pick the operations (detail/map_ops.hpp) and
/// name the kind and its map types (detail/map_kind.hpp), from which spec() and create() follow.

#include "detail/config.hpp"

#include "detail/map_kind.hpp"

namespace ebpfpp {

/// A typed view of a hash map (BPF_MAP_TYPE_HASH) or an LRU hash map (BPF_MAP_TYPE_LRU_HASH,
/// which evicts the least recently used entry instead of failing when full). K and V must have
/// the BPF side's layout: construction checks the sizes and, with BTF, member by member the
/// offsets, kinds, sizes and integer signedness (see TypeCheck), and throws an Error naming the
/// map and the member that differs. Made from
/// any MapSource (see map_base.hpp); lookups return std::optional (nullopt only when the key is
/// absent: a closed fd or an fd that may not read throws); writes throw an Error naming the map
/// and the key.
///
/// Move-only; owns a duplicate of the map's fd, so it outlives the Object it came from. Thread
/// safety: every operation is one or a few syscalls on the fd, which the kernel serialises per
/// element; one Map may be used from several threads at once, except that moving or assigning it
/// must not race with other use.
template <MapData K, MapData V>
class Map
    : public detail::HashOps<Map<K, V>, K, detail::PlainValue<V>>,
      public detail::MapKind<Map<K, V>,
                             detail::Kind<"Map", BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH>, K, V> {
public:
  using detail::HashOps<Map<K, V>, K, detail::PlainValue<V>>::HashOps;
  // create(type, max_entries, name, map_flags): type is BPF_MAP_TYPE_HASH or
  // BPF_MAP_TYPE_LRU_HASH (detail::MapKind).
};

} // namespace ebpfpp
