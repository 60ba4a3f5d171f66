#pragma once
// The one list of which typed view fits which map type, and in which header it is. The library
// names the right view when a map is viewed through a wrong one (map_check.hpp's validate), and
// ebpfpp-skel (tools/ebpfpp_skel.cpp) writes each map of an object as the view of its row,
// including only the headers of the rows it uses. A new map kind is its header and one row here;
// neither the checks nor the generator change.
//
// A row's view is spelled with its parameters named, and the generator fills them in from the
// object's BTF: K the key type, V the value type, Key an LPM trie key (LpmKey<N> when BTF has
// the kernel's layout), Event a stream's record type (its EBPFPP_EVENT mark), Depth a stack
// trace's frames (value size / 8), Inner the view of a map of maps' inner map (its own row,
// from the `__array(values, struct inner)` definition).

#include "config.hpp"

#include <cstdint>
#include <string_view>

#include <linux/bpf.h>

#include "uapi.hpp"

namespace ebpfpp::detail {

/// What a generated skeleton does with a view besides naming it (a row's `use` bits).
namespace view_use {
inline constexpr unsigned plain = 0;
/// A key-value view: wrapped in SkeletonMap, so that a key of another type does not compile.
inline constexpr unsigned keyed = 1u << 0;
/// A stream made from its object and name (it finds its companion maps by name).
inline constexpr unsigned by_name = 1u << 1;
/// Without an EBPFPP_EVENT mark, an untyped MapRef (PerfBuffer reads records of one type only).
inline constexpr unsigned needs_event = 1u << 2;
} // namespace view_use

/// One map type's view.
struct MapViewRow {
  bpf_map_type type;
  std::uint32_t flags;     // map_flags a map must have for this row (earlier rows win)
  std::string_view view;   // "Map<K, V>" (the parameters: see the file comment)
  std::string_view header; // "hash_map.hpp", under <ebpfpp/>
  unsigned use;            // view_use bits
};

inline constexpr MapViewRow map_views[] = {
    {BPF_MAP_TYPE_HASH, 0, "Map<K, V>", "hash_map.hpp", view_use::keyed},
    {BPF_MAP_TYPE_LRU_HASH, 0, "Map<K, V>", "hash_map.hpp", view_use::keyed},
    {BPF_MAP_TYPE_ARRAY, BPF_F_MMAPABLE, "MmapArray<V>", "mmap_array.hpp", view_use::keyed},
    {BPF_MAP_TYPE_ARRAY, 0, "ArrayMap<V>", "array_map.hpp", view_use::keyed},
    {BPF_MAP_TYPE_PERCPU_ARRAY, 0, "PerCpuArrayMap<V>", "per_cpu_array_map.hpp", view_use::keyed},
    {BPF_MAP_TYPE_PERCPU_HASH, 0, "PerCpuHashMap<K, V>", "per_cpu_hash_map.hpp", view_use::keyed},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, 0, "LruPerCpuHashMap<K, V>", "per_cpu_hash_map.hpp",
     view_use::keyed},
    {BPF_MAP_TYPE_LPM_TRIE, 0, "LpmTrieMap<Key, V>", "lpm_trie_map.hpp", view_use::keyed},
    {BPF_MAP_TYPE_QUEUE, 0, "QueueMap<V>", "queue_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_STACK, 0, "StackMap<V>", "queue_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_BLOOM_FILTER, 0, "BloomFilterMap<V>", "bloom_filter_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_ARRAY_OF_MAPS, 0, "ArrayOfMaps<Inner>", "map_of_maps.hpp", view_use::plain},
    {BPF_MAP_TYPE_HASH_OF_MAPS, 0, "HashOfMaps<K, Inner>", "map_of_maps.hpp", view_use::plain},
    {BPF_MAP_TYPE_TASK_STORAGE, 0, "TaskStorageMap<V>", "local_storage_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_SK_STORAGE, 0, "SocketStorageMap<V>", "local_storage_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_INODE_STORAGE, 0, "InodeStorageMap<V>", "local_storage_map.hpp", view_use::plain},
    {static_cast<bpf_map_type>(uapi::map_type_cgrp_storage), 0, "CgroupStorageMap<V>",
     "local_storage_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_STACK_TRACE, 0, "StackTraceMap<Depth>", "stack_trace_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_PROG_ARRAY, 0, "ProgArray", "prog_array.hpp", view_use::plain},
    {BPF_MAP_TYPE_RINGBUF, 0, "RingBuffer<Event>", "ring_buffer.hpp", view_use::by_name},
    {static_cast<bpf_map_type>(uapi::map_type_user_ringbuf), 0, "UserRingBuffer<Event>",
     "user_ring_buffer.hpp", view_use::by_name},
    {BPF_MAP_TYPE_PERF_EVENT_ARRAY, 0, "PerfBuffer<Event>", "perf_buffer.hpp",
     view_use::needs_event},
    {BPF_MAP_TYPE_DEVMAP, 0, "DevMap<V>", "dev_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_DEVMAP_HASH, 0, "DevMapHash<V>", "dev_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_CPUMAP, 0, "CpuMap<V>", "cpu_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_XSKMAP, 0, "XskMap", "xsk_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_SOCKMAP, 0, "SockMap<V>", "sock_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_SOCKHASH, 0, "SockHash<K, V>", "sock_map.hpp", view_use::plain},
    {BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 0, "ReuseportSockArray<V>", "sock_map.hpp",
     view_use::plain},
};

/// The row of a map of type `type` with flags `map_flags`, or nullptr when ebpfpp has no typed
/// view of it (the map stays an untyped MapRef).
constexpr const MapViewRow* map_view_for(bpf_map_type type, std::uint32_t map_flags = 0) noexcept {
  for (const MapViewRow& row : map_views)
    if (row.type == type && (row.flags & ~map_flags) == 0) return &row;
  return nullptr;
}

} // namespace ebpfpp::detail
