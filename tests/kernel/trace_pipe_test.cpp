#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <sched.h>
#include <sys/stat.h>

#include <ebpfpp/ebpfpp.hpp>

#include "hello.bpf.skel.h"
#include "helpers.hpp"
#include "test_fixtures.bpf.skel.h"

namespace trace_pipe_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

namespace {
ebpfpp::TracePipe open_pipe() {
  REQUIRE_MESSAGE(ebpfpp::kernel::tracefs(),
                  "tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing "
                  "(scripts/test does it)");
  return ebpfpp::TracePipe();
}

// Another reader of the system-wide trace_pipe, as a user's `cat trace_pipe` would be: a child
// process that holds it open (the kernel admits one reader at a time) until destroyed. When
// someone else already reads it, the child's open fails with EBUSY and exits: the condition
// holds all the same.
struct TopLevelReader {
  std::filesystem::path top = ebpfpp::TracePipe::locate();
  test::Child cat =
      test::spawn("ebpfpp-cat", {"/bin/sh", "-c", "exec cat " + top.string() + " >/dev/null 2>&1"});
  TopLevelReader() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      // Open when one of its fds points at trace_pipe.
      std::error_code ec;
      for (const auto& e :
           std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", cat.pid), ec)) {
        if (std::filesystem::read_symlink(e.path(), ec) == top) return;
      }
      if (cat.wait(std::chrono::milliseconds(0))) {
        const int fd = ::open(top.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        const int err = errno;
        if (fd >= 0) ::close(fd);
        REQUIRE_MESSAGE((fd < 0 && err == EBUSY),
                        "cat could not open " << top.string() << ", yet it is not busy");
        MESSAGE("another process already reads " << top.string());
        return;
      }
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                      "cat did not open " << top.string() << " within 5 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
};

bool present(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

std::filesystem::path instances_dir() {
  return ebpfpp::TracePipe::locate().parent_path() / "instances";
}

// hello's tracepoint program exec'ing a child; true when `pipe` shows its "Hello World!" line.
bool hello_round_trip(ebpfpp::TracePipe& pipe) {
  auto skel = ebpfpp::Skeleton<hello_bpf>::open();
  skel.program("hello_kprobe").set_autoload(false);
  skel.load();
  ebpfpp::Tracepoint tp(skel.program("hello_tracepoint"), "syscalls", "sys_enter_execve");
  test::Child child = test::spawn("ebpfpp-hello-i", {"/bin/true"});
  const pid_t pid = child.pid;
  CHECK(child.wait() == 0);
  for (const ebpfpp::TraceLine& line : pipe.lines(5s)) {
    if (line.pid == pid) {
      CHECK(line.message == "Hello World!");
      CHECK(line.timestamp.count() > 0);
      return true;
    }
  }
  return false;
}
} // namespace

TEST_CASE("hello's tracepoint program prints Hello World! with the exec'ing child's pid") {
  auto skel = ebpfpp::Skeleton<hello_bpf>::open();
  skel.program("hello_kprobe").set_autoload(false);
  skel.load();
  ebpfpp::Tracepoint tp(skel.program("hello_tracepoint"), "syscalls", "sys_enter_execve");
  auto pipe = open_pipe();

  test::Child child = test::spawn("ebpfpp-hello-t", {"/bin/true"});
  const pid_t pid = child.pid;
  CHECK(child.wait() == 0);

  bool seen = false;
  for (const ebpfpp::TraceLine& line : pipe.lines(5s)) {
    if (line.pid == pid) {
      // The kernel names the task when the line is read, from a pid -> comm cache: the name
      // before exec, after it ("true"), or "<...>" when the cache has not seen the pid yet.
      CHECK_MESSAGE((line.task == "ebpfpp-hello-t" || line.task == "true" || line.task == "<...>"),
                    "task: " << line.task);
      CHECK(line.message == "Hello World!");
      CHECK(line.timestamp.count() > 0);
      seen = true;
      break;
    }
  }
  CHECK(seen);
}

TEST_CASE("lines() ends at its timeout") {
  auto pipe = open_pipe();
  const auto start = std::chrono::steady_clock::now();
  for ([[maybe_unused]] const auto& line : pipe.lines(300ms)) {
  }
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 300ms);
  CHECK(took < 3s);
}

TEST_CASE("lines() ends at its timeout while the pipe never runs dry") {
  // Each read() of the pipe by this process prints a line: a reader of its own syscalls (as
  // hello-tail --show-others is) always has another line to read.
  auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open();
  skel->rodata->target_tgid = ::getpid();
  skel.load();
  auto pipe = open_pipe();
  ebpfpp::RawTracepoint link(skel.program("print_syscalls"), "sys_enter");
  std::size_t lines = 0;
  const auto start = std::chrono::steady_clock::now();
  for ([[maybe_unused]] const auto& line : pipe.lines(300ms)) ++lines;
  const auto took = std::chrono::steady_clock::now() - start;
  MESSAGE(lines << " lines in "
                << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(lines > 0);
  CHECK(took >= 300ms);
  CHECK(took < 3s);
}

TEST_CASE("request_stop() from another thread and a stop token end lines()") {
  auto pipe = open_pipe();
  {
    std::thread stopper([&] {
      std::this_thread::sleep_for(100ms);
      pipe.request_stop();
    });
    const auto start = std::chrono::steady_clock::now();
    for ([[maybe_unused]] const auto& line : pipe.lines(10s)) {
    }
    stopper.join();
    CHECK(std::chrono::steady_clock::now() - start < 5s);
  }
  {
    std::stop_source source;
    std::thread stopper([&] {
      std::this_thread::sleep_for(100ms);
      source.request_stop();
    });
    const auto start = std::chrono::steady_clock::now();
    for ([[maybe_unused]] const auto& line :
         pipe.lines(ebpfpp::StreamOptions().timeout(10s).stop(source.get_token()))) {
    }
    stopper.join();
    CHECK(std::chrono::steady_clock::now() - start < 5s);
  }
  // A stop ends one sequence, not the pipe: the next lines() runs to its own timeout.
  const auto start = std::chrono::steady_clock::now();
  for ([[maybe_unused]] const auto& line : pipe.lines(200ms)) {
  }
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
}

TEST_CASE("without tracefs mounted, TracePipe says how to mount it") {
  // In a child with its own mount namespace, so the machine's tracefs stays mounted.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(10);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(11);
    ::umount2("/sys/kernel/tracing", MNT_DETACH);
    ::umount2("/sys/kernel/debug/tracing", MNT_DETACH);
    ::umount2("/sys/kernel/debug", MNT_DETACH);
    if (ebpfpp::kernel::tracefs()) ::_exit(12);
    try {
      ebpfpp::TracePipe pipe;
      ::_exit(13);
    } catch (const ebpfpp::Error& e) {
      const std::string what = e.what();
      const bool ok =
          e.errnum() == ENOENT &&
          what.find("mount -t tracefs tracefs /sys/kernel/tracing") != std::string::npos;
      ::_exit(ok ? 0 : 14);
    }
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("TracePipe reads a private tracefs instance while another process reads trace_pipe") {
  REQUIRE(ebpfpp::kernel::tracefs());
  const TopLevelReader other;

  // The top-level pipe, asked for explicitly, is taken: on kernels that admit one reader
  // (this 6.18 does) the Error says so and points at the default TracePipe.
  try {
    ebpfpp::TracePipe top(ebpfpp::TracePipe::Source::top_level);
    CHECK_FALSE(top.uses_instance());
    MESSAGE("this kernel admits several trace_pipe readers");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EBUSY);
    CHECK(std::string(e.what()).find("open '" + ebpfpp::TracePipe::locate().string() + "'") !=
          std::string::npos);
    CHECK(e.hint().find("another process is reading this trace_pipe") != std::string::npos);
    CHECK(e.hint().find("private tracefs instance") != std::string::npos);
  }

  ebpfpp::TracePipe pipe;
  REQUIRE(pipe.uses_instance());
  const auto dir = pipe.instance_dir();
  CHECK(dir.parent_path() == instances_dir());
  CHECK(dir.filename().string().starts_with(fmt::format("ebpfpp-{}-", ::getpid())));
  CHECK(pipe.path() == dir / "trace_pipe");
  CHECK(present(dir));
  CHECK(hello_round_trip(pipe));

  // Two private pipes side by side: each sees every line.
  ebpfpp::TracePipe second;
  REQUIRE(second.uses_instance());
  CHECK(second.instance_dir() != dir);
  CHECK(hello_round_trip(second));
}

TEST_CASE("a destroyed TracePipe leaves no tracefs instance behind, moved or not") {
  REQUIRE(ebpfpp::kernel::tracefs());
  std::filesystem::path dir;
  {
    ebpfpp::TracePipe pipe;
    REQUIRE(pipe.uses_instance());
    dir = pipe.instance_dir();
    REQUIRE(present(dir));
    REQUIRE(ebpfpp::detail::trace_instance_owner(dir.filename().string()) == ::getpid());
  }
  CHECK_FALSE(present(dir));

  std::filesystem::path moved_dir, assigned_dir;
  {
    ebpfpp::TracePipe a;
    moved_dir = a.instance_dir();
    ebpfpp::TracePipe b(std::move(a));
    CHECK(b.instance_dir() == moved_dir);
    CHECK(b.uses_instance());
    CHECK_FALSE(a.uses_instance()); // NOLINT(bugprone-use-after-move): the empty state is API
    CHECK_THROWS_AS(([&] {
                      for ([[maybe_unused]] const auto& l : a.lines(10ms)) {
                      }
                    }()),
                    ebpfpp::Error);
    ebpfpp::TracePipe c;
    assigned_dir = c.instance_dir();
    c = std::move(b); // c's own instance goes now
    CHECK_FALSE(present(assigned_dir));
    CHECK(present(moved_dir));
    CHECK(c.path() == moved_dir / "trace_pipe");
  }
  CHECK_FALSE(present(moved_dir));
}

TEST_CASE("a TracePipe removes the instances of dead ebpfpp processes, not of live ones") {
  REQUIRE(ebpfpp::kernel::tracefs());
  // A process killed before its destructor ran: here a child that makes a TracePipe and _exits.
  int report[2];
  REQUIRE(::pipe(report) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(report[0]);
    try {
      auto* leaked = new ebpfpp::TracePipe(); // never destroyed: what SIGKILL does
      const std::string dir = leaked->instance_dir().string();
      if (::write(report[1], dir.data(), dir.size()) < 0) ::_exit(2);
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(report[1]);
  char buf[4096];
  const ssize_t n = ::read(report[0], buf, sizeof buf);
  ::close(report[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(n > 0);
  const std::filesystem::path stale(std::string(buf, static_cast<std::size_t>(n)));
  REQUIRE(present(stale));

  // An instance named like ours whose pid is alive (pid 1) stays.
  const auto live = instances_dir() / "ebpfpp-1-999999";
  REQUIRE(::mkdir(live.c_str(), 0700) == 0);
  {
    ebpfpp::TracePipe pipe;
    CHECK(pipe.uses_instance());
    CHECK_FALSE(present(stale));
    CHECK(present(live));
  }
  CHECK(::rmdir(live.c_str()) == 0);
  if (present(stale)) ::rmdir(stale.c_str());
}

} // namespace trace_pipe_test
