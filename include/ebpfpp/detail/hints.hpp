#pragma once
// The hint table: what to try when an operation fails with an errno. The one place hints are
// written; every Error that carries a hint gets it from here.
//
// The same errno has different usual causes in different operations (EACCES from a load is the
// verifier, from a tracepoint attach often tracefs's mode), so a hint is chosen by the errno AND
// the operation (Op). Privilege hints look at the process's effective capabilities, not at its
// uid: root with capabilities dropped is told what it lacks.

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../kernel_version.hpp"
#include "format.hpp"

// Templates with a defaulted parameter (called as plain functions): compiled only in the
// translation units that build an Error with a hint.

namespace ebpfpp::detail {

/// What was being attempted when the errno came back.
enum class Op {
  generic,
  open_object,     // bpf_object__open_file / open_mem: parse a BPF ELF object
  load,            // programs verified, maps created (bpf_object__load, BPF_PROG_LOAD)
  load_network,    // a networking program or map (XDP, TC, devmap...): CAP_BPF + CAP_NET_ADMIN
  map_create,      // BPF_MAP_CREATE
  attach_tracing,  // kprobe, fentry, raw tracepoint, perf event, iterator: CAP_BPF + CAP_PERFMON
  attach_tracefs,  // tracepoint: the above, and tracefs must be readable
  attach_uprobe,   // uprobe (a perf event of the uprobe PMU): the above, CAP_SYS_ADMIN in practice
  attach_network,  // XDP, TC, cgroup, socket hooks: CAP_BPF + CAP_NET_ADMIN
  pin,             // BPF_OBJ_PIN: the path must be on bpffs
  open_pinned,     // BPF_OBJ_GET
  mmap,            // mmap of a map or a perf ring
  perf_event_open, // perf_event_open(2) for a PerfEvent (sampling, counters)
  attach_usdt,     // USDT probes: uprobes at the sites a binary's stapsdt notes list
  attach_multi,    // kprobe.multi / uprobe.multi links: symbols resolved by name or glob
  open_netns,      // opening a network namespace file (/run/netns/<name>) to attach to
};

// --- capabilities -----------------------------------------------------------------------------

// Older uapi headers (before 5.8) do not name the BPF capabilities.
inline constexpr int cap_perfmon = 38;
inline constexpr int cap_bpf = 39;

/// Whether the calling thread has capability `cap` in its effective set.
template <class = void>
bool has_capability(int cap) noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return ::geteuid() == 0;
  return (data[cap / 32].effective >> (cap % 32)) & 1u;
}

/// "CAP_BPF + CAP_PERFMON": the capabilities `op` needs that the process lacks (CAP_SYS_ADMIN
/// stands in for all of them); empty when none is missing.
template <class = void>
std::string missing_capabilities(Op op) {
  if (has_capability(CAP_SYS_ADMIN)) return {};
  std::string missing;
  const auto need = [&](int cap, std::string_view name) {
    if (!has_capability(cap)) missing += detail::format("{}{}", missing.empty() ? "" : " + ", name);
  };
  need(cap_bpf, "CAP_BPF");
  if (op == Op::attach_tracing || op == Op::attach_tracefs || op == Op::attach_uprobe ||
      op == Op::load || op == Op::attach_usdt || op == Op::attach_multi)
    need(cap_perfmon, "CAP_PERFMON");
  if (op == Op::attach_network || op == Op::load_network) need(CAP_NET_ADMIN, "CAP_NET_ADMIN");
  return missing;
}

/// Every BPF-related capability the process lacks (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN), as
/// "CAP_PERFMON + CAP_NET_ADMIN"; empty with CAP_SYS_ADMIN or all three. A feature probe that the
/// kernel refused with EPERM while one is missing says nothing about the kernel.
template <class = void>
std::string missing_bpf_capabilities() {
  std::string missing = missing_capabilities(Op::load);
  if (!has_capability(CAP_SYS_ADMIN) && !has_capability(CAP_NET_ADMIN))
    missing += missing.empty() ? "CAP_NET_ADMIN" : " + CAP_NET_ADMIN";
  return missing;
}

