#pragma once
// The feature probes of kernel.hpp's table (it includes this after the types they use): the
// generic ones a row calls, and the few a row names because they take more than one call. Each
// asks the kernel itself, by loading the smallest program of a type, creating the smallest map or
// trying a link on nothing; and the readers of the kernel's configuration that explain an
// absence. Templates with a defaulted parameter (called as plain functions), so that a
// translation unit that probes nothing compiles none of them.

#include "config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <linux/bpf.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "btf_handle.hpp"
#include "format.hpp"
#include "uapi.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::kernel {

/// Whether the running kernel's configuration sets `option` ("CONFIG_KPROBES") to y or m;
/// nullopt when the configuration cannot be read (/boot/config-*, /proc/config.gz).
template <class = void>
std::optional<bool> config_enabled(std::string_view option);

namespace detail {

using ebpfpp::detail::UniqueFd;
namespace uapi = ebpfpp::detail::uapi;

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
  return absent(err, ebpfpp::detail::format("{}: {} (errno {})", what, std::strerror(err), err));
}

template <class = void>
UniqueFd load_program(bpf_prog_type type, int expected_attach_type = 0,
                      std::uint32_t attach_btf_id = 0, const char* license = "GPL") {
  bpf_prog_load_opts opts;
  ebpfpp::detail::init_opts(opts);
  opts.expected_attach_type = static_cast<bpf_attach_type>(expected_attach_type);
  opts.attach_btf_id = attach_btf_id;
  return UniqueFd(
      static_cast<int>(bpf_prog_load(type, "ebpfpp_probe", license, return_zero, 2, &opts)));
}

template <class = void>
FeatureStatus probe_load(bpf_prog_type type, std::string_view what, int expected_attach_type = 0,
                         std::uint32_t btf_id = 0) {
  if (load_program(type, expected_attach_type, btf_id)) return ok();
  return from_errno(errno, ebpfpp::detail::format("loading a minimal {} program failed", what));
}

template <class = void>
FeatureStatus probe_map(bpf_map_type type, std::uint32_t key, std::uint32_t value,
                        std::uint32_t max_entries, std::uint32_t flags, std::string_view what) {
  bpf_map_create_opts opts;
  ebpfpp::detail::init_opts(opts);
  opts.map_flags = flags;
  UniqueFd fd(bpf_map_create(type, "ebpfpp_probe", key, value, max_entries, &opts));
  if (fd) return ok();
  return from_errno(errno, ebpfpp::detail::format("creating a {} map failed", what));
}

template <class = void>
FeatureStatus probe_libbpf_map(bpf_map_type type, std::string_view what) {
  const int r = libbpf_probe_bpf_map_type(type, nullptr);
  if (r == 1) return ok();
  return r < 0
             ? from_errno(-r, ebpfpp::detail::format("probing {} maps failed", what))
             : absent(EOPNOTSUPP, ebpfpp::detail::format("the kernel does not know {} maps", what));
}

