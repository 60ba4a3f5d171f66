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
#include <optional>
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
#include "uapi.hpp"

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
  map_access,      // lookup, update, erase on a map's fd: the fd's mode, not capabilities, rules
  open_by_id,      // BPF_*_GET_FD_BY_ID: CAP_SYS_ADMIN, whatever else the process has
  open_cgroup,     // opening a cgroup v2 directory to attach to
  open_trace_pipe, // opening a tracefs trace_pipe (bpf_printk's output)
  link_update,     // BPF_LINK_UPDATE: swap a link's program
  link_detach,     // BPF_LINK_DETACH: detach a link, keeping its fd
  query_hook,      // BPF_PROG_QUERY / XDP query: what is attached on a hook
  attach_socket,   // setsockopt with a program fd (SO_ATTACH_BPF, SO_ATTACH_REUSEPORT_EBPF)
  read_stream,     // BPF_PROG_STREAM_READ_BY_FD: a program's stdout/stderr stream, by its fd
  xdp_socket,      // an AF_XDP socket: socket(2), its UMEM and rings (CAP_NET_RAW)
  bind_xdp_socket, // binding an AF_XDP socket to an interface's queue
};

// --- capabilities -----------------------------------------------------------------------------

// Older uapi headers (before 5.8) do not name the BPF capabilities.
inline constexpr int cap_perfmon = 38;
inline constexpr int cap_bpf = 39;

/// Whether the process is in the initial user namespace (PROC_USER_INIT_INO): in any other, its
/// capabilities do not count for BPF, which a BPF token delegates instead (6.9+).
template <class = void>
bool in_initial_user_namespace() noexcept {
  struct stat st {};
  return ::stat("/proc/self/ns/user", &st) != 0 || st.st_ino == 0xEFFFFFFDU;
}

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
  if (static_cast<int>(type) == uapi::prog_type_netfilter) return Op::load_network;
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

