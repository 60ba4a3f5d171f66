#pragma once
// The reader of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF): its consumer and producer pages mapped
// into this process, and the one walk over the records between the two positions. A value:
// movable, held by RingBuffer<Event>. It reads memory and publishes the consumer position; it
// never waits and never calls back up (the loop and the waits are stream.hpp's).

#include "config.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <utility>

#include "../error.hpp"
#include "../generator.hpp"
#include "../stream.hpp"
#include "stream_loop.hpp"
#include "fd.hpp"
#include "format.hpp"
#include "hints.hpp"

namespace ebpfpp::detail {

/// The need-wakeup flag shared with the producers (struct ebpfpp_ringbuf_ctl).
struct RingCtl {
  std::uint32_t need_wakeup;
  std::uint32_t pad;
};

/// Reads records of `Event` (a trivially copyable struct: every record must be exactly its
/// size) or of any size (`std::span<const std::byte>`).
template <class Event>
class RingReader {
public:
  static constexpr bool variable_size = std::same_as<Event, std::span<const std::byte>>;

  RingReader() noexcept = default;
  /// Maps the ring of `map_fd` (`size` data bytes) and, when `ctl_fd` >= 0, the need-wakeup flag
  /// of ring_buffer.bpf.h's EBPFPP_RINGBUF. `what` names it in errors: "ring buffer 'events'".
  RingReader(int map_fd, std::size_t size, int ctl_fd, WaitTuning tuning, const std::string& what) {
    State& s = s_;
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    // The consumer page is ours to write; the producer page and the data are read-only. The data
    // area is mapped twice back to back by the kernel: map 2x to read wrapped records in one go.
    s.consumer = map_memory(map_fd, page, PROT_READ | PROT_WRITE, 0,
                            detail::format("consumer page of {}", what));
    s.producer = map_memory(map_fd, page + 2 * size, PROT_READ, static_cast<off_t>(page),
                            detail::format("data of {}", what));
    if (ctl_fd >= 0) {
      s.ctl = map_memory(ctl_fd, page, PROT_READ | PROT_WRITE, 0,
                         detail::format("need-wakeup flag of {}", what));
      s.need_wakeup = reinterpret_cast<std::uint32_t*>(s.ctl.get());
    }
    s.consumer_pos = reinterpret_cast<unsigned long*>(s.consumer.get());
    s.producer_pos = reinterpret_cast<const unsigned long*>(s.producer.get());
    s.data = s.producer.get() + page;
    s.mask = size - 1;
    s.pos = s.published = load_acquire(s.consumer_pos);
    s.fd = map_fd;
    s.tuning = tuning;
    s.what = what;
  }
  // A move ends the loops of both sides first (move_reader, stream_loop.hpp).
  RingReader(RingReader&& other) noexcept { move_reader(*this, other); }
  RingReader& operator=(RingReader&& other) noexcept { return move_reader(*this, other); }
  ~RingReader() { end_loop(); }

  explicit operator bool() const noexcept { return s_.data != nullptr; }
  std::size_t size() const noexcept { return s_.data ? s_.mask + 1 : 0; }
  bool has_need_wakeup() const noexcept { return s_.need_wakeup != nullptr; }

  // --- for the stream loop and its waits (stream.hpp) ---------------------------------------

  LoopTether*& loop_slot() noexcept { return s_.loop; }
  const std::string& what() const noexcept { return s_.what; }
  int fd() const noexcept { return s_.fd; }
  const WaitTuning& tuning() const noexcept { return s_.tuning; }
  /// How long a sleep may last without a wake-up: none (-1) with a need-wakeup flag.
  std::chrono::milliseconds wait_bound() const noexcept {
    if (s_.need_wakeup || s_.tuning.max_latency.count() <= 0) return std::chrono::milliseconds(-1);
    return s_.tuning.max_latency;
  }
  /// Whether an unread record may be there: the producer position is past the consumer
  /// position the kernel sees. Safe from any thread (two atomic loads of the shared pages).
  bool has_data() const noexcept {
    return s_.data && load_acquire(s_.producer_pos) != load_acquire(s_.consumer_pos);
  }
  std::size_t unread_bytes() const noexcept {
    if (!s_.data) return 0;
    return static_cast<std::size_t>(load_acquire(s_.producer_pos) - load_acquire(s_.consumer_pos));
  }
  /// Before sleeping: publish what was handed out and ask producers to wake us.
  void arm() noexcept {
    release();
    if (s_.need_wakeup) __atomic_store_n(s_.need_wakeup, 1u, __ATOMIC_RELAXED);
  }
  void disarm() noexcept {
    if (s_.need_wakeup) __atomic_store_n(s_.need_wakeup, 0u, __ATOMIC_RELAXED);
  }

