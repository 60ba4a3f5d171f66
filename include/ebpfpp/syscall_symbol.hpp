#pragma once
/// @file
/// The kernel symbol of a syscall's entry, for kprobes on syscalls: "execve" is
/// "__x64_sys_execve" on x86-64 since kernel 4.17 (the arch's wrapper), "sys_execve" before.
/// SyscallKprobe (link.hpp) uses it; a tool may too, to name what it probes.
///
///     ebpfpp::syscall_symbol("execve");                      // "__x64_sys_execve" here
///     ebpfpp::syscall_symbol_for("openat", "aarch64");       // "__arm64_sys_openat"

#include "detail/config.hpp"

#include <fstream>
#include <string>
#include <string_view>

#include "detail/format.hpp"

namespace ebpfpp {

/// The arch's syscall wrapper prefix for kernels 4.17+ ("__x64_sys_" on x86-64), as BCC's
/// get_syscall_fnname uses; "sys_" where the arch has no wrapper.
constexpr std::string_view syscall_prefix_for(std::string_view arch) noexcept {
  if (arch == "x86_64") return "__x64_sys_";
  if (arch == "i386" || arch == "i686") return "__ia32_sys_";
  if (arch == "aarch64") return "__arm64_sys_";
  if (arch == "s390x") return "__s390x_sys_";
  if (arch == "s390") return "__s390_sys_";
  if (arch == "riscv64") return "__riscv_sys_";
  return "sys_";
}

/// The machine this library was compiled for, as uname -m spells it.
constexpr std::string_view compiled_arch() noexcept {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__i386__)
  return "i386";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

/// The kernel symbol of a syscall's entry for `arch`: syscall_symbol_for("execve", "x86_64") is
/// "__x64_sys_execve". A name that already has a prefix is returned unchanged.
inline std::string syscall_symbol_for(std::string_view syscall, std::string_view arch) {
  if (syscall.starts_with("sys_") || syscall.starts_with("__")) return std::string(syscall);
  return detail::format("{}{}", syscall_prefix_for(arch), syscall);
}

/// The running kernel's symbol for a syscall: the arch wrapper when /proc/kallsyms has it, else
/// "sys_<name>" when that exists (kernels before 4.17), else the arch wrapper name.
inline std::string syscall_symbol(std::string_view syscall) {
  const std::string wrapped = syscall_symbol_for(syscall, compiled_arch());
  const std::string plain = detail::format("sys_{}", syscall);
  std::ifstream kallsyms("/proc/kallsyms");
  bool has_plain = false;
  for (std::string line; std::getline(kallsyms, line);) {
    // "ffffffff81234560 T __x64_sys_execve"
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    std::string_view sym = std::string_view(line).substr(sp + 1);
    if (const auto tab = sym.find('\t'); tab != std::string_view::npos) sym = sym.substr(0, tab);
    if (sym == wrapped) return wrapped;
    if (sym == plain) has_plain = true;
  }
  return has_plain ? plain : wrapped;
}

} // namespace ebpfpp
