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
/// It opens one perf event per online CPU, mmaps its ring and stores its fd in the map (what
/// libbpf's perf_buffer does), but reads the rings itself: a generator can then hand out each
/// sample as it is reached, and the kernel's PERF_RECORD_LOST notices come out at their place in
/// the stream. libbpf 1.1's perf_buffer__new cannot batch wake-ups (no sample_period option);
/// here PerfBufferOptions::wakeup_events does, with the consumer's bounded wait
/// (max_latency) delivering a trickle that never reaches the batch size.
///
/// The kernel's raw sample data is only 4-byte aligned. An Event whose alignment is at most 4 is
/// handed out in place in the ring (zero copy) unless the sample wraps around the ring's end;
/// others, and wrapped samples, are copied to an aligned buffer first. Either way a
/// `const Event&` is valid until the loop moves on: the ring space is given back to the kernel
/// only after that.

#include "detail/config.hpp"

#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/cpus.hpp"
#include "detail/fd.hpp"
#include "detail/format.hpp"
#include "detail/perf_ring.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "generator.hpp"
#include "map_base.hpp"
#include "program.hpp"
#include "stream.hpp"

namespace ebpfpp {

/// Settings of a PerfBuffer's per-CPU rings and of its consumer's waits.
class PerfBufferOptions {
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
  /// See RingBufferOptions::max_latency. Default 10 ms.
  PerfBufferOptions& max_latency(std::chrono::milliseconds d) noexcept {
    max_latency_ = d;
    return *this;
  }
  /// See RingBufferOptions::spin. Default 50 us.
  PerfBufferOptions& spin(std::chrono::microseconds d) noexcept {
    spin_ = d;
    return *this;
  }
  std::size_t pages() const noexcept { return pages_; }
  std::uint32_t wakeup_events() const noexcept { return wakeup_events_; }
  std::chrono::milliseconds max_latency() const noexcept { return max_latency_; }
  std::chrono::microseconds spin() const noexcept { return spin_; }

private:
  std::size_t pages_ = 64;
  std::uint32_t wakeup_events_ = 64;
  std::chrono::milliseconds max_latency_{10};
  std::chrono::microseconds spin_{50};
};

/// One item of PerfBuffer::records(): a sample, or a notice that the kernel dropped samples.
template <class Event>
struct PerfRecord {
  /// The CPU whose ring it came from.
  int cpu = 0;
  /// For a loss notice: how many samples the kernel could not write on `cpu` (its ring was
  /// full) at this point of the stream. 0 for a sample.
  std::uint64_t lost = 0;
  /// The sample (an aligned copy, valid until the loop moves on); nullptr for a loss notice.
  const Event* event = nullptr;
};

/// A typed consumer of a BPF perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY, kernel 4.4+), as
/// written by bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, &event, sizeof event).
///
/// Every sample must be sizeof(Event) bytes (the kernel pads it; the padding is accounted for),
/// else reading it throws an Error naming both sizes. Move-only (a loop over a moved or destroyed
/// PerfBuffer is cut off: see events()). Destroying it removes its rings from the map.
///
/// Threads (docs/threads.md): one consumer thread at a time; request_stop() and has_data() are
/// safe from any thread while it consumes.
template <class Event>
requires std::is_trivially_copyable_v<Event>
class PerfBuffer : public detail::MapBase<PerfBuffer<Event>> {
  using Base = detail::MapBase<PerfBuffer<Event>>;
  using Base::name_;

public:
  /// An empty PerfBuffer.
  PerfBuffer() noexcept = default;

  /// Opens a ring on every online CPU for `map` (a loaded BPF_MAP_TYPE_PERF_EVENT_ARRAY).
  /// Throws Error when the map has another type or is not created, or when perf_event_open or
  /// mmap fail (large rings need CAP_IPC_LOCK or a higher perf_event_mlock_kb).
  /// `map` is any MapSource (skel->maps.output, obj.map("output"), MapSource::pinned(path)...);
  /// PerfBuffer::open_pinned(path, options) works too.
  explicit PerfBuffer(MapSource map, PerfBufferOptions options = {})
      : Base(std::move(map), TypeCheck::size_only), options_(options),
        waiter_(detail::format("perf buffer '{}'", name_)) {
    setup();
  }

  /// The perf event array `name` of an Object or Skeleton.
  template <MapContainer Container>
  PerfBuffer(const Container& source, std::string_view name, PerfBufferOptions options = {})
      : PerfBuffer(source.map(name), options) {}

