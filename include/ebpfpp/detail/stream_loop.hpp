#pragma once
// The one loop under every events(), records() and lines() (stream_loop), and what it stands on:
// StreamWaiter (the eventfd behind request_stop() and the wait when a reader ran dry: spin,
// then poll with a bounded timeout), LoopTether (the tie between a running loop and its reader,
// so that either may end first), the reader's answer, Next, and BatchedLines (the reader of the
// line streams). The options it obeys are
// stream.hpp's.

#include "config.hpp"

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
#include <type_traits>
#include <utility>

#include "../error.hpp"
#include "../generator.hpp"
#include "../stream.hpp"
#include "format.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

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

/// What a reader's next() found for the loop.
enum class Next {
  item,      // the loop's run holds the next record (or a run of them)
  batch_end, // a batch ended (a producer-position read, a round of the CPU rings): more may be
             // there, but the loop checks its end conditions first
  dry,       // nothing is ready: the loop waits
};

/// The eventfd behind request_stop(), and the wait every stream's loop does when it ran dry.
///
/// A reader, as the waits see it (RingReader, PerfReader, TracePipe's lines): `fd()` to poll,
/// `has_data()` (may be called from any thread), `arm()` just before the last look (publish the
/// consumer position, ask producers to wake us), `disarm()` once awake, and its `tuning()`.
class StreamWaiter {
public:
  using clock = std::chrono::steady_clock;

  /// No eventfd: for empty streams.
  StreamWaiter() noexcept = default;
  explicit StreamWaiter(std::string_view what) {
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake_) fail(errno, [&] { return detail::format("create the stop eventfd of {}", what); });
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
  /// relaxed load, a clock read, and (with a stop fd) a zero-timeout poll. (A template over a
  /// parameter nobody gives, as deadline_of(): the optional deadline compiles with a loop.)
  template <class = void>
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

