// The examples, run as a user runs them: as processes, their output read from a pipe.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <ebpfpp/kernel.hpp>

#include "helpers.hpp"

namespace examples_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

TEST_CASE("hello prints a Hello World! line for a program exec'd while it runs" *
          doctest::test_suite("vm")) {
  REQUIRE_MESSAGE(ebpfpp::kernel::tracefs(), "tracefs is not mounted (scripts/test mounts it)");
  auto hello = test::spawn("hello", {(test::examples_dir() / "hello").string(), "-d", "4"}, true);
  const std::string note = test::read_until(
      hello.err, [](const std::string& t) { return t.find('\n') != std::string::npos; }, 10s);
  // In the VM (a kernel with kprobes) this proves the chapter's kprobe path end to end.
  if (ebpfpp::kernel::has_kprobes())
    CHECK(note.find("attached syscall kprobe 'execve'") != std::string::npos);
  else
    CHECK(note.find("attached tracepoint syscalls/sys_enter_execve (this kernel has no kprobes)") !=
          std::string::npos);

  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) {
    test::Child c = test::spawn("ebpfpp-e2e", {"/bin/true"});
    pids.push_back(c.pid);
    CHECK(c.wait() == 0);
  }
  const std::string out = test::read_until(
      hello.out, [](const std::string&) { return false; }, 8s);
  CHECK(hello.wait(5s) == 0);
  // The kernel names the task when the line is read, from a pid -> comm cache: the name before
  // exec, after it ("true"), or "<...>" for a pid it has not cached. The pid and message are exact.
  for (pid_t pid : pids) {
    bool found = false;
    for (const char* task : {"ebpfpp-e2e", "true", "<...>"})
      found = found ||
              out.find(fmt::format("{:<16} {:>7} Hello World!\n", task, pid)) != std::string::npos;
    CHECK_MESSAGE(found, "no line for pid " << pid << " in:\n" << out);
  }
}

TEST_CASE("hello exits 0 on SIGTERM and on SIGINT, having detached") {
  REQUIRE(ebpfpp::kernel::tracefs());
  for (int sig : {SIGTERM, SIGINT}) {
    auto hello = test::spawn("hello", {(test::examples_dir() / "hello").string()}, true);
    test::read_until(
        hello.err, [](const std::string& t) { return t.find('\n') != std::string::npos; }, 10s);
    ::kill(hello.pid, sig);
    const auto status = hello.wait(5s);
    CHECK_MESSAGE(status == std::optional<int>(0),
                  "exit " << status.value_or(-1) << ", stderr: "
                          << test::read_until(
                                 hello.err, [](const std::string&) { return false; }, 100ms));
  }
}

TEST_CASE("hello --help prints usage and exits 0; a bad argument exits 2") {
  auto help = test::spawn("hello", {(test::examples_dir() / "hello").string(), "--help"}, true);
  const std::string out = test::read_until(
      help.out, [](const std::string&) { return false; }, 5s);
  CHECK(help.wait() == 0);
  CHECK(out.find("usage: hello") != std::string::npos);
  auto bad = test::spawn("hello", {(test::examples_dir() / "hello").string(), "--bogus"}, true);
  CHECK(bad.wait() == 2);
}

} // namespace examples_test