  /// What this view requires of a map (used by the checks): a BPF_MAP_TYPE_PERF_EVENT_ARRAY.
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_PERF_EVENT_ARRAY};
    return {detail::format("PerfBuffer<{}>", detail::type_name<Event>()),
            types,
            4,
            4,
            "(cpu)",
            "(perf event fd)",
            {},
            {},
            false};
  }

  PerfBuffer(PerfBuffer&& other) noexcept { *this = std::move(other); }
  PerfBuffer& operator=(PerfBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      other.end_loop(); // a loop over `other` ends: its frame points at `other`, not at us
      epoll_ = std::move(other.epoll_);
      rings_ = std::move(other.rings_);
      data_size_ = other.data_size_;
      page_ = other.page_;
      cursor_ = other.cursor_;
      lost_ = other.lost_;
      id_ = std::exchange(other.id_, 0);
      map_id_ = other.map_id_;
      run_buf_ = std::move(other.run_buf_);
      options_ = other.options_;
      waiter_ = std::move(other.waiter_);
      Base::operator=(std::move(other)); // last: nothing of `other` is read after it
    }
    return *this;
  }
  PerfBuffer(const PerfBuffer&) = delete;
  PerfBuffer& operator=(const PerfBuffer&) = delete;
  ~PerfBuffer() { reset(); }

  /// The samples as they come (loss notices are counted in lost(), not yielded); blocks while
  /// there are none; ends on the options' timeout/stop or request_stop(). Throws Error for a
  /// sample of the wrong size (after consuming it).
  ///
  /// Lifetime: the generator reads through this PerfBuffer, so keep it alive and in place until
  /// the loop ends. If it is destroyed, moved from or assigned to first, the loop is cut off
  /// harmlessly: its next step throws Error, and destroying the generator touches nothing. One
  /// loop (events() or records()) at a time: another begun while one runs throws Error (EBUSY).
  Generator<const Event&> events(StreamOptions options = {}) & {
    const auto deadline = detail::deadline_of(options);
    // Ties the loop to this PerfBuffer; holds the run of samples the loop steps through without
    // resuming us (see below).
    detail::LoopTether loop(loop_, detail::format("perf buffer '{}'", name_));
    detail::YieldRun& run = loop.run;
    std::stop_callback on_stop(options.stop(), [this, &loop] {
      if (loop.attached()) request_stop();
    });
    const detail::OnExit on_exit{[this, &loop] {
      if (loop.attached()) end_loop();
    }};
    Cursor c;
    for (;;) {
      // Rounds over the CPU rings (see step()). r.tail steps past a record before it is
      // yielded, less the records of a run the loop has not reached (consumed_tail()), so
      // data_tail, published as the walk goes on, never covers a record the loop has not left.
      bool any = false;
      while (Item* item = step(c)) {
        any = true;
        const Event* e = item->event;
        if (!e) continue; // a loss notice: counted in lost()
        Ring& r = rings_[c.ring];
        run_ring_ = &r;
        // The plain samples that follow, up to the head, form a run: in place in the ring
        // (alignof(Event) <= 4, none wraps the end) or copied to run_buf_.
        run.remaining = 0;
        if constexpr (alignof(Event) <= 4) {
          run.first = e;
          if (reinterpret_cast<const std::byte*>(e) != event_) {
            run.stride = record_bytes;
            run.remaining = extend_run(r, c.head, max_run, nullptr);
          }
        } else {
          if (run_buf_.empty()) run_buf_.resize(max_run);
          std::memcpy(&run_buf_[0], e, sizeof(Event));
          run.first = &run_buf_[0];
          run.stride = sizeof(Slot);
          run.remaining = extend_run(r, c.head, max_run - 1, &run_buf_[1]);
        }
        co_yield run;
        loop.check(); // throws if this PerfBuffer went away while we were suspended
      }
      run_ring_ = nullptr;
      if (any) {
        // Busy rings must not keep the loop from its timeout or a stop: checked per round,
        // not per record.
        if (waiter_.should_end(options, deadline)) break;
        continue;
      }
      if (options.stop().stop_requested()) break;
      if (wait_for_data(deadline, options.stop_fd()) != detail::StreamWaiter::Result::data) break;
    }
    waiter_.clear_stop();
  }

  /// events() until `timeout` passes (or a stop request).
  Generator<const Event&> events(std::chrono::milliseconds timeout) & {
    return events(StreamOptions().timeout(timeout));
  }

  /// Samples and loss notices in the order the kernel wrote them (per CPU).
  /// Lifetime as events().
  Generator<const PerfRecord<Event>&> records(StreamOptions options = {}) & {
    const auto deadline = detail::deadline_of(options);
    detail::LoopTether loop(loop_, detail::format("perf buffer '{}'", name_));
    std::stop_callback on_stop(options.stop(), [this, &loop] {
      if (loop.attached()) request_stop();
    });
    const detail::OnExit on_exit{[this, &loop] {
      if (loop.attached()) end_loop();
    }};
    Cursor c;
    for (;;) {
      bool any = false; // rounds as in events()
      while (Item* item = step(c)) {
        any = true;
        co_yield *item;
        loop.check();
      }
      if (any) {
        if (waiter_.should_end(options, deadline)) break;
        continue;
      }
      if (options.stop().stop_requested()) break;
      if (wait_for_data(deadline, options.stop_fd()) != detail::StreamWaiter::Result::data) break;
    }
    waiter_.clear_stop();
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
    const detail::OnExit on_exit{[this] { publish_all(); }};
    // Rounds over the rings as step() walks them, until every ring is empty, but pushed
    // straight into f: a pull through step() and an Item per sample cost a third of the
    // throughput here (bench-streams perf_consume_32B, gated by scripts/bench-gate).
    std::size_t n = 0;
    for (bool any = true; any;) {
      any = false;
      for (Ring& r : rings_) {
        const std::uint64_t head = detail::load_head(r);
        any = any || r.tail != head;
        while (r.tail != head) {
          std::uint64_t lost;
          if (const Event* e = decode(r, lost)) {
            std::forward<F>(f)(*e);
            ++n;
            if (r.tail - r.published >= publish_span()) publish(r);
          }
        }
        publish(r);
      }
    }
    return n;
  }

  /// Waits up to `timeout` for samples, then consume(f); returns how many f saw.
  template <std::invocable<const Event&> F>
  std::size_t poll(std::chrono::milliseconds timeout, F&& f) {
    return waiter_.poll(
        timeout, [&] { return consume(f); },
        [this](auto deadline) { return wait_for_data(deadline, -1); });
  }

  /// The next sample if one is ready, else nullptr, without waiting (loss notices are counted
  /// and skipped). For event loops.
  const Event* try_next() {
    // Two rounds at most: the first may start in the middle of the rings.
    for (int round = 0; round < 2; ++round)
      while (const Item* item = step(cursor_))
        if (item->event) return item->event;
    return nullptr;
  }

  /// Whether a CPU ring has unread records: its head is past the tail the kernel sees. Safe
  /// from any thread (atomic loads of the shared pages). Samples handed out but not yet
  /// released count as unread: a running loop releases them as its walk goes on.
  bool has_data() const noexcept {
    for (const Ring& r : rings_)
      if (detail::load_head(r) != __atomic_load_n(&r.meta()->data_tail, __ATOMIC_ACQUIRE))
        return true;
    return false;
  }

  /// Samples the kernel dropped because a CPU's ring was full, over all CPUs, as far as the
  /// consumer has read (a loss is reported in the ring, after the samples before it).
  std::uint64_t lost() const noexcept { return lost_; }
  /// The same for one CPU (0 for a CPU without a ring).
  std::uint64_t lost_on(int cpu) const noexcept {
    for (const Ring& r : rings_)
      if (r.cpu == cpu) return r.lost;
    return 0;
  }
  /// The CPUs that have a ring.
  std::vector<int> cpus() const {
    std::vector<int> out;
    for (const Ring& r : rings_) out.push_back(r.cpu);
    return out;
  }

  /// Ends the running (or the next) loop. Async-signal-safe, any thread.
  void request_stop() const noexcept { waiter_.request_stop(); }
  /// An epoll fd that is readable when the kernel woke a CPU ring (see wakeup_events).
  int fd() const noexcept { return epoll_.get(); }
  /// The longest an event loop should sleep on fd() before looking again: max_latency (a
  /// trickle below wakeup_events wakes no one).
  std::chrono::milliseconds wait_bound() const noexcept {
    return options_.max_latency().count() > 0 ? options_.max_latency()
                                              : std::chrono::milliseconds(-1);
  }
  const PerfBufferOptions& options() const noexcept { return options_; }
  explicit operator bool() const noexcept { return !rings_.empty(); }

