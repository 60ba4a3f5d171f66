#pragma once
// What EventLoop runs on: LoopCore (epoll, a timerfd, a signalfd and an eventfd; the queue of
// coroutines ready to resume; the timers, signal waiters and fd waiters) and the awaiters that
// register with it. EventLoop adds the tasks and run(); see event_loop.hpp for the contract.
//
// LoopCore is BasicLoopCore<>, a template over a parameter nobody gives, and the awaiters are
// templates over it (as EventLoop is): a file that includes event_loop.hpp (the umbrella does)
// and runs no loop compiles none of their bodies, nor the containers they instantiate.

#include "config.hpp"

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
#include <exception>
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <signal.h>

#include "../error.hpp"
#include "format.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

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

// Something the loop resumes when its fd is ready or when it is polled again.
struct LoopWaiter {
  virtual void on_ready() = 0;

protected:
  ~LoopWaiter() = default;
};

template <class Core>
class SleepAwaiter;
template <class Core>
class SignalAwaiter;

// The fds, queues and registries of one EventLoop. Not copyable or movable: awaiters point to it.
template <class = void>
class BasicLoopCore {
public:
  using clock = std::chrono::steady_clock;

  explicit BasicLoopCore(std::initializer_list<int> stop_signals) {
    sigemptyset(&mask_);
    sigemptyset(&stop_set_);
    for (int s : stop_signals) {
      sigaddset(&mask_, s);
      sigaddset(&stop_set_, s);
    }
    if (int err = pthread_sigmask(SIG_BLOCK, &mask_, &old_mask_); err != 0)
      fail(err, [] { return std::string("block the event loop's stop signals"); });
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    signals_.reset(::signalfd(-1, &mask_, SFD_NONBLOCK | SFD_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!epoll_ || !timer_ || !signals_ || !wake_) {
      const int err = errno;
      pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
      fail(err, [] {
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
        fail(err, [] { return std::string("add the event loop's own fds to epoll"); });
      }
    }
  }
  BasicLoopCore(const BasicLoopCore&) = delete;
  BasicLoopCore& operator=(const BasicLoopCore&) = delete;
  // Unblocks the signals, discarding those that arrived for the loop.
  ~BasicLoopCore() {
    signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }

  // Resumes what is ready now: what these resumptions make ready runs after the next poll, so
  // fd events and timers get their turn between them.
  void resume_ready() {
    std::vector<std::coroutine_handle<>> batch;
    batch.swap(ready_);
    immediate_ = 0;
    for (auto h : batch) h.resume();
  }

  // One wait on epoll (none when coroutines are ready) and what it found: timers fired,
  // signals dispatched, waiting streams polled. Sets `stopped` on a stop signal no task awaited
  // (returned) or on request_stop().
  std::optional<int> poll(bool& stopped) {
    std::optional<int> stop_signal;
    int timeout_ms = ready_.empty() ? wait_timeout_ms() : 0;
    epoll_event events[16];
    const int n = ::epoll_wait(epoll_.get(), events, 16, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) return stop_signal;
      fail(errno, [] { return std::string("wait in the event loop (epoll_wait)"); });
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
          stopped = true;
        }
      } else if (fd == wake_.get()) {
        std::uint64_t v;
        [[maybe_unused]] auto r = ::read(fd, &v, sizeof v);
        stopped = true;
      } else {
        streams_due = true;
      }
    }
    fire_timers();
    // Every waiting stream is looked at on any stream event or timeout: cheap (a position
    // compare each), and it is how a record that woke no one is found within max_latency.
    if (streams_due || n > 0) poll_streams();
    return stop_signal;
  }

  void request_stop() const noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wake_.get(), &one, sizeof one);
  }

  void push_ready(std::coroutine_handle<> h) { ready_.push_back(h); }