template <class = void>
FeatureStatus probe_helper(bpf_prog_type type, bpf_func_id helper, std::string_view what) {
  const int r = libbpf_probe_bpf_helper(type, helper, nullptr);
  if (r == 1) return ok();
  return r < 0 ? from_errno(-r, ebpfpp::detail::format("probing {} failed", what))
               : absent(EOPNOTSUPP, ebpfpp::detail::format("the kernel does not offer {}", what));
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
  return absent(
      ENOENT, ebpfpp::detail::format("the kernel has no {} PMU (/sys/bus/event_source/devices/{})",
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
    return absent(ENOENT,
                  ebpfpp::detail::format("no target for a {} program in the kernel's BTF", what));
  return probe_load(type, what, attach_type, id);
}

// Makes a link that cannot succeed and tells by the errno whether the kernel knows the attach
// type: EINVAL means it does not; the errno of a bad target (EBADF, ENODEV, ...) means it does.
// `make_link(prog_fd)` is one of uapi.hpp's link_create_* functions, on a target that is wrong.
template <class MakeLink>
FeatureStatus probe_link_kind(bpf_prog_type prog_type, int attach_type, std::string_view what,
                              int supported_errno, MakeLink make_link) {
  UniqueFd prog = load_program(prog_type, attach_type);
  if (!prog)
    return from_errno(errno, ebpfpp::detail::format("loading a minimal {} program failed", what));
  if (UniqueFd link = make_link(prog.get())) return ok();
  const int err = errno;
  if (err == supported_errno) return ok();
  return from_errno(err, ebpfpp::detail::format("creating a {} link failed", what));
}

// The probes that take more than one call; the table in kernel.hpp names them.

template <class = void>
FeatureStatus probe_btf() {
  if (std::filesystem::exists("/sys/kernel/btf/vmlinux")) return ok();
  return absent(ENOENT, "/sys/kernel/btf/vmlinux does not exist");
}

// A loaded module built with BTF (CONFIG_DEBUG_INFO_BTF_MODULES, 5.11+) has it in
// /sys/kernel/btf/<module>, beside vmlinux. Nothing says the kernel could have one short of a
// module loaded: what the kernel does say is whether it has modules at all (/proc/modules).
template <class = void>
FeatureStatus probe_btf_modules() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/kernel/btf", ec))
    if (entry.path().filename() != "vmlinux") return ok();
  if (ec)
    return absent(ec.value(),
                  ebpfpp::detail::format("/sys/kernel/btf cannot be listed: {}", ec.message()));
  if (!std::filesystem::exists("/proc/modules"))
    return absent(ENOENT, "the kernel has no loadable modules (no /proc/modules: CONFIG_MODULES "
                          "is not set)");
  return absent(ENOENT, "no loaded module has BTF (/sys/kernel/btf lists vmlinux alone)");
}

template <class = void>
FeatureStatus probe_user_ring_buffer() {
  return probe_map(static_cast<bpf_map_type>(uapi::map_type_user_ringbuf), 0, 0,
                   static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE)), 0, "user ring buffer");
}

template <class = void>
FeatureStatus probe_batch_ops() {
  UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_HASH, "ebpfpp_probe", 4, 4, 1, nullptr));
  if (!fd) return from_errno(errno, "creating a hash map failed");
  std::uint32_t keys[1], values[1], count = 1, out = 0;
  if (bpf_map_lookup_batch(fd.get(), nullptr, &out, keys, values, &count, nullptr) == 0 ||
      errno == ENOENT)
    return ok();
  return from_errno(errno, "BPF_MAP_LOOKUP_BATCH on a hash map failed");
}

// kprobe.multi links, or kprobe sessions (the same link shape) with `attach_type`.
template <class = void>
FeatureStatus probe_kprobe_multi(int attach_type, std::string_view what) {
  if (auto k = probe_pmu("kprobe"); !k.available) return k;
  // A link on a symbol that does not exist: ENOENT/ESRCH from a kernel that knows the attach
  // type, EINVAL/EOPNOTSUPP from one that does not (or has no fprobe).
  static const char* const syms[] = {"ebpfpp_no_such_function"};
  auto s = probe_link_kind(BPF_PROG_TYPE_KPROBE, attach_type, what, ENOENT, [&](int prog) {
    return uapi::link_create_kprobe_multi(prog, syms, 0, nullptr, attach_type);
  });
  if (!s.available && s.errnum == ESRCH) return ok();
  return s;
}

// uprobe.multi links, or uprobe sessions (the same link shape) with `attach_type`.
template <class = void>
FeatureStatus probe_uprobe_multi(int attach_type, std::string_view what) {
  // cilium/ebpf's probe: a uprobe.multi link on "/" fails with EBADF where the link type exists.
  static const std::uint64_t offset[] = {0};
  return probe_link_kind(BPF_PROG_TYPE_KPROBE, attach_type, what, EBADF, [&](int prog) {
    return uapi::link_create_uprobe_multi(prog, "/", offset, nullptr, 0, 0, attach_type);
  });
}

template <class = void>
FeatureStatus probe_tcx() {
  // ifindex 0: ENODEV where tcx links exist, EINVAL where the attach type is unknown.
  return probe_link_kind(BPF_PROG_TYPE_SCHED_CLS, uapi::attach_tcx_ingress, "tcx", ENODEV,
                         [](int prog) { return uapi::link_create_tcx(prog, 0, false, 0, 0, 0); });
}

