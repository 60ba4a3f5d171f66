#pragma once
/// @file
/// RingBuffer<Event>: a BPF ring buffer (BPF_MAP_TYPE_RINGBUF, kernel 5.8+) read in place.
///
///     ebpfpp::RingBuffer<event> rb(skel, "events");
///     for (const event& e : rb.events(ebpfpp::StreamOptions().stop_fd(signals.fd())))
///       fmt::print("{} {}\n", e.pid, e.comm);          // e points into the ring: no copy
///     if (auto d = rb.drops(); d && *d) fmt::print(stderr, "{} events dropped\n", *d);
///
/// The ring is mmap'ed and read directly (as aya does), not through libbpf's ring_buffer: that
/// is what lets events() hand out `const Event&` into the ring itself. A record stays valid, and
/// its space stays reserved against the producer, until the loop moves on; then the consumer
/// position advances past it. The kernel maps the data area twice in a row, so a record that
/// wraps around the end of the ring is still contiguous in memory.
///
/// One consumer per ring: two RingBuffer objects on the same map would each skip the other's
/// records. The BPF side should use ring_buffer.bpf.h, which counts reserve failures (drops())
/// and wakes the consumer only when the unread data crosses a threshold; RingBufferOptions
/// bounds how long a consumer sleeps without a wake-up (the latency of a trickle of events).

#include "detail/config.hpp"

#include <linux/bpf.h>

#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "array_map.hpp"
#include "detail/format.hpp"
#include "detail/hints.hpp"
#include "detail/ring_reader.hpp"
#include "error.hpp"
#include "generator.hpp"
#include "map_base.hpp"
#include "program.hpp"
#include "per_cpu_array_map.hpp"
#include "stream.hpp"

namespace ebpfpp {

/// A record of any size, as the bytes the BPF program wrote: `RingBuffer<Bytes>`.
using Bytes = std::span<const std::byte>;

/// What a RingBuffer can hand out: a trivially copyable struct (records must be exactly its
/// size) or Bytes (records of any size). Alignment is at most 8: records start 8-byte aligned.
template <class T>
concept RingEvent = std::same_as<T, Bytes> ||
    (std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && alignof(T) <= 8);

/// Consumer-side tuning of RingBuffer waits: spin() and max_latency() (stream.hpp).
class RingBufferOptions : public WaitOptions<RingBufferOptions> {};

/// A typed consumer of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF, kernel 5.8+).
///
/// `Event` is the record type the BPF program writes (a trivially copyable struct; every record
/// must be exactly sizeof(Event), else reading it throws an Error naming both sizes), or `Bytes`
/// for records of varying size. Move-only.
///
/// Threads (docs/threads.md): one consumer thread at a time (events(), consume(), poll(),
/// try_next(), release(), prepare_wait()); request_stop(), has_data(), unread_bytes(), drops(),
/// size() and fd() are safe from any thread while it consumes.
template <RingEvent Event>
class RingBuffer : public detail::MapBase<RingBuffer<Event>> {
  using Base = detail::MapBase<RingBuffer<Event>>;

public:
  static constexpr bool variable_size = std::same_as<Event, Bytes>;
  /// What events() yields and callbacks receive: `const Event&`, or `Bytes` by value.
  using reference = std::conditional_t<variable_size, Bytes, const Event&>;

  /// An empty RingBuffer (reads nothing); assign a real one to it.
  RingBuffer() noexcept = default;

