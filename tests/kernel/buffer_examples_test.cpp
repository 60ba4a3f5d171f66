// The buffer examples run as a user runs them, against events this test causes: processes it
// names and execs (exact pid, uid, command), and openat of paths no one else opens.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ebpfpp/kernel.hpp>
#include <fmt/format.h>

#include "helpers.hpp"

namespace buffer_examples_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

namespace {

// Forks a child named `name` that runs `body` and exits; returns its pid once it has exited.
pid_t named_child(const std::string& name, const std::function<void()>& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::prctl(PR_SET_NAME, name.c_str());
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

void exec_true() {
  char* args[] = {const_cast<char*>("/bin/true"), nullptr};
  ::execv(args[0], args);
}

std::string unique_path(std::string_view tag) {
  static int n = 0;
  return fmt::format("/tmp/ebpfpp-{}-{}-{}", tag, ::getpid(), ++n);
}

struct Run {
  std::string out, err;
  std::optional<int> status;
};

// Starts an example, waits for its "attached" note, runs `cause`, reads stdout until every line
// of `want` appears in it (or 10 s: perf buffers are per CPU, so lines can come out of order),
// then ends it with SIGINT as Ctrl-C would.
Run run_example(const std::string& exe, std::vector<std::string> args,
                const std::function<void()>& cause,
                const std::function<std::vector<std::string>()>& want) {
  args.insert(args.begin(), (test::examples_dir() / exe).string());
  auto child = test::spawn(exe, args, true);
  Run r;
  r.err = test::read_until(
      child.err, [](const std::string& t) { return t.find('\n') != std::string::npos; }, 10s);
  cause();
  const std::vector<std::string> expected = want();
  r.out = test::read_until(
      child.out,
      [&](const std::string& t) {
        for (const auto& e : expected)
          if (t.find(e) == std::string::npos) return false;
        return true;
      },
      10s);
  ::kill(child.pid, SIGINT);
  r.status = child.wait(5s);
  return r;
}

void check_execve_note(const std::string& err, std::string_view exe) {
  if (ebpfpp::kernel::has_kprobes())
    CHECK(err.find(fmt::format("{}: attached syscall kprobe 'execve'", exe)) != std::string::npos);
  else
    CHECK(err.find(fmt::format("{}: attached tracepoint syscalls/sys_enter_execve (this kernel has "
                               "no kprobes)",
                               exe)) != std::string::npos);
}

} // namespace

TEST_CASE("hello-buffer prints pid, uid, command and message of a process it saw exec" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::perf_buffer)) EBPFPP_SKIP(*r);
  pid_t pid = -1;
  auto r = run_example(
      "hello-buffer", {"-d", "20"}, [&] { pid = named_child("ebpfpp-hb", exec_true); },
      [&] { return std::vector{fmt::format("{} 0 ebpfpp-hb Hello World\n", pid)}; });
  check_execve_note(r.err, "hello-buffer");
  CHECK_MESSAGE(r.out.find(fmt::format("{} 0 ebpfpp-hb Hello World\n", pid)) != std::string::npos,
                r.out);
  CHECK(r.status == std::optional<int>(0));
}

TEST_CASE("hello-buffer --odd-even picks the message by pid parity") {
  std::vector<pid_t> pids;
  auto line = [](pid_t p) {
    return fmt::format("{} 0 ebpfpp-oe {}\n", p, p % 2 ? "Odd pid" : "Even pid");
  };
  auto r = run_example(
      "hello-buffer", {"--odd-even"},
      [&] {
        // Until both parities are covered.
        while (pids.size() < 2 || pids[0] % 2 == pids.back() % 2)
          pids.push_back(named_child("ebpfpp-oe", exec_true));
      },
      [&] {
        std::vector<std::string> lines;
        lines.reserve(pids.size());
        for (pid_t p : pids) lines.push_back(line(p));
        return lines;
      });
  for (pid_t p : pids) CHECK_MESSAGE(r.out.find(line(p)) != std::string::npos, r.out);
  CHECK(r.status == std::optional<int>(0));
}

