#pragma once
/// @file
/// What RingBuffer, PerfBuffer and TracePipe share: the options of their loops and the tuning of
/// their waits (spin briefly, then sleep in poll with a bounded timeout). The one loop under every
/// events(), records() and lines() that obeys them is in detail/stream_loop.hpp.
///
///     for (const Event& e : rb.events(ebpfpp::StreamOptions().timeout(5s).stop_fd(sig.fd())))
///
/// Options are set with chained setters rather than designated initializers: g++ 12 -Wextra
/// warns on designated initializers that leave members out.

#include "detail/config.hpp"

#include <chrono>
#include <optional>
#include <stop_token>
#include <utility>

namespace ebpfpp {

/// How a loop ends. Whichever comes first ends it; by default it runs until request_stop() on
/// the stream.
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
/// How a consumer waits once it has read everything: the one tuning of every stream's waits.
struct WaitTuning {
  std::chrono::microseconds spin{50};
  std::chrono::milliseconds max_latency{10};
};
} // namespace detail

/// The wait settings of RingBufferOptions and PerfBufferOptions (each setter returns `Self&`, so
/// they chain with the stream's own settings).
template <class Self>
class WaitOptions {
public:
  /// The longest the consumer sleeps without being woken before it looks again: for producers
  /// that do not wake it (a ring without EBPFPP_RINGBUF's need-wakeup flag whose producers submit
  /// with BPF_RB_NO_WAKEUP; a perf buffer's trickle below wakeup_events). Default 10 ms. Zero or
  /// negative: no bound (right for the kernel's default wake-up policy). A ring with the
  /// need-wakeup flag never needs one: an idle consumer sleeps until a producer wakes it.
  Self& max_latency(std::chrono::milliseconds d) noexcept {
    tuning_.max_latency = d;
    return static_cast<Self&>(*this);
  }
  /// How long the consumer spins on the producer position before sleeping. With a live producer
  /// the next record is usually microseconds away and a sleep costs a wake-up interrupt; at a
  /// trickle it costs this much CPU per event. Default 50 us; 0 never spins.
  Self& spin(std::chrono::microseconds d) noexcept {
    tuning_.spin = d;
    return static_cast<Self&>(*this);
  }
  std::chrono::milliseconds max_latency() const noexcept { return tuning_.max_latency; }
  std::chrono::microseconds spin() const noexcept { return tuning_.spin; }
  const detail::WaitTuning& tuning() const noexcept { return tuning_; }

private:
  detail::WaitTuning tuning_;
};

} // namespace ebpfpp