  /// Reads `map` (any MapSource: skel->maps.events, obj.map("events"), ...), a
  /// BPF_MAP_TYPE_RINGBUF. `drops` is the per-CPU drop counter ring_buffer.bpf.h declares beside
  /// it (`<name>_drops`), if any. Throws Error when the map is not a ring buffer or not created,
  /// or on mmap failure.
  ///
  /// `ctl` is the need-wakeup flag EBPFPP_RINGBUF declares beside it (`<name>_ctl`): with it the
  /// consumer sleeps without a timer and producers wake it only when it sleeps (see
  /// ring_buffer.bpf.h). Without it, waits are bounded by RingBufferOptions::max_latency.
  explicit RingBuffer(MapSource map, MapSource drops = {}, RingBufferOptions options = {},
                      MapSource ctl = {})
      : Base(std::move(map), TypeCheck::size_only), options_(options),
        waiter_(what()) {
    if (!drops.empty()) drops_ = PerCpuArrayMap<std::uint64_t>(std::move(drops));
    const std::size_t size = this->info_.max_entries;
    if constexpr (!variable_size) {
      if (sizeof(Event) + 8 > size)
        throw Error(EINVAL,
                    detail::format("open {}: an event of {} bytes cannot fit in a ring of {} bytes",
                                   what(), sizeof(Event), size),
                    std::string(detail::hint::ring_too_small));
    }
    // The need-wakeup flag's map: an mmap-able array of one ebpfpp_ringbuf_ctl. Only its
    // mapping is kept.
    ArrayMap<detail::RingCtl> flag;
    if (!ctl.empty()) {
      flag = ArrayMap<detail::RingCtl>(std::move(ctl));
      if (!(flag.map_flags() & BPF_F_MMAPABLE))
        throw Error(EINVAL,
                    detail::format("open {}: its need-wakeup flag '{}' is not mmap-able", what(),
                                   flag.name()),
                    std::string(detail::hint::ring_ctl_not_mmapable));
    }
    reader_ = detail::RingReader<Event>(this->fd_.get(), size, flag ? flag.fd() : -1,
                                        options_.tuning(), what());
  }

  /// The ring buffer map `name` of an Object or Skeleton, with its `<name>_drops` counter when
  /// the BPF side declared the ring with EBPFPP_RINGBUF. Throws Error listing the maps that exist
  /// when there is no such map.
  template <MapContainer Container>
  RingBuffer(const Container& source, std::string_view name, RingBufferOptions options = {})
      : RingBuffer(source.map(name), detail::optional_map(source, detail::format("{}_drops", name)),
                   options, detail::optional_map(source, detail::format("{}_ctl", name))) {}

  /// A ring buffer pinned in bpffs at `path` (with `<path>_drops` if that is pinned too).
  static RingBuffer open_pinned(const std::filesystem::path& path, RingBufferOptions options = {}) {
    const auto beside = [&](std::string_view suffix) {
      std::filesystem::path p = path;
      p += suffix;
      std::error_code ec;
      return std::filesystem::exists(p, ec) ? MapSource::pinned(p) : MapSource();
    };
    return RingBuffer(MapSource::pinned(path), beside("_drops"), options, beside("_ctl"));
  }

  /// Move-only. A move (or the destructor) marks what a running loop was handed as consumed and
  /// cuts that loop off (see events()); the reader goes before the map's fd it reads.
  RingBuffer(RingBuffer&&) noexcept = default;
  RingBuffer& operator=(RingBuffer&&) noexcept = default;

  /// The records as they come: blocks (spin, then poll) while the ring is empty; ends on the
  /// options' timeout, stop token or stop fd, or request_stop(). Each record is consumed when
  /// the loop moves past it (or breaks out, or the generator is destroyed). Throws Error for a
  /// record whose size is not sizeof(Event) (after consuming it, so the loop can go on).
  ///
  /// Lifetime: the generator reads through this RingBuffer, so keep the RingBuffer alive and in
  /// place until the loop ends. If it is destroyed, moved from or assigned to first, the loop is
  /// cut off harmlessly: its next step throws Error, and destroying the generator touches
  /// nothing. One loop at a time: events() begun while another runs throws Error (EBUSY).
  Generator<reference> events(StreamOptions options = {}) & {
    return detail::stream_loop<reference>(&reader_, waiter_, std::move(options));
  }

  /// events() until `timeout` passes (or a stop request).
  Generator<reference> events(std::chrono::milliseconds timeout) & {
    return events(StreamOptions().timeout(timeout));
  }
  // The loop reads through the RingBuffer: on a temporary it would outlive it.
  Generator<reference> events(StreamOptions = {}) && = delete;
  Generator<reference> events(std::chrono::milliseconds) && = delete;

  /// Calls `f(record)` for every record available now, without waiting; returns how many.
  /// A record is consumed once f returns (or throws).
  template <std::invocable<reference> F>
  std::size_t consume(F&& f) {
    return reader_.consume(f);
  }

  /// Waits up to `timeout` for records (spinning briefly first), then consume(f); returns how
  /// many records f saw (0 on timeout or request_stop()).
  template <std::invocable<reference> F>
  std::size_t poll(std::chrono::milliseconds timeout, F&& f) {
    return waiter_.poll(timeout, [&] { return reader_.consume(f); }, reader_);
  }

