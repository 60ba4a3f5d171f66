#pragma once
/// @file
/// PerfBuffer<Event>: the per-CPU perf event rings behind a BPF_MAP_TYPE_PERF_EVENT_ARRAY
/// (kernel 4.4+), read with lost samples reported per CPU, in order with the events.
///
///     ebpfpp::PerfBuffer<data_t> pb(skel, "output");
///     for (const data_t& d : pb.events(ebpfpp::StreamOptions().stop_fd(signals.fd())))
///       fmt::print("{} {}\n", d.pid, d.command);
///     if (pb.lost()) fmt::print(stderr, "lost {} samples\n", pb.lost());
///
///     for (const auto& r : pb.records())          // samples and loss notices, in order
///       if (r.event) use(*r.event); else fmt::print("cpu {} lost {}\n", r.cpu, r.lost);
///
/// The rings are libbpf's perf buffer (perf_buffer__new_raw: a perf event per online CPU, its
/// ring mmap'ed and stored in the map), read in place here (perf_buffer__buffer) rather than
/// through libbpf's callbacks: a generator can then hand out each sample as it is reached, and
/// the kernel's PERF_RECORD_LOST notices come out at their place in the stream. The raw variant
/// takes the perf_event_attr, so PerfBufferOptions::wakeup_events batches wake-ups (libbpf 1.1's
/// perf_buffer__new cannot), with the consumer's bounded wait (max_latency) delivering a trickle
/// that never reaches the batch size.
///
/// The kernel's raw sample data is only 4-byte aligned. An Event whose alignment is at most 4 is
/// handed out in place in the ring (zero copy) unless the sample wraps around the ring's end;
/// others, and wrapped samples, are copied to an aligned buffer first. Either way a
/// `const Event&` is valid until the loop moves on: the ring space is given back to the kernel
/// only after that.

#include "detail/config.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/format.hpp"
#include "detail/hints.hpp"
#include "detail/perf_reader.hpp"
#include "error.hpp"
#include "generator.hpp"
#include "map_base.hpp"
#include "program.hpp"
#include "stream.hpp"

namespace ebpfpp {

/// Settings of a PerfBuffer's per-CPU rings, and of its consumer's waits (spin(),
/// max_latency(): stream.hpp).
class PerfBufferOptions : public WaitOptions<PerfBufferOptions> {
public:
  /// Pages per CPU ring (a power of two). Default 64 (256 KiB with 4 KiB pages).
  PerfBufferOptions& pages(std::size_t n) noexcept {
    pages_ = n;
    return *this;
  }
  /// The kernel wakes the consumer after this many samples on a CPU. 1 wakes per sample
  /// (lowest latency, ~6 us of interrupt per event in a VM); the default, 64, cuts that 64-fold,
  /// and the consumer's bounded wait (max_latency) delivers the rest of a trickle.
  PerfBufferOptions& wakeup_events(std::uint32_t n) noexcept {
    wakeup_events_ = n == 0 ? 1 : n;
    return *this;
  }
  std::size_t pages() const noexcept { return pages_; }
  std::uint32_t wakeup_events() const noexcept { return wakeup_events_; }

private:
  std::size_t pages_ = 64;
  std::uint32_t wakeup_events_ = 64;
};

/// One item of PerfBuffer::records(): a sample, or a notice that the kernel dropped samples.
template <class Event>
struct PerfRecord {
  /// The CPU whose ring it came from.
  int cpu = 0;
  /// For a loss notice: how many samples the kernel could not write on `cpu` (its ring was
  /// full) at this point of the stream. 0 for a sample.
  std::uint64_t lost = 0;
  /// The sample (valid until the loop moves on); nullptr for a loss notice.
  const Event* event = nullptr;
};

/// A typed consumer of a BPF perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY, kernel 4.4+), as
/// written by bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, &event, sizeof event).
///
/// Every sample must be sizeof(Event) bytes (the kernel pads it; the padding is accounted for),
/// else reading it throws an Error naming both sizes. Move-only (a loop over a moved or destroyed
/// PerfBuffer is cut off: see events()). Destroying it takes its rings out of the map (not those
/// of a newer PerfBuffer on the same map, given CAP_SYS_ADMIN: see detail/perf_reader.hpp).
///
/// Threads (docs/threads.md): one consumer thread at a time; request_stop() and has_data() are
/// safe from any thread while it consumes.
template <class Event>
requires std::is_trivially_copyable_v<Event>
class PerfBuffer : public detail::MapBase<PerfBuffer<Event>> {
  using Base = detail::MapBase<PerfBuffer<Event>>;

public:
  /// An empty PerfBuffer.
  PerfBuffer() noexcept = default;

  /// Opens a ring on every online CPU for `map` (a loaded BPF_MAP_TYPE_PERF_EVENT_ARRAY).
  /// Throws Error when the map has another type or is not created, or when perf_event_open or
  /// mmap fail (large rings need CAP_IPC_LOCK or a higher perf_event_mlock_kb).
  /// `map` is any MapSource (skel->maps.output, obj.map("output"), MapSource::pinned(path)...);
  /// PerfBuffer::open_pinned(path, options) works too.
  explicit PerfBuffer(MapSource map, PerfBufferOptions options = {})
      : Base(std::move(map), TypeCheck::size_only), options_(options), waiter_(what()) {
    const std::size_t pages = options_.pages();
    if (pages == 0 || (pages & (pages - 1)) != 0)
      throw Error(EINVAL, detail::format("open {} with {} pages per CPU", what(), pages),
                  std::string(detail::hint::perf_pages));
    reader_ = detail::PerfReader<Event>(this->fd_.get(), this->info_.id, this->info_.max_entries,
                                        pages, options_.wakeup_events(), options_.tuning(),
                                        what());
  }

