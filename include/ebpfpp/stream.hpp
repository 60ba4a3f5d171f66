#pragma once
/// @file
/// What RingBuffer and PerfBuffer share: the options of their events() loops and the way they
/// wait for data (spin briefly, then sleep in poll with a bounded timeout).
///
///     for (const Event& e : rb.events(ebpfpp::StreamOptions().timeout(5s).stop_fd(sig.fd())))
///
/// Options are set with chained setters rather than designated initializers: g++ 12 -Wextra
/// warns on designated initializers that leave members out.

#include "detail/config.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "detail/format.hpp"

#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "generator.hpp"

namespace ebpfpp {

/// How an events() loop ends. Whichever comes first ends it; by default it runs until
/// request_stop() on the stream.
class StreamOptions {
public:
  /// End after this long, measured from the call to events(); nullopt: no limit (the default).
  StreamOptions& timeout(std::optional<std::chrono::milliseconds> d) noexcept {
    timeout_ = d;
    return *this;
  }
  /// End when this token is stopped (e.g. a std::jthread's).
  StreamOptions& stop(std::stop_token token) noexcept {
    stop_ = std::move(token);
    return *this;
  }
  /// End when this fd becomes readable (e.g. SignalFd::fd() for Ctrl-C); it is not read.
  StreamOptions& stop_fd(int fd) noexcept {
    stop_fd_ = fd;
    return *this;
  }

  const std::optional<std::chrono::milliseconds>& timeout() const noexcept { return timeout_; }
  const std::stop_token& stop() const noexcept { return stop_; }
  int stop_fd() const noexcept { return stop_fd_; }

private:
  std::optional<std::chrono::milliseconds> timeout_;
  std::stop_token stop_;
  int stop_fd_ = -1;
};

namespace detail {

// Runs f when the scope ends, however it ends (a loop's end, a throw, a generator destroyed
// while suspended): how the streams release what a loop holds.
template <class F>
struct OnExit {
  F f;
  ~OnExit() { f(); }
};
template <class F>
OnExit(F) -> OnExit<F>;

/// A hint to the CPU that this is a spin-wait loop (frees the core's resources for the sibling
/// hyperthread, and saves power).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// The eventfd behind request_stop(), and the wait every stream's loop does when it ran dry.
class StreamWaiter {
public:
  using clock = std::chrono::steady_clock;

  /// No eventfd: for empty streams.
  StreamWaiter() noexcept = default;
  explicit StreamWaiter(std::string_view what) {
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake_) {
      const int err = errno;
      throw Error(err, detail::format("create the stop eventfd of {}", what), hint_for(err));
    }
  }
  StreamWaiter(StreamWaiter&& other) noexcept
      : wake_(std::move(other.wake_)), stop_(other.stop_.exchange(false)) {}
  StreamWaiter& operator=(StreamWaiter&& other) noexcept {
    wake_ = std::move(other.wake_);
    stop_ = other.stop_.exchange(false);
    return *this;
  }

  /// Async-signal-safe (a lock-free atomic store and a write(2)). The flag is what a loop that
  /// never runs dry checks between batches; the eventfd wakes one that sleeps.
  void request_stop() const noexcept {
    stop_.store(true, std::memory_order_relaxed);
    const std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wake_.get(), &one, sizeof one);
  }

  /// Whether a loop over a stream that still has data should end now: a stop request, the
  /// token, the deadline, or a readable stop fd. Called between batches, not per record: one
  /// relaxed load, a clock read, and (with a stop fd) a zero-timeout poll.
  bool should_end(const StreamOptions& options, std::optional<clock::time_point> deadline) const {
    if (stop_.load(std::memory_order_relaxed) || options.stop().stop_requested()) return true;
    if (deadline && clock::now() >= *deadline) return true;
    if (options.stop_fd() >= 0) {
      pollfd p{options.stop_fd(), POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) return true;
    }
    return false;
  }

  /// Forgets a stop request once a loop has ended because of it, so the next loop is not
  /// ended by the same request.
  void clear_stop() const noexcept {
    stop_.store(false, std::memory_order_relaxed);
    std::uint64_t drained;
    [[maybe_unused]] auto r = ::read(wake_.get(), &drained, sizeof drained);
  }

  /// Why wait() returned.
  enum class Result { data, timeout, stop };

