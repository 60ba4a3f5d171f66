#pragma once
/// @file
/// The feature table: what the running kernel can do, one cached run-time probe per feature,
/// each with the first upstream kernel that has it and the configuration option it needs.
///
///     if (!ebpfpp::kernel::has(ebpfpp::kernel::Feature::kprobes)) use_a_tracepoint();
///     ebpfpp::kernel::require(Feature::tcx, "attach tcx ingress on eth0");  // or FeatureError
///     for (const auto& f : ebpfpp::kernel::features()) print(f.name, f.min_kernel, probe(f.id));
///
/// Probes ask the kernel itself (load the smallest program of a type, create the smallest map,
/// try a link on nothing) rather than trusting the version number: distributions backport
/// features and leave others out. A probe runs once per process, on first use; the table is what
/// `examples/ebpfpp-features` prints (like `bpftool feature probe`, with minimum versions).
///
/// Tests follow cilium/ebpf's rule with it: a missing feature skips a test only when the kernel is
/// older than the feature's minimum, or when the kernel's own configuration explains the absence
/// (a CONFIG_ option that is off, a policy that refuses it to a fully privileged process).

#include "detail/config.hpp"

#include <array>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <sys/utsname.h>

#include "detail/format.hpp"
#include "error.hpp"
#include "kernel_version.hpp"

// The probes and the table's functions are templates with a defaulted parameter (called as
// plain functions): a translation unit that includes this header without probing anything
// does not compile them. It keeps #include <ebpfpp/ebpfpp.hpp> cheap.

namespace ebpfpp::kernel {

/// A kernel feature ebpfpp can use. The table below gives each its name, minimum kernel, the
/// configuration option it depends on, and how it is probed.
enum class Feature {
  btf,              ///< the kernel's own BTF at /sys/kernel/btf/vmlinux (CO-RE, tp_btf, fentry)
  perf_buffer,      ///< BPF_MAP_TYPE_PERF_EVENT_ARRAY + bpf_perf_event_output
  ring_buffer,      ///< BPF_MAP_TYPE_RINGBUF
  user_ring_buffer, ///< BPF_MAP_TYPE_USER_RINGBUF (user space produces, BPF drains)
  mmapable_maps,    ///< BPF_F_MMAPABLE arrays (the ring buffer's need-wakeup flag lives in one)
  batch_ops,        ///< BPF_MAP_LOOKUP_BATCH and friends
  bloom_filter,     ///< BPF_MAP_TYPE_BLOOM_FILTER
  task_storage,     ///< BPF_MAP_TYPE_TASK_STORAGE
  tracepoints,      ///< BPF_PROG_TYPE_TRACEPOINT
  raw_tracepoints,  ///< BPF_PROG_TYPE_RAW_TRACEPOINT
  kprobes,          ///< kprobes and kretprobes (perf-based)
  kprobe_multi,     ///< BPF_TRACE_KPROBE_MULTI links (many functions, one link; fprobe)
  uprobes,          ///< uprobes and uretprobes (perf-based)
  uprobe_multi,     ///< BPF_TRACE_UPROBE_MULTI links
  fentry,           ///< fentry/fexit (BPF trampoline)
  fmod_ret,         ///< fmod_ret (BPF_MODIFY_RETURN; trampoline on error-injectable functions)
  tp_btf,           ///< BTF-typed raw tracepoints (SEC("tp_btf/..."))
  lsm,              ///< BPF LSM programs, active (bpf in the kernel's lsm= list)
  iterators,        ///< bpf_iter (task, map, tcp iterators)
  struct_ops,       ///< BPF_PROG_TYPE_STRUCT_OPS (e.g. TCP congestion control in BPF)
  perf_event,       ///< programs on perf events (sampling profilers)
  bpf_cookie,       ///< bpf_get_attach_cookie
  bpf_loop,         ///< the bpf_loop helper
  xdp,              ///< BPF_PROG_TYPE_XDP
  tc,               ///< BPF_PROG_TYPE_SCHED_CLS (clsact qdisc + cls_bpf)
  tcx,              ///< tcx links (BPF_TCX_INGRESS/EGRESS), TC without qdiscs
  cgroup,           ///< cgroup programs (skb, sock, sock_addr, sockopt, sysctl, device)
  sk_lookup,        ///< BPF_PROG_TYPE_SK_LOOKUP
  netfilter,        ///< BPF_PROG_TYPE_NETFILTER links
  bpf_token,        ///< BPF tokens (delegated BPF rights from a bpffs mount)
  run_stats,        ///< BPF_ENABLE_STATS: per-program run_cnt / run_time_ns while an fd is held
  socket_filter,    ///< BPF_PROG_TYPE_SOCKET_FILTER (SO_ATTACH_BPF)
  sk_reuseport,     ///< BPF_PROG_TYPE_SK_REUSEPORT + BPF_MAP_TYPE_REUSEPORT_SOCKARRAY
  inode_storage,    ///< BPF_MAP_TYPE_INODE_STORAGE
  cgrp_storage,     ///< BPF_MAP_TYPE_CGRP_STORAGE
  bpf_streams,      ///< a program's stdout/stderr streams (bpf_stream_printk, kernel reports)
  task_iter_pid,    ///< task, task_file and task_vma iterators limited to one process or thread
  cgroup_iter,      ///< the cgroup iterator (SEC("iter/cgroup")), in an order
  kprobe_session,   ///< BPF_TRACE_KPROBE_SESSION links (kprobe.multi with entry and return paired)
  uprobe_session,   ///< BPF_TRACE_UPROBE_SESSION links (uprobe.multi with entry and return paired)
  cpumap,           ///< BPF_MAP_TYPE_CPUMAP (XDP redirects to other CPUs)
  af_xdp,           ///< AF_XDP sockets + BPF_MAP_TYPE_XSKMAP (XDP redirects to user space)
};

/// What a probe found.
struct FeatureStatus {
  bool available = false;
  /// The errno of the probe's failure (0 when available).
  int errnum = 0;
  /// Why it is absent, in words ("" when available).
  std::string reason;
  /// What explains the absence on this kernel: the configuration option that is off
  /// ("CONFIG_KPROBES is not set"), or a policy ("refused with EPERM to a process with every
  /// capability"); "" when nothing does (then a kernel at or above the minimum should have it).
  std::string explained_by;
};

/// What the table knows of a feature.
struct FeatureInfo {
  Feature id;
  /// Short name, as in FeatureError::feature() and EBPFPP_EXPECT_FEATURES: "kprobes".
  std::string_view name;
  /// The first upstream kernel with the feature.
  KernelVersion min_kernel;
  /// The configuration option it needs ("" when none in particular).
  std::string_view config;
  /// One line on what it is.
  std::string_view description;
  /// Asks the running kernel (uncached: use kernel::probe(id)).
  FeatureStatus (*probe)();
};

} // namespace ebpfpp::kernel

