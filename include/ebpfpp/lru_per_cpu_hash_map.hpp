#pragma once
/// @file
/// LruPerCpuHashMap<K,V>: a typed LRU per-CPU hash map (BPF_MAP_TYPE_LRU_PERCPU_HASH, 4.10+).

#include "detail/config.hpp"

#include "detail/map_ops.hpp"

namespace ebpfpp {

/// A typed view of an LRU per-CPU hash map (BPF_MAP_TYPE_LRU_PERCPU_HASH, kernel 4.10+): as
/// PerCpuHashMap<K,V> (one V per possible CPU per key, PerCpuValues<V> back), but when full an
/// insert evicts the least recently used key instead of failing. Only LRU maps fit this view;
/// PerCpuHashMap takes both kinds.
template <MapData K, MapData V>
class LruPerCpuHashMap : public detail::HashOps<LruPerCpuHashMap<K, V>, K, detail::PerCpuValue<V>> {
  using Base = detail::HashOps<LruPerCpuHashMap<K, V>, K, detail::PerCpuValue<V>>;

public:
  using Base::Base;

  using Base::update;
  /// Writes `value` on every CPU at `key`. Throws Error like update().
  void update(const K& key, const V& value, UpdateFlag flag = UpdateFlag::any) {
    Base::update(key, PerCpuValues<V>(std::vector<V>(detail::possible_cpus(), value)), flag);
  }

  /// Creates a new BPF_MAP_TYPE_LRU_PERCPU_HASH. `map_flags` may hold BPF_F_NO_COMMON_LRU (one
  /// LRU list per CPU). Throws Error.
  static LruPerCpuHashMap create(std::uint32_t max_entries, std::string_view name,
                                 std::uint32_t map_flags = 0) {
    return LruPerCpuHashMap(
        MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_LRU_PERCPU_HASH, name, sizeof(K),
                                               sizeof(V), max_entries, map_flags),
                         std::string(name)),
        TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_LRU_PERCPU_HASH};
    return detail::key_value_spec<K, V>("LruPerCpuHashMap", types);
  }
};

} // namespace ebpfpp
