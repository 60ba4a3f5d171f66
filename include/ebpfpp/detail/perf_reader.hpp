#pragma once
// The reader of a perf event array's per-CPU rings: libbpf's own perf buffer
// (perf_buffer__new_raw, which takes the perf_event_attr, so wake-ups can be batched), each CPU's
// ring read in place (perf_buffer__buffer) by the one walk below. A value: movable, held by
// PerfBuffer<Event>. It reads memory and publishes each ring's tail; it never waits and never
// calls back up (the loop and the waits are stream.hpp's).
//
// Which reader owns a CPU's slot of the map: the kernel knows. A perf event array entry belongs
// to the map file it was stored through, and closing that file takes out exactly its entries
// (the kernel's perf_event_fd_array_release, 4.5+). So the reader stores its rings through a map
// file of its own (BPF_MAP_GET_FD_BY_ID): when it closes, its rings leave the map, and a newer
// reader's rings in the same slots stay. libbpf's perf_buffer__free would delete every slot it
// filled, newer owner or not, so its deletes are given a non-map fd to fail on. Without
// CAP_SYS_ADMIN (which BPF_MAP_GET_FD_BY_ID needs) it shares the stream's map file and lets
// libbpf delete its slots.

#include "config.hpp"

#include <linux/perf_event.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../generator.hpp"
#include "../stream.hpp"
#include "stream_loop.hpp"
#include "cpus.hpp"
#include "fd.hpp"
#include "format.hpp"
#include "hints.hpp"
#include "libbpf_log.hpp"
#include "unique_fd.hpp"

namespace ebpfpp {

template <class Event>
struct PerfRecord; // what records() yields: perf_buffer.hpp

namespace detail {

/// Reads samples of `Event` (every one must be sizeof(Event) bytes, padded as the kernel does).
template <class Event>
class PerfReader {
public:
  PerfReader() noexcept = default;
  /// Opens a ring of `pages` pages on every online CPU below `max_entries` for the perf event
  /// array `map_fd` (id `map_id`), waking the consumer every `wakeup_events` samples.
  PerfReader(int map_fd, std::uint32_t map_id, std::uint32_t max_entries, std::size_t pages,
             std::uint32_t wakeup_events, WaitTuning tuning, const std::string& what) {
    State& s = s_;
    s.tuning = tuning;
    s.what = what;
    s.map_fd.reset(bpf_map_get_fd_by_id(map_id)); // a map file of our own (see above)
    s.own_file = static_cast<bool>(s.map_fd);
    if (!s.own_file) s.map_fd = dup_fd(map_fd, s.what);
    std::vector<int> cpus;
    for (const int cpu : online_cpus())
      if (static_cast<std::uint32_t>(cpu) < max_entries) cpus.push_back(cpu);
    if (cpus.empty())
      throw Error(EINVAL,
                  detail::format("open {}: no online CPU fits in its {} entries", s.what,
                                 max_entries),
                  std::string(hint::perf_map_entries));
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_BPF_OUTPUT;
    attr.sample_type = PERF_SAMPLE_RAW;
    attr.sample_period = 1;
    attr.wakeup_events = wakeup_events;
    perf_buffer_raw_opts opts;
    init_opts(opts);
    opts.cpu_cnt = static_cast<int>(cpus.size());
    opts.cpus = cpus.data();
    opts.map_keys = cpus.data(); // CPU n's ring in slot n, as BPF_F_CURRENT_CPU expects
    LibbpfLog log;
    s.pb = check_ptr(
        perf_buffer__new_raw(s.map_fd.get(), pages, &attr, &never_called, nullptr, &opts),
        [&] { return detail::format("open the {}-page CPU rings of {}", pages, s.what); },
        Op::perf_event_open, &log);
    try {
      for (std::size_t i = 0; i < cpus.size(); ++i) {
        void* base = nullptr;
        std::size_t size = 0;
        check(perf_buffer__buffer(s.pb, static_cast<int>(i), &base, &size),
              [&] { return detail::format("find the CPU {} ring of {}", cpus[i], s.what); });
        Ring r;
        r.cpu = cpus[i];
        r.meta = static_cast<perf_event_mmap_page*>(base);
        r.data = static_cast<const std::byte*>(base) + ::sysconf(_SC_PAGESIZE);
        r.tail = r.published = r.meta->data_tail;
        s.rings.push_back(r);
        s.data_size = size;
      }
    } catch (...) {
      close(); // no destructor runs for an object whose constructor threw
      throw;
    }
  }
  // A move ends the loops of both sides first (move_reader, stream_loop.hpp).
  PerfReader(PerfReader&& other) noexcept { move_reader(*this, other); }
  PerfReader& operator=(PerfReader&& other) noexcept { return move_reader(*this, other); }
  ~PerfReader() { close(); }