template <class = void>
FeatureStatus probe_netkit() {
  // ifindex 0: ENODEV where netkit links exist, EINVAL where the attach type is unknown (or the
  // kernel was built without CONFIG_NETKIT).
  return probe_link_kind(BPF_PROG_TYPE_SCHED_CLS, uapi::attach_netkit_primary, "netkit", ENODEV,
                         [](int prog) { return uapi::link_create_netkit(prog, 0, false, 0, 0, 0); });
}

template <class = void>
FeatureStatus probe_flow_dissector() {
  // A link on netns fd -1: EBADF where flow dissector links exist (5.8), EINVAL before.
  return probe_link_kind(BPF_PROG_TYPE_FLOW_DISSECTOR, BPF_FLOW_DISSECTOR, "flow dissector", EBADF,
                         [](int prog) {
                           return UniqueFd(bpf_link_create(prog, -1, BPF_FLOW_DISSECTOR, nullptr));
                         });
}

// An extension replaces the global function of a program made here, and a test run of that
// program shows the replacement's value: the whole path (BTF, load, trampoline, attach, run).
template <class = void>
FeatureStatus probe_freplace() {
  // BTF: int f(int x) (global, the one replaced) and int main(void).
  ebpfpp::detail::BtfPtr b(btf__new_empty());
  if (!b) return from_errno(errno, "building a BTF blob failed");
  const int int_id = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  const int f_proto = btf__add_func_proto(b.get(), int_id);
  btf__add_func_param(b.get(), "x", int_id);
  const int f_id = btf__add_func(b.get(), "ebpfpp_probe_f", BTF_FUNC_GLOBAL, f_proto);
  const int main_id =
      btf__add_func(b.get(), "ebpfpp_probe", BTF_FUNC_STATIC, btf__add_func_proto(b.get(), int_id));
  if (f_id <= 0 || main_id <= 0) return absent(EINVAL, "building a BTF blob failed");
  if (btf__load_into_kernel(b.get()) != 0) return from_errno(errno, "loading BTF failed");

  const auto insn = [](std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int32_t imm) {
    return bpf_insn{.code = code, .dst_reg = dst, .src_reg = src, .off = 0, .imm = imm};
  };
  // main: return f(1); f: return x + 1. The replacement: return x + 100.
  const bpf_insn target[] = {
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 1),
      insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 1),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0),
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_1, 0),
      insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_0, 0, 1),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0),
  };
  const bpf_insn replacement[] = {
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_1, 0),
      insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_0, 0, 100),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0),
  };
  const bpf_func_info target_funcs[] = {{0, static_cast<std::uint32_t>(main_id)},
                                        {3, static_cast<std::uint32_t>(f_id)}};
  const bpf_func_info replacement_funcs[] = {{0, static_cast<std::uint32_t>(f_id)}};

  bpf_prog_load_opts opts;
  ebpfpp::detail::init_opts(opts);
  opts.prog_btf_fd = static_cast<std::uint32_t>(btf__fd(b.get()));
  opts.func_info = target_funcs;
  opts.func_info_cnt = 2;
  opts.func_info_rec_size = sizeof(bpf_func_info);
  UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "ebpfpp_probe", "GPL", target,
                              std::size(target), &opts));
  if (!prog) return from_errno(errno, "loading a program with a global function failed");
  opts.func_info = replacement_funcs;
  opts.func_info_cnt = 1;
  opts.attach_prog_fd = static_cast<std::uint32_t>(prog.get());
  opts.attach_btf_id = static_cast<std::uint32_t>(f_id);
  UniqueFd ext(bpf_prog_load(BPF_PROG_TYPE_EXT, "ebpfpp_probe", "GPL", replacement,
                             std::size(replacement), &opts));
  if (!ext) return from_errno(errno, "loading a minimal extension (freplace) program failed");
  // An extension's link takes no attach type (0) and, with target 0, the target of its load.
  UniqueFd link(bpf_link_create(ext.get(), 0, static_cast<bpf_attach_type>(0), nullptr));
  if (!link) return from_errno(errno, "attaching a minimal extension (freplace) program failed");
  unsigned char packet[64] = {};
  bpf_test_run_opts run;
  ebpfpp::detail::init_opts(run);
  run.data_in = packet;
  run.data_size_in = sizeof packet;
  if (bpf_prog_test_run_opts(prog.get(), &run) != 0)
    return from_errno(errno, "test-running the program an extension replaced failed");
  if (run.retval != 101)
    return absent(EOPNOTSUPP, ebpfpp::detail::format("an attached extension did not run: the "
                                                     "program returned {}, not 101",
                                                     run.retval));
  return ok();
}

