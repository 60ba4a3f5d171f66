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

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "detail/unique_fd.hpp"
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

namespace detail {

using ebpfpp::detail::UniqueFd;

// uapi values newer than the headers ebpfpp may be built with (Debian 12 ships 6.1's).
inline constexpr int attach_netfilter = 45;
inline constexpr int attach_tcx_ingress = 46;
inline constexpr int attach_uprobe_multi = 48;
inline constexpr int prog_type_netfilter = 32;
inline constexpr int map_type_user_ringbuf = 31;
inline constexpr int cmd_token_create = 36;

inline constexpr FeatureInfo table[] = {
    {Feature::btf, "btf", {5, 4, 0}, "CONFIG_DEBUG_INFO_BTF", "the kernel's BTF in sysfs"},
    {Feature::perf_buffer, "perf_buffer", {4, 4, 0}, "CONFIG_BPF_EVENTS", "perf event arrays"},
    {Feature::ring_buffer, "ring_buffer", {5, 8, 0}, "", "BPF ring buffers"},
    {Feature::user_ring_buffer, "user_ring_buffer", {6, 1, 0}, "", "user ring buffers"},
    {Feature::mmapable_maps, "mmapable_maps", {5, 5, 0}, "", "mmap-able array maps"},
    {Feature::batch_ops, "batch_ops", {5, 6, 0}, "", "batched map lookups and updates"},
    {Feature::bloom_filter, "bloom_filter", {5, 16, 0}, "", "bloom filter maps"},
    {Feature::task_storage, "task_storage", {5, 11, 0}, "", "task local storage maps"},
    {Feature::tracepoints, "tracepoints", {4, 7, 0}, "CONFIG_BPF_EVENTS", "tracepoint programs"},
    {Feature::raw_tracepoints,
     "raw_tracepoints",
     {4, 17, 0},
     "CONFIG_BPF_EVENTS",
     "raw tracepoint programs"},
    {Feature::kprobes, "kprobes", {4, 1, 0}, "CONFIG_KPROBES", "kprobes and kretprobes"},
    {Feature::kprobe_multi, "kprobe_multi", {5, 18, 0}, "CONFIG_FPROBE", "kprobe.multi links"},
    {Feature::uprobes, "uprobes", {4, 1, 0}, "CONFIG_UPROBE_EVENTS", "uprobes and uretprobes"},
    {Feature::uprobe_multi, "uprobe_multi", {6, 6, 0}, "CONFIG_UPROBES", "uprobe.multi links"},
    {Feature::fentry,
     "fentry",
     {5, 5, 0},
     "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS",
     "fentry/fexit programs (BPF trampoline)"},
    {Feature::fmod_ret,
     "fmod_ret",
     {5, 7, 0},
     "CONFIG_FUNCTION_ERROR_INJECTION",
     "fmod_ret programs"},
    {Feature::tp_btf, "tp_btf", {5, 5, 0}, "CONFIG_DEBUG_INFO_BTF", "BTF-typed raw tracepoints"},
    {Feature::lsm, "lsm", {5, 7, 0}, "CONFIG_BPF_LSM", "BPF LSM programs (bpf in lsm=)"},
    {Feature::iterators, "iterators", {5, 8, 0}, "CONFIG_DEBUG_INFO_BTF", "bpf_iter programs"},
    {Feature::struct_ops, "struct_ops", {5, 6, 0}, "CONFIG_DEBUG_INFO_BTF", "struct_ops programs"},
    {Feature::perf_event, "perf_event", {4, 9, 0}, "CONFIG_PERF_EVENTS", "programs on perf events"},
    {Feature::bpf_cookie, "bpf_cookie", {5, 15, 0}, "", "bpf_get_attach_cookie"},
    {Feature::bpf_loop, "bpf_loop", {5, 17, 0}, "", "the bpf_loop helper"},
    {Feature::xdp, "xdp", {4, 8, 0}, "", "XDP programs"},
    {Feature::tc, "tc", {4, 1, 0}, "CONFIG_NET_CLS_BPF", "TC programs (clsact + cls_bpf)"},
    {Feature::tcx, "tcx", {6, 6, 0}, "CONFIG_NET_XGRESS", "tcx links"},
    {Feature::cgroup, "cgroup", {4, 10, 0}, "CONFIG_CGROUP_BPF", "cgroup programs"},
    {Feature::sk_lookup, "sk_lookup", {5, 9, 0}, "", "sk_lookup programs"},
    {Feature::netfilter, "netfilter", {6, 4, 0}, "CONFIG_NETFILTER_BPF_LINK", "netfilter programs"},
    {Feature::bpf_token, "bpf_token", {6, 9, 0}, "", "BPF tokens"},
    {Feature::run_stats, "run_stats", {5, 8, 0}, "", "BPF_ENABLE_STATS run-time statistics"},
};

// info() indexes the table by the enum's value.
static_assert(
    [] {
      for (std::size_t i = 0; i < std::size(table); ++i)
        if (static_cast<std::size_t>(table[i].id) != i) return false;
      return true;
    }(),
    "the feature table must list the features in enum order");

// How a probe's explained_by starts when the probe could not tell (refused for privilege).
inline constexpr std::string_view not_known = "not known: ";

inline long sys_bpf(int cmd, void* attr, unsigned size) noexcept {
  return ::syscall(__NR_bpf, cmd, attr, size);
}

// "return 0": the smallest program of any type.
inline constexpr bpf_insn return_zero[] = {
    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
    {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
};

template <class = void>
FeatureStatus ok() {
  return {true, 0, {}, {}};
}
template <class = void>
FeatureStatus absent(int err, std::string reason) {
  return {false, err, std::move(reason), {}};
}
template <class = void>
FeatureStatus from_errno(int err, std::string_view what) {
  return absent(err, fmt::format("{}: {} (errno {})", what, std::strerror(err), err));
}

template <class = void>
UniqueFd load_program(bpf_prog_type type, int expected_attach_type = 0,
                      std::uint32_t attach_btf_id = 0, const char* license = "GPL") {
  auto opts = ebpfpp::detail::make_opts<bpf_prog_load_opts>();
  opts.expected_attach_type = static_cast<bpf_attach_type>(expected_attach_type);
  opts.attach_btf_id = attach_btf_id;
  return UniqueFd(
      static_cast<int>(bpf_prog_load(type, "ebpfpp_probe", license, return_zero, 2, &opts)));
}

template <class = void>
FeatureStatus probe_load(bpf_prog_type type, std::string_view what, int expected_attach_type = 0,
                         std::uint32_t btf_id = 0) {
  if (load_program(type, expected_attach_type, btf_id)) return ok();
  return from_errno(errno, fmt::format("loading a minimal {} program failed", what));
}

template <class = void>
FeatureStatus probe_map(bpf_map_type type, std::uint32_t key, std::uint32_t value,
                        std::uint32_t max_entries, std::uint32_t flags, std::string_view what) {
  auto opts = ebpfpp::detail::make_opts<bpf_map_create_opts>();
  opts.map_flags = flags;
  UniqueFd fd(bpf_map_create(type, "ebpfpp_probe", key, value, max_entries, &opts));
  if (fd) return ok();
  return from_errno(errno, fmt::format("creating a {} map failed", what));
}

template <class = void>
FeatureStatus probe_libbpf_map(bpf_map_type type, std::string_view what) {
  const int r = libbpf_probe_bpf_map_type(type, nullptr);
  if (r == 1) return ok();
  return r < 0 ? from_errno(-r, fmt::format("probing {} maps failed", what))
               : absent(EOPNOTSUPP, fmt::format("the kernel does not know {} maps", what));
}

template <class = void>
FeatureStatus probe_helper(bpf_prog_type type, bpf_func_id helper, std::string_view what) {
  const int r = libbpf_probe_bpf_helper(type, helper, nullptr);
  if (r == 1) return ok();
  return r < 0 ? from_errno(-r, fmt::format("probing {} failed", what))
               : absent(EOPNOTSUPP, fmt::format("the kernel does not offer {}", what));
}

// A probe type ("kprobe", "uprobe") is usable when the kernel has its perf PMU (4.17+) or, on
// older kernels, its tracefs event file.
template <class = void>
FeatureStatus probe_pmu(const std::string& type) {
  std::error_code ec;
  if (std::filesystem::exists("/sys/bus/event_source/devices/" + type + "/type", ec) ||
      std::filesystem::exists("/sys/kernel/tracing/" + type + "_events", ec) ||
      std::filesystem::exists("/sys/kernel/debug/tracing/" + type + "_events", ec))
    return ok();
  return absent(ENOENT, fmt::format("the kernel has no {} PMU (/sys/bus/event_source/devices/{})",
                                    type, type));
}

// The BTF id of a kernel type, or 0.
template <class = void>
std::uint32_t vmlinux_btf_id(std::initializer_list<const char*> names, std::uint32_t kind) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return 0;
  int id = 0;
  for (const char* name : names) {
    id = btf__find_by_name_kind(vmlinux, name, kind);
    if (id > 0) break;
  }
  btf__free(vmlinux);
  return id > 0 ? static_cast<std::uint32_t>(id) : 0;
}

template <class = void>
FeatureStatus probe_tracing(int attach_type, std::initializer_list<const char*> targets,
                            std::uint32_t kind, std::string_view what,
                            bpf_prog_type type = BPF_PROG_TYPE_TRACING) {
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux"))
    return absent(ENOENT, "the kernel has no BTF (/sys/kernel/btf/vmlinux)");
  const std::uint32_t id = vmlinux_btf_id(targets, kind);
  if (!id)
    return absent(ENOENT, fmt::format("no target for a {} program in the kernel's BTF", what));
  return probe_load(type, what, attach_type, id);
}

// Creates a link that cannot succeed and tells by the errno whether the kernel knows the attach
// type: EINVAL means it does not; the errno of a bad target (EBADF, ENODEV, ...) means it does.
template <class = void>
FeatureStatus probe_link_kind(bpf_prog_type prog_type, int attach_type, std::string_view what,
                              int supported_errno, int target = -1, void* extra = nullptr,
                              std::size_t extra_size = 0) {
  UniqueFd prog = load_program(prog_type, attach_type);
  if (!prog) return from_errno(errno, fmt::format("loading a minimal {} program failed", what));
  struct {
    std::uint32_t prog_fd, target, attach_type, flags;
    std::uint64_t extra[8];
  } attr{};
  attr.prog_fd = static_cast<std::uint32_t>(prog.get());
  attr.target = static_cast<std::uint32_t>(target);
  attr.attach_type = static_cast<std::uint32_t>(attach_type);
  if (extra) std::memcpy(attr.extra, extra, std::min(extra_size, sizeof attr.extra));
  UniqueFd link(static_cast<int>(sys_bpf(BPF_LINK_CREATE, &attr, sizeof attr)));
  if (link) return ok();
  const int err = errno;
  if (err == supported_errno) return ok();
  return from_errno(err, fmt::format("creating a {} link failed", what));
}

// Defined below with the kernel-config readers it uses.
template <class = void>
bool lsm_list_lacks_bpf();

template <class = void>
FeatureStatus probe_feature(Feature f) {
  switch (f) {
  case Feature::btf:
    if (std::filesystem::exists("/sys/kernel/btf/vmlinux")) return ok();
    return absent(ENOENT, "/sys/kernel/btf/vmlinux does not exist");
  case Feature::perf_buffer:
    return probe_libbpf_map(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "perf event array");
  case Feature::ring_buffer:
    return probe_libbpf_map(BPF_MAP_TYPE_RINGBUF, "ring buffer");
  case Feature::user_ring_buffer:
    return probe_map(static_cast<bpf_map_type>(map_type_user_ringbuf), 0, 0,
                     static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE)), 0, "user ring buffer");
  case Feature::mmapable_maps:
    return probe_map(BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_MMAPABLE, "mmap-able array");
  case Feature::batch_ops: {
    UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_HASH, "ebpfpp_probe", 4, 4, 1, nullptr));
    if (!fd) return from_errno(errno, "creating a hash map failed");
    std::uint32_t keys[1], values[1], count = 1, out = 0;
    if (bpf_map_lookup_batch(fd.get(), nullptr, &out, keys, values, &count, nullptr) == 0 ||
        errno == ENOENT)
      return ok();
    return from_errno(errno, "BPF_MAP_LOOKUP_BATCH on a hash map failed");
  }
  case Feature::bloom_filter:
    return probe_map(BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 1, 0, "bloom filter");
  case Feature::task_storage:
    return probe_libbpf_map(BPF_MAP_TYPE_TASK_STORAGE, "task storage");
  case Feature::tracepoints:
    return probe_load(BPF_PROG_TYPE_TRACEPOINT, "tracepoint");
  case Feature::raw_tracepoints:
    return probe_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "raw tracepoint");
  case Feature::kprobes:
    return probe_pmu("kprobe");
  case Feature::uprobes:
    return probe_pmu("uprobe");
  case Feature::kprobe_multi: {
    if (auto k = probe_pmu("kprobe"); !k.available) return k;
    // A kprobe.multi link on a symbol that does not exist: ENOENT/ESRCH from a kernel that
    // knows the link type, EINVAL/EOPNOTSUPP from one that does not (or has no fprobe).
    const char* syms[] = {"ebpfpp_no_such_function"};
    struct {
      std::uint32_t flags, cnt;
      std::uint64_t syms, addrs, cookies;
    } multi{0, 1, reinterpret_cast<std::uint64_t>(syms), 0, 0};
    auto s = probe_link_kind(BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, "kprobe.multi", ENOENT,
                             0, &multi, sizeof multi);
    if (!s.available && s.errnum == ESRCH) return ok();
    return s;
  }
  case Feature::uprobe_multi: {
    // cilium/ebpf's probe: a uprobe.multi link on "/" fails with EBADF where the link type exists.
    static const char root[] = "/";
    std::uint64_t offset = 0;
    struct {
      std::uint64_t path, offsets, ref_ctr_offsets, cookies;
      std::uint32_t cnt, flags, pid;
    } multi{reinterpret_cast<std::uint64_t>(root),
            reinterpret_cast<std::uint64_t>(&offset),
            0,
            0,
            1,
            0,
            0};
    return probe_link_kind(BPF_PROG_TYPE_KPROBE, attach_uprobe_multi, "uprobe.multi", EBADF, 0,
                           &multi, sizeof multi);
  }
  case Feature::fentry:
    return probe_tracing(BPF_TRACE_FENTRY,
                         {"bpf_fentry_test1", "do_nanosleep", "ksys_read", "vfs_read"},
                         BTF_KIND_FUNC, "fentry");
  case Feature::fmod_ret:
    return probe_tracing(BPF_MODIFY_RETURN, {"bpf_modify_return_test", "should_failslab"},
                         BTF_KIND_FUNC, "fmod_ret");
  case Feature::tp_btf:
    return probe_tracing(BPF_TRACE_RAW_TP, {"btf_trace_sched_switch", "btf_trace_sys_enter"},
                         BTF_KIND_TYPEDEF, "tp_btf");
  case Feature::lsm: {
    auto s =
        probe_tracing(BPF_LSM_MAC, {"bpf_lsm_file_open"}, BTF_KIND_FUNC, "lsm", BPF_PROG_TYPE_LSM);
    if (!s.available) return s;
    // Loading works wherever CONFIG_BPF_LSM is set; attaching only when bpf is an active LSM.
    UniqueFd prog = load_program(BPF_PROG_TYPE_LSM, BPF_LSM_MAC,
                                 vmlinux_btf_id({"bpf_lsm_file_open"}, BTF_KIND_FUNC));
    UniqueFd link(bpf_raw_tracepoint_open(nullptr, prog.get()));
    if (!link)
      return from_errno(errno, "attaching a minimal LSM program failed (is bpf in the kernel's "
                               "lsm= list?)");
    // Kernels before about 5.14 attach even when bpf is not an active LSM, and the program
    // then never runs: ask the LSM list.
    if (lsm_list_lacks_bpf())
      return absent(EOPNOTSUPP, "an LSM program attaches but bpf is not in the kernel's active "
                                "LSM list, so it would never run");
    return ok();
  }
  case Feature::iterators:
    return probe_tracing(BPF_TRACE_ITER, {"bpf_iter_task"}, BTF_KIND_FUNC, "iterator");
  case Feature::struct_ops:
    if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_STRUCT_OPS, nullptr) == 1) return ok();
    return absent(EOPNOTSUPP, "the kernel does not know struct_ops programs");
  case Feature::perf_event:
    return probe_load(BPF_PROG_TYPE_PERF_EVENT, "perf_event");
  case Feature::bpf_cookie:
    return probe_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_get_attach_cookie,
                        "bpf_get_attach_cookie");
  case Feature::bpf_loop:
    return probe_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, "bpf_loop");
  case Feature::xdp:
    return probe_load(BPF_PROG_TYPE_XDP, "XDP");
  case Feature::tc:
    return probe_load(BPF_PROG_TYPE_SCHED_CLS, "sched_cls");
  case Feature::tcx:
    // ifindex 0: ENODEV where tcx links exist, EINVAL where the attach type is unknown.
    return probe_link_kind(BPF_PROG_TYPE_SCHED_CLS, attach_tcx_ingress, "tcx", ENODEV, 0);
  case Feature::cgroup:
    return probe_load(BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb");
  case Feature::sk_lookup:
    return probe_load(BPF_PROG_TYPE_SK_LOOKUP, "sk_lookup", BPF_SK_LOOKUP);
  case Feature::netfilter:
    return probe_load(static_cast<bpf_prog_type>(prog_type_netfilter), "netfilter",
                      attach_netfilter);
  case Feature::bpf_token: {
    struct {
      std::uint32_t flags, bpffs_fd;
    } attr{0, static_cast<std::uint32_t>(-1)};
    UniqueFd fd(static_cast<int>(sys_bpf(cmd_token_create, &attr, sizeof attr)));
    if (fd || errno == EBADF) return ok();
    return from_errno(errno, "BPF_TOKEN_CREATE failed");
  }
  case Feature::run_stats: {
    UniqueFd fd(bpf_enable_stats(BPF_STATS_RUN_TIME));
    if (fd) return ok();
    return from_errno(errno, "BPF_ENABLE_STATS failed");
  }
  }
  return absent(EINVAL, "unknown feature");
}

