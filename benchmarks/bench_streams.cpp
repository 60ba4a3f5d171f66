// bench-streams: ebpfpp's RingBuffer/PerfBuffer against hand-written libbpf C, same binary and
// run. Prints a table and one `ratio <metric> <value>` line per comparison, value = ebpfpp
// events/s / libbpf events/s, the median of several rounds. Not a test: run it by hand, as root,
// on an otherwise idle machine (sudo build/benchmarks/bench-streams [consume] [live] [user-ring]
// [perf]).
//
// consumer-only: the ring (or the perf ring of one CPU) is pre-filled by a raw_tp program run
//   with bpf_prog_test_run_opts + bpf_loop, then drained; "floor" is a plain sequential read of
//   the same number of bytes. Every contender gets the same warm-up and the same data; the
//   order rotates between rounds. Rates print as median [min-max] over the rounds; each ratio
//   is the median of per-round ratios, followed by a `ratio-range` line with its min and max.
// live: a getpid tracepoint on CPU 0 emits 32 B events for 1 s while a consumer on CPU 1
//   reads them; events/s delivered (drops are printed; a run with drops is flagged).
// user ring buffer produce: user space fills a 4 MiB user ring buffer with 32 B records
//   (reserve, write, submit) until it is full; only that is timed. A raw_tp program run with
//   test_run then drains it (bpf_user_ringbuf_drain), untimed. ebpfpp's UserRingBuffer against
//   libbpf's user_ring_buffer__reserve/submit, each on its own map, alternating.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "bench_streams.bpf.skel.h"

