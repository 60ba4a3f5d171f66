// EventLoop with real streams: a ring buffer, a perf buffer and a timer served by one thread.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>

#include "hello.bpf.skel.h"
#include "helpers.hpp"
#include "streams_helpers.hpp"

namespace event_loop_streams_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;
using ebpfpp::EventLoop;
using ebpfpp::Task;

namespace {

// Counts records, and as bad each one that is torn, repeated or out of range, or (for the ring
// buffer, one ring in write order) out of order. A perf buffer has a ring per CPU: a producer
// that moves between CPUs between its bursts may have its later burst read first.
template <class Stream>
Task<> count_records(EventLoop& loop, Stream& s, std::uint64_t want, std::uint64_t& seen,
                     std::uint64_t& bad) {
  constexpr bool ordered = std::is_same_v<Stream, ebpfpp::RingBuffer<stream_event>>;
  std::vector<bool> got(want);
  std::uint64_t next = 0;
  while (seen < want) {
    const stream_event& e = co_await loop.next(s);
    const bool fresh = e.seq < want && !got[e.seq];
    bad += !test::intact(e) || !fresh || (ordered && e.seq != next);
    if (fresh) got[e.seq] = true;
    next = e.seq + 1;
    ++seen;
  }
}

Task<> tick(EventLoop& loop, int& ticks) {
  for (;;) {
    co_await loop.sleep(10ms);
    ++ticks;
  }
}

} // namespace

TEST_CASE("one loop serves a ring buffer, a perf buffer and a timer together") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
  ebpfpp::PerfBuffer<stream_event> pb(skel, "test_perf");
  EventLoop loop;
  constexpr std::uint64_t n = 20000;
  std::uint64_t ring_seen = 0, ring_bad = 0, perf_seen = 0, perf_bad = 0;
  int ticks = 0;
  loop.spawn(count_records(loop, rb, n, ring_seen, ring_bad));
  loop.spawn(count_records(loop, pb, n, perf_seen, perf_bad));
  loop.spawn(tick(loop, ticks));
  // Small bursts with pauses: the consumer keeps up (nothing dropped), and must sleep and be
  // woken (or find the records within max_latency) many times.
  std::thread producer([&] {
    for (std::uint64_t c = 0; c < n / 200; ++c) {
      test::run_raw_tp(skel.program("emit_ring"), {200, c * 200, 0});
      test::run_raw_tp(skel.program("emit_perf"), {200, c * 200, 0});
      std::this_thread::sleep_for(1ms);
    }
  });
  // The ticker never ends, so run() returns through the stop that follows the counters.
  loop.spawn([](EventLoop& loop, std::uint64_t& a, std::uint64_t& b) -> Task<> {
    while (a < n || b < n) co_await loop.sleep(5ms);
    loop.stop();
  }(loop, ring_seen, perf_seen));
  const auto start = std::chrono::steady_clock::now();
  loop.run();
  producer.join();
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(ring_seen == n);
  CHECK(perf_seen == n);
  CHECK(ring_bad == 0);
  CHECK(perf_bad == 0);
  CHECK(rb.drops() == std::optional<std::uint64_t>(0));
  CHECK(pb.lost() == 0);
  // The timer ran throughout: roughly one tick per 10 ms of the run.
  CHECK(ticks >= std::chrono::duration_cast<std::chrono::milliseconds>(took).count() / 10 / 3);
}

TEST_CASE("a task that never suspends on a busy stream does not starve a timer") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
  test::run_raw_tp(skel.program("emit_ring"), {1500, 0, 0});
  EventLoop loop;
  std::vector<std::uint64_t> at_tick; // records read when the timer fired
  std::uint64_t seen = 0, bad = 0;
  loop.spawn(count_records(loop, rb, 1500, seen, bad));
  loop.spawn([](EventLoop& loop, std::uint64_t& seen, std::vector<std::uint64_t>& at) -> Task<> {
    co_await loop.sleep(0ms); // due at once: runs between record batches
    at.push_back(seen);
  }(loop, seen, at_tick));
  loop.run();
  CHECK(seen == 1500);
  CHECK(bad == 0);
  REQUIRE(at_tick.size() == 1);
  CHECK(at_tick[0] < 1500);
}