  explicit operator bool() const noexcept { return s_.pb != nullptr; }
  std::uint64_t lost() const noexcept { return s_.lost; }
  std::uint64_t lost_on(int cpu) const noexcept {
    for (const Ring& r : s_.rings)
      if (r.cpu == cpu) return r.lost;
    return 0;
  }
  std::vector<int> cpus() const {
    std::vector<int> out;
    for (const Ring& r : s_.rings) out.push_back(r.cpu);
    return out;
  }

  // --- for the stream loop and its waits (stream.hpp) ---------------------------------------

  LoopTether*& loop_slot() noexcept { return s_.loop; }
  const std::string& what() const noexcept { return s_.what; }
  /// libbpf's epoll fd over the CPU rings: readable when the kernel woke one.
  int fd() const noexcept { return s_.pb ? perf_buffer__epoll_fd(s_.pb) : -1; }
  const WaitTuning& tuning() const noexcept { return s_.tuning; }
  /// A trickle below wakeup_events wakes no one: sleeps are bounded by max_latency.
  std::chrono::milliseconds wait_bound() const noexcept {
    return s_.tuning.max_latency.count() > 0 ? s_.tuning.max_latency
                                             : std::chrono::milliseconds(-1);
  }
  /// Whether a CPU ring has unread records: its head is past the tail the kernel sees. Safe
  /// from any thread (atomic loads of the shared pages).
  bool has_data() const noexcept {
    for (const Ring& r : s_.rings)
      if (load_head(r) != __atomic_load_n(&r.meta->data_tail, __ATOMIC_ACQUIRE)) return true;
    return false;
  }
  void arm() noexcept { publish_all(); }
  void disarm() noexcept {}

  /// events()'s step: the next sample into `run`, with the plain samples that follow it on the
  /// same ring (a run the loop steps through without resuming us: in place in the ring when
  /// alignof(Event) <= 4 and none wraps the end, else copies), else the end of a round over the
  /// rings or dry. Loss notices are counted in lost(), not handed out.
  Next next(YieldRun& run) {
    State& s = s_;
    for (;;) {
      const Item* item = step(s.loop_cursor);
      if (!item) {
        s.run_ring = nullptr;
        return std::exchange(s.any, false) ? Next::batch_end : Next::dry;
      }
      s.any = true;
      const Event* e = item->event;
      if (!e) continue; // a loss notice: counted in lost()
      Ring& r = s.rings[s.loop_cursor.ring];
      s.run_ring = &r;
      // The samples of a run are past r.tail; consumed_tail() holds back those the loop has not
      // reached, so data_tail never covers a sample the loop has not left.
      run.remaining = 0;
      if constexpr (alignof(Event) <= 4) {
        run.first = e;
        if (reinterpret_cast<const std::byte*>(e) != s.event) {
          run.stride = record_bytes;
          run.remaining = extend_run(r, s.loop_cursor.head, max_run, nullptr);
        }
      } else {
        if (s.run_buf.empty()) s.run_buf.resize(max_run);
        std::memcpy(&s.run_buf[0], e, sizeof(Event));
        run.first = &s.run_buf[0];
        run.stride = sizeof(Slot);
        run.remaining = extend_run(r, s.loop_cursor.head, max_run - 1, &s.run_buf[1]);
      }
      return Next::item;
    }
  }

  /// records()'s step: the next sample or loss notice, in the order the kernel wrote them.
  Next next_record(YieldRun& run) {
    const Item* item = step(s_.loop_cursor);
    if (!item) return std::exchange(s_.any, false) ? Next::batch_end : Next::dry;
    s_.any = true;
    run.first = item;
    run.remaining = 0;
    return Next::item;
  }

