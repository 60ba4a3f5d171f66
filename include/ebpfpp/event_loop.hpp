#pragma once
/// @file
/// EventLoop: runs Task<> coroutines on one thread over epoll, a timerfd and a signalfd, so a
/// tool can read several event streams, dump a map every few seconds and end on Ctrl-C together.
///
///     ebpfpp::EventLoop loop;                           // SIGINT/SIGTERM end run()
///     loop.spawn([&]() -> ebpfpp::Task<> {              // the loop keeps the lambda alive
///       for (;;) { const event& e = co_await loop.next(rb); print(e); }
///     });
///     loop.spawn([&]() -> ebpfpp::Task<> {
///       for (;;) { co_await loop.sleep(2s); dump_map(); }
///     });
///     loop.run();                                       // until Ctrl-C, or every task ended
///
/// Awaitables: `loop.next(stream)` (the next record of a RingBuffer or PerfBuffer: a
/// `const Event&` valid until the next await on that stream), `loop.sleep(duration)`,
/// `loop.signal(signo)` (the signal number once it arrives), and `loop.readable(fd)` /
/// `loop.writable(fd)` for any other fd (a pidfd, to end when a process exits; a socket). Tasks
/// are resumed one at a time, so they need no locks among themselves. A stream that always has
/// data does not starve the others: after a batch of records without suspending, the awaiting
/// task yields to the loop.
///
/// Give spawn() the lambda itself, not its call: a coroutine lambda's captures live in the
/// lambda object, not in the coroutine, so `spawn([&]() -> Task<> {...}())` (called in place)
/// leaves the task reading a dead object once the expression ends. spawn(lambda) keeps the
/// lambda alive for as long as its task. A coroutine function (or a lambda that captures
/// nothing) may also be called in place, its arguments being copied into the coroutine:
/// `spawn(reader(loop, rb))`.

#include "detail/config.hpp"

#include <chrono>
#include <concepts>
#include <csignal>
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/loop_core.hpp"
#include "task.hpp"

namespace ebpfpp {

/// A stream EventLoop::next can await: RingBuffer<Event> (Bytes too), PerfBuffer<Event>,
/// TracePipe. It hands out its next record without waiting (try_next(), nullptr when none), has
/// an fd that polls readable when records come, and says how long the loop may sleep on that fd
/// before looking again (wait_bound(), negative: no bound). A stream whose producers wake it only
/// on request (a ring buffer with EBPFPP_RINGBUF's need-wakeup flag) also has prepare_wait() and
/// end_wait(), which the loop calls around its sleep.
template <class S>
concept AwaitableStream = requires(S& s) {
  {*s.try_next()};
  { s.fd() } -> std::same_as<int>;
  { s.wait_bound() } -> std::same_as<std::chrono::milliseconds>;
};

/// Runs coroutines (Task<>) on the calling thread until they end, stop() is called, or a stop
/// signal arrives. Construct it on the thread that will call run(), before starting other
/// threads (the stop signals are blocked for this thread and the threads it starts afterwards;
/// they are unblocked again when the loop is destroyed). Not copyable or movable.
///
/// (EventLoop is BasicEventLoop<>, a template over a parameter nobody gives: a file that
/// includes this header and makes no loop compiles none of it. Its members' types depend on that
/// parameter for the same reason: `Core` is detail::LoopCore and `Task<V>` is Task<>, but named
/// through V they are not instantiated before a loop is made.)
template <class V = void>
class BasicEventLoop {
  using Core = detail::BasicLoopCore<V>;

public:
  using clock = std::chrono::steady_clock;

  /// Throws Error if epoll, timerfd, signalfd or eventfd cannot be created.
  explicit BasicEventLoop(std::initializer_list<int> stop_signals = {SIGINT, SIGTERM})
      : core_(stop_signals) {}
  BasicEventLoop(const BasicEventLoop&) = delete;
  BasicEventLoop& operator=(const BasicEventLoop&) = delete;
  /// Destroys the tasks that have not ended (their locals' destructors run), then unblocks the
  /// signals, discarding those that arrived for the loop.
  ~BasicEventLoop() { tasks_.clear(); }

  /// Hands a task to the loop; it starts at the next turn of run() (or of the current one).
  void spawn(Task<> task) {
    if (!task) return;
    core_.push_ready(task.handle());
    tasks_.push_back(std::move(task));
  }

