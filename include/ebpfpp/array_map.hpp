#pragma once
/// @file
/// ArrayMap<V>: a typed array map (BPF_MAP_TYPE_ARRAY, kernel 3.19+).

#include "detail/config.hpp"

#include "detail/map_ops.hpp"

namespace ebpfpp {

/// A typed view of an array map: size() values of type V at u32 indexes, all present from
/// creation (zeroed), none erasable. lookup() returns nullopt out of bounds; get() and set()
/// throw an Error naming the bound. Iteration yields (index, value). The BTF check accepts a
/// signed index type, since BPF code often declares the key as int.
template <MapData V>
class ArrayMap : public detail::ArrayOps<ArrayMap<V>, V, detail::PlainValue<V>> {
public:
  using detail::ArrayOps<ArrayMap<V>, V, detail::PlainValue<V>>::ArrayOps;

  /// Creates a new BPF_MAP_TYPE_ARRAY of `size` zeroed elements. Throws Error.
  static ArrayMap create(std::uint32_t size, std::string_view name, std::uint32_t map_flags = 0) {
    return ArrayMap(
        MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_ARRAY, name, sizeof(std::uint32_t),
                                               sizeof(V), size, map_flags),
                         std::string(name)),
        TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_ARRAY};
    return detail::key_value_spec<std::uint32_t, V>("ArrayMap", types, true);
  }
};

} // namespace ebpfpp