  /// The next record if one is ready, else nullptr, without waiting. The record handed out by
  /// the previous call is consumed first. For event loops (EventLoop::next uses it).
  /// For RingBuffer<Bytes>, a pointer to the record's Bytes (valid until the next call).
  const std::remove_cvref_t<reference>* try_next() { return reader_.try_next(); }
  /// As try_next(), for Bytes: an empty optional when no record is ready. (Its type,
  /// std::optional<Bytes>, is spelled through `reference` so that it is instantiated with a
  /// RingBuffer<Bytes>, not in every file that includes this header.)
  std::optional<std::remove_cvref_t<reference>> try_next_bytes() requires variable_size {
    const auto* b = try_next();
    return b ? std::optional<std::remove_cvref_t<reference>>(*b) : std::nullopt;
  }

  /// For event loops that sleep on fd(): call before sleeping. Publishes what was handed out and,
  /// on a ring with a need-wakeup flag, asks producers to wake this consumer; returns true when a
  /// record arrived meanwhile (then do not sleep). Call end_wait() once awake.
  bool prepare_wait() noexcept {
    reader_.arm();
    __atomic_thread_fence(__ATOMIC_SEQ_CST); // the flag store before the ring load (Dekker)
    return reader_.has_data();
  }
  /// Takes back prepare_wait()'s request to be woken.
  void end_wait() noexcept { reader_.disarm(); }
  /// The longest an event loop should sleep on fd() before looking again: none (-1) with a
  /// need-wakeup flag, else RingBufferOptions::max_latency.
  std::chrono::milliseconds wait_bound() const noexcept { return reader_.wait_bound(); }
  /// Whether producers wake this consumer only when it sleeps (the ring has EBPFPP_RINGBUF's
  /// need-wakeup flag).
  bool has_need_wakeup() const noexcept { return reader_.has_need_wakeup(); }

  /// Whether an unread record may be there: the producer position is past the consumer
  /// position the kernel sees. Safe from any thread (two atomic loads of the shared pages).
  /// Records handed out but not yet released count as unread (see unread_bytes()).
  bool has_data() const noexcept { return reader_.has_data(); }

  /// Marks every record handed out so far as consumed (events() and consume() do this as they
  /// go; try_next() users call it when they are done).
  void release() noexcept { reader_.release(); }

  /// Records the producer failed to reserve (ring full), summed over CPUs: one map lookup.
  /// nullopt when no counter is known (the BPF side does not use ring_buffer.bpf.h's
  /// EBPFPP_RINGBUF, or the counter was not passed). Throws Error if the lookup fails.
  std::optional<std::uint64_t> drops() const {
    if (!drops_) return std::nullopt;
    return drops_.get(0).sum();
  }

  /// What this view requires of a map (used by the checks): a BPF_MAP_TYPE_RINGBUF.
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_RINGBUF};
    return detail::stream_spec(detail::format("RingBuffer<{}>", detail::type_name<Event>()), types,
                               0, "(none)", "(records)");
  }

  /// Ends the running (or the next) events() loop or poll(). Async-signal-safe, any thread.
  void request_stop() const noexcept { waiter_.request_stop(); }

  /// The ring buffer map's fd: readable (poll/epoll) when records are unread. Note the BPF
  /// side's wake-up policy: with ring_buffer.bpf.h's threshold, a few records may sit unread
  /// without the fd being signalled; look again at least every options().max_latency().
  int fd() const noexcept { return this->fd_.get(); }
  /// The ring's data size in bytes.
  std::size_t size() const noexcept { return reader_.size(); }
  /// Bytes written by producers and not released yet (reserved records included): the backlog
  /// the kernel sees. Safe from any thread (two atomic loads), e.g. a metrics thread beside the
  /// consumer. A running events() loop releases what it handed out when each batch ends (and
  /// every quarter ring); try_next() users on release() or prepare_wait().
  std::size_t unread_bytes() const noexcept { return reader_.unread_bytes(); }
  const RingBufferOptions& options() const noexcept { return options_; }
  explicit operator bool() const noexcept { return static_cast<bool>(reader_); }

private:
  std::string what() const { return detail::format("ring buffer '{}'", this->name_); }

  PerCpuArrayMap<std::uint64_t> drops_;
  RingBufferOptions options_;
  detail::StreamWaiter waiter_;
  // Last: destroyed (and moved) first, while the map's fd (in Base) is still open.
  detail::RingReader<Event> reader_;
};

} // namespace ebpfpp