  /// Calls `make_task` (a lambda returning Task<>, captures and all) and hands its task to the
  /// loop, keeping the lambda alive until the task ends: the safe way to spawn a lambda that
  /// captures (see the file comment).
  template <class F>
    requires std::is_invocable_r_v<Task<>, F&>
  void spawn(F&& make_task) {
    spawn(own<std::decay_t<F>>(std::forward<F>(make_task)));
  }

  /// Runs tasks until every spawned task has ended, stop() or request_stop() is called, or a
  /// stop signal arrives that no task awaits. Returns that signal's number, or nullopt. An
  /// exception a spawned task did not catch ends run() and comes out of it (the other tasks stay
  /// suspended: run() may be called again). Throws Error if epoll_wait fails.
  std::optional<int> run() {
    stopped_ = false;
    std::optional<int> stop_signal;
    while (!stopped_) {
      core_.resume_ready();
      reap_tasks(); // rethrows a task's exception
      if (tasks_.empty() || stopped_) break;
      // Waits for fds and timers (not at all when tasks are ready) and readies their tasks.
      if (auto s = core_.poll(stopped_)) stop_signal = s;
    }
    return stop_signal;
  }

  /// Ends run() after the current task suspends. For tasks on this loop.
  void stop() noexcept { stopped_ = true; }
  /// Ends run() from another thread or a signal handler. Async-signal-safe.
  void request_stop() const noexcept { core_.request_stop(); }

  /// Tasks spawned and not yet ended.
  std::size_t task_count() const noexcept { return tasks_.size(); }

  // --- awaitables ------------------------------------------------------------------------------

  /// `co_await loop.sleep(d)`: resumes after at least `d` (a timerfd, CLOCK_MONOTONIC).
  using SleepAwaiter = detail::SleepAwaiter<Core>;
  template <class Rep, class Period>
  SleepAwaiter sleep(std::chrono::duration<Rep, Period> d) noexcept {
    return SleepAwaiter(core_, clock::now() + std::chrono::duration_cast<clock::duration>(d));
  }

  /// `co_await loop.signal(SIGUSR1)`: resumes with the signal number when it arrives. The signal
  /// is blocked from the first await on (for this thread) and delivered through the signalfd;
  /// one that arrives while no task awaits it is discarded, unless it is a stop signal.
  using SignalAwaiter = detail::SignalAwaiter<Core>;
  SignalAwaiter signal(int signo) noexcept { return SignalAwaiter(core_, signo); }

  /// `co_await loop.next(stream)`: the stream's next record, as `const Event&`, valid until the
  /// next await on that stream. Only one task may await a given stream at a time (a second one
  /// throws Error EEXIST). After a batch of records taken without suspending (256), the task
  /// yields to the others.
  template <AwaitableStream Stream>
  using NextAwaiter = detail::NextAwaiter<Stream, Core>;
  template <AwaitableStream Stream>
  NextAwaiter<Stream> next(Stream& stream) noexcept {
    return NextAwaiter<Stream>(core_, stream);
  }

  /// `co_await loop.readable(fd)` / `loop.writable(fd)`: resumes when `fd` (any pollable fd the
  /// caller owns: a pidfd, a socket, a pipe) is ready, with its poll(2) revents (POLLHUP and
  /// POLLERR among them when they are why). One task per fd at a time (a second throws Error
  /// EEXIST); the fd must stay open while awaited.
  using FdAwaiter = detail::FdAwaiter<Core>;
  FdAwaiter readable(int fd) noexcept { return FdAwaiter(core_, fd, POLLIN); }
  FdAwaiter writable(int fd) noexcept { return FdAwaiter(core_, fd, POLLOUT); }

private:
  // The coroutine that owns a spawned lambda: `make_task` is a parameter, so it lives in this
  // frame until the task it made has ended.
  template <class F>
  static Task<> own(F make_task) {
    co_await make_task();
  }

  void reap_tasks() {
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      if (!it->done()) {
        ++it;
        continue;
      }
      Task<> finished = std::move(*it);
      it = tasks_.erase(it);
      finished.handle().promise().take(); // rethrows what the task threw
    }
  }

  Core core_; // fds, ready queue, timers, signal and fd waiters
  bool stopped_ = false;
  // Last: destroyed first, while the structures their awaiters unregister from still exist.
  std::vector<Task<V>> tasks_;
};
using EventLoop = BasicEventLoop<>;

} // namespace ebpfpp