  /// Calls `f(event)` for each sample available now; returns how many.
  template <class F>
  std::size_t consume(F&& f) {
    const OnExit on_exit{[this] { publish_all(); }};
    // Rounds over the rings as step() walks them, until every ring is empty, but pushed
    // straight into f: a pull through step() and an Item per sample cost a third of the
    // throughput here (bench-streams perf_consume_32B, gated by scripts/bench-gate).
    std::size_t n = 0;
    for (bool any = true; any;) {
      any = false;
      for (Ring& r : s_.rings) {
        const std::uint64_t head = load_head(r);
        if (r.tail == head) continue;
        any = true;
        n += drain(r, head, f);
        publish(r);
      }
    }
    return n;
  }

  /// The next sample if one is ready, else nullptr (loss notices are counted and skipped).
  const Event* try_next() {
    // Two rounds at most: the first may start in the middle of the rings.
    for (int round = 0; round < 2; ++round)
      while (const Item* item = step(s_.cursor))
        if (item->event) return item->event;
    return nullptr;
  }

  /// Ends the loop's hold, if one runs: the samples of its run it never reached stay unread,
  /// what it handed out is published, and the loop is cut off from us (LoopTether).
  void end_loop() noexcept {
    State& s = s_;
    if (s.run_ring) s.run_ring->tail = consumed_tail(*s.run_ring);
    s.run_ring = nullptr;
    s.loop_cursor = {};
    s.any = false;
    cut_loop(s.loop); // before publishing: the run is accounted for in tail now
    publish_all();
  }

private:
  template <class Reader>
  friend Reader& move_reader(Reader&, Reader&) noexcept;
  using Item = PerfRecord<Event>;
  // Aligned room for one Event (which need not be default-constructible).
  struct Slot {
    alignas(Event) std::byte bytes[sizeof(Event)];
  };
  struct Ring {
    int cpu = -1;
    perf_event_mmap_page* meta = nullptr; // libbpf's mapping, first page
    const std::byte* data = nullptr;      // the data pages after it
    std::uint64_t tail = 0;               // our read position
    std::uint64_t published = 0;          // what the kernel last saw in data_tail
    std::uint64_t lost = 0;
  };
  // Where a walk over the CPU rings is: the ring it reads and the head it read there.
  struct Cursor {
    std::size_t ring = 0;
    std::uint64_t head = 0;
    bool open = false; // head was read for rings[ring]
  };
  struct State {
    perf_buffer* pb = nullptr;
    UniqueFd map_fd;       // the map file the rings were stored through
    bool own_file = false; // ... our own (BPF_MAP_GET_FD_BY_ID), not the stream's
    std::vector<Ring> rings;
    std::size_t data_size = 0;
    Cursor cursor;      // try_next()'s walk
    Cursor loop_cursor; // the loop's walk
    bool any = false;   // the loop's current round found something
    std::uint64_t lost = 0;
    Item item;
    alignas(Event) std::byte event[sizeof(Event)]; // a sample copied out of the ring
    std::vector<Slot> run_buf;  // copies of a run (alignof(Event) > 4)
    Ring* run_ring = nullptr;   // the ring of the run the loop has out
    LoopTether* loop = nullptr; // the loop reading us, if one runs
    WaitTuning tuning;
    std::string what;
  };

  static bpf_perf_event_ret never_called(void*, int, perf_event_header*) {
    return LIBBPF_PERF_EVENT_CONT; // the rings are read in place, never through libbpf
  }

  void close() noexcept {
    end_loop();
    State& s = s_;
    if (!s.pb) return;
    // Our own map file: dup2 swaps libbpf's map fd for its epoll fd in one step (no other
    // thread can take the number meanwhile). The map file closes, taking our rings out of the
    // map; libbpf's deletes then fail on a non-map fd, sparing a newer reader's rings.
    if (s.own_file) ::dup2(perf_buffer__epoll_fd(s.pb), s.map_fd.get());
    perf_buffer__free(std::exchange(s.pb, nullptr));
    s.map_fd.reset();
    s.rings.clear();
  }

