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

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <coroutine>
#include <csignal>
#include <cstdint>
#include <deque>
#include <exception>
#include <initializer_list>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <signal.h>

#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "task.hpp"

namespace ebpfpp {

class EventLoop;

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

namespace detail {
template <class S>
bool prepare_wait(S& s) noexcept {
  if constexpr (requires { s.prepare_wait(); })
    return s.prepare_wait();
  else
    return false;
}
template <class S>
void end_wait(S& s) noexcept {
  if constexpr (requires { s.end_wait(); }) s.end_wait();
}
} // namespace detail

namespace detail {

// Something the loop resumes when its fd is ready or when it is polled again.
struct LoopWaiter {
  virtual void on_ready() = 0;

protected:
  ~LoopWaiter() = default;
};

} // namespace detail

/// Runs coroutines (Task<>) on the calling thread until they end, stop() is called, or a stop
/// signal arrives. Construct it on the thread that will call run(), before starting other
/// threads (the stop signals are blocked for this thread and the threads it starts afterwards;
/// they are unblocked again when the loop is destroyed). Not copyable or movable.
class EventLoop {
public:
  using clock = std::chrono::steady_clock;

  /// Throws Error if epoll, timerfd, signalfd or eventfd cannot be created.
  explicit EventLoop(std::initializer_list<int> stop_signals = {SIGINT, SIGTERM}) {
    sigemptyset(&mask_);
    sigemptyset(&stop_set_);
    for (int s : stop_signals) {
      sigaddset(&mask_, s);
      sigaddset(&stop_set_, s);
    }
    if (int err = pthread_sigmask(SIG_BLOCK, &mask_, &old_mask_); err != 0)
      detail::fail(err, [] { return std::string("block the event loop's stop signals"); });
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    signals_.reset(::signalfd(-1, &mask_, SFD_NONBLOCK | SFD_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!epoll_ || !timer_ || !signals_ || !wake_) {
      const int err = errno;
      pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
      detail::fail(err, [] {
        return std::string("create the event loop's epoll, timerfd, signalfd and eventfd");
      });
    }
    for (int fd : {timer_.get(), signals_.get(), wake_.get()}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        const int err = errno;
        pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
        detail::fail(err, [] { return std::string("add the event loop's own fds to epoll"); });
      }
    }
  }
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  /// Destroys the tasks that have not ended (their locals' destructors run), then unblocks the
  /// signals, discarding those that arrived for the loop.
  ~EventLoop() {
    tasks_.clear();
    signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }

