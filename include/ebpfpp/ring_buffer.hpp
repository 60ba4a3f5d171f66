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

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "array_map.hpp"
#include "detail/fd.hpp"
#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "generator.hpp"
#include "kernel.hpp"
#include "map_base.hpp"
#include "program.hpp"
#include "per_cpu_array_map.hpp"
#include "stream.hpp"

namespace ebpfpp {

namespace detail {
/// The need-wakeup flag shared with the producers (struct ebpfpp_ringbuf_ctl).
struct RingCtl {
  std::uint32_t need_wakeup;
  std::uint32_t pad;
};
} // namespace detail

/// A record of any size, as the bytes the BPF program wrote: `RingBuffer<Bytes>`.
using Bytes = std::span<const std::byte>;

/// What a RingBuffer can hand out: a trivially copyable struct (records must be exactly its
/// size) or Bytes (records of any size). Alignment is at most 8: records start 8-byte aligned.
template <class T>
concept RingEvent = std::same_as<T, Bytes> ||
    (std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && alignof(T) <= 8);

/// Consumer-side tuning of RingBuffer (and PerfBuffer) waits.
class RingBufferOptions {
public:
  /// For rings WITHOUT a need-wakeup flag only (the BPF side does not declare the ring with
  /// EBPFPP_RINGBUF): the longest the consumer sleeps without being woken before it looks at
  /// the ring again, for producers that submit with BPF_RB_NO_WAKEUP. Default 10 ms. Zero or
  /// negative: no bound (right for the kernel's default wake-up policy). Rings with the flag
  /// never need a bound: an idle consumer sleeps until a producer wakes it.
  RingBufferOptions& max_latency(std::chrono::milliseconds d) noexcept {
    max_latency_ = d;
    return *this;
  }
  /// How long the consumer spins on the producer position before sleeping. With a live
  /// producer the next record is usually microseconds away and a sleep costs a wake-up
  /// interrupt; at a trickle it costs this much CPU per event. Default 50 us; 0 never spins.
  RingBufferOptions& spin(std::chrono::microseconds d) noexcept {
    spin_ = d;
    return *this;
  }
  std::chrono::milliseconds max_latency() const noexcept { return max_latency_; }
  std::chrono::microseconds spin() const noexcept { return spin_; }

private:
  std::chrono::milliseconds max_latency_{10};
  std::chrono::microseconds spin_{50};
};

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
        waiter_(detail::format("ring buffer '{}'", this->name_)) {
    if (!drops.empty()) drops_ = PerCpuArrayMap<std::uint64_t>(std::move(drops));
    if (!ctl.empty()) open_ctl(std::move(ctl));
    setup();
  }

  /// The ring buffer map `name` of an Object or Skeleton, with its `<name>_drops` counter when
  /// the BPF side declared the ring with EBPFPP_RINGBUF. Throws Error listing the maps that exist
  /// when there is no such map.
  template <MapContainer Container>
  RingBuffer(const Container& source, std::string_view name, RingBufferOptions options = {})
      : RingBuffer(source.map(name), find_map(source, detail::format("{}_drops", name)), options,
                   find_map(source, detail::format("{}_ctl", name))) {}

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

