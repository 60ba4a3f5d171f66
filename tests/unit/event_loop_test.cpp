// Task<T> and EventLoop without BPF: timers, signals, stopping, exceptions.
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ebpfpp/event_loop.hpp>
#include <ebpfpp/task.hpp>

namespace event_loop_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;
using ebpfpp::EventLoop;
using ebpfpp::Task;

namespace {

Task<int> answer(EventLoop& loop) {
  co_await loop.sleep(1ms);
  co_return 42;
}

Task<int> failing(EventLoop& loop) {
  co_await loop.sleep(1ms);
  throw std::runtime_error("inner task failed");
}

Task<> sleeper(EventLoop& loop, std::chrono::milliseconds d, std::vector<int>& order, int id) {
  co_await loop.sleep(d);
  order.push_back(id);
}

struct SetOnDestroy {
  bool* flag;
  ~SetOnDestroy() { *flag = true; }
};

Task<> forever(EventLoop& loop, bool& destroyed) {
  SetOnDestroy guard{&destroyed};
  co_await loop.sleep(1h);
}

Task<> send_after(EventLoop& loop, std::chrono::milliseconds d, int signo) {
  co_await loop.sleep(d);
  ::kill(::getpid(), signo);
}

} // namespace

TEST_CASE("a task's co_return value and exception come out of co_await") {
  EventLoop loop;
  int got = 0;
  std::string error;
  loop.spawn([](EventLoop& loop, int& got, std::string& error) -> Task<> {
    got = co_await answer(loop);
    try {
      co_await failing(loop);
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
  }(loop, got, error));
  CHECK(loop.run() == std::nullopt); // every task ended
  CHECK(got == 42);
  CHECK(error == "inner task failed");
  CHECK(loop.task_count() == 0);
}

TEST_CASE("sleeps on one thread end in deadline order and take at least their time") {
  EventLoop loop;
  std::vector<int> order;
  const auto start = std::chrono::steady_clock::now();
  loop.spawn(sleeper(loop, 60ms, order, 3));
  loop.spawn(sleeper(loop, 20ms, order, 1));
  loop.spawn(sleeper(loop, 40ms, order, 2));
  loop.run();
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(std::chrono::steady_clock::now() - start >= 60ms);
}

TEST_CASE("a task awaiting a signal gets its number") {
  EventLoop loop;
  int got = 0;
  loop.spawn(
      [](EventLoop& loop, int& got) -> Task<> { got = co_await loop.signal(SIGUSR1); }(loop, got));
  loop.spawn(send_after(loop, 20ms, SIGUSR1));
  CHECK(loop.run() == std::nullopt);
  CHECK(got == SIGUSR1);
}

TEST_CASE(
    "SIGINT and SIGTERM end run() cleanly; the unfinished tasks are destroyed with the loop") {
  for (int signo : {SIGINT, SIGTERM}) {
    bool destroyed = false;
    {
      EventLoop loop;
      loop.spawn(forever(loop, destroyed));
      loop.spawn(send_after(loop, 20ms, signo));
      CHECK(loop.run() == std::optional<int>(signo));
      CHECK(loop.task_count() == 1);
      CHECK_FALSE(destroyed);
    }
    CHECK(destroyed);
  }
}

TEST_CASE("an exception a spawned task does not catch comes out of run()") {
  EventLoop loop;
  bool destroyed = false;
  loop.spawn(forever(loop, destroyed));
  loop.spawn([](EventLoop& loop) -> Task<> {
    co_await loop.sleep(5ms);
    throw std::logic_error("task blew up");
  }(loop));
  CHECK_THROWS_WITH_AS(loop.run(), "task blew up", std::logic_error);
  CHECK(loop.task_count() == 1); // the other task is still there
  CHECK_FALSE(destroyed);
}

TEST_CASE("request_stop from another thread ends run()") {
  EventLoop loop;
  bool destroyed = false;
  loop.spawn(forever(loop, destroyed));
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    loop.request_stop();
  });
  CHECK(loop.run() == std::nullopt);
  t.join();
  CHECK(loop.task_count() == 1);
}

TEST_CASE("spawn(lambda) keeps a capturing lambda alive as long as its task") {
  // Called in place, `spawn([p]() -> Task<> {...}())`, the lambda (and its copy of p) dies at the
  // end of the expression while its task still runs: a read of freed memory (issue 23.2).
  EventLoop loop;
  auto p = std::make_shared<std::string>("captured");
  long count_while_running = 0;
  std::string seen;
  loop.spawn([p, &loop, &seen, &count_while_running]() -> Task<> {
    co_await loop.sleep(1ms);
    count_while_running = p.use_count();
    seen = *p;
  });
  CHECK(p.use_count() == 2); // the loop's copy of the lambda holds one
  CHECK_FALSE(loop.run().has_value());
  CHECK(count_while_running == 2);
  CHECK(seen == "captured");
  CHECK(p.use_count() == 1); // gone with its task
}

TEST_CASE("readable(fd) resumes when a pipe has data, with POLLIN") {
  EventLoop loop;
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  std::string got;
  short revents = 0;
  loop.spawn([&]() -> Task<> {
    revents = co_await loop.readable(fds[0]);
    char buf[16];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    got.assign(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  });
  loop.spawn([&]() -> Task<> {
    co_await loop.sleep(5ms);
    CHECK(got.empty()); // still waiting: nothing was written
    CHECK(::write(fds[1], "ping", 4) == 4);
  });
  loop.run();
  CHECK((revents & POLLIN) != 0);
  CHECK(got == "ping");
  // A second reader of one fd is refused, as for a stream.
  loop.spawn([&]() -> Task<> { co_await loop.readable(fds[0]); });
  loop.spawn([&]() -> Task<> { co_await loop.readable(fds[0]); });
  CHECK_THROWS_WITH_AS(loop.run(), doctest::Contains("already awaits"), ebpfpp::Error);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("readable(pidfd) resumes when the process exits; writable(fd) at once") {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::usleep(50'000);
    ::_exit(7);
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  if (pidfd < 0) {
    const int err = errno;
    ::waitpid(child, nullptr, 0);
    REQUIRE_MESSAGE(err == ENOSYS, "pidfd_open: " << std::strerror(err));
    MESSAGE("SKIPPED: no pidfd_open (kernel 5.3+)");
    return;
  }
  EventLoop loop;
  bool exited_when_resumed = false;
  short out_revents = 0;
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  loop.spawn([&]() -> Task<> {
    co_await loop.readable(pidfd);
    siginfo_t info{};
    exited_when_resumed = ::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOHANG) == 0 &&
                          info.si_pid == child && info.si_status == 7;
  });
  loop.spawn([&]() -> Task<> { out_revents = co_await loop.writable(fds[1]); });
  loop.run();
  CHECK(exited_when_resumed);
  CHECK((out_revents & POLLOUT) != 0);
  ::close(pidfd);
  ::close(fds[0]);
  ::close(fds[1]);
}

} // namespace event_loop_test