private:
  using Sleeper = SleepAwaiter<BasicLoopCore>;
  using SignalWaiter = SignalAwaiter<BasicLoopCore>;
  template <class>
  friend class SleepAwaiter;
  template <class>
  friend class SignalAwaiter;
  template <class, class>
  friend class NextAwaiter;
  template <class>
  friend class FdAwaiter;

  struct StreamEntry {
    LoopWaiter* waiter;
    int fd;
    std::chrono::milliseconds max_latency;
  };

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
                          timers_.front().deadline.time_since_epoch())
                          .count();
      // steady_clock is CLOCK_MONOTONIC on Linux; 0 would disarm the timer.
      spec.it_value.tv_sec = ns / 1'000'000'000;
      spec.it_value.tv_nsec = ns % 1'000'000'000;
      if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    }
    ::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  void fire_timers();

  void watch_signal(int signo) {
    if (sigismember(&mask_, signo)) return;
    sigaddset(&mask_, signo);
    if (int err = pthread_sigmask(SIG_BLOCK, &mask_, nullptr); err != 0)
      fail(err, [&] { return format("block signal {} for the event loop", signo); });
    if (::signalfd(signals_.get(), &mask_, SFD_NONBLOCK | SFD_CLOEXEC) < 0)
      fail(errno, [&] { return format("add signal {} to the event loop's signalfd", signo); });
  }

  void forget_signal_waiter(SignalWaiter* w) noexcept {
    signal_waiters_.erase(std::remove(signal_waiters_.begin(), signal_waiters_.end(), w),
                          signal_waiters_.end());
  }

  // Resumes the tasks awaiting the signals that arrived; returns a stop signal no task awaited.
  std::optional<int> dispatch_signals();

  void add_stream_waiter(LoopWaiter* w, int fd, std::chrono::milliseconds max_latency,
                         std::uint32_t events = EPOLLIN) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      const int err = errno;
      fail(
          err, [&] { return format("wait for fd {} in the event loop", fd); }, Op::generic,
          err == EEXIST ? hint::one_awaiter : std::string_view());
    }
    streams_.push_back({w, fd, max_latency});
  }

  void remove_stream_waiter(LoopWaiter* w, int fd) noexcept {
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

  UniqueFd epoll_, timer_, signals_, wake_;
  sigset_t mask_{}, stop_set_{}, old_mask_{};
  // Vectors, not a deque and a multimap: a loop has a few of each, and <deque> and <map> were
  // most of what this header cost to compile.
  std::vector<std::coroutine_handle<>> ready_; // resumed in this order, batch by batch
  // Sleeping awaiters by deadline, the earliest first, equal deadlines in the order they slept.
  struct Timer {
    clock::time_point deadline;
    Sleeper* sleeper;
  };
  std::vector<Timer> timers_;
  std::vector<SignalWaiter*> signal_waiters_;
  std::vector<StreamEntry> streams_;
  unsigned immediate_ = 0; // records taken without suspending since the last resume_ready()
};
using LoopCore = BasicLoopCore<>;

// `co_await loop.sleep(d)`.
template <class Core>
class SleepAwaiter {
public:
  SleepAwaiter(Core& loop, typename Core::clock::time_point deadline) noexcept
      : loop_(&loop), deadline_(deadline) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter() {
    if (registered_)
      std::erase_if(loop_->timers_, [this](const auto& t) { return t.sleeper == this; });
  }
  bool await_ready() const noexcept { return deadline_ <= Core::clock::now(); }
  void await_suspend(std::coroutine_handle<> h) {
    handle_ = h;
    auto& timers = loop_->timers_;
    // After those with the same deadline, as a multimap inserts.
    const auto at = std::upper_bound(timers.begin(), timers.end(), deadline_,
                                     [](const auto& d, const auto& t) { return d < t.deadline; });
    const bool first = at == timers.begin();
    timers.insert(at, {deadline_, this});
    registered_ = true;
    if (first) loop_->arm_timer();
  }
  void await_resume() const noexcept {}

private:
  friend Core;
  Core* loop_;
  typename Core::clock::time_point deadline_;
  std::coroutine_handle<> handle_;
  bool registered_ = false;
};

// `co_await loop.signal(signo)`.
template <class Core>
class SignalAwaiter {
public:
  SignalAwaiter(Core& loop, int signo) noexcept : loop_(&loop), signo_(signo) {}
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
  friend Core;
  Core* loop_;
  int signo_;
  std::coroutine_handle<> handle_;
};

template <class V>
void BasicLoopCore<V>::fire_timers() {
  const auto now = clock::now();
  auto due = timers_.begin();
  for (; due != timers_.end() && due->deadline <= now; ++due) {
    due->sleeper->registered_ = false; // its entry goes: its destructor must not erase it again
    ready_.push_back(due->sleeper->handle_);
  }
  const bool fired = due != timers_.begin();
  timers_.erase(timers_.begin(), due);
  if (fired) arm_timer();
}

template <class V>
std::optional<int> BasicLoopCore<V>::dispatch_signals() {
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

// `co_await loop.next(stream)`.
template <class Stream, class Core = LoopCore>
class NextAwaiter : private LoopWaiter {
public:
  using record_type = std::remove_reference_t<decltype(*std::declval<Stream&>().try_next())>;

  NextAwaiter(Core& loop, Stream& s) noexcept : loop_(&loop), stream_(&s), fd_(s.fd()) {}
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
    if (!rec_ && prepare_wait(*stream_)) rec_ = stream_->try_next();
    if (rec_) { // only here to give the other tasks their turn
      end_wait(*stream_);
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
    end_wait(*stream_);
    loop_->remove_stream_waiter(this, fd_);
    registered_ = false;
    loop_->ready_.push_back(handle_);
  }
  Core* loop_;
  Stream* stream_;
  int fd_;
  const record_type* rec_ = nullptr;
  std::exception_ptr error_;
  std::coroutine_handle<> handle_;
  bool registered_ = false;
};

// `co_await loop.readable(fd)` / `loop.writable(fd)`.
template <class Core>
class FdAwaiter : private LoopWaiter {
public:
  FdAwaiter(Core& loop, int fd, short events) noexcept : loop_(&loop), fd_(fd), events_(events) {}
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
  Core* loop_;
  int fd_;
  short events_;
  short revents_ = 0;
  std::coroutine_handle<> handle_;
  bool registered_ = false;
};

} // namespace ebpfpp::detail
