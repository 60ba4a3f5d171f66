#pragma once
/// @file
/// ArrayMap<V>: a typed array map (BPF_MAP_TYPE_ARRAY, kernel 3.19+).

#include "detail/config.hpp"

#include "detail/map_kind.hpp"

namespace ebpfpp {

/// A typed view of an array map: size() values of type V at u32 indexes, all present from
/// creation (zeroed), none erasable. lookup() returns nullopt out of bounds; get() and set()
/// throw an Error naming the bound. Iteration yields (index, value). The BTF check accepts a
/// signed index type, since BPF code often declares the key as int.
template <MapData V>
class ArrayMap : public detail::ArrayOps<ArrayMap<V>, V, detail::PlainValue<V>>,
                 public detail::MapKind<ArrayMap<V>, detail::Kind<"ArrayMap", BPF_MAP_TYPE_ARRAY>,
                                        std::uint32_t, V, detail::KeyUse::index> {
public:
  using detail::ArrayOps<ArrayMap<V>, V, detail::PlainValue<V>>::ArrayOps;
  // create(size, name, map_flags): `size` zeroed elements (detail::MapKind).
};

} // namespace ebpfpp