/// The Op of loading a program of `type`: the kernel asks CAP_NET_ADMIN besides CAP_BPF for
/// networking types (is_net_admin_prog_type in kernel/bpf/syscall.c), CAP_PERFMON for tracing
/// ones.
inline Op load_op_for(bpf_prog_type type) noexcept {
  constexpr int prog_type_netfilter = 32; // newer than some uapi headers
  if (static_cast<int>(type) == prog_type_netfilter) return Op::load_network;
  switch (type) {
  case BPF_PROG_TYPE_SCHED_CLS:
  case BPF_PROG_TYPE_SCHED_ACT:
  case BPF_PROG_TYPE_XDP:
  case BPF_PROG_TYPE_LWT_IN:
  case BPF_PROG_TYPE_LWT_OUT:
  case BPF_PROG_TYPE_LWT_XMIT:
  case BPF_PROG_TYPE_LWT_SEG6LOCAL:
  case BPF_PROG_TYPE_SK_SKB:
  case BPF_PROG_TYPE_SK_MSG:
  case BPF_PROG_TYPE_FLOW_DISSECTOR:
  case BPF_PROG_TYPE_CGROUP_DEVICE:
  case BPF_PROG_TYPE_CGROUP_SOCK:
  case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
  case BPF_PROG_TYPE_CGROUP_SOCKOPT:
  case BPF_PROG_TYPE_CGROUP_SYSCTL:
  case BPF_PROG_TYPE_SOCK_OPS:
    return Op::load_network;
  default:
    return Op::load;
  }
}

/// The Op of creating a map of `type` (for a failure with `err`): devmaps, sockmaps and XSK maps
/// need CAP_NET_ADMIN besides CAP_BPF.
inline Op map_create_op_for(bpf_map_type type, int err) noexcept {
  if (err != EPERM && err != EACCES) return Op::map_create;
  switch (type) {
  case BPF_MAP_TYPE_SOCKMAP:
  case BPF_MAP_TYPE_SOCKHASH:
  case BPF_MAP_TYPE_DEVMAP:
  case BPF_MAP_TYPE_DEVMAP_HASH:
  case BPF_MAP_TYPE_XSKMAP:
    return Op::load_network;
  default:
    return Op::map_create;
  }
}