  RingBuffer(RingBuffer&& other) noexcept { *this = std::move(other); }
  RingBuffer& operator=(RingBuffer&& other) noexcept {
    if (this != &other) {
      end_loop();
      other.end_loop(); // a loop over `other` ends: its frame points at `other`, not at us
      drops_ = std::move(other.drops_);
      ctl_ = std::move(other.ctl_);
      ctl_map_ = std::move(other.ctl_map_);
      need_wakeup_ = std::exchange(other.need_wakeup_, nullptr);
      consumer_map_ = std::move(other.consumer_map_);
      producer_map_ = std::move(other.producer_map_);
      consumer_pos_ = std::exchange(other.consumer_pos_, nullptr);
      producer_pos_ = std::exchange(other.producer_pos_, nullptr);
      data_ = std::exchange(other.data_, nullptr);
      mask_ = other.mask_;
      pos_ = other.pos_;
      published_ = other.published_;
      current_size_ = other.current_size_;
      options_ = other.options_;
      waiter_ = std::move(other.waiter_);
      Base::operator=(std::move(other)); // last: nothing of `other` is read after it
    }
    return *this;
  }
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;
  /// Marks what was handed out as consumed, then unmaps. A loop still suspended in events()
  /// is cut off (see events()).
  ~RingBuffer() { end_loop(); }

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
    const auto deadline = detail::deadline_of(options);
    // Ties the loop to this RingBuffer; holds the run of same-size records the loop steps
    // through without resuming us (see below).
    detail::LoopTether loop(loop_, detail::format("ring buffer '{}'", this->name_));
    detail::YieldRun& run = loop.run;
    std::stop_callback on_stop(options.stop(), [this, &loop] {
      if (loop.attached()) request_stop();
    });
    // Publishes the records handed out when the loop breaks out or the generator dies (unless
    // the RingBuffer went first: it published them then).
    const detail::OnExit on_exit{[this, &loop] {
      if (loop.attached()) end_loop();
    }};
    for (bool end = false; !end;) {
      // Batches: the records committed when the producer position was read, handed out in place
      // with no atomic read-modify-write, clock read or stop check between them. step() moves
      // pos_ past a record (or a run) before it is handed out, less the records of a run the loop
      // has not reached (consumed_pos()), so a break publishes exactly the records seen. The
      // consumer position is published when the batch ends (and every publish_span() bytes),
      // always after the loop has moved past the records it covers.
      for (unsigned long prod = data_ ? load_acquire(producer_pos_) : 0; pos_ < prod;
           prod = load_acquire(producer_pos_)) {
        Step st;
        while ((st = step(prod, true)).count != 0) {
          if constexpr (!variable_size) {
            if (st.len == sizeof(Event)) {
              // A run of same-size records the loop steps through without resuming us.
              run.first = st.hdr + BPF_RINGBUF_HDR_SZ;
              run.stride = st.stride;
              run.remaining = st.count - 1;
              co_yield run;
            } else {
              co_yield as_reference(st.hdr, st.len); // throws: the wrong size for Event
            }
          } else {
            co_yield as_reference(st.hdr, st.len);
          }
          loop.check(); // throws if this RingBuffer went away while we were suspended
          if (pos_ - published_ >= publish_span()) release();
        }
        release();
        // A producer that never lets the ring run dry (or a record that stays busy) must not
        // keep the loop from its timeout or a stop: checked per batch, not per record.
        if ((end = waiter_.should_end(options, deadline))) break;
        if (st.busy) break; // the oldest record is still being written: wait for it
      }
      if (end || stop_requested(options)) break;
      if (wait_for_data(deadline, options.stop_fd()) != detail::StreamWaiter::Result::data) break;
    }
    waiter_.clear_stop();
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
    const detail::OnExit on_exit{[this] { release(); }};
    std::size_t n = 0;
    if (!data_) return 0;
    // As events(): one producer-position read and one consumer-position store per batch.
    for (unsigned long prod = load_acquire(producer_pos_); pos_ < prod;
         prod = load_acquire(producer_pos_)) {
      Step st;
      while ((st = step(prod, false)).count != 0) {
        std::forward<F>(f)(as_reference(st.hdr, st.len));
        ++n;
        if (pos_ - published_ >= publish_span()) release();
      }
      release();
      if (st.busy) break;
    }
    return n;
  }

  /// Waits up to `timeout` for records (spinning briefly first), then consume(f); returns how
  /// many records f saw (0 on timeout or request_stop()).
  template <std::invocable<reference> F>
  std::size_t poll(std::chrono::milliseconds timeout, F&& f) {
    return waiter_.poll(
        timeout, [&] { return consume(f); },
        [this](auto deadline) { return wait_for_data(deadline, -1); });
  }

  /// The next record if one is ready, else nullptr, without waiting. The record handed out by
  /// the previous call is consumed first. For event loops (EventLoop::next uses it).
  /// For RingBuffer<Bytes>, a pointer to the record's Bytes (valid until the next call).
  const std::remove_cvref_t<reference>* try_next() {
    const std::byte* rec = next();
    if (!rec) return nullptr;
    if constexpr (variable_size) {
      current_bytes_ = as_reference(rec, current_size_);
      return &current_bytes_;
    } else {
      return &as_reference(rec, current_size_);
    }
  }
  /// As try_next(), for Bytes: an empty optional when no record is ready.
  std::optional<Bytes> try_next_bytes() requires variable_size {
    const Bytes* b = try_next();
    return b ? std::optional<Bytes>(*b) : std::nullopt;
  }

  /// For event loops that sleep on fd(): call before sleeping. Publishes what was handed out and,
  /// on a ring with a need-wakeup flag, asks producers to wake this consumer; returns true when a
  /// record arrived meanwhile (then do not sleep). Call end_wait() once awake.
  bool prepare_wait() noexcept {
    release();
    if (need_wakeup_) __atomic_store_n(need_wakeup_, 1u, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); // the flag store before the ring load (Dekker)
    return has_data();
  }
  /// Takes back prepare_wait()'s request to be woken.
  void end_wait() noexcept {
    if (need_wakeup_) __atomic_store_n(need_wakeup_, 0u, __ATOMIC_RELAXED);
  }
  /// The longest an event loop should sleep on fd() before looking again: none (-1) with a
  /// need-wakeup flag, else RingBufferOptions::max_latency.
  std::chrono::milliseconds wait_bound() const noexcept {
    if (need_wakeup_ || options_.max_latency().count() <= 0) return std::chrono::milliseconds(-1);
    return options_.max_latency();
  }
  /// Whether producers wake this consumer only when it sleeps (the ring has EBPFPP_RINGBUF's
  /// need-wakeup flag).
  bool has_need_wakeup() const noexcept { return need_wakeup_ != nullptr; }

  /// Whether an unread record may be there: the producer position is past the consumer
  /// position the kernel sees. Safe from any thread (two atomic loads of the shared pages).
  /// Records handed out but not yet released count as unread (see unread_bytes()).
  bool has_data() const noexcept {
    return data_ && load_acquire(producer_pos_) != load_acquire(consumer_pos_);
  }

  /// Marks every record handed out so far as consumed (events() and consume() do this as they
  /// go; try_next() users call it when they are done).
  void release() noexcept {
    const unsigned long pos = consumed_pos();
    if (consumer_pos_ && published_ != pos) {
      __atomic_store_n(consumer_pos_, pos, __ATOMIC_RELEASE);
      published_ = pos;
    }
  }

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
    return {detail::format("RingBuffer<{}>", detail::type_name<Event>()),
            types,
            0,
            0,
            "(none)",
            "(records)",
            {},
            {},
            false};
  }

  /// Ends the running (or the next) events() loop or poll(). Async-signal-safe, any thread.
  void request_stop() const noexcept { waiter_.request_stop(); }

  /// The ring buffer map's fd: readable (poll/epoll) when records are unread. Note the BPF
  /// side's wake-up policy: with ring_buffer.bpf.h's threshold, a few records may sit unread
  /// without the fd being signalled; look again at least every options().max_latency().
  int fd() const noexcept { return this->fd_.get(); }
  /// The ring's data size in bytes.
  std::size_t size() const noexcept { return data_ ? mask_ + 1 : 0; }
  /// Bytes written by producers and not released yet (reserved records included): the backlog
  /// the kernel sees. Safe from any thread (two atomic loads), e.g. a metrics thread beside the
  /// consumer. A running events() loop releases what it handed out when each batch ends (and
  /// every quarter ring); try_next() users on release() or prepare_wait().
  std::size_t unread_bytes() const noexcept {
    return data_
               ? static_cast<std::size_t>(load_acquire(producer_pos_) - load_acquire(consumer_pos_))
               : 0;
  }
  const RingBufferOptions& options() const noexcept { return options_; }
  explicit operator bool() const noexcept { return data_ != nullptr; }