// --- the kernel's configuration ---------------------------------------------------------------

// /proc/config.gz is gzip; zlib is already in the process (libbpf links it), so its functions
// are looked up at run time rather than linked: ebpfpp adds no link dependency for this.
template <class = void>
std::string read_kernel_config() {
  utsname u{};
  ::uname(&u);
  for (const std::string& path : {fmt::format("/boot/config-{}", u.release),
                                  fmt::format("/lib/modules/{}/config", u.release)}) {
    std::ifstream in(path);
    if (in) return std::string(std::istreambuf_iterator<char>(in), {});
  }
  using gzopen_fn = void* (*)(const char*, const char*);
  using gzread_fn = int (*)(void*, void*, unsigned);
  using gzclose_fn = int (*)(void*);
  auto gzopen = reinterpret_cast<gzopen_fn>(::dlsym(RTLD_DEFAULT, "gzopen"));
  auto gzread = reinterpret_cast<gzread_fn>(::dlsym(RTLD_DEFAULT, "gzread"));
  auto gzclose = reinterpret_cast<gzclose_fn>(::dlsym(RTLD_DEFAULT, "gzclose"));
  if (!gzopen || !gzread || !gzclose) return {};
  void* gz = gzopen("/proc/config.gz", "rb");
  if (!gz) return {};
  std::string out;
  char buf[65536];
  for (int n; (n = gzread(gz, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  gzclose(gz);
  return out;
}

template <class = void>
const std::string& kernel_config() {
  static const std::string config = read_kernel_config();
  return config;
}

} // namespace detail

/// Whether the running kernel's configuration sets `option` ("CONFIG_KPROBES") to y or m;
/// nullopt when the configuration cannot be read (/boot/config-*, /proc/config.gz).
template <class = void>
std::optional<bool> config_enabled(std::string_view option);

namespace detail {
// The active LSMs: securityfs's list when mounted, else lsm= on the command line, else the
// configured default (CONFIG_LSM).
template <class>
bool lsm_list_lacks_bpf() {
  std::string list;
  if (std::ifstream in("/sys/kernel/security/lsm"); in) std::getline(in, list);
  if (list.empty()) {
    std::ifstream cmdline("/proc/cmdline");
    for (std::string word; cmdline >> word;)
      if (word.starts_with("lsm=")) list = word.substr(4);
  }
  if (list.empty()) {
    const std::string& config = kernel_config();
    if (const auto at = config.find("\nCONFIG_LSM=\""); at != std::string::npos)
      list = config.substr(at + 13, config.find('"', at + 13) - at - 13);
  }
  if (list.empty()) return false; // unknown: no explanation
  return (',' + list + ',').find(",bpf,") == std::string::npos;
}
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
inline std::span<const FeatureInfo> features() noexcept {
  return detail::table;
}

/// The table's entry for `f`.
inline const FeatureInfo& info(Feature f) noexcept {
  return detail::table[static_cast<std::size_t>(f)];
}

/// Probes `f` (once per process; later calls return the cached result). Thread-safe.
template <class = void>
const FeatureStatus& probe(Feature f) {
  static std::array<std::once_flag, std::size(detail::table)> once;
  static std::array<FeatureStatus, std::size(detail::table)> status;
  const auto i = static_cast<std::size_t>(f);
  std::call_once(once[i], [&] {
    FeatureStatus s = detail::probe_feature(f);
    if (!s.available) {
      const FeatureInfo& fi = info(f);
      if (const auto on = config_enabled(fi.config); on && !*on)
        s.explained_by = fmt::format("{} is not set", fi.config);
      else if (f == Feature::lsm && detail::lsm_list_lacks_bpf())
        s.explained_by = "bpf is not in the kernel's active LSM list (boot with lsm=...,bpf)";
      else if (s.errnum == EPERM || s.errnum == EACCES) {
        if (const std::string lacks = ebpfpp::detail::missing_bpf_capabilities(); !lacks.empty())
          s.explained_by = fmt::format("{}the probe was refused (errno {}) and this process "
                                       "lacks {}",
                                       detail::not_known, s.errnum, lacks);
        else if (s.errnum == EPERM)
          s.explained_by = "the kernel refuses it with EPERM to a process with every capability "
                           "(a lockdown, LSM or hypervisor policy)";
      }
    }
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
  std::string text =
      fmt::format("this kernel ({}) lacks {} ({}+", release(), fi.description, fi.min_kernel.str());
  if (!s.explained_by.empty())
    text += fmt::format("; {}", s.explained_by);
  else if (!s.reason.empty())
    text += fmt::format("; {}", s.reason);
  text += ")";
  if (!hint.empty()) text += fmt::format(": {}", hint);
  return FeatureError(s.errnum ? s.errnum : EOPNOTSUPP, std::string(fi.name), fi.min_kernel,
                      std::move(action), std::move(text), std::move(log));
}

/// Throws missing(f, action, hint) unless the running kernel has `f`.
template <class = void>
void require(Feature f, std::string_view action, std::string_view hint = {}) {
  if (!has(f)) throw missing(f, std::string(action), hint);
}

/// The feature named `name` ("kprobes"), or nullopt.
inline std::optional<Feature> feature_named(std::string_view name) noexcept {
  for (const auto& f : detail::table)
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