  // The head the kernel has written up to. Acquire: the records below it are read after the
  // kernel wrote them.
  static std::uint64_t load_head(const Ring& r) noexcept {
    return __atomic_load_n(&r.meta->data_head, __ATOMIC_ACQUIRE);
  }
  void publish(Ring& r) noexcept {
    const std::uint64_t tail = consumed_tail(r);
    if (r.published != tail) {
      __atomic_store_n(&r.meta->data_tail, tail, __ATOMIC_RELEASE);
      r.published = tail;
    }
  }
  void publish_all() noexcept {
    for (Ring& r : s_.rings) publish(r);
  }
  // r.tail less the records of the loop's run on r that it has not reached.
  std::uint64_t consumed_tail(const Ring& r) const noexcept {
    return s_.loop && s_.run_ring == &r ? r.tail - s_.loop->run.remaining * record_bytes : r.tail;
  }
  // How far we may read ahead of data_tail before publishing in the middle of a batch: a
  // quarter of the ring.
  std::size_t publish_span() const noexcept { return s_.data_size / 4; }

  // The size word of a sample of sizeof(Event): padded so that size word + data end 8-aligned.
  static constexpr std::uint32_t raw_bytes() noexcept {
    return static_cast<std::uint32_t>(((sizeof(Event) + 4 + 7) & ~std::size_t{7}) - 4);
  }
  // A sample record of sizeof(Event) in the ring: header, size word, data padded to 8.
  static constexpr std::size_t record_bytes = sizeof(perf_event_header) + 4 + raw_bytes();
  static constexpr std::size_t max_run = 64; // samples per run (a run's copies fit in L1)

  // Copies n bytes at ring offset off (a record may run past the end: perf maps the data once,
  // so it goes on at the start).
  void copy_out(std::size_t off, void* dst, std::size_t n, const std::byte* data) const noexcept {
    off &= s_.data_size - 1;
    const std::size_t first = std::min(n, s_.data_size - off);
    std::memcpy(dst, data + off, first);
    std::memcpy(static_cast<std::byte*>(dst) + first, data, n - first);
  }

  // Steps r.tail over up to `max` plain samples (no wrap, sizeof(Event)) that follow, below
  // `head`, copying each to out[i] if out is given; returns how many. Without out the samples
  // stay in place, so they must also sit in a row before the end of the ring.
  std::size_t extend_run(Ring& r, std::uint64_t head, std::size_t max, Slot* out) noexcept {
    const std::size_t size = s_.data_size;
    std::size_t n = 0;
    while (n < max && r.tail != head) {
      const std::size_t off = static_cast<std::size_t>(r.tail & (size - 1));
      if (off + record_bytes > size) break; // wraps: the caller copies it
      if (!out && off == 0) break;          // in place, a run must not go round the end
      perf_event_header hdr;
      std::memcpy(&hdr, r.data + off, sizeof hdr);
      std::uint32_t raw_size;
      std::memcpy(&raw_size, r.data + off + sizeof hdr, sizeof raw_size);
      if (hdr.type != PERF_RECORD_SAMPLE || hdr.size != record_bytes || raw_size != raw_bytes())
        break;
      if (out) std::memcpy(&out[n], r.data + off + sizeof hdr + 4, sizeof(Event));
      r.tail += record_bytes;
      ++n;
    }
    return n;
  }

  // consume()'s walk of one ring up to `head`. A plain sample (sizeof(Event), not wrapping the
  // ring's end) steps the tail by the constant record_bytes, checked against its header rather
  // than taken from it: the next record's address then does not wait for this one's header to
  // arrive from memory, so the CPU reads ahead (tail += hdr.size makes every read wait on the
  // one before; at 32 B that cost a quarter of the time a sample takes). r.tail is stored
  // before f runs (for publish() and a throw) and read back after it. Anything else goes
  // through decode().
  template <class F>
  std::size_t drain(Ring& r, std::uint64_t head, F& f) {
    const std::byte* const data = r.data;
    const std::size_t size = s_.data_size;
    const std::size_t span = publish_span();
    std::uint64_t tail = r.tail;
    std::uint64_t publish_at = r.published + span;
    std::size_t n = 0;
    while (tail < head) {
      const std::size_t off = static_cast<std::size_t>(tail & (size - 1));
      perf_event_header hdr;
      std::memcpy(&hdr, data + off, sizeof hdr); // 8-aligned and 8 long: never split by the end
      if (hdr.type == PERF_RECORD_SAMPLE && hdr.size == record_bytes &&
          off + record_bytes <= size) [[likely]] {
        constexpr std::size_t body = sizeof hdr + sizeof(std::uint32_t);
        std::uint32_t raw_size;
        std::memcpy(&raw_size, data + off + sizeof hdr, sizeof raw_size);
        tail += record_bytes;
        r.tail = tail;
        if (raw_size != raw_bytes()) [[unlikely]]
          throw_size_mismatch(raw_size);
        if constexpr (alignof(Event) <= 4) {
          f(*std::launder(reinterpret_cast<const Event*>(data + off + body)));
        } else {
          Slot copy;
          std::memcpy(&copy, data + off + body, sizeof(Event));
          f(*std::launder(reinterpret_cast<const Event*>(&copy)));
        }
        ++n;
        tail = r.tail;
      } else {
        std::uint64_t lost;
        const Event* e = decode(r, lost);
        tail = r.tail;
        if (e) {
          f(*e);
          ++n;
        }
      }
      if (tail >= publish_at) [[unlikely]] {
        publish(r);
        publish_at = r.published + span;
      }
    }
    return n;
  }