/// Whether tracefs exists but this process may not read it (it is usually mode 0700, owned by
/// root): checked with the effective ids and capabilities (AT_EACCESS), as the attach saw them.
template <class = void>
bool tracefs_unreadable() noexcept {
  for (const char* dir : {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"}) {
    if (::faccessat(AT_FDCWD, dir, R_OK | X_OK, AT_EACCESS) == 0) return false;
    if (errno == EACCES) return true;
  }
  return false;
}

/// Whether `path` is on a bpffs mount (where pins live): the path itself when it exists (a
/// mount's root is on bpffs, its parent is not), else its directory (where a pin would go).
template <class = void>
bool on_bpffs(const std::filesystem::path& path) noexcept {
  constexpr long bpf_fs_magic = 0xcafe4a11;
  struct statfs st {};
  if (::statfs(path.c_str(), &st) == 0) return st.f_type == bpf_fs_magic;
  std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : path;
  return ::statfs(dir.c_str(), &st) == 0 && st.f_type == bpf_fs_magic;
}

/// Whether `path` names a directory (following symlinks).
template <class = void>
bool is_directory(const std::filesystem::path& path) noexcept {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/// Why this process cannot read `path` as a file (ENOENT, EACCES, EISDIR, ...), with a hint
/// about the file (never about capabilities: reading a file asks nothing of the kernel's BPF
/// side); `err` is 0 when it opens and is no directory. Opens it as the caller would (effective
/// ids and capabilities), so the answer is this process's.
struct FileProblem {
  int err = 0;
  std::string hint;
};
template <class = void>
FileProblem file_problem(const std::filesystem::path& path) {
  const std::string name = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd >= 0) {
    const bool dir = ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    ::close(fd);
    if (dir) return {EISDIR, detail::format("'{}' is a directory: name the file in it", name)};
    return {};
  }
  const int err = errno;
  if (err == ENOENT || err == ENOTDIR)
    return {err,
            detail::format("'{}' does not exist: check the path (a relative path is relative to "
                           "the working directory, not to the executable)",
                           name)};
  if (err != EACCES) return {err, {}};
  // A directory on the way that this user may not search (a 0700 home or mktemp -d directory),
  // else the file's own mode.
  std::filesystem::path dir;
  for (const auto& part : path.parent_path()) {
    dir /= part;
    if (::faccessat(AT_FDCWD, dir.c_str(), X_OK, AT_EACCESS) != 0 && errno == EACCES &&
        ::stat(dir.c_str(), &st) == 0)
      return {err,
              detail::format("this user (uid {}) cannot reach '{}': the directory '{}' (mode "
                             "{:04o}, owner uid {}) is not searchable by it; put the file where "
                             "this user can read it, or read it before dropping privileges",
                             ::geteuid(), name, dir.string(), st.st_mode & 07777, st.st_uid)};
  }
  if (::stat(path.c_str(), &st) == 0)
    return {err,
            detail::format("'{}' is not readable by this user (uid {}): its mode is {:04o}, its "
                           "owner uid {}; make it readable (chmod a+r) or run as a user who may "
                           "read it",
                           name, ::geteuid(), st.st_mode & 07777, st.st_uid)};
  return {err, detail::format("'{}' is not readable by this user (uid {})", name, ::geteuid())};
}

/// Kernel lockdown mode ("integrity", "confidentiality"), or "" when none or unknown.
template <class = void>
std::string lockdown_mode() {
  std::ifstream in("/sys/kernel/security/lockdown");
  std::string line;
  std::getline(in, line);
  const auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos) return {};
  std::string mode = line.substr(open + 1, close - open - 1);
  return mode == "none" ? std::string() : mode;
}

// --- the table --------------------------------------------------------------------------------

template <class = void>
std::string privilege_hint(Op op) {
  const std::string missing = missing_capabilities(op);
  // Before the capabilities: with CAP_BPF + CAP_PERFMON, tracefs's mode is what refuses a
  // non-root user, and asking for the same capabilities again would point the wrong way.
  if (op == Op::attach_tracefs && tracefs_unreadable())
    return detail::format(
        "tracefs (/sys/kernel/tracing) is not readable by this process (it is "
        "usually mode 0700, owned by root), and this attach reads it: run as "
        "root, add CAP_DAC_READ_SEARCH or CAP_DAC_OVERRIDE (setcap "
        "cap_bpf,cap_perfmon,cap_dac_read_search+ep <binary>), or make tracefs "
        "readable (mount -o remount,mode=755 /sys/kernel/tracing){}",
        missing.empty() ? "" : detail::format("; this process also lacks {}", missing));
  if (!missing.empty()) {
    const char* caps = op == Op::attach_network || op == Op::load_network ? "cap_bpf,cap_net_admin"
                       : op == Op::attach_tracefs ? "cap_bpf,cap_perfmon,cap_dac_read_search"
                                                  : "cap_bpf,cap_perfmon";
    return detail::format("this process lacks {} (CAP_SYS_ADMIN on kernels before 5.8): run it as "
                          "root, or grant them, e.g. setcap {}+ep <binary>",
                          missing, caps);
  }
  // Measured on 6.18: CAP_BPF + CAP_PERFMON (+ CAP_DAC_*) attach tracepoints, kprobes and raw
  // tracepoints, but the uprobe PMU's perf event is still refused (EACCES) without
  // CAP_SYS_ADMIN.
  if ((op == Op::attach_uprobe || op == Op::attach_usdt) && !has_capability(CAP_SYS_ADMIN))
    return "CAP_BPF + CAP_PERFMON are not enough for a uprobe here: the kernel refused its perf "
           "event to a process without CAP_SYS_ADMIN; add CAP_SYS_ADMIN or run as root";
  const std::string lockdown = lockdown_mode();
  if (!lockdown.empty())
    return detail::format("no capability is missing, but the kernel is locked down ({}), which "
                          "refuses some BPF uses (e.g. bpf_probe_read_kernel with "
                          "confidentiality); see dmesg",
                          lockdown);
  return "no capability is missing: the kernel refused for another reason (an LSM such as "
         "SELinux or AppArmor, a sysctl such as kernel.unprivileged_bpf_disabled, or a program "
         "type this kernel does not permit); see dmesg";
}

