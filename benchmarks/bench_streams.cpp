// bench-streams: ebpfpp's RingBuffer/PerfBuffer against hand-written libbpf C, same binary and
// run. Prints a table and one `ratio <metric> <value>` line per comparison, value = ebpfpp
// events/s / libbpf events/s, the median of several rounds. Not a test: run it by hand, as root,
// on an otherwise idle machine (sudo build/benchmarks/bench-streams).
//
// consumer-only: the ring (or the perf ring of one CPU) is pre-filled by a raw_tp program run
//   with bpf_prog_test_run_opts + bpf_loop, then drained; "floor" is a plain sequential read of
//   the same number of bytes.
// live: a getpid tracepoint on CPU 0 emits 32 B events for 1 s while a consumer on CPU 1
//   reads them; events/s delivered (drops are printed; a run with drops is flagged).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "bench_streams.skel.h"

namespace {

using clock_type = std::chrono::steady_clock;
struct ev32 { std::uint64_t seq, a, b, c; };
struct ev256 { std::uint64_t seq, rest[31]; };

constexpr int rounds = 5;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

void fill(ebpfpp::Program prog, std::uint64_t n) {
  for (std::uint64_t done = 0; done < n;) {
    const std::uint64_t chunk = std::min<std::uint64_t>(4000, n - done);
    std::uint64_t args[2] = {chunk, done};
    auto opts = ebpfpp::detail::make_opts<bpf_test_run_opts>();
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

template <class Ev>
void consumer_only(ebpfpp::Skeleton<bench_streams_bpf>& skel, const char* fill_ring,
                   const char* fill_perf, const char* label) {
  const std::uint64_t n_ring = std::min<std::uint64_t>(1'000'000, (64u << 20) / (sizeof(Ev) + 8) - 16);
  std::vector<double> lib, ours, gen, floor_v, plib, pours;
  std::vector<std::byte> bytes(n_ring * (sizeof(Ev) + 8));
  for (int r = 0; r < rounds; ++r) {
    {
      std::uint64_t count = 0;
      ring_buffer* rb = ring_buffer__new(bpf_map__fd(skel->maps.ring), libbpf_ring_cb<Ev>, &count, nullptr);
      fill(skel.program(fill_ring), n_ring);
      lib.push_back(rate(n_ring, [&] { ring_buffer__consume(rb); return count; }));
      ring_buffer__free(rb);
    }
    {
      ebpfpp::RingBuffer<Ev> rb(skel, "ring");
      fill(skel.program(fill_ring), n_ring);
      ours.push_back(rate(n_ring, [&] {
        std::uint64_t count = 0;
        rb.consume([&](const Ev& e) noexcept { ++count; g_sum += e.seq; });
        return count;
      }));
      fill(skel.program(fill_ring), n_ring);
      gen.push_back(rate(n_ring, [&] {
        std::uint64_t count = 0;
        for (const Ev& e : rb.events(std::chrono::milliseconds(0))) { ++count; g_sum += e.seq; }
        return count;
      }));
    }
    floor_v.push_back(rate(n_ring, [&] {
      std::uint64_t count = 0;
      for (std::size_t off = 0; off < bytes.size(); off += sizeof(Ev) + 8) {
        std::uint64_t v;
        std::memcpy(&v, bytes.data() + off + 8, sizeof v);
        g_sum += v;
        ++count;
      }
      return count;
    }));
    // Perf: one CPU's ring, 64 MiB.
    pin(0);
    const std::uint64_t n_perf = std::min<std::uint64_t>(1'000'000, (64u << 20) / (sizeof(Ev) + 16) - 16);
    {
      std::uint64_t count = 0;
      perf_buffer* pb = perf_buffer__new(bpf_map__fd(skel->maps.perf), 16384, libbpf_perf_cb<Ev>,
                                         nullptr, &count, nullptr);
      fill(skel.program(fill_perf), n_perf);
      plib.push_back(rate(n_perf, [&] { perf_buffer__consume(pb); return count; }));
      perf_buffer__free(pb);
    }
    {
      ebpfpp::PerfBuffer<Ev> pb(skel, "perf", ebpfpp::PerfBufferOptions().pages(16384));
      fill(skel.program(fill_perf), n_perf);
      pours.push_back(rate(n_perf, [&] {
        std::uint64_t count = 0;
        pb.consume([&](const Ev& e) noexcept { ++count; g_sum += e.seq; });
        return count;
      }));
    }
  }
  fmt::print("consumer-only {:>4}  ring: libbpf {:7.1f} M/s  ebpfpp consume {:7.1f} M/s  events() {:7.1f} M/s  floor {:7.1f} M/s\n",
             label, median(lib) / 1e6, median(ours) / 1e6, median(gen) / 1e6, median(floor_v) / 1e6);
  fmt::print("consumer-only {:>4}  perf: libbpf {:7.1f} M/s  ebpfpp consume {:7.1f} M/s\n", label,
             median(plib) / 1e6, median(pours) / 1e6);
  std::vector<double> rr, rg, pr;
  for (int r = 0; r < rounds; ++r) {
    rr.push_back(ours[r] / lib[r]);
    rg.push_back(gen[r] / lib[r]);
    pr.push_back(pours[r] / plib[r]);
  }
  fmt::print("ratio ring_consume_{} {:.2f}\n", label, median(rr));
  fmt::print("ratio ring_events_{} {:.2f}\n", label, median(rg));
  fmt::print("ratio perf_consume_{} {:.2f}\n", label, median(pr));
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

void live() {
  std::vector<double> lib, ours;
  for (int r = 0; r < rounds; ++r) {
    for (bool mine : {false, true}) {
      auto skel = ebpfpp::Skeleton<bench_streams_bpf>::open();
      skel->rodata->target_tgid = ::getpid();
      skel.load();
      ebpfpp::Tracepoint tp(skel.program(mine ? "live_ebpfpp" : "live_plain"), "syscalls", "sys_enter_getpid");
      std::atomic<bool> done{false};
      std::uint64_t delivered = 0, drops = 0;
      std::thread consumer;
      if (mine) {
        ebpfpp::RingBuffer<ev32> rb(skel, "live_ring");
        consumer = std::thread([&] {
          pin(1);
          for (const ev32& e : rb.events(ebpfpp::StreamOptions().timeout(std::chrono::seconds(5)))) {
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
        ring_buffer* rb = ring_buffer__new(bpf_map__fd(skel->maps.plain_ring), libbpf_ring_cb<ev32>, &count, nullptr);
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
      fmt::print("live 32 B  {:7}: {:6.2f} M events/s delivered, {} drops{}\n", mine ? "ebpfpp" : "libbpf",
                 static_cast<double>(delivered) / 1e6, drops, drops ? "  (NOT zero-drop)" : "");
    }
  }
  std::vector<double> ratio;
  for (int r = 0; r < rounds; ++r) ratio.push_back(ours[r] / lib[r]);
  fmt::print("ratio live_ring_32 {:.2f}\n", median(ratio));
}

} // namespace

int main() try {
  auto skel = ebpfpp::Skeleton<bench_streams_bpf>::open_and_load();
  consumer_only<ev32>(skel, "fill_ring32", "fill_perf32", "32B");
  consumer_only<ev256>(skel, "fill_ring256", "fill_perf256", "256B");
  live();
  fmt::print(stderr, "(checksum {})\n", g_sum);
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "bench-streams: {}\n", e.what());
  return 1;
}
