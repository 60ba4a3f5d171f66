#pragma once
/// @file
/// PerCpuHashMap<K,V>: a typed per-CPU hash map (BPF_MAP_TYPE_PERCPU_HASH, kernel 4.6+, or
/// BPF_MAP_TYPE_LRU_PERCPU_HASH, 4.10+); LruPerCpuHashMap<K,V>, the same view of LRU maps only.

#include "detail/config.hpp"

#include "detail/map_kind.hpp"

namespace ebpfpp {

/// A typed view of a per-CPU hash map: each key has one V per possible CPU, which BPF programs
/// update without atomics. Values come back as PerCpuValues<V> (with sum()); update() takes one
/// V per CPU or one V for every CPU. Otherwise as Map<K,V>. `Kind` says which map types fit:
/// both by default, LRU ones only in LruPerCpuHashMap.
template <MapData K, MapData V,
          class Kind =
              detail::Kind<"PerCpuHashMap", BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH>>
class PerCpuHashMap : public detail::HashOps<PerCpuHashMap<K, V, Kind>, K, detail::PerCpuValue<V>>,
                      public detail::MapKind<PerCpuHashMap<K, V, Kind>, Kind, K, V> {
  using Base = detail::HashOps<PerCpuHashMap<K, V, Kind>, K, detail::PerCpuValue<V>>;

public:
  using Base::Base;

  using Base::update;
  /// Writes `value` on every CPU at `key`. Throws Error like update().
  void update(const K& key, const V& value, UpdateFlag flag = UpdateFlag::any) {
    Base::update(key, PerCpuValues<V>(std::vector<V>(detail::possible_cpus(), value)), flag);
  }
  // create(type, max_entries, name, map_flags) (detail::MapKind); LruPerCpuHashMap's is
  // create(max_entries, name, map_flags), where map_flags may hold BPF_F_NO_COMMON_LRU (one LRU
  // list per CPU).
};

/// PerCpuHashMap over LRU per-CPU hash maps only (BPF_MAP_TYPE_LRU_PERCPU_HASH, kernel 4.10+):
/// when full, an insert evicts the least recently used key instead of failing.
template <MapData K, MapData V>
using LruPerCpuHashMap =
    PerCpuHashMap<K, V, detail::Kind<"LruPerCpuHashMap", BPF_MAP_TYPE_LRU_PERCPU_HASH>>;

} // namespace ebpfpp
