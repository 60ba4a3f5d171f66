#pragma once
/// @file
/// ArrayOfMaps<Inner> and HashOfMaps<K, Inner>: maps whose values are maps
/// (BPF_MAP_TYPE_ARRAY_OF_MAPS / HASH_OF_MAPS, kernel 4.12+), typed by the view of their inner
/// maps. The double-buffer pattern: fill a fresh inner map, then swap it in with one set(),
/// which BPF programs see atomically (a lookup finds the old map or the new one, never a mix).
///
///     ebpfpp::ArrayOfMaps<ebpfpp::Map<u32, u64>> config(skel->maps.config);
///     auto next = config.create_inner("config_next");   // same type, sizes, flags as the slot's
///     next.update(1, 20);
///     config.set(0, next);                                // BPF programs now read `next`
///     if (auto current = config.get(0)) current->lookup(1);
///
/// Both have the operations of detail::MapOfMapsOps (detail/map_ops.hpp): set(key, inner) puts a
/// map in a slot (it must match the outer map's template, else an Error naming both maps);
/// inner_id(key) says which map is there, get(key) opens it as Inner (by id: CAP_SYS_ADMIN);
/// erase(key) empties the slot; create_inner(name) makes a map that fits, like one already in
/// the outer map (the kernel does not report an outer map's template).

#include "detail/config.hpp"

#include "detail/map_ops.hpp"

namespace ebpfpp {

/// A typed view of an array of maps (BPF_MAP_TYPE_ARRAY_OF_MAPS, kernel 4.12+): slots
/// 0..max_entries-1, each empty or holding a map seen through `Inner` (Map<K,V>, ArrayMap<V>,
/// ...). See the file comment for the double-buffer pattern.
template <class Inner>
class ArrayOfMaps : public detail::MapOfMapsOps<ArrayOfMaps<Inner>, std::uint32_t, Inner> {
public:
  using detail::MapOfMapsOps<ArrayOfMaps<Inner>, std::uint32_t, Inner>::MapOfMapsOps;

  /// Creates an array of `max_entries` slots for maps like `like` (the template). Throws Error.
  static ArrayOfMaps create(std::uint32_t max_entries, std::string_view name, const Inner& like) {
    return ArrayOfMaps(MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_ARRAY_OF_MAPS, name, 4,
                                                              4, max_entries, 0, 0, like.fd()),
                                        std::string(name)),
                       TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_ARRAY_OF_MAPS};
    return ArrayOfMaps::outer_spec("ArrayOfMaps", types, true);
  }
};

/// A typed view of a hash of maps (BPF_MAP_TYPE_HASH_OF_MAPS, kernel 4.12+): keys K, each
/// holding a map seen through `Inner`. See the file comment for the double-buffer pattern.
template <MapData K, class Inner>
class HashOfMaps : public detail::MapOfMapsOps<HashOfMaps<K, Inner>, K, Inner> {
public:
  using detail::MapOfMapsOps<HashOfMaps<K, Inner>, K, Inner>::MapOfMapsOps;

  /// Creates a hash of up to `max_entries` maps like `like` (the template). Throws Error.
  static HashOfMaps create(std::uint32_t max_entries, std::string_view name, const Inner& like) {
    return HashOfMaps(
        MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_HASH_OF_MAPS, name, sizeof(K), 4,
                                               max_entries, 0, 0, like.fd()),
                         std::string(name)),
        TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_HASH_OF_MAPS};
    return HashOfMaps::outer_spec("HashOfMaps", types, false);
  }
};

} // namespace ebpfpp
