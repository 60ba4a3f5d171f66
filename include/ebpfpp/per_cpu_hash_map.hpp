#pragma once
/// @file
/// PerCpuHashMap<K,V>: a typed per-CPU hash map (BPF_MAP_TYPE_PERCPU_HASH, kernel 4.6+, or
/// BPF_MAP_TYPE_LRU_PERCPU_HASH, 4.10+).

#include "detail/config.hpp"

#include "detail/map_ops.hpp"

namespace ebpfpp {

/// A typed view of a per-CPU hash map: each key has one V per possible CPU, which BPF programs
/// update without atomics. Values come back as PerCpuValues<V> (with sum()); update() takes one
/// V per CPU or one V for every CPU. Otherwise as Map<K,V>.
template <MapData K, MapData V>
class PerCpuHashMap : public detail::HashOps<PerCpuHashMap<K, V>, K, detail::PerCpuValue<V>> {
  using Base = detail::HashOps<PerCpuHashMap<K, V>, K, detail::PerCpuValue<V>>;

public:
  using Base::Base;

  using Base::update;
  /// Writes `value` on every CPU at `key`. Throws Error like update().
  void update(const K& key, const V& value, UpdateFlag flag = UpdateFlag::any) {
    Base::update(key, PerCpuValues<V>(std::vector<V>(detail::possible_cpus(), value)), flag);
  }

  /// Creates a new BPF_MAP_TYPE_PERCPU_HASH or BPF_MAP_TYPE_LRU_PERCPU_HASH. Throws Error.
  static PerCpuHashMap create(bpf_map_type type, std::uint32_t max_entries, std::string_view name,
                              std::uint32_t map_flags = 0) {
    return PerCpuHashMap(MapSource::adopt(detail::create_map_fd(type, name, sizeof(K), sizeof(V),
                                                                max_entries, map_flags),
                                          std::string(name)),
                         TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_PERCPU_HASH,
                                             BPF_MAP_TYPE_LRU_PERCPU_HASH};
    return detail::key_value_spec<K, V>("PerCpuHashMap", types);
  }
};

} // namespace ebpfpp