// The probes the table's rows run, and the kernel configuration readers that explain an absence.
#include "detail/kernel_probes.hpp"

namespace ebpfpp::kernel {

namespace detail {

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
  {Feature::cpumap, "cpumap", {4, 15}, "", "CPU maps (XDP redirect to a CPU)",
   [] { return probe_map(BPF_MAP_TYPE_CPUMAP, 4, 4, 1, 0, "cpumap"); }},
  {Feature::af_xdp, "af_xdp", {4, 18}, "CONFIG_XDP_SOCKETS", "AF_XDP sockets and XSK maps",
   probe_af_xdp},
};
// clang-format on

} // namespace detail

/// Whether the running kernel's configuration sets `option` ("CONFIG_KPROBES") to y or m;
/// nullopt when the configuration cannot be read (/boot/config-*, /proc/config.gz).
template <class>
std::optional<bool> config_enabled(std::string_view option) {
  const std::string& config = detail::kernel_config();
  if (config.empty() || option.empty()) return std::nullopt;
  for (std::string_view rest = config; !rest.empty();) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.starts_with(option) && line.size() > option.size() && line[option.size()] == '=')
      return line.substr(option.size() + 1) == "y" || line.substr(option.size() + 1) == "m";
  }
  return false; // "# CONFIG_X is not set", or not there at all
}

/// The running kernel's release string, e.g. "6.1.0-27-amd64".
inline std::string release() {
  utsname u{};
  ::uname(&u);
  return u.release;
}