// Defined below with the kernel-config readers it uses.
template <class = void>
bool lsm_list_lacks_bpf();

template <class = void>
FeatureStatus probe_lsm() {
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
  // Kernels before about 5.14 attach even when bpf is not an active LSM, and the program then
  // never runs: ask the LSM list.
  if (lsm_list_lacks_bpf())
    return absent(EOPNOTSUPP, "an LSM program attaches but bpf is not in the kernel's active "
                              "LSM list, so it would never run");
  return ok();
}

template <class = void>
FeatureStatus probe_struct_ops() {
  if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_STRUCT_OPS, nullptr) == 1) return ok();
  return absent(EOPNOTSUPP, "the kernel does not know struct_ops programs");
}

template <class = void>
FeatureStatus probe_bpf_token() {
  struct {
    std::uint32_t flags, bpffs_fd;
  } attr{0, static_cast<std::uint32_t>(-1)};
  UniqueFd fd(static_cast<int>(uapi::sys_bpf(uapi::cmd_token_create, &attr, sizeof attr)));
  if (fd || errno == EBADF) return ok();
  return from_errno(errno, "BPF_TOKEN_CREATE failed");
}

// A task iterator link asked for a thread and a process at once: 6.1+ reads the task
// parameters and refuses two (EINVAL); older kernels ignore them and make the link (a walk of
// every task).
template <class = void>
FeatureStatus probe_task_iter_pid() {
  auto s = probe_tracing(BPF_TRACE_ITER, {"bpf_iter_task"}, BTF_KIND_FUNC, "task iterator");
  if (!s.available) return s;
  UniqueFd prog = load_program(BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER,
                               vmlinux_btf_id({"bpf_iter_task"}, BTF_KIND_FUNC));
  if (!prog)
    return from_errno(errno, "loading a minimal task iterator program failed");
  bpf_iter_link_info info{};
  info.task.tid = info.task.pid = static_cast<__u32>(::getpid());
  bpf_link_create_opts opts;
  ebpfpp::detail::init_opts(opts);
  opts.iter_info = &info;
  opts.iter_info_len = sizeof info;
  UniqueFd link(bpf_link_create(prog.get(), 0, BPF_TRACE_ITER, &opts));
  if (!link && errno == EINVAL) return ok();
  if (link)
    return absent(EOPNOTSUPP, "the kernel ignores a task iterator's pid (it would walk every "
                              "task)");
  return from_errno(errno, "creating a task iterator link failed");
}

template <class = void>
FeatureStatus probe_bpf_streams() {
  // A read of fd -1's stream: EBADF where the kernel knows the command, EINVAL where it does not.
  char byte = 0;
  if (uapi::prog_stream_read(-1, uapi::stream_stdout, &byte, 0) >= 0 || errno == EBADF) return ok();
  return from_errno(errno, "BPF_PROG_STREAM_READ_BY_FD failed");
}

// One page, placed by the first mmap (map_extra 0). A kernel refuses an arena for want of CAP_BPF
// (the check bloom filters pass too) before it reads the attributes; an arena it refuses with
// EPERM although a bloom filter is made, even one without BPF_F_MMAPABLE (which it would refuse
// with EINVAL), is refused by a policy of that kernel, which the reason says.
template <class = void>
FeatureStatus probe_arena() {
  auto s = probe_map(static_cast<bpf_map_type>(uapi::map_type_arena), 0, 0, 1, BPF_F_MMAPABLE,
                     "BPF arena");
  if (s.available || s.errnum != EPERM) return s;
  UniqueFd malformed(bpf_map_create(static_cast<bpf_map_type>(uapi::map_type_arena), "ebpfpp_probe",
                                    0, 0, 1, nullptr));
  const int malformed_err = errno;
  if (probe_map(BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 1, 0, "bloom filter").available && !malformed &&
      malformed_err == EPERM)
    s.reason += "; a bloom filter map (the same CAP_BPF check) is created, and an arena without "
                "BPF_F_MMAPABLE is refused with EPERM too, not EINVAL: this kernel refuses "
                "arenas before it reads their attributes";
  return s;
}

