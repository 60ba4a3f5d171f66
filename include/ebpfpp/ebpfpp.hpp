#pragma once
/// @file
/// ebpfpp: a header-only C++20 library over libbpf. This umbrella includes every header (but the
/// opt-in format.hpp); include the single ones to compile less.

#include "detail/config.hpp"

#include "array_map.hpp"            // IWYU pragma: export
#include "attached.hpp"             // IWYU pragma: export
#include "bloom_filter_map.hpp"     // IWYU pragma: export
#include "bpf_stream.hpp"           // IWYU pragma: export
#include "btf.hpp"                  // IWYU pragma: export
#include "btf_tracing.hpp"          // IWYU pragma: export
#include "cgroup.hpp"               // IWYU pragma: export
#include "cpu_map.hpp"              // IWYU pragma: export
#include "dev_map.hpp"              // IWYU pragma: export
#include "error.hpp"                // IWYU pragma: export
#include "event_loop.hpp"           // IWYU pragma: export
#include "generator.hpp"            // IWYU pragma: export
#include "globals.hpp"              // IWYU pragma: export
#include "hash_map.hpp"             // IWYU pragma: export
#include "interface.hpp"            // IWYU pragma: export
#include "iterator.hpp"             // IWYU pragma: export
#include "kernel.hpp"               // IWYU pragma: export
#include "kernel_version.hpp"       // IWYU pragma: export
#include "link.hpp"                 // IWYU pragma: export
#include "link_info.hpp"            // IWYU pragma: export
#include "local_storage_map.hpp"    // IWYU pragma: export
#include "log.hpp"                  // IWYU pragma: export
#include "lpm_trie_map.hpp"         // IWYU pragma: export
#include "lru_per_cpu_hash_map.hpp" // IWYU pragma: export
#include "map.hpp"                  // IWYU pragma: export
#include "map_base.hpp"             // IWYU pragma: export
#include "map_data.hpp"             // IWYU pragma: export
#include "map_info.hpp"             // IWYU pragma: export
#include "map_of_maps.hpp"          // IWYU pragma: export
#include "mmap_array.hpp"           // IWYU pragma: export
#include "multi_probe.hpp"          // IWYU pragma: export
#include "netfilter.hpp"            // IWYU pragma: export
#include "object.hpp"               // IWYU pragma: export
#include "open_options.hpp"         // IWYU pragma: export
#include "per_cpu_array_map.hpp"    // IWYU pragma: export
#include "per_cpu_hash_map.hpp"     // IWYU pragma: export
#include "per_cpu_values.hpp"       // IWYU pragma: export
#include "perf_buffer.hpp"          // IWYU pragma: export
#include "perf_counters.hpp"        // IWYU pragma: export
#include "perf_event.hpp"           // IWYU pragma: export
#include "prog_array.hpp"           // IWYU pragma: export
#include "program_info.hpp"         // IWYU pragma: export
#include "queue_map.hpp"            // IWYU pragma: export
#include "ring_buffer.hpp"          // IWYU pragma: export
#include "signal.hpp"               // IWYU pragma: export
#include "sk_lookup.hpp"            // IWYU pragma: export
#include "sk_reuseport.hpp"         // IWYU pragma: export
#include "sock_map.hpp"             // IWYU pragma: export
#include "socket_filter.hpp"        // IWYU pragma: export
#include "stack_map.hpp"            // IWYU pragma: export
#include "stack_trace_map.hpp"      // IWYU pragma: export
#include "stream.hpp"               // IWYU pragma: export
#include "strings.hpp"              // IWYU pragma: export
#include "struct_ops.hpp"           // IWYU pragma: export
#include "symbolizer.hpp"           // IWYU pragma: export
#include "syscall_symbol.hpp"       // IWYU pragma: export
#include "system.hpp"               // IWYU pragma: export
#include "task.hpp"                 // IWYU pragma: export
#include "tc.hpp"                   // IWYU pragma: export
#include "test_run.hpp"             // IWYU pragma: export
#include "tool.hpp"                 // IWYU pragma: export
#include "trace_pipe.hpp"           // IWYU pragma: export
#include "usdt.hpp"                 // IWYU pragma: export
#include "user_ring_buffer.hpp"     // IWYU pragma: export
#include "xdp.hpp"                  // IWYU pragma: export
#include "xdp_socket.hpp"           // IWYU pragma: export
#include "xsk_map.hpp"              // IWYU pragma: export
