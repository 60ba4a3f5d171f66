#pragma once
// The feature table behind kernel.hpp: one row per feature {id, name, minimum kernel, config
// option, description, probe}, in the enum's order. kernel.hpp includes this after FeatureInfo,
// the type of its rows; the probes the rows run are in kernel_probes.hpp.

#include "config.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "kernel_probes.hpp"
#include "uapi.hpp"

namespace ebpfpp::kernel::detail {

// The table: one row per feature, in the enum's order; adding a feature is its enumerator and
// its row. A variable template, so that a translation unit that probes nothing compiles none of
// the probes. Laid out by hand: a table reads best row by row.
// clang-format off
template <class = void>
inline constexpr FeatureInfo table[] = {
  {Feature::btf, "btf", {5, 4}, "CONFIG_DEBUG_INFO_BTF", "the kernel's BTF in sysfs",
   probe_btf},
  {Feature::perf_buffer, "perf_buffer", {4, 4}, "CONFIG_BPF_EVENTS", "perf event arrays",
   [] { return probe_libbpf_map(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "perf event array"); }},
  {Feature::ring_buffer, "ring_buffer", {5, 8}, "", "BPF ring buffers",
   [] { return probe_libbpf_map(BPF_MAP_TYPE_RINGBUF, "ring buffer"); }},
  {Feature::user_ring_buffer, "user_ring_buffer", {6, 1}, "", "user ring buffers",
   probe_user_ring_buffer},
  {Feature::mmapable_maps, "mmapable_maps", {5, 5}, "", "mmap-able array maps",
   [] { return probe_map(BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_MMAPABLE, "mmap-able array"); }},
  {Feature::batch_ops, "batch_ops", {5, 6}, "", "batched map lookups and updates",
   probe_batch_ops},
  {Feature::bloom_filter, "bloom_filter", {5, 16}, "", "bloom filter maps",
   [] { return probe_map(BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 1, 0, "bloom filter"); }},
  {Feature::task_storage, "task_storage", {5, 11}, "", "task local storage maps",
   [] { return probe_libbpf_map(BPF_MAP_TYPE_TASK_STORAGE, "task storage"); }},
  {Feature::tracepoints, "tracepoints", {4, 7}, "CONFIG_BPF_EVENTS", "tracepoint programs",
   [] { return probe_load(BPF_PROG_TYPE_TRACEPOINT, "tracepoint"); }},
  {Feature::raw_tracepoints, "raw_tracepoints", {4, 17}, "CONFIG_BPF_EVENTS",
   "raw tracepoint programs",
   [] { return probe_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "raw tracepoint"); }},
  {Feature::kprobes, "kprobes", {4, 1}, "CONFIG_KPROBES", "kprobes and kretprobes",
   [] { return probe_pmu("kprobe"); }},
  {Feature::kprobe_multi, "kprobe_multi", {5, 18}, "CONFIG_FPROBE", "kprobe.multi links",
   [] { return probe_kprobe_multi(BPF_TRACE_KPROBE_MULTI, "kprobe.multi"); }},
  {Feature::uprobes, "uprobes", {4, 1}, "CONFIG_UPROBE_EVENTS", "uprobes and uretprobes",
   [] { return probe_pmu("uprobe"); }},
  {Feature::uprobe_multi, "uprobe_multi", {6, 6}, "CONFIG_UPROBES", "uprobe.multi links",
   [] { return probe_uprobe_multi(uapi::attach_uprobe_multi, "uprobe.multi"); }},
  {Feature::fentry, "fentry", {5, 5}, "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS",
   "fentry/fexit programs (BPF trampoline)",
   [] { return probe_tracing(BPF_TRACE_FENTRY, {"bpf_fentry_test1", "do_nanosleep", "ksys_read",
                                                "vfs_read"}, BTF_KIND_FUNC, "fentry"); }},
  {Feature::fmod_ret, "fmod_ret", {5, 7}, "CONFIG_FUNCTION_ERROR_INJECTION", "fmod_ret programs",
   [] { return probe_tracing(BPF_MODIFY_RETURN, {"bpf_modify_return_test", "should_failslab"},
                             BTF_KIND_FUNC, "fmod_ret"); }},
  {Feature::tp_btf, "tp_btf", {5, 5}, "CONFIG_DEBUG_INFO_BTF", "BTF-typed raw tracepoints",
   [] { return probe_tracing(BPF_TRACE_RAW_TP, {"btf_trace_sched_switch", "btf_trace_sys_enter"},
                             BTF_KIND_TYPEDEF, "tp_btf"); }},
  {Feature::lsm, "lsm", {5, 7}, "CONFIG_BPF_LSM", "BPF LSM programs (bpf in lsm=)",
   probe_lsm},
  {Feature::iterators, "iterators", {5, 8}, "CONFIG_DEBUG_INFO_BTF", "bpf_iter programs",
   [] { return probe_tracing(BPF_TRACE_ITER, {"bpf_iter_task"}, BTF_KIND_FUNC, "iterator"); }},
  {Feature::struct_ops, "struct_ops", {5, 6}, "CONFIG_DEBUG_INFO_BTF", "struct_ops programs",
   probe_struct_ops},
  {Feature::perf_event, "perf_event", {4, 9}, "CONFIG_PERF_EVENTS", "programs on perf events",
   [] { return probe_load(BPF_PROG_TYPE_PERF_EVENT, "perf_event"); }},
  {Feature::bpf_cookie, "bpf_cookie", {5, 15}, "", "bpf_get_attach_cookie",
   [] { return probe_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_get_attach_cookie,
                            "bpf_get_attach_cookie"); }},
  {Feature::bpf_loop, "bpf_loop", {5, 17}, "", "the bpf_loop helper",
   [] { return probe_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, "bpf_loop"); }},
  {Feature::xdp, "xdp", {4, 8}, "", "XDP programs",
   [] { return probe_load(BPF_PROG_TYPE_XDP, "XDP"); }},
  {Feature::tc, "tc", {4, 1}, "CONFIG_NET_CLS_BPF", "TC programs (clsact + cls_bpf)",
   [] { return probe_load(BPF_PROG_TYPE_SCHED_CLS, "sched_cls"); }},
  {Feature::tcx, "tcx", {6, 6}, "CONFIG_NET_XGRESS", "tcx links",
   probe_tcx},
  {Feature::cgroup, "cgroup", {4, 10}, "CONFIG_CGROUP_BPF", "cgroup programs",
   [] { return probe_load(BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb"); }},
  {Feature::sk_lookup, "sk_lookup", {5, 9}, "", "sk_lookup programs",
   [] { return probe_load(BPF_PROG_TYPE_SK_LOOKUP, "sk_lookup", BPF_SK_LOOKUP); }},
  {Feature::netfilter, "netfilter", {6, 4}, "CONFIG_NETFILTER_BPF_LINK", "netfilter programs",
   [] { return probe_load(static_cast<bpf_prog_type>(uapi::prog_type_netfilter), "netfilter",
                          uapi::attach_netfilter); }},
  {Feature::bpf_token, "bpf_token", {6, 9}, "", "BPF tokens",
   probe_bpf_token},
  {Feature::run_stats, "run_stats", {5, 8}, "", "BPF_ENABLE_STATS run-time statistics",
   probe_run_stats},
  {Feature::socket_filter, "socket_filter", {3, 19}, "", "socket filter programs",
   [] { return probe_load(BPF_PROG_TYPE_SOCKET_FILTER, "socket filter"); }},
  {Feature::sk_reuseport, "sk_reuseport", {4, 19}, "", "sk_reuseport programs",
   [] { return probe_map(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 4, 8, 1, 0, "reuseport socket array"); }},
  {Feature::inode_storage, "inode_storage", {5, 10}, "CONFIG_BPF_LSM", "inode local storage",
   [] { return probe_libbpf_map(BPF_MAP_TYPE_INODE_STORAGE, "inode storage"); }},
  {Feature::cgrp_storage, "cgrp_storage", {6, 2}, "", "cgroup local storage maps",
   [] { return probe_libbpf_map(static_cast<bpf_map_type>(uapi::map_type_cgrp_storage),
                                "cgroup storage"); }},
  {Feature::bpf_streams, "bpf_streams", {6, 17}, "", "per-program BPF streams",
   probe_bpf_streams},
  {Feature::task_iter_pid, "task_iter_pid", {6, 1}, "CONFIG_DEBUG_INFO_BTF",
   "task iterators of one process", probe_task_iter_pid},
  {Feature::cgroup_iter, "cgroup_iter", {6, 1}, "CONFIG_DEBUG_INFO_BTF", "cgroup iterators",
   [] { return probe_tracing(BPF_TRACE_ITER, {"bpf_iter_cgroup"}, BTF_KIND_FUNC,
                             "cgroup iterator"); }},
  {Feature::kprobe_session, "kprobe_session", {6, 10}, "CONFIG_FPROBE", "kprobe sessions",
   [] { return probe_kprobe_multi(uapi::attach_kprobe_session, "kprobe session"); }},
  {Feature::uprobe_session, "uprobe_session", {6, 13}, "CONFIG_UPROBES", "uprobe sessions",
   [] { return probe_uprobe_multi(uapi::attach_uprobe_session, "uprobe session"); }},
  {Feature::netkit, "netkit", {6, 7}, "CONFIG_NETKIT", "netkit device links",
   probe_netkit},
  {Feature::flow_dissector, "flow_dissector", {5, 8}, "", "flow dissector links",
   probe_flow_dissector},
  {Feature::freplace, "freplace", {5, 6}, "CONFIG_BPF_JIT", "extension (freplace) programs",
   probe_freplace},
  {Feature::btf_modules, "btf_modules", {5, 11}, "CONFIG_DEBUG_INFO_BTF_MODULES",
   "loaded modules' BTF in sysfs", probe_btf_modules},
  {Feature::arena, "arena", {6, 9}, "CONFIG_BPF_JIT", "BPF arenas (64-bit, a JIT with arenas)",
   probe_arena},
  {Feature::cpumap, "cpumap", {4, 15}, "", "CPU maps (XDP redirect to a CPU)",
   [] { return probe_map(BPF_MAP_TYPE_CPUMAP, 4, 4, 1, 0, "cpumap"); }},
  {Feature::af_xdp, "af_xdp", {4, 18}, "CONFIG_XDP_SOCKETS", "AF_XDP sockets and XSK maps",
   probe_af_xdp},
};
// clang-format on

} // namespace ebpfpp::kernel::detail
