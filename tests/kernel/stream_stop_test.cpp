// How stream loops end while a producer never lets them run dry: a timeout, request_stop(), a
// stop fd and a stop token must each end the loop promptly, and a stop must end one loop only.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include <sys/eventfd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "streams_helpers.hpp"

namespace stream_stop_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

namespace {

// Keeps `program` emitting batches of 2000 records from another thread until destroyed.
struct Producer {
  std::atomic<bool> go{true};
  std::thread thread;
  Producer(const ebpfpp::Program& program, bool perf) {
    thread = std::thread([this, program, perf] {
      std::uint64_t seq = 0;
      while (go.load()) {
        test::run_raw_tp(program, {perf ? 200u : 2000u, seq, 0});
        seq += 2000;
      }
    });
  }
  ~Producer() {
    go = false;
    thread.join();
  }
};

// Consumes slower than the producer produces (5 us per record), so the stream never runs dry.
template <class Stream>
std::chrono::milliseconds drain_slowly(Stream& s, ebpfpp::StreamOptions options) {
  const auto start = std::chrono::steady_clock::now();
  for ([[maybe_unused]] const auto& e : s.events(options)) {
    const auto until = std::chrono::steady_clock::now() + 5us;
    while (std::chrono::steady_clock::now() < until) {
    }
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

template <class Stream>
void check_loop_ends_under_load(Stream& s) {
  // These bounds are generous for a noisy 2-CPU machine; without per-batch checks the loops ran
  // until the producer stopped.
  CHECK(drain_slowly(s, ebpfpp::StreamOptions().timeout(200ms)) < 1500ms);

  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    s.request_stop();
  });
  CHECK(drain_slowly(s, ebpfpp::StreamOptions().timeout(10s)) < 1500ms);
  stopper.join();

  test::UniqueEventFd efd;
  std::thread signaller([&] {
    std::this_thread::sleep_for(200ms);
    const std::uint64_t one = 1;
    CHECK(::write(efd.fd, &one, sizeof one) == sizeof one);
  });
  CHECK(drain_slowly(s, ebpfpp::StreamOptions().timeout(10s).stop_fd(efd.fd)) < 1500ms);
  signaller.join();

  std::stop_source source;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    source.request_stop();
  });
  CHECK(drain_slowly(s, ebpfpp::StreamOptions().timeout(10s).stop(source.get_token())) < 1500ms);
  canceller.join();

  // Each stop ended one loop: this one runs to its own timeout.
  CHECK(drain_slowly(s, ebpfpp::StreamOptions().timeout(300ms)) >= 300ms);
}

} // namespace

TEST_CASE("a ring buffer loop ends on timeout and every kind of stop while records keep coming") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
  Producer producer(skel.program("emit_ring"), false);
  check_loop_ends_under_load(rb);
}

TEST_CASE("a perf buffer loop ends on timeout and every kind of stop while samples keep coming") {
  auto skel = test::load_streams();
  ebpfpp::PerfBuffer<stream_event> pb(skel, "test_perf");
  Producer producer(skel.program("emit_perf"), true);
  check_loop_ends_under_load(pb);
}

TEST_CASE("a stop token already stopped ends one loop, not the next") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
  std::stop_source source;
  source.request_stop();
  for ([[maybe_unused]] const auto& e :
       rb.events(ebpfpp::StreamOptions().stop(source.get_token()))) {
  }
  const auto start = std::chrono::steady_clock::now();
  for ([[maybe_unused]] const auto& e : rb.events(300ms)) {
  }
  CHECK(std::chrono::steady_clock::now() - start >= 300ms);
}

namespace {

// Steps `g`'s iterator to the end of its loop (at most `limit` values), then past it twice: an
// ended loop stays ended. Before the fix, ++ resumed the finished coroutine (SIGSEGV).
template <class Gen>
void step_past_the_end(Gen&& g, int limit) {
  auto it = g.begin();
  for (int i = 0; i < limit && it != g.end(); ++i) ++it;
  REQUIRE(it == g.end());
  ++it;
  CHECK(it == g.end());
  ++it;
  CHECK(it == g.end());
}

} // namespace

TEST_CASE("stepping a stream's loop after it ended stays at its end (ring, perf, trace pipe)") {
  auto skel = test::load_streams();
  SUBCASE("ring buffer, after a timeout") {
    if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
    ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
    test::run_raw_tp(skel.program("emit_ring"), {3, 0, 0});
    step_past_the_end(rb.events(50ms), 100);
    // The buffer reads on: a new loop sees what comes next.
    test::run_raw_tp(skel.program("emit_ring"), {2, 10, 0});
    int seen = 0;
    for (const stream_event& e : rb.events(50ms))
      CHECK(e.seq == 10u + static_cast<unsigned>(seen++));
    CHECK(seen == 2);
  }
  SUBCASE("perf buffer, after a timeout") {
    ebpfpp::PerfBuffer<stream_event> pb(skel, "test_perf");
    test::run_raw_tp(skel.program("emit_perf"), {3, 0, 0});
    step_past_the_end(pb.events(50ms), 100);
    step_past_the_end(pb.records(ebpfpp::StreamOptions().timeout(10ms)), 100);
  }
  SUBCASE("trace pipe, after a timeout") {
    REQUIRE_MESSAGE(ebpfpp::kernel::tracefs(), "tracefs is not mounted (scripts/test mounts it)");
    ebpfpp::TracePipe pipe;
    step_past_the_end(pipe.lines(ebpfpp::StreamOptions().timeout(50ms)), 100000);
  }
}

} // namespace stream_stop_test
