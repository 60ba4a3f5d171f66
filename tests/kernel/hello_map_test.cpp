// hello-map run as a user runs it: a process whose output is read from a pipe, counting
// execs of /bin/true that the test makes as chosen uids.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <regex>
#include <string>

#include <ebpfpp/kernel.hpp>
#include <sys/syscall.h>

#include "helpers.hpp"

namespace hello_map_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

namespace {

std::string hello_map() {
  return (test::examples_dir() / "hello-map").string();
}

// Forks a child that becomes `uid` and then runs `/bin/true`; waits for it.
void exec_true_as(uid_t uid) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(126);
    ::execl("/bin/true", "true", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

// The counts of the last complete line: "ID <uid>: <count>" or "<name>: <count>" entries.
std::map<std::string, unsigned long> last_counts(const std::string& out) {
  std::map<std::string, unsigned long> counts;
  auto end = out.rfind('\n');
  if (end == std::string::npos) return counts;
  const auto start = out.rfind('\n', end - 1);
  const std::string line = out.substr(start == std::string::npos ? 0 : start + 1,
                                      end - (start == std::string::npos ? 0 : start + 1));
  static const std::regex entry(R"(([^\t:]+): (\d+))");
  for (auto it = std::sregex_iterator(line.begin(), line.end(), entry);
       it != std::sregex_iterator(); ++it)
    counts[(*it)[1]] = std::stoul((*it)[2]);
  return counts;
}

// hello-map's kprobe program needs kprobes and BPF cookies (5.15+: below, it takes the
// tracepoints; at or above, missing cookies fail the test).
bool kprobe_path() {
  return ebpfpp::kernel::has_kprobes() && test::kernel_has(test::bpf_cookie);
}

std::string wait_attached(test::Child& c) {
  return test::read_until(
      c.err, [](const std::string& t) { return t.find('\n') != std::string::npos; }, 10s);
}

} // namespace

TEST_CASE("hello-map counts execs per uid: >= N for uid 65534, exactly M for an unused uid" *
          doctest::test_suite("vm")) {
  auto tool = test::spawn("hello-map", {hello_map(), "-i", "0.5", "-d", "4"}, true);
  const std::string note = wait_attached(tool);
  if (kprobe_path())
    CHECK(note.find("attached syscall kprobe 'execve'") != std::string::npos);
  else if (ebpfpp::kernel::has_kprobes())
    CHECK(note.find("attached tracepoint syscalls/sys_enter_execve (this kernel has no BPF "
                    "cookies: 5.15+)") != std::string::npos);
  else
    CHECK(note.find("attached tracepoint syscalls/sys_enter_execve (this kernel has no kprobes)") !=
          std::string::npos);
  constexpr int n = 5;
  constexpr int m = 3;
  // No account uses this uid, so its count is ours alone and must be exact.
  const uid_t unused = 3000000 + static_cast<uid_t>(::getpid() % 100000);
  for (int i = 0; i < n; ++i) exec_true_as(65534);
  for (int i = 0; i < m; ++i) exec_true_as(unused);
  const std::string out = test::read_until(
      tool.out, [](const std::string&) { return false; }, 6s);
  CHECK(tool.wait(5s) == 0);
  const auto counts = last_counts(out);
  CAPTURE(out);
  REQUIRE(counts.count("ID 65534"));
  CHECK(counts.at("ID 65534") >= n);
  REQUIRE(counts.count(fmt::format("ID {}", unused)));
  CHECK(counts.at(fmt::format("ID {}", unused)) == m);
  // the chapter's format: entries separated by tabs on one line
  CHECK(out.find(fmt::format("\tID {}: {}", unused, m)) != std::string::npos);
}

TEST_CASE("hello-map --by-syscall --syscalls counts several syscalls in one map, by name" *
          doctest::test_suite("vm")) {
  auto tool = test::spawn(
      "hello-map", {hello_map(), "--syscalls", "execve,getppid", "--by-syscall", "-d", "3"}, true);
  const std::string note = wait_attached(tool);
  CHECK(note.find(kprobe_path() ? "syscall kprobe 'getppid'"
                                : "tracepoint syscalls/sys_enter_getppid") != std::string::npos);
  test::call_getppid(1000);
  exec_true_as(65534);
  const std::string out = test::read_until(
      tool.out, [](const std::string&) { return false; }, 6s);
  CHECK(tool.wait(5s) == 0);
  const auto counts = last_counts(out);
  CAPTURE(out);
  REQUIRE(counts.count("getppid"));
  CHECK(counts.at("getppid") >= 1000);
  REQUIRE(counts.count("execve"));
  CHECK(counts.at("execve") >= 1);
  CHECK(counts.size() == 2); // only the hooked syscalls
}

TEST_CASE("hello-map --raw-tp counts every syscall of a uid") {
  auto tool = test::spawn("hello-map", {hello_map(), "--raw-tp", "-d", "3"}, true);
  CHECK(wait_attached(tool).find("attached raw tracepoint sys_enter") != std::string::npos);
  const uid_t unused = 3100000 + static_cast<uid_t>(::getpid() % 100000);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(unused) != 0 || ::setuid(unused) != 0) ::_exit(126);
    for (int i = 0; i < 500; ++i) ::syscall(SYS_getppid);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const std::string out = test::read_until(
      tool.out, [](const std::string&) { return false; }, 6s);
  CHECK(tool.wait(5s) == 0);
  const auto counts = last_counts(out);
  CAPTURE(out);
  const std::string key = fmt::format("ID {}", unused);
  REQUIRE(counts.count(key));
  // 500 getppid plus the syscalls of setuid and exit: more than 500, and not thousands more
  CHECK(counts.at(key) > 500);
  CHECK(counts.at(key) < 600);
}

TEST_CASE("hello-map exits 0 on SIGINT; --help documents the flags; bad arguments exit 2") {
  auto tool = test::spawn("hello-map", {hello_map()}, true);
  wait_attached(tool);
  ::kill(tool.pid, SIGINT);
  CHECK(tool.wait(5s) == 0);

  auto help = test::spawn("hello-map", {hello_map(), "--help"}, true);
  const std::string usage = test::read_until(
      help.out, [](const std::string&) { return false; }, 5s);
  CHECK(help.wait() == 0);
  for (const char* flag : {"--syscalls LIST", "--raw-tp", "--by-syscall", "-d, --duration"})
    CHECK_MESSAGE(usage.find(flag) != std::string::npos, flag);
  for (std::vector<std::string> bad : {std::vector<std::string>{"--syscalls", "nosuchcall"},
                                       {"--raw-tp", "--syscalls", "execve"},
                                       {"--bogus"}}) {
    bad.insert(bad.begin(), hello_map());
    auto c = test::spawn("hello-map", bad, true);
    CHECK(c.wait() == 2);
  }
}

} // namespace hello_map_test