  // Decodes the record at r.tail and steps past it. A sample: its event, in place in the ring
  // when Event's alignment allows (at most 4) and it does not wrap around the ring's end, else
  // an aligned copy. A loss notice: counted, `lost` set, nullptr. Anything else: nullptr with
  // `lost` 0. Throws for a sample of the wrong size (after stepping past it).
  const Event* decode(Ring& r, std::uint64_t& lost) {
    State& s = s_;
    const std::byte* data = r.data;
    const std::size_t off = static_cast<std::size_t>(r.tail & (s.data_size - 1));
    perf_event_header hdr;
    std::memcpy(&hdr, data + off, sizeof hdr); // 8-aligned and 8 long: never split by the end
    r.tail += hdr.size;
    lost = 0;
    if (hdr.type == PERF_RECORD_SAMPLE) [[likely]] {
      constexpr std::size_t body = sizeof hdr + sizeof(std::uint32_t);
      std::uint32_t raw_size;
      if (off + hdr.size <= s.data_size) [[likely]] {
        std::memcpy(&raw_size, data + off + sizeof hdr, sizeof raw_size);
        if (raw_size != raw_bytes()) [[unlikely]]
          throw_size_mismatch(raw_size);
        if constexpr (alignof(Event) <= 4)
          return std::launder(reinterpret_cast<const Event*>(data + off + body));
        std::memcpy(&s.event, data + off + body, sizeof(Event));
      } else {
        copy_out(off + sizeof hdr, &raw_size, sizeof raw_size, data);
        if (raw_size != raw_bytes()) [[unlikely]]
          throw_size_mismatch(raw_size);
        copy_out(off + body, &s.event, sizeof(Event), data);
      }
      return std::launder(reinterpret_cast<const Event*>(&s.event));
    }
    if (hdr.type == PERF_RECORD_LOST) {
      copy_out(off + sizeof hdr + sizeof(std::uint64_t), &lost, sizeof lost, data); // after the id
      r.lost += lost;
      s.lost += lost;
    }
    return nullptr;
  }

  [[noreturn]] void throw_size_mismatch(std::uint32_t raw_size) const {
    throw Error(EMSGSIZE,
                detail::format("read {}: a sample of {} bytes (padded) is not an event of {} "
                               "bytes (sizeof(Event), {} padded)",
                               s_.what, raw_size, sizeof(Event), raw_bytes()),
                std::string(hint::share_struct));
  }

  // The one walk over the CPU rings, under events(), records(), consume() and try_next(): the
  // next sample or loss notice. Each ring is read up to the head read when the walk came to it
  // (a busy CPU cannot starve the others), its tail published every publish_span() bytes and
  // when the walk leaves it, always after the caller has moved past the records it covers.
  // nullptr at the end of a round of the rings; the next call starts the next round.
  const Item* step(Cursor& c) {
    State& s = s_;
    while (c.ring < s.rings.size()) {
      Ring& r = s.rings[c.ring];
      if (!c.open) {
        c.head = load_head(r);
        c.open = true;
      } else if (r.tail - r.published >= publish_span()) {
        publish(r);
      }
      while (r.tail != c.head) {
        s.item.cpu = r.cpu;
        s.item.event = decode(r, s.item.lost);
        if (s.item.event || s.item.lost) return &s.item;
      }
      publish(r);
      c.open = false;
      ++c.ring;
    }
    c.ring = 0;
    return nullptr;
  }

  State s_;
};

} // namespace detail
} // namespace ebpfpp
