// The profile, funclatency and tasks examples, run as a user runs them: as processes, their
// output read from a pipe and checked against what the test did.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <ebpfpp/kernel.hpp>

#include "helpers.hpp"

namespace profiling_examples_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

// In profile_test.cpp: spins forever.
extern "C" void ebpfpp_test_profile_spin(volatile unsigned long* n);

// funclatency's target: a function of this binary, out of line and exported.
extern "C" __attribute__((noinline, used)) long ebpfpp_test_funclat_target(long x) {
  asm volatile("" ::: "memory");
  return x ^ 0x5a;
}

namespace {

std::string read_all(int fd) {
  return test::read_until(
      fd, [](const std::string&) { return false; }, 10s);
}

// The histogram's total: the count column of every "low -> high : count |...|" line.
std::uint64_t histogram_total(const std::string& out) {
  std::uint64_t total = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const auto arrow = line.find(" -> ");
    const auto colon = line.find(" : ");
    if (arrow == std::string::npos || colon == std::string::npos) continue;
    total += std::strtoull(line.c_str() + colon + 3, nullptr, 10);
  }
  return total;
}

} // namespace

TEST_CASE("funclatency's histogram counts exactly the calls the test made" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::uprobes)) EBPFPP_SKIP(*r);
  const std::string target = test::self_exe().string() + ":ebpfpp_test_funclat_target";
  auto fl = test::spawn("funclatency",
                        {(test::examples_dir() / "funclatency").string(), "-u", "-p",
                         std::to_string(::getpid()), target},
                        true);
  const std::string note = test::read_until(
      fl.err, [](const std::string& t) { return t.find('\n') != std::string::npos; }, 10s);
  REQUIRE_MESSAGE(note.find("funclatency: tracing ebpfpp_test_funclat_target") == 0, note);
  long sum = 0;
  for (long i = 0; i < 37; ++i) sum += ebpfpp_test_funclat_target(i);
  CHECK(sum != 0);
  ::kill(fl.pid, SIGTERM);
  CHECK(fl.wait(10s) == 0);
  const std::string out = read_all(fl.out);
  CHECK_MESSAGE(out.find("usecs") != std::string::npos, out);
  CHECK_MESSAGE(histogram_total(out) == 37, out);
}

TEST_CASE("funclatency names what is wrong with its command line") {
  auto fl = test::spawn("funclatency",
                        {(test::examples_dir() / "funclatency").string(), "no-colon"}, true);
  CHECK(fl.wait(10s) == 2);
  CHECK(read_all(fl.err).find("BINARY:FUNCTION") != std::string::npos);
}

TEST_CASE("tasks lists this process with its parent, state and name" * doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::iterators)) EBPFPP_SKIP(*r);
  std::string comm;
  std::getline(std::ifstream("/proc/self/comm"), comm);
  auto tasks = test::spawn("tasks", {(test::examples_dir() / "tasks").string()}, true);
  CHECK(tasks.wait(10s) == 0);
  const std::string out = read_all(tasks.out);
  // "    PID    PPID S COMMAND": this process is sleeping in waitpid (or reading the pipe).
  bool found = false;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    long pid = 0, ppid = 0;
    std::string state, name;
    if (fields >> pid >> ppid >> state >> name && pid == ::getpid()) {
      found = true;
      CHECK(ppid == ::getppid());
      CHECK((state == "S" || state == "R"));
      CHECK(name == comm);
    }
  }
  CHECK_MESSAGE(found, "no line for pid " << ::getpid() << " in:\n" << out);
  CHECK(out.rfind("    PID    PPID S COMMAND\n", 0) == 0);
}