TEST_CASE("two tasks awaiting one stream: the second gets an Error out of run()") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
  EventLoop loop;
  std::uint64_t seen1 = 0, seen2 = 0, bad = 0;
  loop.spawn(count_records(loop, rb, 1, seen1, bad));
  loop.spawn(count_records(loop, rb, 1, seen2, bad));
  CHECK_THROWS_WITH_AS(loop.run(), doctest::Contains("another task already awaits this stream"),
                       ebpfpp::Error);
}

namespace {
Task<> catch_bad_records(EventLoop& loop, ebpfpp::RingBuffer<stream_event>& rb, int& caught) {
  for (int i = 0; i < 2; ++i) {
    try {
      (void)co_await loop.next(rb);
    } catch (const ebpfpp::Error& e) {
      ++caught;
    }
  }
  loop.stop();
}

Task<> emit_small_later(EventLoop& loop, ebpfpp::Program small) {
  co_await loop.sleep(20ms); // the reader is suspended, its stream registered, by now
  test::run_raw_tp(small, {1, 0, 0});
  co_await loop.sleep(20ms);
  test::run_raw_tp(small, {1, 0, 0});
}
} // namespace

TEST_CASE("a wrong-size record that arrives while a task waits goes to that task's co_await") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
  EventLoop loop;
  int caught = 0;
  loop.spawn(catch_bad_records(loop, rb, caught));
  loop.spawn(emit_small_later(loop, skel.program("emit_small")));
  CHECK_NOTHROW(loop.run());
  CHECK(caught == 2);
}

namespace {
Task<> count_bytes(EventLoop& loop, ebpfpp::RingBuffer<ebpfpp::Bytes>& rb, std::uint64_t want,
                   std::uint64_t& seen, std::uint64_t& bytes) {
  while (seen < want) {
    const ebpfpp::Bytes& rec = co_await loop.next(rb);
    bytes += rec.size();
    ++seen;
  }
}

Task<> first_line(EventLoop& loop, ebpfpp::TracePipe& pipe, pid_t pid, std::string& message) {
  for (;;) {
    const ebpfpp::TraceLine& line = co_await loop.next(pipe);
    if (line.pid == pid) {
      message = line.message;
      co_return;
    }
  }
}
} // namespace

TEST_CASE("co_await loop.next() reads a RingBuffer<Bytes> and a TracePipe") {
  if (const auto skip = test::skip_reason(ebpfpp::kernel::Feature::ring_buffer)) EBPFPP_SKIP(*skip);
  auto skel = test::load_streams();
  ebpfpp::RingBuffer<ebpfpp::Bytes> rb(skel, "var_ring");
  EventLoop loop;
  std::uint64_t seen = 0, bytes = 0;
  loop.spawn(count_bytes(loop, rb, 10, seen, bytes));
  // emit_var writes records of 8 * (seq % 8 + 1) bytes: seq 0..9 make 8 * (1+2+...+8 + 1+2).
  std::thread producer([&] {
    std::this_thread::sleep_for(50ms);
    test::run_raw_tp(skel.program("emit_var"), {10, 0, 0});
  });
  loop.run();
  producer.join();
  CHECK(seen == 10);
  CHECK(bytes == 8 * (36 + 1 + 2));

  // The trace pipe: hello's bpf_printk for a child's execve.
  auto hello = ebpfpp::Skeleton<hello_bpf>::open();
  hello.program("hello_kprobe").set_autoload(false);
  hello.load();
  ebpfpp::TracePipe pipe;
  ebpfpp::Tracepoint tp(hello.program("hello_tracepoint"), "syscalls", "sys_enter_execve");
  EventLoop loop2;
  std::string message;
  test::Child child = test::spawn("ebpfpp-loop", {"/bin/true"});
  loop2.spawn(first_line(loop2, pipe, child.pid, message));
  loop2.run();
  CHECK(child.wait() == 0);
  CHECK(message == "Hello World!");
}

} // namespace event_loop_streams_test