/// Every feature the table knows, in a stable order.
template <class = void>
std::span<const FeatureInfo> features() noexcept {
  static_assert(
      [] {
        for (std::size_t i = 0; i < std::size(detail::table<>); ++i)
          if (static_cast<std::size_t>(detail::table<>[i].id) != i) return false;
        return true;
      }(),
      "the feature table must list the features in enum order, one row each");
  return detail::table<>;
}

/// The table's entry for `f`.
template <class = void>
const FeatureInfo& info(Feature f) noexcept {
  return features()[static_cast<std::size_t>(f)];
}

/// Probes `f` (once per process; later calls return the cached result). Thread-safe.
template <class = void>
const FeatureStatus& probe(Feature f) {
  static std::array<std::once_flag, std::size(detail::table<>)> once;
  static std::array<FeatureStatus, std::size(detail::table<>)> status;
  const auto i = static_cast<std::size_t>(f);
  std::call_once(once[i], [&] {
    FeatureStatus s = info(f).probe();
    if (!s.available) detail::explain_absence(info(f), s);
    status[i] = std::move(s);
  });
  return status[i];
}

/// Whether the running kernel has `f`. A probe the kernel refused because this process lacks a
/// capability proves no absence: then true, so that the operation itself runs and fails with the
/// Error whose hint names the capability to grant (not a FeatureError saying the kernel lacks it).
template <class = void>
bool has(Feature f) {
  const FeatureStatus& s = probe(f);
  return s.available || s.explained_by.starts_with(detail::not_known);
}

/// The FeatureError for a missing `f`, for `action` ("attach kprobe 'x'"): names the feature, its
/// minimum kernel, this kernel and what explains the absence; `hint` says what to use instead.
template <class = void>
FeatureError missing(Feature f, std::string action, std::string_view hint = {},
                     std::string log = {}) {
  const FeatureInfo& fi = info(f);
  const FeatureStatus& s = probe(f);
  std::string text = ebpfpp::detail::format("this kernel ({}) lacks {} ({}+", release(),
                                            fi.description, fi.min_kernel.str());
  if (!s.explained_by.empty())
    text += ebpfpp::detail::format("; {}", s.explained_by);
  else if (!s.reason.empty())
    text += ebpfpp::detail::format("; {}", s.reason);
  text += ")";
  if (!hint.empty()) text += ebpfpp::detail::format(": {}", hint);
  return FeatureError(s.errnum ? s.errnum : EOPNOTSUPP, std::string(fi.name), fi.min_kernel,
                      std::move(action), std::move(text), std::move(log));
}

/// Throws missing(f, action, hint) unless the running kernel has `f`.
template <class = void>
void require(Feature f, std::string_view action, std::string_view hint = {}) {
  if (!has(f)) throw missing(f, std::string(action), hint);
}

/// The feature named `name` ("kprobes"), or nullopt.
template <class = void>
std::optional<Feature> feature_named(std::string_view name) noexcept {
  for (const auto& f : features())
    if (f.name == name) return f.id;
  return std::nullopt;
}

// --- shorthands -------------------------------------------------------------------------------

/// has(Feature::kprobes): kprobes, kretprobes and syscall kprobes can be attached.
template <class = void>
bool has_kprobes() {
  return has(Feature::kprobes);
}
/// has(Feature::uprobes).
template <class = void>
bool has_uprobes() {
  return has(Feature::uprobes);
}
/// has(Feature::btf).
template <class = void>
bool has_btf() {
  return has(Feature::btf);
}
/// has(Feature::ring_buffer).
template <class = void>
bool has_ring_buffer() {
  return has(Feature::ring_buffer);
}
/// has(Feature::fentry): fentry/fexit programs load here.
template <class = void>
bool has_fentry() {
  return has(Feature::fentry);
}
/// Why has_fentry() is false ("" when it is true).
template <class = void>
const std::string& fentry_unavailable_reason() {
  return probe(Feature::fentry).reason;
}

/// Where trace_pipe is: /sys/kernel/tracing (4.1+) or /sys/kernel/debug/tracing; nullopt when
/// tracefs is mounted in neither place. Not cached: tracefs may be mounted later.
inline std::optional<std::filesystem::path> tracefs() {
  std::error_code ec;
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    if (std::filesystem::exists(std::filesystem::path(dir) / "trace_pipe", ec)) return dir;
  }
  return std::nullopt;
}

} // namespace ebpfpp::kernel
