#pragma once
/// @file
/// Run-time probes of what the running kernel can do. Results that cannot change while the
/// process runs are computed once and cached; tracefs() looks every time (it can be mounted
/// later).
///
/// Examples use these to pick a hook (kprobe where there are kprobes, else a tracepoint) and
/// tests to skip only what the kernel really lacks.

#include "detail/config.hpp"

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include "detail/unique_fd.hpp"
#include "error.hpp"

namespace ebpfpp::kernel {

/// The running kernel's release string, e.g. "6.1.0-27-amd64".
inline std::string release() {
  utsname u{};
  ::uname(&u);
  return u.release;
}

namespace detail {
// A probe type ("kprobe", "uprobe") is usable when the kernel has its perf PMU (4.17+) or, on
// older kernels, its tracefs event file.
inline bool has_probe_type(const std::string& type) {
  std::error_code ec;
  return std::filesystem::exists("/sys/bus/event_source/devices/" + type + "/type", ec) ||
         std::filesystem::exists("/sys/kernel/tracing/" + type + "_events", ec) ||
         std::filesystem::exists("/sys/kernel/debug/tracing/" + type + "_events", ec);
}
} // namespace detail

/// Whether kprobes (and so kretprobes and syscall kprobes) can be attached: the kernel was
/// built with CONFIG_KPROBES. Kernel 4.1+ (perf-based attach 4.17+).
inline bool has_kprobes() {
  static const bool yes = detail::has_probe_type("kprobe");
  return yes;
}

/// Whether uprobes can be attached (CONFIG_UPROBE_EVENTS). Kernel 4.1+ (perf-based 4.17+).
inline bool has_uprobes() {
  static const bool yes = detail::has_probe_type("uprobe");
  return yes;
}

/// Whether the kernel exposes its own BTF (CONFIG_DEBUG_INFO_BTF, 5.4+): needed for CO-RE,
/// tp_btf, fentry/fexit.
inline bool has_btf() {
  static const bool yes = [] {
    std::error_code ec;
    return std::filesystem::exists("/sys/kernel/btf/vmlinux", ec);
  }();
  return yes;
}

/// Whether BPF_MAP_TYPE_RINGBUF maps can be created (5.8+).
inline bool has_ring_buffer() {
  static const bool yes = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
  return yes;
}

namespace detail {

struct FentryProbe {
  bool ok = false;
  int errnum = 0;
  std::string reason;
};

// Loads the smallest fentry program there is ("return 0") against a kernel function, which is
// exactly what an fentry program of the user's would need: BTF, the TRACING program type, and
// the kernel's permission to load it (some kernels refuse with EPERM even for root).
inline FentryProbe probe_fentry() {
  if (!has_btf()) return {false, ENOENT, "the kernel has no BTF (/sys/kernel/btf/vmlinux)"};
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return {false, errno, "cannot read the kernel's BTF"};
  int btf_id = -1;
  for (const char* fn : {"bpf_fentry_test1", "do_nanosleep", "ksys_read", "vfs_read"}) {
    btf_id = btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC);
    if (btf_id > 0) break;
  }
  btf__free(vmlinux);
  if (btf_id <= 0) return {false, ENOENT, "no probe target function found in the kernel's BTF"};

  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  auto opts = ebpfpp::detail::make_opts<bpf_prog_load_opts>();
  opts.expected_attach_type = BPF_TRACE_FENTRY;
  opts.attach_btf_id = static_cast<__u32>(btf_id);
  ebpfpp::detail::UniqueFd fd(
      bpf_prog_load(BPF_PROG_TYPE_TRACING, "ebpfpp_probe", "GPL", insns, 2, &opts));
  if (fd) return {true, 0, {}};
  const int err = errno;
  return {false, err,
          fmt::format("loading a minimal fentry program failed: {} (errno {})", std::strerror(err),
                      err)};
}

} // namespace detail

namespace detail {
inline const FentryProbe& fentry_probe() {
  static const FentryProbe probe = probe_fentry();
  return probe;
}
} // namespace detail

/// Whether fentry/fexit (BPF trampoline) programs can be loaded here (5.5+ on x86-64).
inline bool has_fentry() {
  return detail::fentry_probe().ok;
}

/// Why has_fentry() is false ("" when it is true).
inline const std::string& fentry_unavailable_reason() {
  return detail::fentry_probe().reason;
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