/// What to try after `op` failed with `err`; empty when there is nothing useful to say.
/// `subject` is the path for pin and open_pinned.
template <class = void>
std::string hint_for(int err, Op op = Op::generic, std::string_view subject = {}) {
  // A directory where a pin was expected: BPF_OBJ_GET says EACCES (no BPF inode there), BPF_OBJ_PIN
  // EEXIST; neither is about capabilities, the mount, or another pin.
  if (op == Op::open_pinned && (err == EACCES || err == EPERM || err == EINVAL) &&
      !subject.empty() && is_directory(std::filesystem::path(subject)))
    return on_bpffs(std::filesystem::path(subject))
               ? detail::format("'{}' is a directory, not a pinned object: name an object "
                                "pinned in it (ls '{}' lists them)",
                                subject, subject)
               : detail::format("'{}' is a directory, not a pinned object, and '{}' is not on a "
                                "bpffs mount: pins live on one (mount -t bpf bpf /sys/fs/bpf)",
                                subject, subject);
  if (op == Op::pin && err == EEXIST && !subject.empty() &&
      is_directory(std::filesystem::path(subject)))
    return detail::format("'{}' is a directory: pin at a path inside it, e.g. '{}/<name>'", subject,
                          subject);
  if ((op == Op::pin || op == Op::open_pinned) &&
      (err == EPERM || err == EINVAL || err == EACCES) && !subject.empty() &&
      !on_bpffs(std::filesystem::path(subject)))
    return detail::format("'{}' is not on a bpffs mount: pins live on one (mount -t bpf bpf "
                          "/sys/fs/bpf), and its directory must exist",
                          subject);
  // Parsing an object asks nothing of the kernel: never a privilege hint. A file that cannot be
  // read is file_problem()'s; an ENOENT here is libbpf's "no symbol table" (a stripped object).
  if (op == Op::open_object) {
    if (err == LIBBPF_ERRNO__FORMAT || err == LIBBPF_ERRNO__LIBELF || err == EINVAL ||
        err == ENOENT)
      return "this is not a valid BPF object (empty, truncated, stripped, or not an ELF file for "
             "the BPF target): rebuild it with clang -g -O2 -target bpf -c <name>.bpf.c, and "
             "check it with llvm-objdump -h";
    return {};
  }
  switch (err) {
  case EPERM:
  case EACCES:
    if (op == Op::perf_event_open && !has_capability(CAP_SYS_ADMIN) && !has_capability(cap_perfmon))
      return "this process lacks CAP_PERFMON (CAP_SYS_ADMIN before 5.8), and "
             "kernel.perf_event_paranoid refuses the event without it: run as root or grant it";
    if ((op == Op::load || op == Op::load_network) && err == EACCES)
      return "the verifier rejected the program; the log's last lines say why";
    return privilege_hint(op);
  case ENOENT:
    if (op == Op::open_pinned)
      return "nothing is pinned there: pin it first (pin(), bpftool ... pin) and check that it "
             "is the same bpffs mount";
    if (op == Op::pin)
      return "the directory of the pin path does not exist: create it on the bpffs mount first";
    if (op == Op::attach_tracefs || op == Op::attach_uprobe)
      return "the tracepoint, binary or symbol does not exist (tracepoints are listed in "
             "/sys/kernel/tracing/available_events; a uprobe's symbol must be in the binary's "
             "symbol table: nm -D <binary>)";
    if (op == Op::attach_usdt)
      return "the binary or the probe does not exist: `readelf -n <binary>` lists its USDT probes "
             "(stapsdt notes: Provider and Name)";
    if (op == Op::attach_multi)
      return "a symbol does not exist (kernel functions are in /proc/kallsyms and "
             "available_filter_functions; a binary's in `nm <binary>`)";
    if (op == Op::perf_event_open)
      return "this machine has no PMU for this event (virtual machines often expose no hardware "
             "counters): use a software event such as PerfEventConfig::cpu_clock()";
    if (op == Op::open_netns)
      return "no such network namespace: `ip netns list` names those under /run/netns; a "
             "process's is /proc/<pid>/ns/net";
    if (op == Op::attach_tracing)
      return "the attach target does not exist on this kernel (kernel functions are listed in "
             "/proc/kallsyms, tracepoints in /sys/kernel/tracing/available_events)";
    return {};
  case EEXIST:
    if (op == Op::pin) return "something is already pinned there: unpin it or choose another path";
    if (op == Op::attach_network)
      return "a program is already attached there, in another XDP mode or not the one expected "
             "for a replace: detach it (ip link set dev <if> xdp off), or name the program that "
             "is attached as the one to replace";
    return {};
  case EBUSY:
    if (op == Op::pin)
      return "this object is already pinned (a link is pinned at one path at a time): unpin it "
             "first";
    if (op == Op::attach_network)
      return "another program is attached there. See which and who holds it: `bpftool net show "
             "dev <if>` gives its program id, `bpftool link show` the process (pids) of a "
             "link; then detach it (end that process, or `ip link set dev <if> xdp off` for a "
             "netlink attachment), or ask to replace it";
    return {};
  case ENOMEM:
    // Since 5.11 BPF memory is charged to the memory cgroup, and RLIMIT_MEMLOCK plays no part.
    if (KernelVersion::running() && KernelVersion::running() < KernelVersion{5, 11, 0})
      return "the kernel could not allocate memory for the object; before 5.11 BPF memory is "
             "charged to RLIMIT_MEMLOCK: raise it (ulimit -l unlimited, or setrlimit), or lower "
             "the map's max_entries";
    return "the kernel could not allocate memory for the object (charged to this process's "
           "memory cgroup): lower the map's max_entries (a map takes about max_entries x (key + "
           "value size)), or for a hash map create it with BPF_F_NO_PREALLOC";
  case E2BIG:
    if (op == Op::map_create || op == Op::load || op == Op::load_network)
      return "a map is larger than its type allows: lower its max_entries or its key/value "
             "size (a hash map, for one, refuses more than about 2^28 entries)";
    return "the object is larger than the kernel allows (map size, program size, or a newer "
           "struct than this kernel knows)";
  case EINVAL:
    if (op == Op::map_create)
      return "check max_entries (> 0), the flags, the key/value sizes the map type requires, and "
             "the name (letters, digits, '_' and '.' only)";
    if (op == Op::mmap) return "the map was not created mmap-able (BPF_F_MMAPABLE)";
    if (op == Op::perf_event_open)
      return "a sampling frequency above kernel.perf_event_max_sample_rate (sysctl), a period or "
             "frequency of 0, or an event config this PMU does not know";
    return {};
  case ENODEV:
    if (op == Op::attach_network)
      return "no such network interface in this network namespace (ip link lists them)";
    if (op == Op::perf_event_open)
      return "the CPU is offline or the PMU cannot count this event on it";
    return {};
  case EOPNOTSUPP:
  case 524: // ENOTSUPP, the kernel's internal "not supported"
    if (op == Op::attach_network)
      return "the interface's driver does not support this mode: native XDP needs driver support "
             "and offload a NIC that runs BPF; try XdpMode::generic (works on every interface)";
    if (op == Op::perf_event_open)
      return "this PMU cannot sample this event (virtual machines often expose no hardware "
             "counters): use a software event such as PerfEventConfig::cpu_clock()";
    return {};
  case ESRCH:
    if (op == Op::perf_event_open) return "no such process or thread (it may have exited)";
    return {};
  case ERANGE:
    if (op == Op::attach_network)
      return "the netfilter priority is reserved or out of range: INT_MIN and INT_MAX "
             "(NF_IP_PRI_FIRST/LAST) are refused, and with defrag it must be above -400 "
             "(NF_IP_PRI_CONNTRACK_DEFRAG)";
    return {};
  default:
    return {};
  }
}

