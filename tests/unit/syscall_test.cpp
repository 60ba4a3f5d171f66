#include <doctest/doctest.h>

#include <ebpfpp/link.hpp>

namespace syscall_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using ebpfpp::syscall_symbol_for;

TEST_CASE("syscall names map to each arch's wrapper symbol") {
  CHECK(syscall_symbol_for("execve", "x86_64") == "__x64_sys_execve");
  CHECK(syscall_symbol_for("execve", "aarch64") == "__arm64_sys_execve");
  CHECK(syscall_symbol_for("openat", "s390x") == "__s390x_sys_openat");
  CHECK(syscall_symbol_for("openat", "riscv64") == "__riscv_sys_openat");
  CHECK(syscall_symbol_for("write", "mips") == "sys_write");
}

TEST_CASE("a name that is already a symbol is left alone") {
  CHECK(syscall_symbol_for("__x64_sys_execve", "x86_64") == "__x64_sys_execve");
  CHECK(syscall_symbol_for("sys_execve", "x86_64") == "sys_execve");
}

TEST_CASE("the running kernel's execve symbol exists in kallsyms form") {
  const std::string sym = ebpfpp::syscall_symbol("execve");
  CHECK((sym == syscall_symbol_for("execve", ebpfpp::compiled_arch()) || sym == "sys_execve"));
}

} // namespace syscall_test
