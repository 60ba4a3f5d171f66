#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <sched.h>

#include <ebpfpp/ebpfpp.hpp>

#include "hello.skel.h"
#include "helpers.hpp"

using namespace std::chrono_literals;

namespace {
ebpfpp::TracePipe open_pipe() {
  REQUIRE_MESSAGE(ebpfpp::kernel::tracefs(),
                  "tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing "
                  "(scripts/test does it)");
  return ebpfpp::TracePipe();
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
