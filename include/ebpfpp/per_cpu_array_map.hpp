#pragma once
/// @file
/// PerCpuArrayMap<V>: a typed per-CPU array map (BPF_MAP_TYPE_PERCPU_ARRAY, kernel 4.6+).

#include "detail/config.hpp"

#include "detail/map_kind.hpp"

namespace ebpfpp {

/// A typed view of a per-CPU array map: as ArrayMap, with one V per possible CPU at each index
/// (PerCpuValues<V>, with sum()).
template <MapData V>
class PerCpuArrayMap
    : public detail::ArrayOps<PerCpuArrayMap<V>, V, detail::PerCpuValue<V>>,
      public detail::MapKind<PerCpuArrayMap<V>,
                             detail::Kind<"PerCpuArrayMap", BPF_MAP_TYPE_PERCPU_ARRAY>,
                             std::uint32_t, V, detail::KeyUse::index> {
  using Base = detail::ArrayOps<PerCpuArrayMap<V>, V, detail::PerCpuValue<V>>;

public:
  using Base::Base;

  using Base::set;
  /// Writes `value` on every CPU at `index`. Throws Error like set().
  void set(std::uint32_t index, const V& value, UpdateFlag flag = UpdateFlag::any) {
    Base::set(index, PerCpuValues<V>(std::vector<V>(detail::possible_cpus(), value)), flag);
  }

  // create(size, name, map_flags): `size` zeroed elements (detail::MapKind).
};

} // namespace ebpfpp
