#pragma once
/// @file
/// Typed views of BPF maps, one header per kind over one base (map_base.hpp):
///
/// | header                   | view                  | BPF_MAP_TYPE_*               | kernel |
/// |--------------------------|-----------------------|------------------------------|--------|
/// | hash_map.hpp             | Map<K,V>              | HASH, LRU_HASH               | 3.19   |
/// | per_cpu_hash_map.hpp     | PerCpuHashMap<K,V>    | PERCPU_HASH, LRU_PERCPU_HASH | 4.6    |
/// | per_cpu_hash_map.hpp     | LruPerCpuHashMap<K,V> | LRU_PERCPU_HASH              | 4.10   |
/// | array_map.hpp            | ArrayMap<V>           | ARRAY                        | 3.19   |
/// | per_cpu_array_map.hpp    | PerCpuArrayMap<V>     | PERCPU_ARRAY                 | 4.6    |
/// | mmap_array.hpp           | MmapArray<V>          | ARRAY with BPF_F_MMAPABLE    | 5.5    |
/// | queue_map.hpp            | QueueMap<V>           | QUEUE                        | 4.20   |
/// | queue_map.hpp            | StackMap<V>           | STACK                        | 4.20   |
/// | bloom_filter_map.hpp     | BloomFilterMap<V>     | BLOOM_FILTER                 | 5.16   |
/// | map_of_maps.hpp          | ArrayOfMaps<Inner>    | ARRAY_OF_MAPS                | 4.12   |
/// | map_of_maps.hpp          | HashOfMaps<K,Inner>   | HASH_OF_MAPS                 | 4.12   |
/// | local_storage_map.hpp    | TaskStorageMap<V>     | TASK_STORAGE (by pidfd)      | 5.11   |
/// | local_storage_map.hpp    | SocketStorageMap<V>   | SK_STORAGE (by socket fd)    | 5.2    |
/// | local_storage_map.hpp    | InodeStorageMap<V>    | INODE_STORAGE (by file fd)   | 5.10   |
/// | local_storage_map.hpp    | CgroupStorageMap<V>   | CGRP_STORAGE (by cgroup fd)  | 6.2    |
/// | stack_trace_map.hpp      | StackTraceMap<D>      | STACK_TRACE                  | 4.6    |
/// | prog_array.hpp           | ProgArray             | PROG_ARRAY                   | 4.2    |
/// | lpm_trie_map.hpp         | LpmTrieMap<Key,V>     | LPM_TRIE                     | 4.11   |
/// | dev_map.hpp              | DevMap<V>             | DEVMAP                       | 4.14   |
/// | dev_map.hpp              | DevMapHash<V>         | DEVMAP_HASH                  | 5.4    |
/// | cpu_map.hpp              | CpuMap<V>             | CPUMAP                       | 4.15   |
/// | xsk_map.hpp              | XskMap                | XSKMAP (AF_XDP sockets)      | 4.18   |
/// | sock_map.hpp             | SockMap<V>            | SOCKMAP (sockets by fd)      | 4.14   |
/// | sock_map.hpp             | SockHash<K,V>         | SOCKHASH (sockets by fd)     | 4.18   |
/// | sock_map.hpp             | ReuseportSockArray<V> | REUSEPORT_SOCKARRAY          | 4.19   |
///
/// A kind is one header: its operations (detail/map_ops.hpp) and its Kind, the view's name and map
/// types, from which spec() and create() follow (detail/map_kind.hpp); one include below; and its
/// row in detail/map_views.hpp, the one map-type-to-view list, from which the checks name the view
/// that fits a map and ebpfpp-skel types a generated skeleton's maps.
/// Event streams over maps are in ring_buffer.hpp and perf_buffer.hpp.

#include "detail/config.hpp"

#include "array_map.hpp"
#include "bloom_filter_map.hpp"
#include "cpu_map.hpp"
#include "detail/xsk_map_view.hpp" // XskMap; xsk_map.hpp adds XdpSocket, which no map needs
#include "dev_map.hpp"
#include "hash_map.hpp"
#include "local_storage_map.hpp"
#include "lpm_trie_map.hpp"
#include "map_base.hpp"
#include "map_of_maps.hpp"
#include "mmap_array.hpp"
#include "per_cpu_array_map.hpp"
#include "per_cpu_hash_map.hpp"
#include "prog_array.hpp"
#include "queue_map.hpp"
#include "sock_map.hpp"
#include "stack_trace_map.hpp"