  /// The perf event array `name` of an Object or Skeleton.
  template <MapContainer Container>
  PerfBuffer(const Container& source, std::string_view name, PerfBufferOptions options = {})
      : PerfBuffer(source.map(name), options) {}

  /// What this view requires of a map (used by the checks): a BPF_MAP_TYPE_PERF_EVENT_ARRAY.
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_PERF_EVENT_ARRAY};
    return detail::stream_spec(detail::format("PerfBuffer<{}>", detail::type_name<Event>()), types,
                               4, "(cpu)", "(perf event fd)");
  }

  /// Move-only. A move (or the destructor) marks what a running loop was handed as consumed and
  /// cuts that loop off (see events()).
  PerfBuffer(PerfBuffer&&) noexcept = default;
  PerfBuffer& operator=(PerfBuffer&&) noexcept = default;

  /// The samples as they come (loss notices are counted in lost(), not yielded); blocks while
  /// there are none; ends on the options' timeout/stop or request_stop(). Throws Error for a
  /// sample of the wrong size (after consuming it).
  ///
  /// Lifetime: the generator reads through this PerfBuffer, so keep it alive and in place until
  /// the loop ends. If it is destroyed, moved from or assigned to first, the loop is cut off
  /// harmlessly: its next step throws Error, and destroying the generator touches nothing. One
  /// loop (events() or records()) at a time: another begun while one runs throws Error (EBUSY).
  Generator<const Event&> events(StreamOptions options = {}) & {
    return detail::stream_loop<const Event&>(&reader_, waiter_, std::move(options));
  }

  /// events() until `timeout` passes (or a stop request).
  Generator<const Event&> events(std::chrono::milliseconds timeout) & {
    return events(StreamOptions().timeout(timeout));
  }

  /// Samples and loss notices in the order the kernel wrote them (per CPU).
  /// Lifetime as events().
  Generator<const PerfRecord<Event>&> records(StreamOptions options = {}) & {
    return detail::stream_loop<const PerfRecord<Event>&>(
        &reader_, waiter_, std::move(options),
        [](detail::PerfReader<Event>& r, detail::YieldRun& run) { return r.next_record(run); });
  }

  /// records() until `timeout` passes (or a stop request).
  Generator<const PerfRecord<Event>&> records(std::chrono::milliseconds timeout) & {
    return records(StreamOptions().timeout(timeout));
  }
  // The loops read through the PerfBuffer: on a temporary they would outlive it.
  Generator<const Event&> events(StreamOptions = {}) && = delete;
  Generator<const Event&> events(std::chrono::milliseconds) && = delete;
  Generator<const PerfRecord<Event>&> records(StreamOptions = {}) && = delete;
  Generator<const PerfRecord<Event>&> records(std::chrono::milliseconds) && = delete;

  /// Calls `f(event)` for each sample available now, without waiting; returns how many.
  template <std::invocable<const Event&> F>
  std::size_t consume(F&& f) {
    return reader_.consume(f);
  }

  /// Waits up to `timeout` for samples, then consume(f); returns how many f saw.
  template <std::invocable<const Event&> F>
  std::size_t poll(std::chrono::milliseconds timeout, F&& f) {
    return waiter_.poll(timeout, [&] { return reader_.consume(f); }, reader_);
  }

  /// The next sample if one is ready, else nullptr, without waiting (loss notices are counted
  /// and skipped). For event loops.
  const Event* try_next() { return reader_.try_next(); }

  /// Whether a CPU ring has unread records: its head is past the tail the kernel sees. Safe
  /// from any thread (atomic loads of the shared pages). Samples handed out but not yet
  /// released count as unread: a running loop releases them as its walk goes on.
  bool has_data() const noexcept { return reader_.has_data(); }

  /// Samples the kernel dropped because a CPU's ring was full, over all CPUs, as far as the
  /// consumer has read (a loss is reported in the ring, after the samples before it).
  std::uint64_t lost() const noexcept { return reader_.lost(); }
  /// The same for one CPU (0 for a CPU without a ring).
  std::uint64_t lost_on(int cpu) const noexcept { return reader_.lost_on(cpu); }
  /// The CPUs that have a ring.
  std::vector<int> cpus() const { return reader_.cpus(); }

  /// Ends the running (or the next) loop. Async-signal-safe, any thread.
  void request_stop() const noexcept { waiter_.request_stop(); }
  /// An epoll fd that is readable when the kernel woke a CPU ring (see wakeup_events).
  int fd() const noexcept { return reader_.fd(); }
  /// The longest an event loop should sleep on fd() before looking again: max_latency (a
  /// trickle below wakeup_events wakes no one).
  std::chrono::milliseconds wait_bound() const noexcept { return reader_.wait_bound(); }
  const PerfBufferOptions& options() const noexcept { return options_; }
  explicit operator bool() const noexcept { return static_cast<bool>(reader_); }

private:
  std::string what() const { return detail::format("perf buffer '{}'", this->name_); }

  PerfBufferOptions options_;
  detail::StreamWaiter waiter_;
  detail::PerfReader<Event> reader_;
};

} // namespace ebpfpp
