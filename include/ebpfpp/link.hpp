#pragma once
/// @file
/// The tracing attach types: Kprobe, Kretprobe, SyscallKprobe, Tracepoint, RawTracepoint,
/// Uprobe, Uretprobe, Fentry, Fexit, and attach() by a program's SEC(). Link itself, which each
/// of them is, is in link_base.hpp (included here).
///
///     ebpfpp::Tracepoint tp(skel.program("hello"), "syscalls", "sys_enter_execve");
///     ebpfpp::SyscallKprobe kp(skel.program("hello_kprobe"), "execve");
///
/// They are [[nodiscard]]: a Link that is not kept detaches at once, which is never what you
/// meant. On a kernel without the hook's mechanism (no kprobes, no fentry) attaching throws a
/// FeatureError naming what is missing and what to use instead.

#include "detail/config.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <bpf/libbpf.h>
#include <sys/types.h>

#include "detail/attach.hpp"
#include "detail/format.hpp"
#include "kernel.hpp"
#include "link_base.hpp" // IWYU pragma: export
#include "program.hpp"
#include "syscall_symbol.hpp"

namespace ebpfpp {

/// Attaches a program the way its SEC() says ("tracepoint/syscalls/sys_enter_execve",
/// "kprobe/do_unlinkat", ...), as the skeleton's attach() does for all programs.
[[nodiscard]] inline Link attach(const Program& prog) {
  return detail::attach_link(prog, detail::format("program by its section '{}'", prog.section()),
                             [&] { return bpf_program__attach(prog.get()); });
}

/// A kprobe: runs the program at a kernel function's entry (plus `offset`). Needs kprobes
/// (CONFIG_KPROBES); the program must be SEC("kprobe/...") or SEC("kprobe"). Kernel 4.1+.
class Kprobe : public Link {
public:
  [[nodiscard]] Kprobe(const Program& prog, std::string_view function, std::uint64_t offset = 0,
                       std::uint64_t cookie = 0)
      : Kprobe(prog, function, offset, cookie, false) {}

protected:
  Kprobe(const Program& prog, std::string_view function, std::uint64_t offset, std::uint64_t cookie,
         bool retprobe)
      : Link(make(prog, std::string(function), offset, cookie, retprobe)) {}

private:
  static Link make(const Program& prog, const std::string& function, std::uint64_t offset,
                   std::uint64_t cookie, bool retprobe) {
    bpf_kprobe_opts opts;
    detail::init_opts(opts);
    opts.offset = offset;
    opts.bpf_cookie = cookie;
    opts.retprobe = retprobe;
    return detail::attach_link(
        prog, detail::format("{} '{}'", retprobe ? "kretprobe" : "kprobe", function),
        [&] { return bpf_program__attach_kprobe_opts(prog.get(), function.c_str(), &opts); },
        {kernel::Feature::kprobes, detail::hint::no_kprobes({}), detail::Op::attach_tracing,
         cookie != 0});
  }
};

/// A kretprobe: runs the program when a kernel function returns. Needs kprobes. Kernel 4.1+.
class Kretprobe : public Kprobe {
public:
  [[nodiscard]] Kretprobe(const Program& prog, std::string_view function, std::uint64_t cookie = 0)
      : Kprobe(prog, function, 0, cookie, true) {}
};

/// A kprobe on a syscall's entry (or its return with `retprobe`), named as in C: "execve".
/// The arch's wrapper symbol (__x64_sys_execve) is found for you, as libbpf's SEC("ksyscall")
/// does; write the program with BPF_KSYSCALL to read the arguments portably. Needs kprobes.
class SyscallKprobe : public Link {
public:
  [[nodiscard]] SyscallKprobe(const Program& prog, std::string_view syscall, bool retprobe = false,
                              std::uint64_t cookie = 0)
      : Link(make(prog, std::string(syscall), retprobe, cookie)) {}

private:
  static Link make(const Program& prog, const std::string& syscall, bool retprobe,
                   std::uint64_t cookie) {
    bpf_ksyscall_opts opts;
    detail::init_opts(opts);
    opts.retprobe = retprobe;
    opts.bpf_cookie = cookie;
    return detail::attach_link(
        prog,
        detail::format("{} '{}' ({})", retprobe ? "syscall kretprobe" : "syscall kprobe", syscall,
                       syscall_symbol_for(syscall, compiled_arch())),
        [&] { return bpf_program__attach_ksyscall(prog.get(), syscall.c_str(), &opts); },
        {kernel::Feature::kprobes, detail::hint::no_kprobes(syscall), detail::Op::attach_tracing,
         cookie != 0});
  }
};

/// A static tracepoint, e.g. Tracepoint(prog, "syscalls", "sys_enter_execve"). The list is in
/// /sys/kernel/tracing/available_events. Program: SEC("tracepoint/..."). Kernel 4.7+.
class Tracepoint : public Link {
public:
  [[nodiscard]] Tracepoint(const Program& prog, std::string_view category, std::string_view name)
      : Link(make(prog, std::string(category), std::string(name))) {}

private:
  static Link make(const Program& prog, const std::string& category, const std::string& name) {
    return detail::attach_link(
        prog, detail::format("tracepoint {}/{}", category, name),
        [&] { return bpf_program__attach_tracepoint(prog.get(), category.c_str(), name.c_str()); },
        {std::nullopt, {}, detail::Op::attach_tracefs});
  }
};

/// A raw tracepoint, e.g. RawTracepoint(prog, "sys_enter"): the tracepoint's raw arguments,
/// no perf-event overhead. Program: SEC("raw_tp/...") or SEC("raw_tracepoint/..."). Kernel 4.17+.
class RawTracepoint : public Link {
public:
  [[nodiscard]] RawTracepoint(const Program& prog, std::string_view name)
      : Link(make(prog, std::string(name))) {}

private:
  static Link make(const Program& prog, const std::string& name) {
    return detail::attach_link(prog, detail::format("raw tracepoint {}", name), [&] {
      return bpf_program__attach_raw_tracepoint(prog.get(), name.c_str());
    });
  }
};

/// A uprobe: runs the program at a user-space function's entry, in `binary` (an executable or
/// a shared library), for process `pid` (-1: every process, 0: this one). Program:
/// SEC("uprobe") or SEC("uprobe/..."). Kernel 4.17+ (perf-based), older via tracefs.
class Uprobe : public Link {
public:
  /// At a symbol ("malloc", or "malloc@GLIBC_2.2.5" for a versioned one).
  [[nodiscard]] Uprobe(const Program& prog, const std::filesystem::path& binary,
                       std::string_view symbol, pid_t pid = -1)
      : Uprobe(prog, binary, std::string(symbol), 0, pid, false) {}
  /// At a file offset in the binary.
  [[nodiscard]] Uprobe(const Program& prog, const std::filesystem::path& binary, std::size_t offset,
                       pid_t pid = -1)
      : Uprobe(prog, binary, std::string(), offset, pid, false) {}

protected:
  Uprobe(const Program& prog, const std::filesystem::path& binary, const std::string& symbol,
         std::size_t offset, pid_t pid, bool retprobe)
      : Link(make(prog, binary, symbol, offset, pid, retprobe)) {}

private:
  static Link make(const Program& prog, const std::filesystem::path& binary,
                   const std::string& symbol, std::size_t offset, pid_t pid, bool retprobe) {
    bpf_uprobe_opts opts;
    detail::init_opts(opts);
    opts.retprobe = retprobe;
    opts.func_name = symbol.empty() ? nullptr : symbol.c_str();
    std::string where =
        symbol.empty() ? detail::format("offset {:#x}", offset) : detail::format("'{}'", symbol);
    return detail::attach_link(
        prog,
        detail::format("{} {} in '{}'", retprobe ? "uretprobe" : "uprobe", where, binary.string()),
        [&] {
          return bpf_program__attach_uprobe_opts(prog.get(), pid, binary.c_str(), offset, &opts);
        },
        {kernel::Feature::uprobes, {}, detail::Op::attach_uprobe});
  }
};

/// A uretprobe: runs the program when a user-space function returns. See Uprobe.
class Uretprobe : public Uprobe {
public:
  [[nodiscard]] Uretprobe(const Program& prog, const std::filesystem::path& binary,
                          std::string_view symbol, pid_t pid = -1)
      : Uprobe(prog, binary, std::string(symbol), 0, pid, true) {}
  [[nodiscard]] Uretprobe(const Program& prog, const std::filesystem::path& binary,
                          std::size_t offset, pid_t pid = -1)
      : Uprobe(prog, binary, std::string(), offset, pid, true) {}
};

/// An fentry program (BPF trampoline at a kernel function's entry; cheaper than a kprobe and
/// with typed arguments). The target is in SEC("fentry/<function>") or set with
/// bpf_program__set_attach_target before load. Needs BTF; kernel 5.5+ (x86-64), 6.0+ (arm64).
class Fentry : public Link {
public:
  [[nodiscard]] explicit Fentry(const Program& prog) : Link(detail::attach_trace(prog, "fentry")) {}
};

/// An fexit program: like Fentry, at the function's return, with its arguments and return value.
class Fexit : public Link {
public:
  [[nodiscard]] explicit Fexit(const Program& prog) : Link(detail::attach_trace(prog, "fexit")) {}
};

} // namespace ebpfpp
