// Task<T> and EventLoop without BPF: timers, signals, stopping, exceptions.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <unistd.h>

#include <ebpfpp/event_loop.hpp>
#include <ebpfpp/task.hpp>

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