  /// Waits until `ready()` or the deadline/stop. Spins for `spin` first (a producer that is
  /// running on another CPU usually has the next record out within microseconds, and a sleep
  /// costs a wake-up interrupt), then sleeps in poll on `fd`, never longer than `max_latency` at a
  /// time: a producer that does not wake us (a ring's threshold policy, a perf buffer's batched
  /// wake-ups) is still read within that bound.
  ///
  /// `arm()` runs just before the final check: it publishes our consumer position, after which a
  /// full fence orders that store before the last ready() load. Without it, the store could sit
  /// in the store buffer while we read "empty" and the producer reads our stale position and
  /// decides we need no wake-up: both sides would wait.
  template <class Ready, class Arm>
  Result wait(int fd, Ready&& ready, Arm&& arm, std::chrono::microseconds spin,
              std::chrono::milliseconds max_latency, std::optional<clock::time_point> deadline,
              int stop_fd) {
    if (spin.count() > 0) {
      const auto spin_end = clock::now() + spin;
      for (unsigned i = 1;; ++i) {
        if (ready()) return Result::data;
        if (stop_.load(std::memory_order_relaxed)) return Result::stop;
        cpu_relax();
        if (i % 64 == 0) {
          const auto now = clock::now();
          if (deadline && now >= *deadline) return Result::timeout;
          if (now >= spin_end) break;
        }
      }
    }
    arm();
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (ready()) return Result::data;
    int wait_ms = static_cast<int>(max_latency.count());
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
      if (left.count() <= 0) return Result::timeout;
      if (left.count() < wait_ms || wait_ms < 0) wait_ms = static_cast<int>(left.count());
    }
    pollfd fds[3] = {{fd, POLLIN, 0}, {wake_.get(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
    const int n = ::poll(fds, stop_fd >= 0 ? 3 : 2, wait_ms);
    if (n < 0 && errno != EINTR) throw Error(errno, "poll an event stream");
    if (n > 0 && (fds[1].revents || (stop_fd >= 0 && fds[2].revents))) return Result::stop;
    if (deadline && clock::now() >= *deadline && !ready()) return Result::timeout;
    return Result::data; // or a bounded wake-up: the caller looks again
  }

  /// What every stream's poll(timeout, f) does: `consume()` what is there; while that is
  /// nothing, `wait(deadline)` (the stream's wait_for_data) and try again. Returns how many
  /// records were consumed: 0 on the timeout or a stop request (which it then forgets).
  template <class Consume, class Wait>
  std::size_t poll(std::chrono::milliseconds timeout, Consume&& consume, Wait&& wait) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
      if (const std::size_t n = consume(); n > 0) return n;
      switch (wait(std::optional<clock::time_point>(deadline))) {
      case Result::data:
        continue;
      case Result::stop:
        clear_stop();
        return 0;
      case Result::timeout:
        return 0;
      }
    }
  }

private:
  UniqueFd wake_;
  mutable std::atomic<bool> stop_{false};
};

/// The tie between a running loop (the frame of an events()/records()/lines() generator) and the
/// stream it reads, so that either may end first without harm.
///
/// The loop's frame owns the tether and the run of records it has out; the stream holds a
/// pointer to it (its `loop_`). When the loop ends (its range-for finishes or breaks, or the
/// generator is destroyed), the tether unregisters itself. When the stream is destroyed, moved
/// from or assigned to first, it cuts the tether (cut_loop()): the records of the run the loop
/// had not reached are dropped (the iterator resumes the coroutine instead of stepping), the
/// next step of the loop throws Error, and the end of the loop touches nothing of the stream.
/// Without it, a generator kept past its stream would read freed memory when destroyed.
///
/// A stream has one loop at a time: a second one begun while the first runs throws Error
/// (they would both move the same read position).
class LoopTether {
public:
  LoopTether(LoopTether*& slot, std::string stream) : slot_(&slot), stream_(std::move(stream)) {
    if (slot)
      throw Error(EBUSY, detail::format("read {}: another loop is already reading it", stream_),
                  "finish (or destroy the generator of) the other loop first: a stream has one "
                  "reader at a time");
    slot = this;
  }
  LoopTether(const LoopTether&) = delete;
  LoopTether& operator=(const LoopTether&) = delete;
  ~LoopTether() {
    if (slot_) *slot_ = nullptr;
  }

  /// The stream is still there (the loop may touch it).
  bool attached() const noexcept { return slot_ != nullptr; }
  /// After every co_yield: throws if the stream went away while the loop was suspended.
  void check() const {
    if (!slot_)
      throw Error(EINVAL,
                  detail::format("read {}: it was destroyed or moved while a loop over it was "
                                 "suspended",
                                 stream_),
                  "keep the stream alive (and in place) until its loop ends: a generator from "
                  "events() reads through the object that made it");
  }
  /// Called by the stream when it goes away.
  void cut() noexcept {
    slot_ = nullptr;
    run.remaining = 0;
  }

  /// The run of records the loop has out (see YieldRun): records the stream's read position
  /// has moved past, less `remaining` the loop has not reached yet.
  YieldRun run;

private:
  LoopTether** slot_;
  std::string stream_; // the stream's description, e.g. "ring buffer 'events'": a copy, as the
                       // stream may be gone when it is needed
};

/// What a stream does when it is destroyed, moved from or assigned to: cuts its loop's tether.
inline void cut_loop(LoopTether*& loop) noexcept {
  if (loop) std::exchange(loop, nullptr)->cut();
}

/// A deadline from the options, or none.
inline std::optional<StreamWaiter::clock::time_point> deadline_of(const StreamOptions& o) {
  if (!o.timeout()) return std::nullopt;
  return StreamWaiter::clock::now() + *o.timeout();
}

} // namespace detail
} // namespace ebpfpp