TEST_CASE("hello-file prints the command and the file name of an openat") {
  REQUIRE_MESSAGE(ebpfpp::kernel::tracefs(), "tracefs is not mounted");
  const std::string path = unique_path("hf");
  pid_t pid = -1;
  auto r = run_example(
      "hello-file", {},
      [&] { pid = named_child("ebpfpp-hf", [&] { ::open(path.c_str(), O_RDONLY); }); },
      [&] { return std::vector{fmt::format("ebpfpp-hf opened {}\n", path)}; });
  CHECK(r.err.find("hello-file: attached tracepoint syscalls/sys_enter_openat") !=
        std::string::npos);
  // The task column is the kernel's pid -> comm cache, read late; the pid and the message are
  // exact.
  CHECK_MESSAGE(r.out.find(fmt::format("{:>7} ebpfpp-hf opened {}\n", pid, path)) !=
                    std::string::npos,
                r.out);
  CHECK(r.status == std::optional<int>(0));
}

TEST_CASE("hello-ringbuf prints '<command> - <filename>' of an openat") {
  const std::string path = unique_path("hr");
  auto r = run_example(
      "hello-ringbuf", {},
      [&] { named_child("ebpfpp-hr", [&] { ::open(path.c_str(), O_RDONLY); }); },
      [&] { return std::vector{fmt::format("ebpfpp-hr - {}\n", path)}; });
  CHECK(r.err.find("hello-ringbuf: attached tracepoint syscalls/sys_enter_openat") !=
        std::string::npos);
  CHECK_MESSAGE(("\n" + r.out).find(fmt::format("\nebpfpp-hr - {}\n", path)) != std::string::npos,
                r.out);
  CHECK(r.status == std::optional<int>(0));
}

TEST_CASE("hello-ringbuf-config: 'Hey root!' for uid 0, --message for another uid, Hello World "
          "otherwise" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::ring_buffer)) EBPFPP_SKIP(*r);
  pid_t root = -1, nobody = -1, other = -1;
  auto as_uid = [](uid_t uid) {
    return [uid] {
      if (::setuid(uid) != 0) ::_exit(3);
      exec_true();
    };
  };
  auto r = run_example(
      "hello-ringbuf-config", {"--message", "65534=Hi nobody"},
      [&] {
        root = named_child("ebpfpp-hc", exec_true);
        nobody = named_child("ebpfpp-hc", as_uid(65534));
        other = named_child("ebpfpp-hc", as_uid(4242));
      },
      [&] {
        return std::vector{fmt::format("{} 0 ebpfpp-hc Hey root!\n", root),
                           fmt::format("{} 65534 ebpfpp-hc Hi nobody\n", nobody),
                           fmt::format("{} 4242 ebpfpp-hc Hello World\n", other)};
      });
  check_execve_note(r.err, "hello-ringbuf-config");
  CHECK_MESSAGE(r.out.find(fmt::format("{} 0 ebpfpp-hc Hey root!\n", root)) != std::string::npos,
                r.out);
  CHECK_MESSAGE(r.out.find(fmt::format("{} 65534 ebpfpp-hc Hi nobody\n", nobody)) !=
                    std::string::npos,
                r.out);
  CHECK_MESSAGE(r.out.find(fmt::format("{} 4242 ebpfpp-hc Hello World\n", other)) !=
                    std::string::npos,
                r.out);
  CHECK(r.status == std::optional<int>(0));
}

TEST_CASE("the buffer examples print usage on -h and exit 2 on a bad argument") {
  for (const char* exe : {"hello-buffer", "hello-file", "hello-ringbuf", "hello-ringbuf-config"}) {
    auto help = test::spawn(exe, {(test::examples_dir() / exe).string(), "-h"}, true);
    const std::string out = test::read_until(
        help.out, [](const std::string&) { return false; }, 3s);
    CHECK(help.wait() == 0);
    CHECK(out.find(fmt::format("usage: {}", exe)) != std::string::npos);
    auto bad = test::spawn(exe, {(test::examples_dir() / exe).string(), "--bogus"}, true);
    CHECK(bad.wait() == 2);
  }
  auto bad = test::spawn(
      "x", {(test::examples_dir() / "hello-ringbuf-config").string(), "-m", "0=far too long text"},
      true);
  CHECK(bad.wait() == 2);
}

} // namespace buffer_examples_test