TEST_CASE("profile --pid prints folded stacks of a spinning child, its function on top" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::perf_event)) EBPFPP_SKIP(*r);
  const pid_t spinner = ::fork();
  REQUIRE(spinner >= 0);
  if (spinner == 0) {
    ::prctl(PR_SET_NAME, "ebpfpp-spin");
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    volatile unsigned long n = 1;
    ebpfpp_test_profile_spin(&n);
  }
  test::Child spin;
  spin.pid = spinner;
  auto profile = test::spawn("profile",
                             {(test::examples_dir() / "profile").string(), "-F", "199", "-p",
                              std::to_string(spinner), "-d", "1.5"},
                             true);
  CHECK(profile.wait(20s) == 0);
  const std::string out = read_all(profile.out);
  std::uint64_t total = 0, in_function = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const auto space = line.rfind(' ');
    REQUIRE_MESSAGE(space != std::string::npos, line);
    CHECK_MESSAGE(line.rfind("ebpfpp-spin", 0) == 0, line);
    const std::uint64_t count = std::strtoull(line.c_str() + space + 1, nullptr, 10);
    total += count;
    if (line.find(";ebpfpp_test_profile_spin") != std::string::npos) in_function += count;
  }
  MESSAGE("profile example: " << in_function << " of " << total
                              << " samples in ebpfpp_test_profile_spin");
  CHECK(total >= 20);
  CHECK(in_function * 100 >= total * 80);
}

TEST_CASE("profile names the functions of a process that exited before the report" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::perf_event)) EBPFPP_SKIP(*r);
  // The child spins for two seconds and dies of its SIGALRM; profile reports a second later,
  // when the child's /proc/PID/maps is gone. Before Symbolizer::track, every user frame of such a
  // process was [unknown] (issue 23.1). The child's two seconds start only once profile says it
  // samples: a qemu guest under TCG on a loaded machine took longer than two seconds to load
  // and attach the profile, and the child was gone before the first sample (0 and 4 samples).
  int go[2];
  REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
  const pid_t spinner = ::fork();
  REQUIRE(spinner >= 0);
  if (spinner == 0) {
    ::prctl(PR_SET_NAME, "ebpfpp-brief");
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(go[1]);
    char c = 0;
    if (::read(go[0], &c, 1) != 1) ::_exit(1); // the test ended first
    ::alarm(2);
    volatile unsigned long n = 1;
    ebpfpp_test_profile_spin(&n);
  }
  ::close(go[0]);
  test::Child spin;
  spin.pid = spinner;
  // With -p the example tracks the process from the start. (Without it, it tracks every process
  // new in its samples, and reading all their symbols makes the run as slow as the machine is
  // busy: a test of the same path without a bound on time.) Its three seconds start after it
  // says it samples.
  auto profile = test::spawn("profile",
                             {(test::examples_dir() / "profile").string(), "-F", "199", "-d", "3",
                              "--user-only", "-p", std::to_string(spinner)},
                             true);
  const auto says_sampling = [](const std::string& t) {
    return t.find("profile: sampling") != std::string::npos;
  };
  const std::string said = test::read_until(profile.err, says_sampling, 30s);
  const bool sampling = says_sampling(said);
  const char c = 1;
  const bool released = sampling && ::write(go[1], &c, 1) == 1;
  ::close(go[1]);
  REQUIRE_MESSAGE(sampling, "profile did not start sampling within 30 s: " << said);
  REQUIRE(released);
  int status = 0;
  REQUIRE(::waitpid(spinner, &status, 0) == spinner);
  spin.pid = -1;
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM));
  CHECK(profile.wait(20s) == 0);
  const std::string out = read_all(profile.out);
  std::uint64_t total = 0, in_function = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("ebpfpp-brief;", 0) != 0) continue;
    const std::uint64_t count = std::strtoull(line.c_str() + line.rfind(' ') + 1, nullptr, 10);
    total += count;
    if (line.find(";ebpfpp_test_profile_spin") != std::string::npos) in_function += count;
  }
  MESSAGE("profile example: " << in_function << " of " << total
                              << " samples of the exited process in ebpfpp_test_profile_spin");
  CHECK(total >= 20);
  CHECK(in_function * 100 >= total * 80);
}

} // namespace profiling_examples_test