namespace {

using clock_type = std::chrono::steady_clock;
struct ev32 {
  std::uint64_t seq, a, b, c;
};
struct ev256 {
  std::uint64_t seq, rest[31];
};

// EBPFPP_BENCH_ROUNDS=N sets the rounds: scripts/bench-gate runs a short pass with few.
int rounds_from_env(int fallback) {
  const char* env = std::getenv("EBPFPP_BENCH_ROUNDS");
  const int n = env ? std::atoi(env) : 0;
  return n > 0 ? n : fallback;
}
const int rounds = rounds_from_env(7);
// EBPFPP_BENCH_BUFFER_MIB=N sizes the consumer-only section's ring and perf ring (64 MiB,
// well past the caches, by default): scripts/bench-gate's short pass uses 16, a quarter of the
// filling, which is most of that section's time (the kernel writing the records).
std::uint64_t buffer_bytes_from_env() {
  const char* env = std::getenv("EBPFPP_BENCH_BUFFER_MIB");
  const std::uint64_t mib = env ? std::strtoull(env, nullptr, 10) : 0;
  return (mib >= 1 && mib <= 1024 ? mib : 64) << 20;
}
const std::uint64_t buffer_bytes = buffer_bytes_from_env();

struct Summary {
  double median, min, max;
};

Summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

// `ratio <metric> <median>` (the line the issue asks for), then its spread over the rounds.
void print_ratio(const std::string& metric, const std::vector<double>& ours,
                 const std::vector<double>& base) {
  std::vector<double> r;
  for (std::size_t i = 0; i < ours.size(); ++i) r.push_back(ours[i] / base[i]);
  const Summary s = summarize(r);
  fmt::print("ratio {} {:.2f}\n", metric, s.median);
  fmt::print("ratio-range {} min {:.2f} max {:.2f} rounds {}\n", metric, s.min, s.max, r.size());
}

std::string rates(const std::vector<double>& v) {
  const Summary s = summarize(v);
  return fmt::format("{:6.1f} M/s [{:5.1f}-{:5.1f}]", s.median / 1e6, s.min / 1e6, s.max / 1e6);
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

void fill(const ebpfpp::Program& prog, std::uint64_t n) {
  for (std::uint64_t done = 0; done < n;) {
    const std::uint64_t chunk = std::min<std::uint64_t>(4000, n - done);
    std::uint64_t args[2] = {chunk, done};
    bpf_test_run_opts opts;
    ebpfpp::detail::init_opts(opts);
    opts.ctx_in = args;
    opts.ctx_size_in = sizeof args;
    if (bpf_prog_test_run_opts(prog.fd(), &opts) != 0) throw ebpfpp::Error(errno, "test_run fill");
    done += chunk;
  }
}

template <class F>
double rate(std::uint64_t events, F&& body) {
  const auto t0 = clock_type::now();
  const std::uint64_t got = body();
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (got != events) fmt::print(stderr, "  (expected {} events, got {})\n", events, got);
  return static_cast<double>(got) / s;
}

// --- hand-written libbpf baselines ----------------------------------------------------------

std::uint64_t g_sum;
template <class Ev>
int libbpf_ring_cb(void* ctx, void* data, size_t) {
  ++*static_cast<std::uint64_t*>(ctx);
  g_sum += static_cast<const Ev*>(data)->seq;
  return 0;
}
template <class Ev>
void libbpf_perf_cb(void* ctx, int, void* data, __u32) {
  Ev e;
  std::memcpy(&e, data, sizeof e);
  ++*static_cast<std::uint64_t*>(ctx);
  g_sum += e.seq;
}

// One consumer-only contender: `setup` makes its consumer, `drain` reads all that is in the ring
// and returns how many events it saw. Untimed warm-up first: a fill of the whole ring, drained,
// so every page of the consumer's mapping is faulted in (perf rings fault on first touch) and
// the code is hot; then a fill of `n` events and the timed drain. Filling and draining both run
// on CPU 0, so the freshly written data is as warm in the caches for every contender.
template <class Setup>
double contender(Setup&& setup, const ebpfpp::Program& fill_prog, std::uint64_t capacity,
                 std::uint64_t n) {
  auto drain = setup();
  fill(fill_prog, capacity);
  drain();
  fill(fill_prog, n);
  return rate(n, drain);
}

// `perf_only`: the perf contenders alone (section `perf`), for work on PerfBuffer.
template <class Ev>
void consumer_only(ebpfpp::Skeleton<bench_streams_bpf>& skel, const char* fill_ring,
                   const char* fill_perf, const char* label, bool perf_only = false) {
  pin(0);
  const std::uint64_t ring_bytes = buffer_bytes, perf_bytes = buffer_bytes; // ring: set at open
  constexpr std::uint64_t ring_rec = sizeof(Ev) + 8, perf_rec = sizeof(Ev) + 16;
  const std::uint64_t n_ring = std::min<std::uint64_t>(1'000'000, ring_bytes / ring_rec - 16);
  const std::uint64_t n_perf = std::min<std::uint64_t>(1'000'000, perf_bytes / perf_rec - 16);
  const std::uint64_t cap_ring = ring_bytes / ring_rec - 16, cap_perf = perf_bytes / perf_rec - 16;
  const ebpfpp::Program ring_prog = skel.program(fill_ring), perf_prog = skel.program(fill_perf);
  const auto no_spin = std::chrono::microseconds(0); // events(0ms) ends as soon as it runs dry

  std::vector<double> lib, ours, gen, floor_v, plib, pours, pgen;
  std::vector<std::byte> bytes(n_ring * ring_rec);
  // Ring contenders. Each keeps its consumer alive across warm-up and timed drain.
  std::uint64_t lib_count = 0;
  ring_buffer* lrb = nullptr;
  std::optional<ebpfpp::RingBuffer<Ev>> rb;
  auto ring_lib = [&] {
    return contender(
        [&] {
          lrb = ring_buffer__new(bpf_map__fd(skel->maps.ring), libbpf_ring_cb<Ev>, &lib_count,
                                 nullptr);
          return [&] {
            lib_count = 0;
            ring_buffer__consume(lrb);
            return lib_count;
          };
        },
        ring_prog, cap_ring, n_ring);
  };
  auto ring_ours = [&] {
    return contender(
        [&] {
          rb.emplace(skel, "ring");
          return [&] {
            std::uint64_t count = 0;
            rb->consume([&](const Ev& e) noexcept {
              ++count;
              g_sum += e.seq;
            });
            return count;
          };
        },
        ring_prog, cap_ring, n_ring);
  };
  auto ring_gen = [&] {
    return contender(
        [&] {
          rb.emplace(skel, "ring", ebpfpp::RingBufferOptions().spin(no_spin));
          return [&] {
            std::uint64_t count = 0;
            for (const Ev& e : rb->events(std::chrono::milliseconds(0))) {
              ++count;
              g_sum += e.seq;
            }
            return count;
          };
        },
        ring_prog, cap_ring, n_ring);
  };
  // Perf contenders: one CPU's ring (CPU 0), as large as the ring buffer.
  perf_buffer* lpb = nullptr;
  std::optional<ebpfpp::PerfBuffer<Ev>> pb;
  const auto perf_opts = ebpfpp::PerfBufferOptions().pages(perf_bytes / 4096).spin(no_spin);
  auto perf_lib = [&] {
    return contender(
        [&] {
          lpb = perf_buffer__new(bpf_map__fd(skel->maps.perf), perf_bytes / 4096,
                                 libbpf_perf_cb<Ev>, nullptr, &lib_count, nullptr);
          return [&] {
            lib_count = 0;
            perf_buffer__consume(lpb);
            return lib_count;
          };
        },
        perf_prog, cap_perf, n_perf);
  };
  auto perf_ours = [&] {
    return contender(
        [&] {
          pb.emplace(skel, "perf", perf_opts);
          return [&] {
            std::uint64_t count = 0;
            pb->consume([&](const Ev& e) noexcept {
              ++count;
              g_sum += e.seq;
            });
            return count;
          };
        },
        perf_prog, cap_perf, n_perf);
  };
  auto perf_gen = [&] {
    return contender(
        [&] {
          pb.emplace(skel, "perf", perf_opts);
          return [&] {
            std::uint64_t count = 0;
            for (const Ev& e : pb->events(std::chrono::milliseconds(0))) {
              ++count;
              g_sum += e.seq;
            }
            return count;
          };
        },
        perf_prog, cap_perf, n_perf);
  };
  auto free_all = [&] {
    if (lrb) ring_buffer__free(lrb);
    if (lpb) perf_buffer__free(lpb);
    lrb = nullptr;
    lpb = nullptr;
    rb.reset();
    pb.reset();
  };

  for (int r = 0; r < rounds; ++r) {
    // Rotate the order each round, so no contender always goes first (or after the same one).
    for (int k = 0; k < 3 && !perf_only; ++k) {
      switch ((r + k) % 3) {
      case 0:
        lib.push_back(ring_lib());
        break;
      case 1:
        ours.push_back(ring_ours());
        break;
      case 2:
        gen.push_back(ring_gen());
        break;
      }
      free_all();
    }
    for (int k = 0; k < 3; ++k) {
      switch ((r + k) % 3) {
      case 0:
        plib.push_back(perf_lib());
        break;
      case 1:
        pours.push_back(perf_ours());
        break;
      case 2:
        pgen.push_back(perf_gen());
        break;
      }
      free_all();
    }
    if (perf_only) continue;
    // The floor: the same number of bytes, just written (as a fill leaves them), read in order.
    std::memset(bytes.data(), r, bytes.size());
    floor_v.push_back(rate(n_ring, [&] {
      std::uint64_t count = 0;
      for (std::size_t off = 0; off < bytes.size(); off += ring_rec) {
        std::uint64_t v;
        std::memcpy(&v, bytes.data() + off + 8, sizeof v);
        g_sum += v;
        ++count;
      }
      return count;
    }));
  }
  if (!perf_only)
    fmt::print("consumer-only {:>4}  ring: libbpf {}  ebpfpp consume {}  events() {}  floor {}\n",
               label, rates(lib), rates(ours), rates(gen), rates(floor_v));
  fmt::print("consumer-only {:>4}  perf: libbpf {}  ebpfpp consume {}  events() {}\n", label,
             rates(plib), rates(pours), rates(pgen));
  if (!perf_only) {
    print_ratio(fmt::format("ring_consume_{}", label), ours, lib);
    print_ratio(fmt::format("ring_events_{}", label), gen, lib);
  }
  print_ratio(fmt::format("perf_consume_{}", label), pours, plib);
  print_ratio(fmt::format("perf_events_{}", label), pgen, plib);
}

// Producer: getpid on CPU 0 for `d`; returns how many it made.
std::uint64_t produce(std::chrono::milliseconds d) {
  pin(0);
  std::uint64_t n = 0;
  const auto end = clock_type::now() + d;
  while (clock_type::now() < end) {
    for (int i = 0; i < 256; ++i) ::syscall(SYS_getpid);
    n += 256;
  }
  return n;
}

// Voluntary context switches of the calling thread so far: each sleep it was woken from.
long voluntary_switches() {
  std::ifstream in("/proc/thread-self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("voluntary_ctxt_switches:")) return std::stol(line.substr(24));
  return -1;
}

// An idle consumer's wake-ups per second, and the latency of a lone event from the BPF
// program's bpf_ktime_get_ns() to the loop body (the consumer asleep when it is produced).
void wakeups() {
  auto skel = ebpfpp::Skeleton<bench_streams_bpf>::open();
  skel->rodata->target_tgid = ::getpid();
  skel.load();
  ebpfpp::Tracepoint tp(skel.program("live_ebpfpp"), "syscalls", "sys_enter_getpid");
  const auto idle_rate = [&](ebpfpp::RingBuffer<ev32>& rb) {
    double per_s = 0;
    std::thread([&] {
      pin(1);
      const long before = voluntary_switches();
      for (const ev32& e : rb.events(std::chrono::seconds(2))) g_sum += e.seq;
      per_s = static_cast<double>(voluntary_switches() - before) / 2.0;
    }).join();
    return per_s;
  };
  ebpfpp::RingBuffer<ev32> flagged(skel, "live_ring");
  const double ours = idle_rate(flagged);
  double bounded = 0;
  {
    // The same ring read without its need-wakeup flag: the bounded-wait fallback (10 ms).
    ebpfpp::RingBuffer<ev32> fallback(skel->maps.live_ring, skel->maps.live_ring_drops);
    bounded = idle_rate(fallback);
  }
  fmt::print("idle consumer: {:.1f} wake-ups/s with the need-wakeup flag, {:.1f} with the "
             "bounded-wait fallback (target 0)\n",
             ours, bounded);
  fmt::print("figure idle_wakeups_per_s {:.1f}\n", ours);

  constexpr int lone = 200;
  std::vector<double> us;
  std::thread consumer([&] {
    pin(1);
    for (const ev32& e : flagged.events(std::chrono::seconds(10))) {
      timespec now{};
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      const auto ns = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ull +
                      static_cast<std::uint64_t>(now.tv_nsec);
      us.push_back(static_cast<double>(ns - e.a) / 1e3);
      if (us.size() == lone) break;
    }
  });
  pin(0);
  for (int i = 0; i < lone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // the consumer is asleep by now
    ::syscall(SYS_getpid);
  }
  consumer.join();
  std::sort(us.begin(), us.end());
  if (us.empty()) return;
  fmt::print("lone event: bpf_ktime_get_ns() to the loop body {:.1f} us median, p90 {:.1f} us, "
             "max {:.1f} us over {} events (target <= 100 us median)\n",
             us[us.size() / 2], us[us.size() * 9 / 10], us.back(), us.size());
  fmt::print("figure lone_event_latency_us {:.1f}\n", us[us.size() / 2]);
}

void live() {
  std::vector<double> lib, ours, only;
  for (int r = 0; r < rounds; ++r) {
    {
      // The physical floor: the same producer with nobody consuming.
      auto skel = ebpfpp::Skeleton<bench_streams_bpf>::open();
      skel->rodata->target_tgid = ::getpid();
      skel.load();
      ebpfpp::Tracepoint tp(skel.program("live_ebpfpp"), "syscalls", "sys_enter_getpid");
      const auto t0 = clock_type::now();
      const std::uint64_t made = produce(std::chrono::milliseconds(1000));
      only.push_back(static_cast<double>(made) /
                     std::chrono::duration<double>(clock_type::now() - t0).count());
    }
    for (bool mine : {false, true}) {
      auto skel = ebpfpp::Skeleton<bench_streams_bpf>::open();
      skel->rodata->target_tgid = ::getpid();
      skel.load();
      ebpfpp::Tracepoint tp(skel.program(mine ? "live_ebpfpp" : "live_plain"), "syscalls",
                            "sys_enter_getpid");
      std::atomic<bool> done{false};
      std::uint64_t delivered = 0, drops = 0;
      std::thread consumer;
      if (mine) {
        ebpfpp::RingBuffer<ev32> rb(skel, "live_ring");
        consumer = std::thread([&] {
          pin(1);
          for (const ev32& e :
               rb.events(ebpfpp::StreamOptions().timeout(std::chrono::seconds(5)))) {
            g_sum += e.seq;
            ++delivered;
            if (done.load(std::memory_order_relaxed) && !rb.has_data()) break;
          }
        });
        const auto t0 = clock_type::now();
        produce(std::chrono::milliseconds(1000));
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        done = true;
        consumer.join();
        rb.consume([&](const ev32&) { ++delivered; });
        drops = rb.drops().value_or(0);
        ours.push_back(static_cast<double>(delivered) / s);
      } else {
        std::uint64_t count = 0;
        ring_buffer* rb = ring_buffer__new(bpf_map__fd(skel->maps.plain_ring), libbpf_ring_cb<ev32>,
                                           &count, nullptr);
        consumer = std::thread([&] {
          pin(1);
          while (!done.load(std::memory_order_relaxed)) ring_buffer__poll(rb, 100);
          ring_buffer__consume(rb);
        });
        const auto t0 = clock_type::now();
        produce(std::chrono::milliseconds(1000));
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        done = true;
        consumer.join();
        delivered = count;
        drops = skel->bss->plain_drops;
        ring_buffer__free(rb);
        lib.push_back(static_cast<double>(delivered) / s);
      }
      fmt::print("live 32 B  {:7}: {:6.2f} M events/s delivered, {} drops{}\n",
                 mine ? "ebpfpp" : "libbpf", static_cast<double>(delivered) / 1e6, drops,
                 drops ? "  (NOT zero-drop)" : "");
    }
  }
  print_ratio("live_ring_32", ours, lib);
  print_ratio("live_delivery_vs_producer_only", ours, only);
}

// Fills the ring with `reserve`/`submit` until reserve fails; returns the records made.
template <class Reserve, class Submit>
std::uint64_t produce_until_full(std::uint64_t& seq, Reserve&& reserve, Submit&& submit) {
  std::uint64_t n = 0;
  while (ev32* e = reserve()) {
    e->seq = seq++;
    e->a = e->b = e->c = n;
    submit(e);
    ++n;
  }
  return n;
}

void user_ring_produce(ebpfpp::Skeleton<bench_streams_bpf>& skel) {
  if (!ebpfpp::kernel::has(ebpfpp::kernel::Feature::user_ring_buffer)) {
    fmt::print("user ring buffer produce: skipped (no user ring buffers on this kernel)\n");
    return;
  }
  pin(0);
  constexpr int fills = 20; // per round: ~100k records each
  const ebpfpp::Program drain = skel.program("drain_uring");
  const auto drain_ring = [&](std::uint64_t which) {
    const auto got = drain.test_run(ebpfpp::TestRun().ctx_in(std::array<std::uint64_t, 1>{which}));
    if (got.return_value <= 0) throw ebpfpp::Error(EIO, "drain the user ring buffer");
  };
  ebpfpp::UserRingBuffer<ev32> ours_rb(skel, "uring_ebpfpp");
  user_ring_buffer* lib_rb = user_ring_buffer__new(bpf_map__fd(skel->maps.uring_libbpf), nullptr);
  if (!lib_rb) throw ebpfpp::Error(errno, "user_ring_buffer__new");
  std::uint64_t seq = 0;
  const auto ours_fill = [&] {
    return produce_until_full(
        seq, [&] { return ours_rb.reserve(); }, [&](ev32* e) { ours_rb.submit(e); });
  };
  const auto lib_fill = [&] {
    return produce_until_full(
        seq, [&] { return static_cast<ev32*>(user_ring_buffer__reserve(lib_rb, sizeof(ev32))); },
        [&](ev32* e) { user_ring_buffer__submit(lib_rb, e); });
  };
  // Warm-up: one fill and drain each (faults the pages of both mappings in).
  ours_fill();
  drain_ring(0);
  lib_fill();
  drain_ring(1);
  std::vector<double> lib, ours;
  for (int r = 0; r < rounds; ++r) {
    for (bool mine : {r % 2 == 0, r % 2 != 0}) {
      std::uint64_t made = 0;
      double seconds = 0;
      for (int f = 0; f < fills; ++f) {
        const auto t0 = clock_type::now();
        made += mine ? ours_fill() : lib_fill();
        seconds += std::chrono::duration<double>(clock_type::now() - t0).count();
        drain_ring(mine ? 0 : 1);
      }
      (mine ? ours : lib).push_back(static_cast<double>(made) / seconds);
    }
  }
  user_ring_buffer__free(lib_rb);
  // Every record made was drained: the BPF side's count says so.
  if (ours_rb.drained() != ours_rb.submitted())
    fmt::print("  (ebpfpp: {} submitted but {} drained)\n", ours_rb.submitted(),
               ours_rb.drained().value_or(0));
  fmt::print("user ring produce 32 B  libbpf: {}\n", rates(lib));
  fmt::print("user ring produce 32 B  ebpfpp: {}\n", rates(ours));
  print_ratio("user_ringbuf_produce", ours, lib);
}

} // namespace

int main(int argc, char** argv) try {
  // No argument: every section. Else only the named ones: consume, live, user-ring, and perf
  // (consume's perf contenders alone).
  const auto want = [&](std::string_view section) {
    if (argc < 2) return true;
    for (int i = 1; i < argc; ++i)
      if (section == argv[i]) return true;
    return false;
  };
  auto skel = ebpfpp::Skeleton<bench_streams_bpf>::open();
  if (bpf_map__set_max_entries(skel->maps.ring, static_cast<std::uint32_t>(buffer_bytes)) != 0)
    throw ebpfpp::Error(errno, "resize the ring to EBPFPP_BENCH_BUFFER_MIB");
  skel.load();
  if (want("consume")) {
    consumer_only<ev32>(skel, "fill_ring32", "fill_perf32", "32B");
    consumer_only<ev256>(skel, "fill_ring256", "fill_perf256", "256B");
  } else if (want("perf")) {
    consumer_only<ev32>(skel, "fill_ring32", "fill_perf32", "32B", true);
    consumer_only<ev256>(skel, "fill_ring256", "fill_perf256", "256B", true);
  }
  if (want("wakeups")) wakeups();
  if (want("live")) live();
  if (want("user-ring")) user_ring_produce(skel);
  fmt::print(stderr, "(checksum {})\n", g_sum);
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "bench-streams: {}\n", e.what());
  return 1;
}