  /// Waits until `reader` has data, or the deadline or a stop. Spins for its tuning's `spin`
  /// first (a producer that is running on another CPU usually has the next record out within
  /// microseconds, and a sleep costs a wake-up interrupt), then sleeps in poll on its fd, never
  /// longer than its wait_bound() at a time: a producer that does not wake us (a ring's threshold
  /// policy, a perf buffer's batched wake-ups) is still read within that bound.
  ///
  /// `arm()` runs just before the final check: it publishes our consumer position (and asks to
  /// be woken), after which a full fence orders those stores before the last has_data() load.
  /// Without it, a store could sit in the store buffer while we read "empty" and the producer
  /// reads our stale position or flag and decides we need no wake-up: both sides would wait.
  template <class Reader>
  Result wait(Reader& reader, std::optional<clock::time_point> deadline, int stop_fd) {
    if (const auto spin = reader.tuning().spin; spin.count() > 0) {
      const auto spin_end = clock::now() + spin;
      for (unsigned i = 1;; ++i) {
        if (reader.has_data()) return Result::data;
        if (stop_.load(std::memory_order_relaxed)) return Result::stop;
        cpu_relax();
        if (i % 64 == 0) {
          const auto now = clock::now();
          if (deadline && now >= *deadline) return Result::timeout;
          if (now >= spin_end) break;
        }
      }
    }
    reader.arm();
    const OnExit disarm{[&reader] { reader.disarm(); }};
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (reader.has_data()) return Result::data;
    int wait_ms = static_cast<int>(reader.wait_bound().count());
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
      if (left.count() <= 0) return Result::timeout;
      if (left.count() < wait_ms || wait_ms < 0) wait_ms = static_cast<int>(left.count());
    }
    pollfd fds[3] = {{reader.fd(), POLLIN, 0}, {wake_.get(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
    const int n = ::poll(fds, stop_fd >= 0 ? 3 : 2, wait_ms);
    if (n < 0 && errno != EINTR) fail(errno, [] { return std::string("poll an event stream"); });
    if (n > 0 && (fds[1].revents || (stop_fd >= 0 && fds[2].revents))) return Result::stop;
    if (deadline && clock::now() >= *deadline && !reader.has_data()) return Result::timeout;
    return Result::data; // or a bounded wake-up: the caller looks again
  }

  /// What every stream's poll(timeout, f) does: `consume()` what is there; while that is
  /// nothing, wait on `reader` and try again. Returns how many records were consumed: 0 on the
  /// timeout or a stop request (which it then forgets).
  template <class Consume, class Reader>
  std::size_t poll(std::chrono::milliseconds timeout, Consume&& consume, Reader& reader) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
      if (const std::size_t n = consume(); n > 0) return n;
      switch (wait(reader, deadline, -1)) {
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
/// reader it reads, so that either may end first without harm.
///
/// The loop's frame owns the tether and the run of records it has out; the reader holds a
/// pointer to it (its loop slot). When the loop ends (its range-for finishes or breaks, or the
/// generator is destroyed), the tether unregisters itself. When the reader is destroyed, moved
/// from or assigned to first (with the stream that holds it), it cuts the tether (cut_loop()):
/// the records of the run the loop had not reached are dropped (the iterator resumes the
/// coroutine instead of stepping), the next step of the loop throws Error, and the end of the
/// loop touches nothing of the stream. Without it, a generator kept past its stream would read
/// freed memory when destroyed.
///
/// A stream has one loop at a time: a second one begun while the first runs throws Error
/// (they would both move the same read position).
class LoopTether {
public:
  LoopTether(LoopTether*& slot, std::string stream) : slot_(&slot), stream_(std::move(stream)) {
    if (slot)
      throw Error(EBUSY, detail::format("read {}: another loop is already reading it", stream_),
                  std::string(hint::one_loop_per_stream));
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
                  std::string(hint::stream_outlived));
  }
  /// Called by the reader when it goes away.
  void cut() noexcept {
    slot_ = nullptr;
    run.remaining = 0;
  }

  /// The run of records the loop has out (see YieldRun): records the reader's position has
  /// moved past, less `remaining` the loop has not reached yet.
  YieldRun run;

private:
  LoopTether** slot_;
  std::string stream_; // the stream's description, e.g. "ring buffer 'events'": a copy, as the
                       // stream may be gone when it is needed
};

/// What a reader does when it is destroyed, moved from or assigned to: cuts its loop's tether.
inline void cut_loop(LoopTether*& loop) noexcept {
  if (loop) std::exchange(loop, nullptr)->cut();
}

/// The move of every reader (RingReader, PerfReader, XskReader): their move constructor and
/// assignment are this one call. A running loop's frame points at the reader it began on, so the
/// loops of both sides end first (end_loop(): what was handed out is published, the tether cut).
/// Then `to` takes `from`'s state (its `s_`, one value), which leaves `from` a new State: empty,
/// as a moved-from reader must be, not a shell whose pointers reach into mappings it gave away.
/// What `to` held before goes with `gone`, by the reader's own destructor. Readers befriend it.
template <class Reader>
Reader& move_reader(Reader& to, Reader& from) noexcept {
  if (&to != &from) {
    to.end_loop();
    from.end_loop();
    Reader gone;
    gone.s_ = std::exchange(to.s_, std::exchange(from.s_, {}));
  }
  return to;
}

/// A deadline from the options, or none. (A template: see StreamWaiter::should_end().)
template <class = void>
std::optional<StreamWaiter::clock::time_point> deadline_of(const StreamOptions& o) {
  if (!o.timeout()) return std::nullopt;
  return StreamWaiter::clock::now() + *o.timeout();
}

/// Calls the reader's next(): the step of events() and lines().
struct NextOf {
  template <class Reader>
  Next operator()(Reader& reader, YieldRun& run) const {
    return reader.next(run);
  }
};

/// A line stream (TracePipe, ProgramStream) as the stream loop reads it: a handle the loop keeps
/// in its frame. Lines come at most 64 to a batch, so a source that never runs dry (a tool that
/// traces its own writes) still lets the loop see its timeout or a stop. A line source cannot say
/// whether a line is there short of reading it, so the wait does not spin, has nothing to arm,
/// and sleeps in poll on the source's wait_fd() (-1: on the stop fds alone) for at most its
/// wait_bound() (negative: until readable).
///
/// `Source` supplies its read-line step, `try_next()` (the next line or nullptr, never waiting),
/// and its wait step, `wait_fd()` and `wait_bound()`; and, for the tether, `loop_slot()` and
/// `what()`. Sources keep those private and befriend BatchedLines<Self>.
template <class Source>
struct BatchedLines {
  Source* source;
  unsigned in_batch = 0;

  BatchedLines* operator->() noexcept { return this; }
  BatchedLines& operator*() noexcept { return *this; }
  Next next(YieldRun& run) {
    if (in_batch == 64) {
      in_batch = 0;
      return Next::batch_end;
    }
    const auto* line = source->try_next();
    if (!line) {
      in_batch = 0;
      return Next::dry;
    }
    ++in_batch;
    run.first = line;
    run.remaining = 0;
    return Next::item;
  }
  LoopTether*& loop_slot() const noexcept { return source->loop_slot(); }
  std::string what() const { return source->what(); }
  void end_loop() const noexcept { cut_loop(source->loop_slot()); }
  int fd() const noexcept { return source->wait_fd(); }
  bool has_data() const noexcept { return false; }
  void arm() const noexcept {}
  void disarm() const noexcept {}
  WaitTuning tuning() const noexcept { return {std::chrono::microseconds(0), {}}; }
  std::chrono::milliseconds wait_bound() const noexcept { return source->wait_bound(); }
};

/// The one loop under every events(), records() and lines(): hands out what `step(reader, run)`
/// finds, checks its end conditions between batches, and waits (StreamWaiter::wait) when the
/// reader runs dry. Ends on the options' timeout, stop token or stop fd, or request_stop().
///
/// `reader` points to the stream's reader (a pointer, or a handle with -> and *): the loop
/// uses its `loop_slot()` and `what()` for the tether, `end_loop()` when the loop ends while the
/// reader is still there (publish what was handed out), and the members StreamWaiter::wait
/// uses. Every call goes down, from the loop to the reader; the reader never calls back.
///
/// A `T` that is a reference is handed out through the run (a run of records in memory the
/// iterator steps through without resuming the loop); a value `T` (RingBuffer<Bytes>'s span) is
/// copied from `*run.first`.
template <class T, class Reader, class Step = NextOf>
Generator<T> stream_loop(Reader reader, StreamWaiter& waiter, StreamOptions options,
                         Step step = {}) {
  const auto deadline = deadline_of(options);
  LoopTether loop(reader->loop_slot(), reader->what());
  std::stop_callback on_stop(options.stop(), [&waiter, &loop] {
    if (loop.attached()) waiter.request_stop();
  });
  // Publishes the records handed out when the loop breaks out or the generator dies (unless
  // the reader went first: it published them then).
  const OnExit on_exit{[&reader, &loop] {
    if (loop.attached()) reader->end_loop();
  }};
  for (;;) {
    switch (step(*reader, loop.run)) {
    case Next::item:
      if constexpr (std::is_reference_v<T>) {
        co_yield loop.run;
      } else {
        using V = std::remove_cv_t<T>;
        co_yield V(*static_cast<const V*>(loop.run.first));
      }
      loop.check(); // throws if the reader went away while we were suspended
      continue;
    case Next::batch_end:
      // A producer that never lets the reader run dry must not keep the loop from its timeout
      // or a stop: checked per batch, not per record.
      if (waiter.should_end(options, deadline)) break;
      continue;
    case Next::dry:
      if (options.stop().stop_requested()) break;
      if (waiter.wait(*reader, deadline, options.stop_fd()) != StreamWaiter::Result::data) break;
      continue;
    }
    break;
  }
  waiter.clear_stop();
}

} // namespace ebpfpp::detail