private:
  using Item = PerfRecord<Event>;
  // Aligned room for one Event (which need not be default-constructible).
  struct Slot {
    alignas(Event) std::byte bytes[sizeof(Event)];
  };

  using Ring = detail::PerfRing;

  void setup() {
    const MapInfo& info = this->info_;
    map_id_ = info.id;
    const std::size_t pages = options_.pages();
    if (pages == 0 || (pages & (pages - 1)) != 0)
      throw Error(EINVAL,
                  detail::format("open perf buffer '{}' with {} pages per CPU", name_, pages),
                  "the page count must be a power of two (1, 2, 4, ... 64)");
    page_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    data_size_ = pages * page_;
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) throw Error(errno, detail::format("create epoll for perf buffer '{}'", name_));

    try {
      for (int cpu : detail::online_cpus()) {
        if (static_cast<std::uint32_t>(cpu) >= info.max_entries) continue;
        open_ring(cpu);
      }
    } catch (...) {
      reset();
      throw;
    }
    if (rings_.empty())
      throw Error(EINVAL,
                  detail::format("open perf buffer '{}': no online CPU fits in its {} entries",
                                 name_, info.max_entries));
  }

  void open_ring(int cpu) {
    Ring ring = detail::open_perf_ring(this->fd_.get(), map_id_, id_, cpu, page_, data_size_,
                                       options_.wakeup_events(), name_);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(rings_.size());
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, ring.fd.get(), &ev) != 0)
      throw Error(errno, detail::format("add the CPU {} ring of '{}' to epoll", cpu, name_));
    rings_.push_back(std::move(ring));
  }

  void reset() noexcept {
    end_loop();
    for (const Ring& r : rings_) detail::release_perf_slot(this->fd_.get(), map_id_, id_, r.cpu);
    rings_.clear();
    epoll_.reset();
    this->fd_.reset();
  }

  void publish(Ring& r) noexcept {
    const std::uint64_t tail = consumed_tail(r);
    if (r.published != tail) {
      __atomic_store_n(&r.meta()->data_tail, tail, __ATOMIC_RELEASE);
      r.published = tail;
    }
  }
  // r.tail less the records of the run events() has out on r that the loop has not reached.
  std::uint64_t consumed_tail(const Ring& r) const noexcept {
    return loop_ && run_ring_ == &r ? r.tail - loop_->run.remaining * record_bytes : r.tail;
  }

  // Ends the running loop's hold, if one runs: the samples of its run it never reached stay
  // unread, what it handed out is published, and the loop is cut off from us (LoopTether).
  void end_loop() noexcept {
    if (run_ring_) run_ring_->tail = consumed_tail(*run_ring_);
    run_ring_ = nullptr;
    detail::cut_loop(loop_); // before publishing: the run is accounted for in tail now
    publish_all();
  }

  // The size word of a sample of sizeof(Event): padded so that size word + data end 8-aligned.
  static constexpr std::uint32_t raw_bytes() noexcept {
    return static_cast<std::uint32_t>(((sizeof(Event) + 4 + 7) & ~std::size_t{7}) - 4);
  }
  // A sample record of sizeof(Event) in the ring: header, size word, data padded to 8.
  static constexpr std::size_t record_bytes = sizeof(perf_event_header) + 4 + raw_bytes();
  static constexpr std::size_t max_run = 64; // samples per run (a run's copies fit in L1)
  // Steps r.tail over up to `max` plain samples (no wrap, sizeof(Event)) that follow, below
  // `head`, copying each to out[i] if out is given; returns how many. Without out the samples
  // stay in place, so they must also sit in a row before the end of the ring.
  std::size_t extend_run(Ring& r, std::uint64_t head, std::size_t max, Slot* out) noexcept {
    const std::byte* data = r.map.get() + page_;
    std::size_t n = 0;
    while (n < max && r.tail != head) {
      const std::size_t off = static_cast<std::size_t>(r.tail & (data_size_ - 1));
      if (off + record_bytes > data_size_) break; // wraps: the caller copies it
      if (!out && off == 0) break; // in place, a run must not go round the end to the start
      perf_event_header hdr;
      std::memcpy(&hdr, data + off, sizeof hdr);
      std::uint32_t raw_size;
      std::memcpy(&raw_size, data + off + sizeof hdr, sizeof raw_size);
      if (hdr.type != PERF_RECORD_SAMPLE || hdr.size != record_bytes || raw_size != raw_bytes())
        break;
      if (out) std::memcpy(&out[n], data + off + sizeof hdr + 4, sizeof(Event));
      r.tail += record_bytes;
      ++n;
    }
    return n;
  }
  void publish_all() noexcept {
    for (Ring& r : rings_) publish(r);
  }

  // How far the consumer may read ahead of data_tail before publishing in the middle of a batch:
  // a quarter of the ring.
  std::size_t publish_span() const noexcept { return data_size_ / 4; }

  // Decodes the record at r.tail and steps past it. A sample: its event, in place in the ring
  // when Event's alignment allows (at most 4) and it does not wrap around the ring's end, else
  // an aligned copy in event_. A loss notice: counted, `lost` set, nullptr. Anything else:
  // nullptr with `lost` 0. Throws for a sample of the wrong size (after stepping past it).
  const Event* decode(Ring& r, std::uint64_t& lost) {
    const std::byte* data = r.map.get() + page_;
    const std::size_t off = static_cast<std::size_t>(r.tail & (data_size_ - 1));
    perf_event_header hdr;
    std::memcpy(&hdr, data + off, sizeof hdr); // 8-aligned and 8 long: never split by the end
    r.tail += hdr.size;
    lost = 0;
    if (hdr.type == PERF_RECORD_SAMPLE) [[likely]] {
      // The kernel pads the raw data so that size field + data end 8-byte aligned.
      constexpr std::uint32_t expected = raw_bytes();
      constexpr std::size_t body = sizeof hdr + sizeof(std::uint32_t);
      std::uint32_t raw_size;
      if (off + hdr.size <= data_size_) [[likely]] {
        std::memcpy(&raw_size, data + off + sizeof hdr, sizeof raw_size);
        if (raw_size != expected) [[unlikely]]
          detail::throw_perf_size_mismatch(name_, raw_size, sizeof(Event), expected);
        if constexpr (alignof(Event) <= 4)
          return std::launder(reinterpret_cast<const Event*>(data + off + body));
        std::memcpy(&event_, data + off + body, sizeof(Event));
      } else {
        detail::copy_out(data, data_size_, off + sizeof hdr, &raw_size, sizeof raw_size);
        if (raw_size != expected) [[unlikely]]
          detail::throw_perf_size_mismatch(name_, raw_size, sizeof(Event), expected);
        detail::copy_out(data, data_size_, off + body, &event_, sizeof(Event));
      }
      return std::launder(reinterpret_cast<const Event*>(&event_));
    }
    if (hdr.type == PERF_RECORD_LOST) {
      detail::copy_out(data, data_size_, off + sizeof hdr + sizeof(std::uint64_t), &lost,
                       sizeof lost); // after the id
      r.lost += lost;
      lost_ += lost;
    }
    return nullptr;
  }

  // Where the walk over the CPU rings is: the ring it reads and the head it read there.
  struct Cursor {
    std::size_t ring = 0;
    std::uint64_t head = 0;
    bool open = false; // head was read for rings_[ring]
  };

  // The one walk over the CPU rings, under events(), records(), consume() and try_next(): the
  // next sample or loss notice. Each ring is read up to the head read when the walk came to it
  // (a busy CPU cannot starve the others), its tail published every publish_span() bytes and
  // when the walk leaves it, always after the caller has moved past the records it covers.
  // nullptr at the end of a round of the rings; the next call starts the next round.
  Item* step(Cursor& c) {
    while (c.ring < rings_.size()) {
      Ring& r = rings_[c.ring];
      if (!c.open) {
        c.head = detail::load_head(r);
        c.open = true;
      } else if (r.tail - r.published >= publish_span()) {
        publish(r);
      }
      while (r.tail != c.head) {
        item_.cpu = r.cpu;
        item_.event = decode(r, item_.lost);
        if (item_.event || item_.lost) return &item_;
      }
      publish(r);
      c.open = false;
      ++c.ring;
    }
    c.ring = 0;
    return nullptr;
  }

  detail::StreamWaiter::Result
  wait_for_data(std::optional<detail::StreamWaiter::clock::time_point> deadline, int stop_fd) {
    return waiter_.wait(
        epoll_.get(), [this] { return has_data(); }, [this] { publish_all(); }, options_.spin(),
        options_.max_latency().count() > 0 ? options_.max_latency() : std::chrono::milliseconds(-1),
        deadline, stop_fd);
  }

  detail::UniqueFd epoll_;
  std::uint64_t id_ = detail::new_perf_buffer_id();
  std::uint32_t map_id_ = 0;
  std::vector<Ring> rings_;
  std::size_t data_size_ = 0;
  std::size_t page_ = 0;
  Cursor cursor_; // try_next()'s walk
  std::uint64_t lost_ = 0;
  Item item_;
  alignas(Event) std::byte event_[sizeof(Event)];
  std::vector<Slot> run_buf_;          // events()'s copies of a run (alignof(Event) > 4)
  detail::LoopTether* loop_ = nullptr; // the events()/records() loop reading us, if one runs
  Ring* run_ring_ = nullptr;           // the ring events() is reading
  PerfBufferOptions options_;
  detail::StreamWaiter waiter_;
};

} // namespace ebpfpp
