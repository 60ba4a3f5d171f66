// hello-tail and hello-func, run as a user runs them (processes, output read from a pipe), and
// hello_func's programs introspected through the library.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "hello_func.bpf.skel.h"
#include "helpers.hpp"

namespace tail_func_examples_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

namespace {

// One line of the examples' output: "{task:<16} {pid:>7} {message}".
struct OutLine {
  pid_t pid = 0;
  std::string message;
};

std::vector<OutLine> parse_output(const std::string& out) {
  std::vector<OutLine> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.size() < 26 || line[16] != ' ' || line[24] != ' ') continue;
    const std::string pid = line.substr(17, 7);
    const auto digits = pid.find_first_not_of(' ');
    if (digits == std::string::npos ||
        pid.find_first_not_of("0123456789", digits) != std::string::npos)
      continue;
    lines.push_back({static_cast<pid_t>(std::stol(pid.substr(digits))), line.substr(25)});
  }
  return lines;
}

std::size_t count_lines(const std::vector<OutLine>& lines, pid_t pid, const std::string& message) {
  std::size_t n = 0;
  for (const auto& l : lines) n += l.pid == pid && l.message == message;
  return n;
}

// Starts an example and waits for its "attached" note on stderr.
test::Child start_example(const std::string& name, std::vector<std::string> args) {
  args.insert(args.begin(), (test::examples_dir() / name).string());
  auto child = test::spawn(name, args, true);
  const std::string note = test::read_until(
      child.err, [](const std::string& t) { return t.find('\n') != std::string::npos; }, 10s);
  REQUIRE_MESSAGE(note.find(name + ": attached raw tracepoint sys_enter") != std::string::npos,
                  "stderr: " << note);
  return child;
}

std::string read_all(test::Child& child) {
  std::string out = test::read_until(
      child.out, [](const std::string&) { return false; }, 20s);
  CHECK(child.wait(5s) == 0);
  return out;
}

// The timer syscalls the way the kernel sees them: raw syscall(2), no libc emulation.
void create_use_delete_timer() {
  int timer = -1; // the kernel's timer_t is an int
  REQUIRE(::syscall(SYS_timer_create, CLOCK_MONOTONIC, nullptr, &timer) == 0);
  struct itimerspec value {};
  REQUIRE(::syscall(SYS_timer_gettime, timer, &value) == 0);
  REQUIRE(::syscall(SYS_timer_delete, timer) == 0);
}

} // namespace

TEST_CASE("hello-tail prints exec and timer lines with the pids that made those syscalls") {
  REQUIRE(ebpfpp::kernel::tracefs());
  auto tool = start_example("hello-tail", {"-d", "3"});

  test::Child exec = test::spawn("ebpfpp-tail-e", {"/bin/true"});
  const pid_t exec_pid = exec.pid;
  CHECK(exec.wait() == 0);
  create_use_delete_timer();
  test::call_getppid(20);

  const auto lines = parse_output(read_all(tool));
  const pid_t me = ::getpid(); // the main thread: its tid is the pid trace lines show
  CHECK_MESSAGE(count_lines(lines, exec_pid, "Executing a program") >= 1, "pid " << exec_pid);
  CHECK(count_lines(lines, me, "Creating a timer") == 1);
  CHECK(count_lines(lines, me, "Some other timer operation") == 1);
  CHECK(count_lines(lines, me, "Deleting a timer") == 1);
  // Every other slot holds ignore_opcode: nothing falls through to "Another syscall".
  for (const auto& l : lines)
    CHECK_MESSAGE(l.message.find("Another syscall") == std::string::npos,
                  l.pid << " " << l.message);
}

TEST_CASE("hello-tail --show-others falls through empty slots with the real syscall number") {
  REQUIRE(ebpfpp::kernel::tracefs());
  auto tool = start_example("hello-tail", {"-d", "2", "--show-others"});
  test::call_getppid(20);
  create_use_delete_timer();

  const auto lines = parse_output(read_all(tool));
  const pid_t me = ::getpid();
  CHECK(count_lines(lines, me, fmt::format("Another syscall: {}", SYS_getppid)) >= 20);
  // The timer slots are still filled: those syscalls do not fall through.
  CHECK(count_lines(lines, me, "Creating a timer") == 1);
  CHECK(count_lines(lines, me, fmt::format("Another syscall: {}", SYS_timer_create)) == 0);
}

TEST_CASE("hello-func shows one BPF-to-BPF call for the noinline program, none inlined, and "
          "prints real syscall numbers") {
  REQUIRE(ebpfpp::kernel::tracefs());
  auto tool = start_example("hello-func", {"-d", "2"});
  for (int i = 0; i < 50; ++i) ::syscall(SYS_getpid);

  const std::string out = read_all(tool);
  CHECK_MESSAGE(out.find("hello_func   1 BPF-to-BPF call, ") != std::string::npos,
                out.substr(0, 400));
  CHECK_MESSAGE(out.find("hello_inline 0 BPF-to-BPF calls, ") != std::string::npos,
                out.substr(0, 400));
  const auto lines = parse_output(out);
  CHECK(count_lines(lines, ::getpid(), fmt::format("Syscall: {}", SYS_getpid)) >= 50);
}

TEST_CASE("hello-func --inline attaches the inlined program; --help and bad arguments") {
  REQUIRE(ebpfpp::kernel::tracefs());
  auto tool = start_example("hello-func", {"-d", "1", "--inline"});
  for (int i = 0; i < 10; ++i) ::syscall(SYS_getpid);
  const auto lines = parse_output(read_all(tool));
  CHECK(count_lines(lines, ::getpid(), fmt::format("Syscall: {}", SYS_getpid)) >= 10);

  for (const char* name : {"hello-tail", "hello-func"}) {
    auto help = test::spawn(name, {(test::examples_dir() / name).string(), "--help"}, true);
    const std::string usage = test::read_until(
        help.out, [](const std::string&) { return false; }, 5s);
    CHECK(help.wait() == 0);
    CHECK(usage.find(fmt::format("usage: {}", name)) != std::string::npos);
    auto bad = test::spawn(name, {(test::examples_dir() / name).string(), "--bogus"}, true);
    CHECK(bad.wait() == 2);
  }
}

TEST_CASE("hello-tail and hello-func exit 0 on SIGINT, having detached") {
  REQUIRE(ebpfpp::kernel::tracefs());
  for (const char* name : {"hello-tail", "hello-func"}) {
    auto tool = start_example(name, {});
    ::kill(tool.pid, SIGINT);
    CHECK(tool.wait(5s) == std::optional<int>(0));
  }
}

TEST_CASE("introspection of hello_func: a real call in one program, none in the other") {
  auto skel = ebpfpp::Skeleton<hello_func_bpf>::open_and_load();
  const ebpfpp::ProgramInfo call = skel.program("hello_func").info();
  const ebpfpp::ProgramInfo inlined = skel.program("hello_inline").info();
  CHECK(call.bpf_to_bpf_calls == 1);
  CHECK(inlined.bpf_to_bpf_calls == 0);
  CHECK(call.tail_call_sites == std::optional<std::size_t>(0));
  CHECK(inlined.tail_call_sites == std::optional<std::size_t>(0));
  // The call costs instructions of its own: the call, the subprogram's exit.
  CHECK(call.instruction_count > inlined.instruction_count);
  CHECK(call.name == "hello_func");
  CHECK(inlined.name == "hello_inline");
}

} // namespace tail_func_examples_test