// An AF_XDP socket (EAFNOSUPPORT without CONFIG_XDP_SOCKETS), then an XSK map to put it in.
template <class = void>
FeatureStatus probe_af_xdp() {
  UniqueFd sock(::socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!sock) return from_errno(errno, "creating an AF_XDP socket failed");
  return probe_map(BPF_MAP_TYPE_XSKMAP, 4, 4, 1, 0, "XSK");
}

template <class = void>
FeatureStatus probe_run_stats() {
  UniqueFd fd(bpf_enable_stats(BPF_STATS_RUN_TIME));
  if (fd) return ok();
  return from_errno(errno, "BPF_ENABLE_STATS failed");
}

// --- the kernel's configuration ---------------------------------------------------------------

// /proc/config.gz is gzip; zlib is already in the process (libbpf links it), so its functions
// are looked up at run time rather than linked: ebpfpp adds no link dependency for this.
template <class = void>
std::string read_kernel_config() {
  utsname u{};
  ::uname(&u);
  for (const std::string& path : {ebpfpp::detail::format("/boot/config-{}", u.release),
                                  ebpfpp::detail::format("/lib/modules/{}/config", u.release)}) {
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

// How a probe's explained_by starts when the probe could not tell (refused for privilege).
inline constexpr std::string_view not_known = "not known: ";

// Fills in what explains an absence `s` of the feature `fi` on this kernel: the configuration
// option that is off, an LSM list without bpf, a missing capability or a policy.
template <class = void>
void explain_absence(const FeatureInfo& fi, FeatureStatus& s) {
  // kprobe.multi and kprobe sessions are kprobes first: without those, that is the cause.
  std::string_view config = fi.config;
  if ((fi.id == Feature::kprobe_multi || fi.id == Feature::kprobe_session) &&
      config_enabled("CONFIG_KPROBES") == std::optional<bool>(false))
    config = "CONFIG_KPROBES";
  if (const auto on = config_enabled(config); on && !*on)
    s.explained_by = ebpfpp::detail::format("{} is not set", config);
  else if (fi.id == Feature::btf_modules && s.errnum == ENOENT)
    s.explained_by = s.reason; // no modules, or none with BTF loaded: nothing to read
  else if (fi.id == Feature::lsm && lsm_list_lacks_bpf())
    s.explained_by = "bpf is not in the kernel's active LSM list (boot with lsm=...,bpf)";
  else if ((s.errnum == EPERM || s.errnum == EACCES) &&
           !ebpfpp::detail::in_initial_user_namespace())
    s.explained_by = ebpfpp::detail::format(
        "{}the probe was refused (errno {}) in a user namespace, where capabilities do not count "
        "for BPF (a BPF token does: OpenOptions::bpf_token_path)",
        not_known, s.errnum);
  else if (fi.id == Feature::af_xdp && s.errnum == EPERM &&
           !ebpfpp::detail::has_capability(CAP_NET_RAW))
    // AF_XDP sockets ask for CAP_NET_RAW, which no other BPF use needs.
    s.explained_by = ebpfpp::detail::format(
        "{}the probe was refused (errno {}) and this process lacks CAP_NET_RAW", not_known,
        s.errnum);
  else if (s.errnum == EPERM || s.errnum == EACCES) {
    if (const std::string lacks = ebpfpp::detail::missing_bpf_capabilities(); !lacks.empty())
      s.explained_by =
          ebpfpp::detail::format("{}the probe was refused (errno {}) and this process lacks {}",
                                 not_known, s.errnum, lacks);
    else if (s.errnum == EPERM)
      s.explained_by = "the kernel refuses it with EPERM to a process with every capability "
                       "(a lockdown, LSM or hypervisor policy)";
  }
}
} // namespace detail

} // namespace ebpfpp::kernel