  /// events()'s step: the next record into `run` (a fixed-size Event's record extended by the
  /// records of the same size that follow it: a run the loop steps through without resuming
  /// us), else the end of a batch (the records committed when the producer position was read)
  /// or dry. The consumer position is published when a batch ends and every publish_span()
  /// bytes, always after the loop has moved past the records it covers. Throws for a record
  /// whose size is not sizeof(Event), after stepping past it.
  Next next(YieldRun& run) {
    State& s = s_;
    if (!s.batch) {
      if (std::exchange(s.busy, false) || !s.data) return Next::dry;
      s.prod = load_acquire(s.producer_pos);
      if (s.pos >= s.prod) return Next::dry;
      s.batch = true;
    } else if (s.pos - s.published >= publish_span()) {
      release();
    }
    const Step st = step(s.prod, true);
    if (st.count == 0) {
      // The batch ended; the oldest record still being written waits for the next one.
      release();
      s.batch = false;
      s.busy = st.busy;
      return Next::batch_end;
    }
    const std::byte* body = st.hdr + BPF_RINGBUF_HDR_SZ;
    if constexpr (variable_size) {
      s.bytes = Event(body, st.len);
      run.first = &s.bytes;
    } else {
      if (st.len != sizeof(Event)) [[unlikely]]
        throw_size_mismatch(st.len);
      run.first = body;
      run.stride = st.stride;
      run.remaining = st.count - 1;
    }
    return Next::item;
  }

  /// Calls `f(record)` for every record available now; returns how many. A record is consumed
  /// once f returns (or throws).
  template <class F>
  std::size_t consume(F&& f) {
    State& s = s_;
    const OnExit on_exit{[this] { release(); }};
    std::size_t n = 0;
    if (!s.data) return 0;
    // As events(): one producer-position read and one consumer-position store per batch.
    for (unsigned long prod = load_acquire(s.producer_pos); s.pos < prod;
         prod = load_acquire(s.producer_pos)) {
      Step st;
      while ((st = step(prod, false)).count != 0) {
        f(as_record(st.hdr, st.len));
        ++n;
        if (s.pos - s.published >= publish_span()) release();
      }
      release();
      if (st.busy) break;
    }
    return n;
  }

  /// The next record if one is ready, else nullptr (try_next()'s path: one record at a time).
  /// Publishes the records before it as consumed: the previous one was used by now. For Bytes,
  /// a pointer to the record's span (valid until the next call).
  const std::remove_cvref_t<Event>* try_next() {
    release();
    if (!s_.data) return nullptr;
    const Step st = step(load_acquire(s_.producer_pos), false);
    if (st.count == 0) return nullptr;
    if constexpr (variable_size) {
      s_.bytes = as_record(st.hdr, st.len);
      return &s_.bytes;
    } else {
      return &as_record(st.hdr, st.len);
    }
  }

  /// Marks every record handed out so far as consumed.
  void release() noexcept {
    const unsigned long pos = consumed_pos();
    if (s_.consumer_pos && s_.published != pos) {
      __atomic_store_n(s_.consumer_pos, pos, __ATOMIC_RELEASE);
      s_.published = pos;
    }
  }

  /// Ends the loop's hold, if one runs: the records of its run it never reached stay unread,
  /// what it handed out is published, and the loop is cut off from us (LoopTether).
  void end_loop() noexcept {
    s_.pos = consumed_pos();
    s_.batch = s_.busy = false;
    cut_loop(s_.loop); // before release(): the run is accounted for in pos now
    release();
  }

private:
  template <class Reader>
  friend Reader& move_reader(Reader&, Reader&) noexcept;
  using Record = std::conditional_t<variable_size, Event, const Event&>;

