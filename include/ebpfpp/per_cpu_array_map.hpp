#pragma once
/// @file
/// PerCpuArrayMap<V>: a typed per-CPU array map (BPF_MAP_TYPE_PERCPU_ARRAY, kernel 4.6+).

#include "detail/config.hpp"

#include "detail/map_ops.hpp"

namespace ebpfpp {

/// A typed view of a per-CPU array map: as ArrayMap, with one V per possible CPU at each index
/// (PerCpuValues<V>, with sum()).
template <MapData V>
class PerCpuArrayMap : public detail::ArrayOps<PerCpuArrayMap<V>, V, detail::PerCpuValue<V>> {
  using Base = detail::ArrayOps<PerCpuArrayMap<V>, V, detail::PerCpuValue<V>>;

public:
  using Base::Base;

  using Base::set;
  /// Writes `value` on every CPU at `index`. Throws Error like set().
  void set(std::uint32_t index, const V& value, UpdateFlag flag = UpdateFlag::any) {
    Base::set(index, PerCpuValues<V>(std::vector<V>(detail::possible_cpus(), value)), flag);
  }

  /// Creates a new BPF_MAP_TYPE_PERCPU_ARRAY of `size` zeroed elements. Throws Error.
  static PerCpuArrayMap create(std::uint32_t size, std::string_view name,
                               std::uint32_t map_flags = 0) {
    return PerCpuArrayMap(
        MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_PERCPU_ARRAY, name,
                                               sizeof(std::uint32_t), sizeof(V), size, map_flags),
                         std::string(name)),
        TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_PERCPU_ARRAY};
    return detail::key_value_spec<std::uint32_t, V>("PerCpuArrayMap", types, true);
  }
};

} // namespace ebpfpp
