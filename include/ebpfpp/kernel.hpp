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
  netkit,           ///< netkit devices' BPF links (BPF_NETKIT_PRIMARY/PEER), tcx-style ordering
  flow_dissector,   ///< BPF_PROG_TYPE_FLOW_DISSECTOR links on a network namespace
  freplace,         ///< BPF_PROG_TYPE_EXT: replacing a global function of a loaded program
  btf_modules,      ///< loaded modules' BTF at /sys/kernel/btf/<module> (split on vmlinux's)
  arena,            ///< BPF_MAP_TYPE_ARENA: memory BPF programs and user space share at one address
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

// The table (detail/features.hpp): one row per feature, in the enum's order, each with the
// probe it runs (detail/kernel_probes.hpp); adding a feature is its enumerator and its row.
#include "detail/features.hpp"

namespace ebpfpp::kernel {

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
  // The row itself, not features()[f]: every probe reaches here, and making that span (its
  // iterator concepts for FeatureInfo) cost each file that probes 1-2 MB of GCC's memory.
  return detail::table<>[static_cast<std::size_t>(f)];
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

/// has(F) under a name of its own, called as has() is: has_kprobes() is has(Feature::kprobes).
/// The one body of every has_* below.
template <Feature F>
struct HasFeature {
  bool operator()() const { return has(F); }
};

/// has(Feature::kprobes): kprobes, kretprobes and syscall kprobes can be attached.
inline constexpr HasFeature<Feature::kprobes> has_kprobes{};
/// has(Feature::uprobes).
inline constexpr HasFeature<Feature::uprobes> has_uprobes{};
/// has(Feature::btf).
inline constexpr HasFeature<Feature::btf> has_btf{};
/// has(Feature::ring_buffer).
inline constexpr HasFeature<Feature::ring_buffer> has_ring_buffer{};
/// has(Feature::fentry): fentry/fexit programs load here.
inline constexpr HasFeature<Feature::fentry> has_fentry{};
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