private:
  // The need-wakeup flag's map: an mmap-able array of one ebpfpp_ringbuf_ctl (ring_buffer.bpf.h).
  void open_ctl(MapSource source) {
    ctl_ = ArrayMap<detail::RingCtl>(std::move(source));
    if (!(ctl_.map_flags() & BPF_F_MMAPABLE))
      throw Error(
          EINVAL,
          detail::format("open ring buffer '{}': its need-wakeup flag '{}' is not mmap-able",
                         this->name_, ctl_.name()),
          "declare the ring with EBPFPP_RINGBUF() from <ebpfpp/ring_buffer.bpf.h>");
    ctl_map_ = detail::map_memory(
        ctl_.fd(), static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), PROT_READ | PROT_WRITE, 0,
        detail::format("need-wakeup flag of ring buffer '{}'", this->name_));
    need_wakeup_ = reinterpret_cast<std::uint32_t*>(ctl_map_.get());
  }

  template <class Container>
  static MapSource find_map(const Container& source, const std::string& name) {
    for (const MapRef& m : source.maps())
      if (m.name() == name) return m;
    return {};
  }

  void setup() {
    const MapInfo& info = this->info_;
    const std::string& name_ = this->name_;
    if constexpr (!variable_size) {
      if (sizeof(Event) + 8 > info.max_entries)
        throw Error(EINVAL,
                    detail::format("open ring buffer '{}': an event of {} bytes cannot fit in a "
                                   "ring of {} bytes",
                                   name_, sizeof(Event), info.max_entries));
    }
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t size = info.max_entries;
    // The consumer page is ours to write; the producer page and the data are read-only. The data
    // area is mapped twice back to back by the kernel: map 2x to read wrapped records in one go.
    consumer_map_ = detail::map_memory(this->fd_.get(), page, PROT_READ | PROT_WRITE, 0,
                                       detail::format("consumer page of ring buffer '{}'", name_));
    producer_map_ =
        detail::map_memory(this->fd_.get(), page + 2 * size, PROT_READ, static_cast<off_t>(page),
                           detail::format("data of ring buffer '{}'", name_));
    consumer_pos_ = reinterpret_cast<unsigned long*>(consumer_map_.get());
    producer_pos_ = reinterpret_cast<const unsigned long*>(producer_map_.get());
    data_ = producer_map_.get() + page;
    mask_ = size - 1;
    pos_ = published_ = load_acquire(consumer_pos_);
  }

  static unsigned long load_acquire(const unsigned long* p) noexcept {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
  }

  // Our read position less the records of the current run that the loop has not reached yet:
  // everything before it has been handed out.
  unsigned long consumed_pos() const noexcept {
    return loop_ ? pos_ - loop_->run.remaining * loop_->run.stride : pos_;
  }

  // Ends the events() loop's hold, if one runs: the records of its run it never reached stay
  // unread, what it handed out is published, and the loop is cut off from us (LoopTether).
  void end_loop() noexcept {
    pos_ = consumed_pos();
    detail::cut_loop(loop_); // before release(): the run is accounted for in pos_ now
    release();
  }

  // The record header's length word. Acquire: the record's bytes are read after the producer's
  // commit cleared the busy bit.
  static std::uint32_t read_header(const std::byte* hdr) noexcept {
    return __atomic_load_n(reinterpret_cast<const std::uint32_t*>(hdr), __ATOMIC_ACQUIRE);
  }
  // The bytes a record takes in the ring: header + data rounded up to 8.
  static constexpr unsigned long record_span(std::uint32_t len) noexcept {
    const std::uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    return (static_cast<unsigned long>(size) + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
  }
  // The most bytes of records events() hands out as one run (see events()): a fraction of an L1
  // data cache, so the headers it checked are still cached when the loop reads the records.
  static constexpr unsigned long max_run_bytes = 2048;
  // How far the consumer may read ahead of the position the producer sees before publishing in
  // the middle of a batch: a quarter of the ring, so a long batch does not hold the space.
  unsigned long publish_span() const noexcept { return (mask_ + 1) / 4; }

  // The next committed, non-discarded record's header, or nullptr (empty, or the oldest record
  // is still being written). Publishes the records before it as consumed: the previous one was
  // used by now. Discarded records are stepped over. (try_next's path: one record at a time.)
  const std::byte* next() noexcept {
    release();
    if (!data_) return nullptr;
    const Step st = step(load_acquire(producer_pos_), false);
    if (st.count == 0) return nullptr;
    current_size_ = st.len;
    return st.hdr;
  }

  // What step() found: `count` committed records from `hdr` on (0: none ready), `stride` bytes
  // apart, each of `len` bytes; `busy` when it stopped at a record still being written.
  struct Step {
    const std::byte* hdr = nullptr;
    std::uint32_t len = 0;
    std::size_t count = 0;
    unsigned long stride = 0;
    bool busy = false;
  };

  // The one walk over the ring, under events(), consume() and try_next(): from pos_ up to
  // `prod`, steps over discarded records and stops at a busy one. With `runs`, a fixed-size
  // Event's record is extended by the committed records of the same size that follow it (their
  // length word is exactly sizeof(Event): not busy, not discarded): a run, contiguous in memory
  // because the data area is mapped twice, bounded by publish_span() and max_run_bytes (the loop
  // must find the run's lines still in the L1 cache). pos_ moves past everything returned.
  Step step(unsigned long prod, bool runs) noexcept {
    Step st;
    while (pos_ < prod) {
      const std::byte* hdr = data_ + (pos_ & mask_);
      const std::uint32_t len = read_header(hdr);
      if (len & BPF_RINGBUF_BUSY_BIT) {
        st.busy = true;
        return st;
      }
      pos_ += record_span(len);
      if (len & BPF_RINGBUF_DISCARD_BIT) continue;
      st.hdr = hdr;
      st.len = len;
      st.count = 1;
      st.stride = record_span(len);
      if constexpr (!variable_size) {
        if (runs && len == sizeof(Event)) {
          const unsigned long end = std::min({prod, pos_ + publish_span(), pos_ + max_run_bytes});
          while (pos_ < end && read_header(data_ + (pos_ & mask_)) == sizeof(Event)) {
            pos_ += st.stride;
            ++st.count;
          }
        }
      }
      return st;
    }
    return st;
  }

  // The record whose header is at `hdr` and whose data is `size` bytes (a committed record's
  // length word: no flag bits).
  reference as_reference(const std::byte* hdr, std::uint32_t size) const {
    const std::byte* body = hdr + BPF_RINGBUF_HDR_SZ;
    if constexpr (variable_size) {
      return Bytes(body, size);
    } else {
      if (size != sizeof(Event)) [[unlikely]]
        throw_size_mismatch(size);
      return *std::launder(reinterpret_cast<const Event*>(body));
    }
  }

  [[noreturn]] void throw_size_mismatch(std::uint32_t size) const {
    throw Error(EMSGSIZE,
                detail::format("read ring buffer '{}': a record of {} bytes is not an event of {} "
                               "bytes (sizeof(Event))",
                               this->name_, size, sizeof(Event)),
                "the BPF program and the user side disagree on the event struct: share one "
                "header between them, or read records of varying size with RingBuffer<Bytes>");
  }

  bool stop_requested(const StreamOptions& options) const noexcept {
    return options.stop().stop_requested();
  }

  detail::StreamWaiter::Result
  wait_for_data(std::optional<detail::StreamWaiter::clock::time_point> deadline, int stop_fd) {
    // arm(): publish our position and, with a need-wakeup flag, ask to be woken; the waiter's
    // full fence then orders both stores before its last look at the ring.
    const auto result = waiter_.wait(
        this->fd_.get(), [this] { return has_data(); },
        [this] {
          release();
          if (need_wakeup_) __atomic_store_n(need_wakeup_, 1u, __ATOMIC_RELAXED);
        },
        options_.spin(), wait_bound(), deadline, stop_fd);
    end_wait();
    return result;
  }

  PerCpuArrayMap<std::uint64_t> drops_;
  ArrayMap<detail::RingCtl> ctl_;
  detail::Mapping ctl_map_;
  std::uint32_t* need_wakeup_ = nullptr; // in ctl_map_: 1 while we sleep or are about to
  Bytes current_bytes_;                  // try_next()'s record for RingBuffer<Bytes>
  detail::Mapping consumer_map_;
  detail::Mapping producer_map_;
  unsigned long* consumer_pos_ = nullptr;
  const unsigned long* producer_pos_ = nullptr;
  const std::byte* data_ = nullptr;
  unsigned long mask_ = 0;
  unsigned long pos_ = 0; // our consumer position, ahead of the published one by at most a record
  unsigned long published_ = 0; // what the kernel last saw in the consumer page
  std::uint32_t current_size_ = 0;
  detail::LoopTether* loop_ = nullptr; // the events() loop reading us, if one runs
  RingBufferOptions options_;
  detail::StreamWaiter waiter_;
};

} // namespace ebpfpp