// Fixed hints, for situations that are not an errno from the kernel.
namespace hint {
inline constexpr std::string_view not_loaded =
    "call load() on the Object or Skeleton first (programs and maps reach the kernel at load)";
inline constexpr std::string_view empty_view =
    "it is empty (default-constructed or moved-from): assign a real one first";
inline constexpr std::string_view view_outlived =
    "a Program or MapRef is valid only while the Object or Skeleton it came from lives: keep "
    "that alive, or make the typed view (which owns a duplicate of the map's fd) before it goes";
inline constexpr std::string_view corrupt_btf =
    "the object's BTF is corrupt, or the object was not made by a BPF compiler: rebuild it "
    "(clang -g -O2 -target bpf -c <name>.bpf.c); `bpftool btf dump file <object>` shows its BTF";
inline constexpr std::string_view object_too_large =
    "a BPF object is a few MB at most, debug information included: check that the path names "
    "an object file";
inline constexpr std::string_view not_a_regular_file =
    "a device, a pipe or a socket could be read for ever: read the object into memory yourself "
    "and use Object::open_memory";
/// A global data section or variable over OpenOptions::max_data_size.
template <class = void>
std::string data_too_large(std::uint64_t limit) {
  return detail::format(
      "global data becomes a map of its size, mapped into this process at open and created in "
      "the kernel at load, and the limit is {} bytes (OpenOptions::max_data_size): keep large "
      "data in a map sized at run time (BPF_MAP_TYPE_ARRAY), or raise the limit for an object "
      "you trust",
      limit);
}
inline constexpr std::string_view nul_in_path =
    "the path has a NUL byte, where the kernel's copy of it would end (it would use only the part "
    "before it): remove the NUL (a path built from a fixed-size char buffer often carries one)";
inline constexpr std::string_view share_struct =
    "the BPF program and the user side disagree on the struct: share one header between them";
inline constexpr std::string_view ring_record_size =
    "the BPF program and the user side disagree on the event struct: share one header between "
    "them, or read records of varying size with RingBuffer<Bytes>";
inline constexpr std::string_view ring_ctl_not_mmapable =
    "declare the ring with EBPFPP_RINGBUF() from <ebpfpp/ring_buffer.bpf.h>";
inline constexpr std::string_view ring_too_small =
    "make the ring larger (max_entries in the BPF declaration) or the event smaller: a record "
    "takes its size plus an 8-byte header";
inline constexpr std::string_view perf_pages =
    "the page count must be a power of two (1, 2, 4, ... 64)";
inline constexpr std::string_view perf_map_entries =
    "a perf event array needs a slot per CPU: declare it with max_entries 0 (libbpf sets the "
    "number of CPUs) or at least the number of possible CPUs";
} // namespace hint

} // namespace ebpfpp::detail