  /// Hands a task to the loop; it starts at the next turn of run() (or of the current one).
  void spawn(Task<> task) {
    if (!task) return;
    ready_.push_back(task.handle());
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
      // Only what is ready now: what these resumptions make ready runs after the next poll,
      // so fd events and timers get their turn between them.
      std::deque<std::coroutine_handle<>> batch;
      batch.swap(ready_);
      immediate_ = 0;
      for (auto h : batch) h.resume();
      reap_tasks(); // rethrows a task's exception
      if (tasks_.empty() || stopped_) break;

      int timeout_ms = ready_.empty() ? wait_timeout_ms() : 0;
      epoll_event events[16];
      const int n = ::epoll_wait(epoll_.get(), events, 16, timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        detail::fail(errno, [] { return std::string("wait in the event loop (epoll_wait)"); });
      }
      bool streams_due = n == 0;
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == timer_.get()) {
          std::uint64_t expirations;
          [[maybe_unused]] auto r = ::read(fd, &expirations, sizeof expirations);
        } else if (fd == signals_.get()) {
          if (auto s = dispatch_signals()) {
            stop_signal = s;
            stopped_ = true;
          }
        } else if (fd == wake_.get()) {
          std::uint64_t v;
          [[maybe_unused]] auto r = ::read(fd, &v, sizeof v);
          stopped_ = true;
        } else {
          streams_due = true;
        }
      }
      fire_timers();
      // Every waiting stream is looked at on any stream event or timeout: cheap (a position
      // compare each), and it is how a record that woke no one is found within max_latency.
      if (streams_due || n > 0) poll_streams();
    }
    return stop_signal;
  }

  /// Ends run() after the current task suspends. For tasks on this loop.
  void stop() noexcept { stopped_ = true; }
  /// Ends run() from another thread or a signal handler. Async-signal-safe.
  void request_stop() const noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wake_.get(), &one, sizeof one);
  }

  /// Tasks spawned and not yet ended.
  std::size_t task_count() const noexcept { return tasks_.size(); }

  // --- awaitables ------------------------------------------------------------------------------

  /// `co_await loop.sleep(d)`: resumes after at least `d` (a timerfd, CLOCK_MONOTONIC).
  class SleepAwaiter {
  public:
    SleepAwaiter(EventLoop& loop, clock::time_point deadline) noexcept
        : loop_(&loop), deadline_(deadline) {}
    SleepAwaiter(const SleepAwaiter&) = delete;
    SleepAwaiter& operator=(const SleepAwaiter&) = delete;
    ~SleepAwaiter() {
      if (registered_) loop_->timers_.erase(it_);
    }
    bool await_ready() const noexcept { return deadline_ <= clock::now(); }
    void await_suspend(std::coroutine_handle<> h) {
      handle_ = h;
      it_ = loop_->timers_.emplace(deadline_, this);
      registered_ = true;
      if (it_ == loop_->timers_.begin()) loop_->arm_timer();
    }
    void await_resume() const noexcept {}

  private:
    friend class EventLoop;
    EventLoop* loop_;
    clock::time_point deadline_;
    std::coroutine_handle<> handle_;
    std::multimap<clock::time_point, SleepAwaiter*>::iterator it_;
    bool registered_ = false;
  };

  template <class Rep, class Period>
  SleepAwaiter sleep(std::chrono::duration<Rep, Period> d) noexcept {
    return SleepAwaiter(*this, clock::now() + std::chrono::duration_cast<clock::duration>(d));
  }

  /// `co_await loop.signal(SIGUSR1)`: resumes with the signal number when it arrives. The signal
  /// is blocked from the first await on (for this thread) and delivered through the signalfd;
  /// one that arrives while no task awaits it is discarded, unless it is a stop signal.
  class SignalAwaiter {
  public:
    SignalAwaiter(EventLoop& loop, int signo) noexcept : loop_(&loop), signo_(signo) {}
    SignalAwaiter(const SignalAwaiter&) = delete;
    SignalAwaiter& operator=(const SignalAwaiter&) = delete;
    ~SignalAwaiter() { loop_->forget_signal_waiter(this); }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      handle_ = h;
      loop_->watch_signal(signo_);
      loop_->signal_waiters_.push_back(this);
    }
    int await_resume() const noexcept { return signo_; }

  private:
    friend class EventLoop;
    EventLoop* loop_;
    int signo_;
    std::coroutine_handle<> handle_;
  };

  SignalAwaiter signal(int signo) noexcept { return SignalAwaiter(*this, signo); }

  /// `co_await loop.next(stream)`: the stream's next record, as `const Event&`, valid until the
  /// next await on that stream. Only one task may await a given stream at a time (a second one
  /// throws Error EEXIST).
  template <AwaitableStream Stream>
  class NextAwaiter : private detail::LoopWaiter {
  public:
    using record_type = std::remove_reference_t<decltype(*std::declval<Stream&>().try_next())>;

    NextAwaiter(EventLoop& loop, Stream& s) noexcept : loop_(&loop), stream_(&s), fd_(s.fd()) {}
    NextAwaiter(const NextAwaiter&) = delete;
    NextAwaiter& operator=(const NextAwaiter&) = delete;
    // Uses the fd it registered, not the stream: a task suspended here is destroyed with the
    // loop, and a stream declared after the loop is gone by then.
    ~NextAwaiter() {
      if (registered_) loop_->remove_stream_waiter(this, fd_);
    }
    bool await_ready() {
      if (loop_->immediate_ >= immediate_budget) return false;
      rec_ = stream_->try_next();
      if (!rec_) return false;
      ++loop_->immediate_;
      return true;
    }
    void await_suspend(std::coroutine_handle<> h) {
      handle_ = h;
      if (!rec_) rec_ = stream_->try_next();
      // About to sleep: ask to be woken, then look once more (a record may have come between).
      if (!rec_ && detail::prepare_wait(*stream_)) rec_ = stream_->try_next();
      if (rec_) { // only here to give the other tasks their turn
        detail::end_wait(*stream_);
        loop_->ready_.push_back(h);
        return;
      }
      loop_->add_stream_waiter(this, fd_, stream_->wait_bound());
      registered_ = true;
    }
    const record_type& await_resume() const {
      if (error_) std::rethrow_exception(error_);
      return *rec_;
    }

  private:
    friend class EventLoop;
    static constexpr unsigned immediate_budget = 256;
    // A bad record (e.g. of the wrong size) found while the task waits belongs to that task's
    // co_await, as it would if it had been there before the task suspended, not to run().
    void on_ready() override {
      try {
        rec_ = stream_->try_next();
      } catch (...) {
        error_ = std::current_exception();
      }
      if (!rec_ && !error_) return; // still asleep: the wake-up request stands
      detail::end_wait(*stream_);
      loop_->remove_stream_waiter(this, fd_);
      registered_ = false;
      loop_->ready_.push_back(handle_);
    }
    EventLoop* loop_;
    Stream* stream_;
    int fd_;
    const record_type* rec_ = nullptr;
    std::exception_ptr error_;
    std::coroutine_handle<> handle_;
    bool registered_ = false;
  };

  template <AwaitableStream Stream>
  NextAwaiter<Stream> next(Stream& stream) noexcept {
    return NextAwaiter<Stream>(*this, stream);
  }

  /// `co_await loop.readable(fd)` / `loop.writable(fd)`: resumes when `fd` (any pollable fd the
  /// caller owns: a pidfd, a socket, a pipe) is ready, with its poll(2) revents (POLLHUP and
  /// POLLERR among them when they are why). One task per fd at a time (a second throws Error
  /// EEXIST); the fd must stay open while awaited.
  class FdAwaiter : private detail::LoopWaiter {
  public:
    FdAwaiter(EventLoop& loop, int fd, short events) noexcept
        : loop_(&loop), fd_(fd), events_(events) {}
    FdAwaiter(const FdAwaiter&) = delete;
    FdAwaiter& operator=(const FdAwaiter&) = delete;
    ~FdAwaiter() {
      if (registered_) loop_->remove_stream_waiter(this, fd_);
    }
    bool await_ready() noexcept { return ready_now(); }
    void await_suspend(std::coroutine_handle<> h) {
      handle_ = h;
      loop_->add_stream_waiter(this, fd_, std::chrono::milliseconds(-1),
                               events_ == POLLOUT ? EPOLLOUT : EPOLLIN);
      registered_ = true;
    }
    short await_resume() const noexcept { return revents_; }

  private:
    bool ready_now() noexcept {
      pollfd p{fd_, events_, 0};
      if (::poll(&p, 1, 0) <= 0 || p.revents == 0) return false;
      revents_ = p.revents;
      return true;
    }
    void on_ready() override {
      if (!ready_now()) return;
      loop_->remove_stream_waiter(this, fd_);
      registered_ = false;
      loop_->ready_.push_back(handle_);
    }
    EventLoop* loop_;
    int fd_;
    short events_;
    short revents_ = 0;
    std::coroutine_handle<> handle_;
    bool registered_ = false;
  };

  FdAwaiter readable(int fd) noexcept { return FdAwaiter(*this, fd, POLLIN); }
  FdAwaiter writable(int fd) noexcept { return FdAwaiter(*this, fd, POLLOUT); }