  struct State {
    Mapping consumer, producer, ctl;
    unsigned long* consumer_pos = nullptr;
    const unsigned long* producer_pos = nullptr;
    const std::byte* data = nullptr;
    std::uint32_t* need_wakeup = nullptr; // in ctl: 1 while we sleep or are about to
    unsigned long mask = 0;
    unsigned long pos = 0;       // our position, ahead of the published one by what is out
    unsigned long published = 0; // what the kernel last saw in the consumer page
    unsigned long prod = 0;      // the producer position the current batch reads up to
    bool batch = false;          // next() is in a batch
    bool busy = false;           // the last batch stopped at a record still being written
    int fd = -1;                 // the map's (owned by the stream)
    LoopTether* loop = nullptr;  // the loop reading us, if one runs
    std::conditional_t<variable_size, Event, char> bytes{}; // the span handed out last
    WaitTuning tuning;
    std::string what;
  };

  static unsigned long load_acquire(const unsigned long* p) noexcept {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
  }
  // Our position less the records of the loop's run it has not reached yet: everything before
  // it has been handed out.
  unsigned long consumed_pos() const noexcept {
    return s_.loop ? s_.pos - s_.loop->run.remaining * s_.loop->run.stride : s_.pos;
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
  // The most bytes of records handed out as one run: a fraction of an L1 data cache, so the
  // headers checked are still cached when the loop reads the records.
  static constexpr unsigned long max_run_bytes = 2048;
  // How far we may read ahead of the position the producer sees before publishing in the middle
  // of a batch: a quarter of the ring, so a long batch does not hold the space.
  unsigned long publish_span() const noexcept { return (s_.mask + 1) / 4; }

  // What step() found: `count` committed records from `hdr` on (0: none ready), `stride` bytes
  // apart, each of `len` bytes; `busy` when it stopped at a record still being written.
  struct Step {
    const std::byte* hdr = nullptr;
    std::uint32_t len = 0;
    std::size_t count = 0;
    unsigned long stride = 0;
    bool busy = false;
  };

  // The one walk over the ring: from pos up to `prod`, steps over discarded records and stops
  // at a busy one. With `runs`, a fixed-size Event's record is extended by the committed records
  // of the same size that follow it (length word exactly sizeof(Event): not busy, not discarded),
  // contiguous in memory because the data area is mapped twice, bounded by publish_span() and
  // max_run_bytes. pos moves past everything returned.
  Step step(unsigned long prod, bool runs) noexcept {
    State& s = s_;
    Step st;
    while (s.pos < prod) {
      const std::byte* hdr = s.data + (s.pos & s.mask);
      const std::uint32_t len = read_header(hdr);
      if (len & BPF_RINGBUF_BUSY_BIT) {
        st.busy = true;
        return st;
      }
      s.pos += record_span(len);
      if (len & BPF_RINGBUF_DISCARD_BIT) continue;
      st.hdr = hdr;
      st.len = len;
      st.count = 1;
      st.stride = record_span(len);
      if constexpr (!variable_size) {
        if (runs && len == sizeof(Event)) {
          const unsigned long end = std::min({prod, s.pos + publish_span(), s.pos + max_run_bytes});
          while (s.pos < end && read_header(s.data + (s.pos & s.mask)) == sizeof(Event)) {
            s.pos += st.stride;
            ++st.count;
          }
        }
      }
      return st;
    }
    return st;
  }

  // The record whose header is at `hdr` and whose data is `size` bytes.
  Record as_record(const std::byte* hdr, std::uint32_t size) const {
    const std::byte* body = hdr + BPF_RINGBUF_HDR_SZ;
    if constexpr (variable_size) {
      return Event(body, size);
    } else {
      if (size != sizeof(Event)) [[unlikely]]
        throw_size_mismatch(size);
      return *std::launder(reinterpret_cast<const Event*>(body));
    }
  }

  [[noreturn]] void throw_size_mismatch(std::uint32_t size) const {
    throw Error(EMSGSIZE,
                detail::format("read {}: a record of {} bytes is not an event of {} bytes "
                               "(sizeof(Event))",
                               s_.what, size, sizeof(Event)),
                std::string(hint::ring_record_size));
  }

  State s_;
};

} // namespace ebpfpp::detail