// Fixed hints, one named constant per cause: for failures whose cause the site knows better than
// the errno and Op tell it (a full map, an incompatible inner map), for situations that are not
// an errno from the kernel (an empty view, a bad argument), and the table's own longer texts.
// Char arrays, not std::string_views: GCC works out a constexpr string_view's length one char at
// a time, in memory that every file including this paid (4 MB for the table); an array passes
// for a string_view (or a std::string) wherever one is taken.
namespace hint {
inline constexpr const char* not_loaded =
    "call load() on the Object or Skeleton first (programs and maps reach the kernel at load)";
inline constexpr const char* empty_view =
    "it is empty (default-constructed or moved-from): assign a real one first";
inline constexpr const char* view_outlived =
    "a Program or MapRef is valid only while the Object or Skeleton it came from lives: keep "
    "that alive, or make the typed view (which owns a duplicate of the map's fd) before it goes";
inline constexpr const char* corrupt_btf =
    "the object's BTF is corrupt, or the object was not made by a BPF compiler: rebuild it "
    "(clang -g -O2 -target bpf -c <name>.bpf.c); `bpftool btf dump file <object>` shows its BTF";
inline constexpr const char* object_too_large =
    "a BPF object is a few MB at most, debug information included: check that the path names "
    "an object file";
inline constexpr const char* not_a_regular_file =
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
inline constexpr const char* nul_in_path =
    "the path has a NUL byte, where the kernel's copy of it would end (it would use only the part "
    "before it): remove the NUL (a path built from a fixed-size char buffer often carries one)";
inline constexpr const char* not_mmapable =
    "only an array created with BPF_F_MMAPABLE can be mapped: add __uint(map_flags, "
    "BPF_F_MMAPABLE) to its definition (kernel 5.5+), or read it with ArrayMap<V>";
inline constexpr const char* arena_taken =
    "something in this process is mapped at the arena's address (its map_extra), another view "
    "of the same arena too: keep one Arena per arena and process, or create the arena at a free "
    "address";
inline constexpr const char* arena_placed_elsewhere =
    "the arena was placed by an earlier mmap (another view, or another process) at an address "
    "this process was not told: give arenas that several views or processes share an address "
    "when they are made (map_extra, Arena::create's address)";
inline constexpr const char* arena_outside =
    "the address is not in this arena: pass what the BPF side stored as a pointer into this "
    "arena (a user address or its low 32 bits), 0 for none";
inline constexpr const char* attached_socket_fd =
    "give the fd of an open socket (socket(2), accept(2)), and keep it open while the program is "
    "attached";
inline constexpr const char* xsk_map_socket =
    "an XskMap holds AF_XDP sockets only: put in an ebpfpp::XdpSocket (or the fd of another "
    "AF_XDP socket, bound to the queue its slot serves), not a UDP, TCP or other fd";
inline constexpr const char* xdp_socket_frames =
    "XdpSocketOptions::frames must be a power of two up to 65536 (it is also each ring's size)";
/// XdpSocketOptions::frame_size out of what the kernel's aligned UMEM takes.
template <class = void>
std::string xdp_frame_size(std::uint32_t page) {
  return detail::format("XdpSocketOptions::frame_size must be a power of two from 2048 to the "
                        "page size ({} bytes)",
                        page);
}
inline constexpr const char* xdp_frame_too_large =
    "a frame sent must fit one UMEM frame: raise XdpSocketOptions::frame_size, or send less";
inline constexpr const char* share_struct =
    "the BPF program and the user side disagree on the struct: share one header between them";

// --- maps
inline constexpr const char* no_map_fd =
    "the view has no open map fd: it is empty (default-constructed or moved-from), or its fd was "
    "closed by code that does not own it; assign a real view, and close a view's fd only by "
    "destroying the view";
inline constexpr const char* map_fd_mode =
    "the kernel refuses this access through this fd, whatever the process's capabilities: the fd "
    "or the map is read-only or write-only for user space (BPF_F_RDONLY / BPF_F_WRONLY at "
    "creation, at BPF_OBJ_GET or when the fd was handed over), or the map is frozen "
    "(bpf_map_freeze) against writes; open the map with the access you need";
inline constexpr const char* map_full =
    "erase entries first, raise max_entries before load (bpf_map__set_max_entries), or use an LRU "
    "hash map, which evicts";
inline constexpr const char* insert_only =
    "UpdateFlag::no_exist only inserts; use UpdateFlag::any to overwrite";
inline constexpr const char* overwrite_only =
    "UpdateFlag::exist only overwrites; use UpdateFlag::any to insert";
inline constexpr const char* queue_full =
    "pop elements first, or push with overwrite = true to drop one";
inline constexpr const char* no_batch_lookup =
    "this kernel has no batch lookup for this map type (5.6+ for hash maps, 5.7+ for arrays): use "
    "ReadMethod::per_key or automatic";
inline constexpr const char* one_value_per_key = "pass one value per key";
inline constexpr const char* no_elements = "the map has no elements";
inline constexpr const char* one_value_per_cpu =
    "make the values with PerCpuValues(std::vector<V>(possible CPUs, v)) or use the update "
    "overload that takes one V for every CPU";
inline constexpr const char* inner_map_template =
    "the inner map must have the outer map's template: the same type, key and value sizes and "
    "flags (and max_entries for arrays): make it with create_inner()";
inline constexpr const char* no_inner_to_copy =
    "it holds no map to copy max_entries from: pass max_entries";
/// An fd given as the key of a local storage map that is not of the kind it keys on.
template <class = void>
std::string storage_key_fd(std::string_view owner) {
  return detail::format("the fd must be {}", owner);
}
inline constexpr const char* unpin_foreign =
    "it was not pinned through this view; remove another pin with std::filesystem::remove(path)";
inline constexpr const char* empty_map_source =
    "pass a map: skel->maps.x, obj.map(\"x\"), MapSource::pinned(path), ...";
inline constexpr const char* null_map = "pass a map of a loaded Object or Skeleton";
inline constexpr const char* pinned_kind =
    "open it with the type that matches what is pinned (Link::open_pinned for links, the typed "
    "maps' open_pinned for maps)";
inline constexpr const char* open_by_id =
    "listing BPF objects and opening them by id need CAP_SYS_ADMIN (CAP_BPF is not enough): run "
    "as root, or get the object another way (a pin, an fd passed over a unix socket)";
inline constexpr const char* socket_fd = "give the fd of an open socket (socket(2), accept(2))";
inline constexpr const char* reversed_range =
    "the range is empty the wrong way round: first > last";

// --- objects, programs, globals
inline constexpr const char* no_btf = "the object has no BTF: build it with clang -g";
inline constexpr const char* no_globals = "the object has no global variables";
inline constexpr const char* match_declaration =
    "use a C++ type that matches the BPF declaration (bpftool btf dump file <object> shows it)";
inline constexpr const char* rodata_frozen =
    ".rodata is frozen when the object loads: set it between open and load, or declare the "
    "variable without const to put it in .data or .bss";

// --- BTF inspection (btf.hpp)
inline constexpr const char* btf_type_missing =
    "a name is C's without its keyword ('task_struct', not 'struct task_struct'), matched "
    "exactly, and a struct, a typedef and an enum of one name are different types; `bpftool btf "
    "dump file <file> format c` lists the types there are (the kernel's: /sys/kernel/btf/vmlinux)";
inline constexpr const char* btf_type_id =
    "take ids from this Btf (a BtfType's id or type_id, a member's type_id): an id of one BTF "
    "means nothing in another";
inline constexpr const char* btf_module_missing =
    "the module must be loaded (lsmod) in a kernel built with CONFIG_DEBUG_INFO_BTF_MODULES: "
    "/sys/kernel/btf lists the modules whose BTF it has (vmlinux is the kernel's own)";
inline constexpr const char* btf_module_name =
    "give a module's name as lsmod shows it (no '/'), or Btf::kernel() for vmlinux";
inline constexpr const char* btf_file =
    "give a raw BTF file (such as /sys/kernel/btf/vmlinux) or an ELF file with a .BTF section (a "
    "BPF object built with clang -g, a vmlinux built with CONFIG_DEBUG_INFO_BTF)";
inline constexpr const char* no_kernel_btf =
    "read the BTF of a vmlinux built with CONFIG_DEBUG_INFO_BTF with Btf::file(path) instead";

// --- links and attaching
inline constexpr const char* not_pinned = "it is not pinned";
inline constexpr const char* ctx_out_size = "ask for the context with TestRun::ctx_out(sizeof(T))";
inline constexpr const char* raw_tp_test_run =
    "a raw_tracepoint test run takes only ctx_in (no data, ctx_out or repeat): one u64 per "
    "argument, at least up to the last argument the program reads and at most 12; cpu() needs "
    "5.10+";
/// What to try when a test run (test_run.hpp) failed with `err`; "" for the table's hint.
template <class = void>
std::string test_run(int err, bpf_prog_type type, std::optional<std::uint32_t> cpu,
                     std::uint32_t data_size_out) {
  const char* type_str = libbpf_bpf_prog_type_str(type);
  const std::string type_name = type_str ? type_str : "unknown";
  if (err == uapi::enotsupp)
    return detail::format("this kernel cannot test-run {} programs; test runs exist for socket "
                          "filter/tc (4.12+), xdp (4.12+), flow_dissector (5.0+), raw_tracepoint "
                          "(5.10+), fentry/fexit (5.10+), sk_lookup and syscall (5.14+) programs",
                          type_name);
  if (err == ENOSPC)
    return detail::format("the program's output is {} bytes; ask for at least that with "
                          "data_out()/ctx_out()",
                          data_size_out);
  if (err == ENXIO && cpu) return detail::format("CPU {} is not online", *cpu);
  if (err == EINVAL && type == BPF_PROG_TYPE_RAW_TRACEPOINT)
    return std::string(raw_tp_test_run);
  if (err == EINVAL)
    return detail::format(
        "the kernel refused this input for a {} program (sizes of data_in/ctx_in, "
        "or an option this type does not take)",
        type_name);
  return {}; // the table's
}

inline constexpr const char* stream_prog_fd =
    "give the fd of a loaded BPF program (Program::fd() after load, or one opened by id or pin); "
    "a stream belongs to a program, not to a map, link or other file";
inline constexpr const char* no_bpf_streams =
    "print with bpf_printk and read it with TracePipe (tracefs) on this kernel";
inline constexpr const char* one_awaiter =
    "another task already awaits this stream (or fd): one reader each";
inline constexpr const char* struct_ops_name_taken =
    "an ops table of that name is already registered: give it another .name";
inline constexpr const char* proc_unmounted = "is /proc mounted?";
inline constexpr const char* kptr_restrict =
    "every address reads as 0: kernel.kptr_restrict hides them from this process; run as root "
    "(with CAP_SYSLOG) or set sysctl kernel.kptr_restrict=0";
inline constexpr const char* no_cgroup =
    "no such cgroup: cgroup v2 directories are under /sys/fs/cgroup (systemd-cgls lists them); "
    "create one with mkdir";
inline constexpr const char* not_cgroup2 =
    "this is not a cgroup v2 directory: cgroup programs attach to the cgroup2 hierarchy "
    "(/sys/fs/cgroup on most systems, /sys/fs/cgroup/unified on hybrid ones; mount -t cgroup2 "
    "none <dir>)";
inline constexpr const char* not_netns_file =
    "this is not a namespace file: give /run/netns/<name> (ip netns list) or /proc/<pid>/ns/net";
inline constexpr const char* no_iterators = "read /proc instead";
inline constexpr const char* no_task_iter_pid =
    "iterate over every task and skip the others in the program (compare task->tgid)";
inline constexpr const char* no_cgroup_iter =
    "walk the cgroup2 directories under /sys/fs/cgroup instead";
/// A perf event array with fewer slots than a CPU's number, for PerfCounters.
template <class = void>
std::string too_few_cpu_slots(std::uint32_t slots, int cpu) {
  return detail::format("the perf event array has {} slots and CPU {} is online: leave "
                        "max_entries out of its definition (libbpf then sizes it to the possible "
                        "CPUs) or raise it above the highest CPU number",
                        slots, cpu);
}
inline constexpr const char* zero_sampling =
    "give a frequency in Hz (e.g. Sampling::frequency(99)) or a period above 0";
inline constexpr const char* no_tp_btf =
    "use a Tracepoint or RawTracepoint with bpf_probe_read; tp_btf needs CONFIG_DEBUG_INFO_BTF";
inline constexpr const char* no_fmod_ret =
    "there is no other way to change a kernel function's return value from BPF";
inline constexpr const char* bpf_lsm_inactive =
    "BPF LSM runs only when the kernel has CONFIG_BPF_LSM and 'bpf' is in its lsm= list (cat "
    "/sys/kernel/security/lsm; boot with lsm=<that list>,bpf)";
inline constexpr const char* not_a_kernel_link =
    "this attachment is not a kernel link (netlink XDP, clsact filter): it cannot be pinned; use "
    "the link-based attach where the kernel has it";
inline constexpr const char* no_cookie =
    "attach with cookie 0, and tell the hooks apart in the BPF program";
inline constexpr const char* tracefs_unmounted =
    "tracefs is not mounted (at /sys/kernel/tracing or /sys/kernel/debug/tracing), and this reads "
    "it: mount it as root (mount -t tracefs tracefs /sys/kernel/tracing) and try again";
inline constexpr const char* tracefs_root_only =
    "tracefs is readable by root only (mode 0700) on most systems, whatever BPF capabilities the "
    "process has: run as root";
inline constexpr const char* trace_pipe_busy =
    "another process is reading this trace_pipe (recent kernels admit one reader at a time): stop "
    "it (e.g. a `cat trace_pipe` or `bpftool prog tracelog`), or read a private tracefs instance "
    "instead (the default TracePipe())";
inline constexpr const char* no_fentry =
    "use a kprobe/kretprobe or a tracepoint instead, or leave this program out with "
    "set_autoload(false)";
/// The kernel has no kprobes: the syscall tracepoint for `syscall` (empty: any) does the job.
template <class = void>
std::string no_kprobes(std::string_view syscall) {
  const std::string_view name = syscall.empty() ? "<name>" : syscall;
  return detail::format("attach a tracepoint program instead, e.g. Tracepoint(prog, \"syscalls\", "
                        "\"sys_enter_{}\") with SEC(\"tracepoint/syscalls/sys_enter_{}\") on the "
                        "BPF side",
                        name, name);
}
/// EINVAL from an attach whose Op has no better hint.
template <class = void>
std::string program_type_mismatch(std::string_view type) {
  return detail::format("does the program type ({}) match the hook? SEC() decides the type", type);
}

// --- streams (ring_buffer.hpp, perf_buffer.hpp, stream.hpp, detail/perf_ring.hpp)
inline constexpr const char* ring_too_small =
    "make the ring larger (max_entries in the BPF declaration) or the event smaller: a record "
    "takes its size plus an 8-byte header";
inline constexpr const char* ring_record_size =
    "the BPF program and the user side disagree on the event struct: share one header between "
    "them, or read records of varying size with RingBuffer<Bytes>";
inline constexpr const char* ring_ctl_not_mmapable =
    "declare the ring with EBPFPP_RINGBUF() from <ebpfpp/ring_buffer.bpf.h>";
inline constexpr const char* perf_pages = "the page count must be a power of two (1, 2, 4, ... 64)";
inline constexpr const char* perf_map_entries =
    "a perf event array needs a slot per CPU: declare it with max_entries 0 (libbpf sets the "
    "number of CPUs) or at least the number of possible CPUs";
inline constexpr const char* perf_mlock =
    "perf rings beyond /proc/sys/kernel/perf_event_mlock_kb need CAP_IPC_LOCK: use fewer pages, "
    "or raise the limit";
inline constexpr const char* one_loop_per_stream =
    "finish (or destroy the generator of) the other loop first: a stream has one reader at a time";
inline constexpr const char* stream_outlived =
    "keep the stream alive (and in place) until its loop ends: a generator from events() reads "
    "through the object that made it";

// --- kernel facts (multi_probe.hpp, tc.hpp, netfilter.hpp)
inline constexpr const char* one_cookie_per_symbol = "give one cookie per symbol, or none";
// (the FeatureError names the minimum kernel and configuration option from the feature table)
inline constexpr const char* no_kprobe_multi = "attach one Kprobe per function, or a tracepoint";
inline constexpr const char* no_uprobe_multi = "attach one Uprobe per function instead";
inline constexpr const char* uprobe_multi_not_prepared =
    "the program was not loaded for uprobe.multi: call UprobeMulti::prepare(prog) before load (or "
    "use SEC(\"uprobe.multi\") with libbpf 1.2+)";
inline constexpr const char* no_kprobe_session =
    "attach a KprobeMulti at entry and one with ProbeAt::exit, and pair each call's two runs in a "
    "hash map keyed by bpf_get_current_pid_tgid()";
inline constexpr const char* no_uprobe_session =
    "attach an UprobeMulti at entry and one with ProbeAt::exit, and pair each call's two runs in a "
    "hash map keyed by bpf_get_current_pid_tgid()";
/// A multi-probe program (`kind`: "kprobe" or "uprobe") loaded for another attach type than the
/// attach asks for: a session (`session`) or not.
template <class = void>
std::string multi_probe_not_prepared(std::string_view kind, bool session) {
  const std::string_view cls = kind == "kprobe" ? "KprobeMulti" : "UprobeMulti";
  if (session)
    return detail::format(
        "the program was not loaded for a {0} session: call {1}::prepare(prog, "
        "ebpfpp::ProbeAt::session) before load (or use SEC(\"{0}.session\") with libbpf {2}+); "
        "the kernel runs the session kfuncs (bpf_session_cookie, bpf_session_is_return) only in "
        "such a program",
        kind, cls, kind == "kprobe" ? "1.5" : "1.6");
  return detail::format("the program was loaded for a {0} session: attach it with "
                        "ebpfpp::ProbeAt::session, or call {1}::prepare(prog) before load for "
                        "{0}.multi",
                        kind, cls);
}
inline constexpr const char* no_tcx = "use TcClassic (the clsact qdisc path)";
inline constexpr const char* no_netfilter =
    "use an XDP or TC program (Xdp, Tcx, TcClassic) to filter packets on this kernel";
inline constexpr const char* no_netkit =
    "use a veth pair with Tcx programs on its ends (egress of one end sees what the other "
    "receives)";
inline constexpr const char* not_netkit =
    "the interface is not a netkit device: name the primary of a netkit pair (ip -d link show "
    "says 'netkit'), or attach with Tcx to any other interface";
inline constexpr const char* netkit_peer_named =
    "this is the pair's peer: name the primary device and pass NetkitSide::peer (the peer's "
    "programs are attached through the primary only)";
inline constexpr const char* flow_dissector_taken =
    "a network namespace has one flow dissector at a time, and no other namespace may have one "
    "while the initial namespace has: destroy the one attached (bpftool net show lists it, "
    "bpftool link show its process), or use another namespace";
inline constexpr const char* no_freplace =
    "let the program read what should change from a global variable or a map instead, or load "
    "a new version of the program and swap it in with Link::update";
inline constexpr const char* freplace_not_ext =
    "the extension must be an extension program: SEC(\"freplace/<function>\") "
    "(BPF_PROG_TYPE_EXT), declared SEC(\"?freplace/...\") when its object is loaded before its "
    "target is known";
/// The target program has no global function `function` to replace.
template <class = void>
std::string freplace_no_function(std::string_view function, bool is_static) {
  if (is_static)
    return detail::format("'{}' is static: the kernel replaces global functions only; drop "
                          "'static' (and keep __noinline) in the target's .bpf.c",
                          function);
  return detail::format("give the name of a global (not static), __noinline function that the "
                        "target program calls ('{}' is none): only those are separate functions "
                        "in its BTF (bpftool prog dump xlated id <id> lists them)",
                        function);
}

// --- link lifecycle (link.hpp)
inline constexpr const char* link_detached =
    "the link is detached (by detach(), or its interface, cgroup or namespace is gone): it runs "
    "nothing and cannot be updated or detached again; attach the program anew";
inline constexpr const char* link_not_updatable =
    "the kernel swaps the program only of cgroup, XDP, tcx, netkit, netns (sk_lookup, flow "
    "dissector), iterator and sockmap links; a tracepoint, raw tracepoint, kprobe, uprobe, perf "
    "event, fentry/fexit or netfilter link cannot be updated: attach the new program, then "
    "destroy the old Link (both run for a moment)";
inline constexpr const char* link_update_mismatch =
    "the new program must be of the link's program type and attach type (an XDP link takes a "
    "SEC(\"xdp\") program, a cgroup link one with the same cgroup attach type, a tcx link a "
    "SEC(\"tc\") program), and loaded for the same device if offloaded";
inline constexpr const char* link_not_expected =
    "the link does not run the program given as expected (another update swapped it first): "
    "info().program_id says which one it runs; update against that one, or without expecting";
inline constexpr const char* link_not_detachable =
    "the kernel detaches only cgroup, netns, XDP, tcx, netkit, netfilter, struct_ops and "
    "sockmap links while their fd stays open; destroy (or reset()) this Link to detach it";

// --- open options (open_options.hpp)
inline constexpr const char* kernel_log_level =
    "the kernel's log levels are 1 (the instructions it checked), 2 (also every state: large) and "
    "4 (statistics), or a sum of them; 0 for none";
inline constexpr const char* resize_data =
    "global data (.bss, .data, .rodata) is one entry sized by its variables: declare a larger "
    "variable, or keep the data in an array map and size that with MapResize";
inline constexpr const char* resize_zero = "give a size of at least 1";
inline constexpr const char* ring_not_entries =
    "a ring buffer's size is in bytes, not entries: use MapResize::ring_size (a power-of-two "
    "multiple of the page size)";
/// MapResize::ring_size on a map of another kind.
template <class = void>
std::string not_a_ring(std::string_view kind) {
  return detail::format("MapResize::ring_size is for ring buffers (RingBuffer<Event>, "
                        "UserRingBuffer<Event>); a {} map is sized with MapResize::max_entries",
                        kind);
}
/// A ring buffer size the kernel refuses; says the two nearest it takes.
template <class = void>
std::string ring_size_rule(std::uint32_t bytes, std::uint32_t page) {
  std::uint64_t above = page;
  while (above < bytes) above *= 2;
  const std::uint64_t below = above / 2;
  return below >= page
             ? detail::format("the kernel takes a ring buffer of a power of two bytes that is a "
                              "multiple of the page size ({} bytes): {} or {} is the nearest",
                              page, below, above)
             : detail::format("the kernel takes a ring buffer of a power of two bytes that is a "
                              "multiple of the page size ({} bytes): {} is the smallest",
                              page, above);
}
/// MapResize::value_size on a map that is not an array.
template <class = void>
std::string value_size_kind(std::string_view kind) {
  return detail::format("MapResize::value_size is for arrays (BPF_MAP_TYPE_ARRAY, PERCPU_ARRAY), "
                        "whose value the BPF side may treat as a buffer of a size it is told; a "
                        "{} map's value is the type it declares: change the declaration",
                        kind);
}
inline constexpr const char* reuse_differs =
    "reuse a map made from the same declaration (type, key and value sizes, max_entries after "
    "any MapResize, flags, and name: libbpf renames the object's map after the one it reuses): "
    "the map of another Object or Skeleton of this object, its pin, or a typed view's "
    "create(max_entries, \"<the map's name>\")";
inline constexpr const char* reuse_not_loaded =
    "load the other Object or Skeleton first: its maps are in the kernel from load()";
/// A CO-RE relocation that found no match in the target BTF (`btf_path`: the custom file, or
/// empty for the running kernel's).
template <class = void>
std::string core_relocation(std::string_view btf_path) {
  constexpr std::string_view guard = "or guard the read with bpf_core_field_exists() or "
                                     "bpf_core_type_exists() and take another path";
  if (btf_path.empty())
    return detail::format(
        "the running kernel's BTF (/sys/kernel/btf/vmlinux) has no type or field that matches "
        "this CO-RE read: where the kernel has no BTF or another layout, give its BTF as "
        "OpenOptions::btf_custom_path (BTFHub has files for many distribution kernels), {}",
        guard);
  return detail::format(
      "the BTF file '{}' (OpenOptions::btf_custom_path) has no type or field that matches this "
      "CO-RE read: give the file made for this very kernel (a copy of its "
      "/sys/kernel/btf/vmlinux, or BTFHub's file for its exact release), {}",
      btf_path, guard);
}
/// libbpf could not parse the BTF file given as btf_custom_path.
template <class = void>
std::string unreadable_btf(std::string_view btf_path) {
  return detail::format(
      "'{}' (OpenOptions::btf_custom_path) is not BTF libbpf can read: give raw BTF (a copy of "
      "/sys/kernel/btf/vmlinux, or a BTFHub .btf file unpacked from its .tar.xz) or an ELF file "
      "with a .BTF section",
      btf_path);
}
inline constexpr const char* pinned_map_differs =
    "a pinned map is reused only when its type, key and value sizes, max_entries and flags equal "
    "the object's declaration (after any MapResize): this pin was made by another version of the "
    "object or with other sizes; remove it to have a new one made (its data goes), resize to "
    "match it, or pin under another OpenOptions::pin_root_path";

// BPF tokens (OpenOptions::bpf_token_path, detail/token.hpp).
template <class = void>
std::string token_create(int err, std::string_view path) {
  switch (err) {
  case ENOENT:
    return detail::format(
        "the bpffs at '{}' delegates nothing: the host's root mounts it for the user namespace "
        "with delegate_cmds, delegate_maps, delegate_progs and delegate_attachs (e.g. "
        "delegate_cmds=map_create:prog_load:btf_load, delegate_maps=array, "
        "delegate_progs=socket_filter, delegate_attachs=any)",
        path);
  case EPERM:
    return detail::format(
        "a token is made by root (CAP_BPF) of the user namespace that owns the bpffs at '{}' "
        "(the namespace that called fsopen(\"bpf\")): this process is in another user "
        "namespace, or lacks CAP_BPF in it",
        path);
  case EINVAL:
    return detail::format("'{}' is not the root of a bpffs mount: give the directory the "
                          "delegating bpffs is mounted on",
                          path);
  case EOPNOTSUPP:
    return "a token is for a process in a user namespace: in the initial one, load with "
           "capabilities and leave OpenOptions::bpf_token_path empty";
  default:
    return {};
  }
}
/// The token of `path` does not delegate `what` (a "program type 'kprobe'"): mount option
/// `option` needs `value`; `delegated` is what the mount gives for that option now.
template <class = void>
std::string token_refused(std::string_view path, std::string_view what, std::string_view option,
                          std::string_view value, std::string_view delegated) {
  return detail::format("the BPF token of '{}' does not delegate {}: mount that bpffs with {} "
                        "including {} ({})",
                        path, what, option, value,
                        delegated.empty() ? detail::format("it has no {}", option)
                                          : detail::format("it has {}={}", option, delegated));
}
inline constexpr const char* token_probe =
    "libbpf 1.1 first loads a trivial socket filter (or, failing that, tracepoint) program with "
    "no attach type, as a check that loading works: the token must delegate "
    "delegate_cmds=prog_load, delegate_progs=socket_filter and delegate_attachs=cgroup_inet_ingress "
    "(attach type 0, what a program that names none has) or any";
inline constexpr const char* token_shim_missing =
    "include <ebpfpp/token_shim.hpp> in exactly one .cpp file of the program: it defines "
    "syscall() so that libbpf 1.1's bpf() calls carry the token (a libbpf 1.4+ takes the token "
    "itself)";
} // namespace hint

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
  case EBADF:
  case ENOTSOCK:
    if (op == Op::map_access) return std::string(hint::no_map_fd);
    if (op == Op::attach_socket) return std::string(hint::attached_socket_fd);
    if (op == Op::read_stream) return std::string(hint::stream_prog_fd);
    return {};
  case EPERM:
  case EACCES:
    if (op == Op::map_access) return std::string(hint::map_fd_mode);
    if (op == Op::xdp_socket || op == Op::bind_xdp_socket)
      return "AF_XDP sockets need CAP_NET_RAW (and the XDP program that redirects to them "
             "CAP_BPF + CAP_NET_ADMIN): run as root, or grant them, e.g. setcap "
             "cap_net_raw,cap_net_admin,cap_bpf+ep <binary>";
    if (op == Op::open_trace_pipe) return std::string(hint::tracefs_root_only);
    if (op == Op::open_by_id && !has_capability(CAP_SYS_ADMIN))
      return std::string(hint::open_by_id);
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
    if (op == Op::open_cgroup) return std::string(hint::no_cgroup);
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
    if (op == Op::open_trace_pipe) return std::string(hint::trace_pipe_busy);
    if (op == Op::bind_xdp_socket)
      return "another AF_XDP socket is bound to this queue of this interface (one socket per "
             "queue): close it, or bind to another queue; one closed a moment ago frees the queue "
             "a few milliseconds later (the kernel releases it after the close): try again";
    if (op == Op::pin)
      return "this object is already pinned (a link is pinned at one path at a time): unpin it "
             "first";
    if (op == Op::attach_network)
      return "another program is attached there. See which and who holds it: `bpftool net show "
             "dev <if>` gives its program id, `bpftool link show` the process (pids) of a "
             "link; then detach it (end that process, or `ip link set dev <if> xdp off` for a "
             "netlink attachment), or ask to replace it";
    return {};
  case ENOBUFS:
  case ENOMEM:
    // The UMEM's pages are pinned and counted against RLIMIT_MEMLOCK (xdp_umem_account_pages).
    if (op == Op::xdp_socket)
      return "the UMEM's pages are pinned and counted against RLIMIT_MEMLOCK unless the process "
             "has CAP_IPC_LOCK: raise it (ulimit -l), grant CAP_IPC_LOCK, or use fewer or "
             "smaller frames (XdpSocketOptions)";
    if (err == ENOBUFS) return {};
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
    if (op == Op::read_stream) return std::string(hint::stream_prog_fd);
    if (op == Op::map_create)
      return "check max_entries (> 0), the flags, the key/value sizes the map type requires, and "
             "the name (letters, digits, '_' and '.' only)";
    if (op == Op::mmap) return "the map was not created mmap-able (BPF_F_MMAPABLE)";
    if (op == Op::attach_socket)
      return "the program's type must fit the socket option (SEC(\"socket\") for a socket "
             "filter, SEC(\"sk_reuseport\") for sk_reuseport), and sk_reuseport needs a socket "
             "with SO_REUSEPORT set (setsockopt before bind)";
    if (op == Op::bind_xdp_socket)
      return "the queue is not one of the interface's (`ethtool -l <if>` says how many it has; a "
             "veth has one, queue 0, unless made with numrxqueues), or the socket is bound "
             "already";
    if (op == Op::perf_event_open)
      return "a sampling frequency above kernel.perf_event_max_sample_rate (sysctl), a period or "
             "frequency of 0, or an event config this PMU does not know";
    return {};
  case ENODEV:
    if (op == Op::map_access)
      return "no such CPU: a CpuMap's key is a CPU this machine can have "
             "(/sys/devices/system/cpu/possible lists them)";
    if (op == Op::attach_network || op == Op::bind_xdp_socket)
      return "no such network interface in this network namespace (ip link lists them)";
    if (op == Op::perf_event_open)
      return "the CPU is offline or the PMU cannot count this event on it";
    return {};
  case EOPNOTSUPP:
  case uapi::enotsupp: // the kernel's internal "not supported"
    if (op == Op::bind_xdp_socket)
      return "the interface's driver has no zero-copy AF_XDP: bind with XdpCopyMode::copy (every "
             "driver has it) or XdpCopyMode::automatic";
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
  case ENOLINK:
    if (op == Op::link_update || op == Op::link_detach) return std::string(hint::link_detached);
    return {};
  case EOVERFLOW:
    if (op == Op::map_access)
      return "a CpuMap's qsize is at most 16384 frames (192 is a usual size; 0 removes the CPU)";
    return {};
  case ENXIO:
    if (op == Op::xdp_socket)
      return "the AF_XDP socket is no longer bound: its interface went away (deleted, or moved to "
             "another network namespace); make a new XdpSocket on an interface that exists";
    return {};
  case EAFNOSUPPORT:
    if (op == Op::xdp_socket)
      return "this kernel has no AF_XDP sockets: it needs CONFIG_XDP_SOCKETS (4.18+)";
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

} // namespace ebpfpp::detail
