// What may be shared between threads (docs/threads.md), exercised at once: map operations on
// several threads beside a ring buffer consumer, an observer thread and a stop from another
// thread. Run under TSan in CI (scripts/sanitize: the test names contain "thread").
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "streams_helpers.hpp"

namespace threads_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

TEST_CASE("threads: map operations on three threads beside a ring buffer consumer, an observer "
          "and a producer that stops it") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
  // One Map object shared by every map thread, as docs/threads.md allows.
  auto counts =
      ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 1024, "thread_counts");
  auto totals = ebpfpp::PerCpuArrayMap<std::uint64_t>::create(4, "thread_totals");

  constexpr std::uint64_t calls = 40, per_call = 500, total = calls * per_call;
  constexpr std::uint32_t map_threads = 3, keys_per_thread = 64, rounds = 200;

  std::atomic<bool> producing{true};
  std::thread producer([&] {
    for (std::uint64_t c = 0; c < calls; ++c)
      test::run_raw_tp(skel.program("emit_ring"), {per_call, c * per_call, 0});
    producing = false;
    rb.request_stop(); // from this thread, while the consumer loop runs on the main one
  });

  // Each map thread owns its keys (exact values) and reads the others' (any value).
  std::atomic<std::uint64_t> wrong_own{0}, foreign_reads{0}, iterated{0};
  std::vector<std::thread> mappers;
  for (std::uint32_t t = 0; t < map_threads; ++t) {
    mappers.emplace_back([&, t] {
      for (std::uint32_t r = 1; r <= rounds; ++r) {
        for (std::uint32_t i = 0; i < keys_per_thread; ++i) {
          const std::uint32_t key = t * 1000 + i;
          counts.update(key, r);
          if (counts.lookup(key) != std::optional<std::uint64_t>(r)) ++wrong_own;
          if (counts.lookup(((t + 1) % map_threads) * 1000 + i)) ++foreign_reads;
        }
        if (r % 2 == 1) counts.erase(t * 1000); // comes back next round
        if (r % 50 == 0) iterated += counts.keys().size();
        totals.set(t, r);
      }
    });
  }

  // The observers docs/threads.md lists as safe from any thread.
  std::atomic<std::uint64_t> looks{0}, too_big{0};
  std::thread observer([&] {
    while (producing || looks < 1000) {
      if (rb.unread_bytes() > rb.size()) ++too_big;
      (void)rb.has_data();
      (void)rb.drops();
      ++looks;
    }
  });

  std::uint64_t seen = 0, torn = 0;
  std::int64_t last = -1;
  std::uint64_t out_of_order = 0;
  auto check = [&](const stream_event& e) {
    if (!test::intact(e)) ++torn;
    if (static_cast<std::int64_t>(e.seq) <= last) ++out_of_order;
    last = static_cast<std::int64_t>(e.seq);
    ++seen;
  };
  for (const stream_event& e : rb.events(ebpfpp::StreamOptions().timeout(60s))) check(e);
  producer.join();
  observer.join();
  for (auto& m : mappers) m.join();
  rb.consume(check); // what arrived between the stop request and the loop's end

  MESSAGE("seen " << seen << ", drops " << rb.drops().value() << ", observer looks " << looks
                  << ", keys iterated " << iterated);
  CHECK(torn == 0);
  CHECK(out_of_order == 0);
  CHECK(seen + rb.drops().value() == total);
  CHECK(too_big == 0);
  CHECK(looks > 0);
  CHECK(wrong_own == 0);
  CHECK(foreign_reads > 0);
  // Every key holds its owner's last round; the erased key came back.
  for (std::uint32_t t = 0; t < map_threads; ++t) {
    for (std::uint32_t i = 0; i < keys_per_thread; ++i)
      CHECK(counts.lookup(t * 1000 + i) == std::optional<std::uint64_t>(rounds));
    const auto per_cpu = totals.get(t);
    for (std::uint64_t v : per_cpu) CHECK(v == rounds);
  }
  CHECK(counts.keys().size() == map_threads * keys_per_thread);
}

} // namespace threads_test