private:
  // The coroutine that owns a spawned lambda: `make_task` is a parameter, so it lives in this
  // frame until the task it made has ended.
  template <class F>
  static Task<> own(F make_task) {
    co_await make_task();
  }

  struct StreamEntry {
    detail::LoopWaiter* waiter;
    int fd;
    std::chrono::milliseconds max_latency;
  };

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

  int wait_timeout_ms() const noexcept {
    // Timers are the timerfd's business; streams bound the wait by their max_latency.
    int timeout = -1;
    for (const auto& s : streams_) {
      const auto ms = static_cast<int>(s.max_latency.count());
      if (ms > 0 && (timeout < 0 || ms < timeout)) timeout = ms;
    }
    return timeout;
  }

  void arm_timer() noexcept {
    itimerspec spec{};
    if (!timers_.empty()) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          timers_.begin()->first.time_since_epoch())
                          .count();
      // steady_clock is CLOCK_MONOTONIC on Linux; 0 would disarm the timer.
      spec.it_value.tv_sec = ns / 1'000'000'000;
      spec.it_value.tv_nsec = ns % 1'000'000'000;
      if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    }
    ::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  void fire_timers() {
    const auto now = clock::now();
    bool fired = false;
    while (!timers_.empty() && timers_.begin()->first <= now) {
      SleepAwaiter* a = timers_.begin()->second;
      a->registered_ = false; // its entry is gone: its destructor must not erase it again
      ready_.push_back(a->handle_);
      timers_.erase(timers_.begin());
      fired = true;
    }
    if (fired) arm_timer();
  }

  void watch_signal(int signo) {
    if (sigismember(&mask_, signo)) return;
    sigaddset(&mask_, signo);
    if (int err = pthread_sigmask(SIG_BLOCK, &mask_, nullptr); err != 0)
      detail::fail(err,
                   [&] { return detail::format("block signal {} for the event loop", signo); });
    if (::signalfd(signals_.get(), &mask_, SFD_NONBLOCK | SFD_CLOEXEC) < 0)
      detail::fail(errno, [&] {
        return detail::format("add signal {} to the event loop's signalfd", signo);
      });
  }

  void forget_signal_waiter(SignalAwaiter* w) noexcept {
    signal_waiters_.erase(std::remove(signal_waiters_.begin(), signal_waiters_.end(), w),
                          signal_waiters_.end());
  }

  // Resumes the tasks awaiting the signals that arrived; returns a stop signal no task awaited.
  std::optional<int> dispatch_signals() {
    std::optional<int> stop;
    signalfd_siginfo info{};
    while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      const int signo = static_cast<int>(info.ssi_signo);
      bool awaited = false;
      for (auto it = signal_waiters_.begin(); it != signal_waiters_.end();) {
        if ((*it)->signo_ == signo) {
          ready_.push_back((*it)->handle_);
          it = signal_waiters_.erase(it);
          awaited = true;
        } else {
          ++it;
        }
      }
      if (!awaited && sigismember(&stop_set_, signo)) stop = signo;
    }
    return stop;
  }

  void add_stream_waiter(detail::LoopWaiter* w, int fd, std::chrono::milliseconds max_latency,
                         std::uint32_t events = EPOLLIN) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      const int err = errno;
      detail::fail(
          err, [&] { return detail::format("wait for fd {} in the event loop", fd); },
          detail::Op::generic, err == EEXIST ? detail::hint::one_awaiter : std::string_view());
    }
    streams_.push_back({w, fd, max_latency});
  }

  void remove_stream_waiter(detail::LoopWaiter* w, int fd) noexcept {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                  [w](const StreamEntry& e) { return e.waiter == w; }),
                   streams_.end());
  }

  void poll_streams() {
    // on_ready may remove its entry: walk a copy.
    const auto waiting = streams_;
    for (const auto& s : waiting) s.waiter->on_ready();
  }

  detail::UniqueFd epoll_, timer_, signals_, wake_;
  sigset_t mask_{}, stop_set_{}, old_mask_{};
  std::deque<std::coroutine_handle<>> ready_;
  std::multimap<clock::time_point, SleepAwaiter*> timers_;
  std::vector<SignalAwaiter*> signal_waiters_;
  std::vector<StreamEntry> streams_;
  unsigned immediate_ = 0;
  bool stopped_ = false;
  // Last: destroyed first, while the structures their awaiters unregister from still exist.
  std::vector<Task<>> tasks_;
};

} // namespace ebpfpp
