// RingBuffer<Event> against a real BPF ring buffer, filled by test_streams.bpf.c's programs.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "streams_helpers.hpp"

namespace ring_buffer_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;
using ebpfpp::RingBuffer;
using ebpfpp::StreamOptions;

namespace {
constexpr std::size_t ring_bytes = std::size_t{64} * 1024;
constexpr std::size_t record_bytes = 8 + sizeof(stream_event); // header + 32 B
} // namespace

TEST_CASE("RingBuffer::events yields each record in order, in place in the ring" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::ring_buffer)) EBPFPP_SKIP(*r);
  // The producer emits from a bpf_loop (and its object is loaded whole).
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_loop)) EBPFPP_SKIP(*r);
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  CHECK(rb.size() == ring_bytes);
  test::run_raw_tp(skel.program("emit_ring"), {100, 1000, 0});
  CHECK(rb.unread_bytes() == 100 * record_bytes);

  std::vector<std::uint64_t> seqs;
  std::vector<const stream_event*> addrs;
  for (const stream_event& e : rb.events(200ms)) {
    CHECK(test::intact(e));
    // The backlog the kernel sees: the batch is released when the loop is done with it.
    CHECK(rb.unread_bytes() == 100 * record_bytes);
    CHECK(rb.has_data());
    seqs.push_back(e.seq);
    addrs.push_back(&e);
  }
  REQUIRE(seqs.size() == 100);
  for (std::size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == 1000 + i);
  // Zero copy: consecutive records sit one record (header + data) apart in the ring's memory.
  for (std::size_t i = 1; i < addrs.size(); ++i)
    CHECK(reinterpret_cast<const std::byte*>(addrs[i]) -
              reinterpret_cast<const std::byte*>(addrs[i - 1]) ==
          static_cast<std::ptrdiff_t>(record_bytes));
  CHECK(rb.unread_bytes() == 0);
  CHECK(rb.drops() == std::optional<std::uint64_t>(0));
}

TEST_CASE("RingBuffer under a concurrent producer: nothing lost beyond counted drops, nothing "
          "duplicated or torn, many wrap-arounds") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  constexpr std::uint64_t calls = 300, per_call = 2000, total = calls * per_call;
  static_assert(total * record_bytes > 100 * ring_bytes, "must wrap around the ring many times");

  std::thread producer([&] {
    for (std::uint64_t c = 0; c < calls; ++c)
      test::run_raw_tp(skel.program("emit_ring"), {per_call, c * per_call, 0});
    rb.request_stop();
  });
  std::uint64_t seen = 0, torn = 0, out_of_order = 0, missing = 0;
  std::int64_t last = -1;
  auto check = [&](const stream_event& e) {
    if (!test::intact(e)) ++torn;
    if (static_cast<std::int64_t>(e.seq) <= last)
      ++out_of_order; // a duplicate is out of order
    else
      missing += e.seq - static_cast<std::uint64_t>(last + 1);
    last = static_cast<std::int64_t>(e.seq);
    ++seen;
  };
  for (const stream_event& e : rb.events(StreamOptions().timeout(60s))) check(e);
  producer.join();
  rb.consume(check); // what arrived between the stop request and the loop's end
  missing += total - static_cast<std::uint64_t>(last + 1);

  const std::uint64_t drops = rb.drops().value();
  MESSAGE("seen " << seen << ", drops " << drops);
  CHECK(torn == 0);
  CHECK(out_of_order == 0);
  CHECK(seen + drops == total);
  CHECK(missing == drops); // every gap in the sequence is a counted drop
  CHECK(seen > 10 * ring_bytes / record_bytes);
}

TEST_CASE("RingBuffer skips discarded records without counting them as drops") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  test::run_raw_tp(skel.program("emit_ring"), {30, 0, 3});
  std::vector<std::uint64_t> seqs;
  rb.consume([&](const stream_event& e) { seqs.push_back(e.seq); });
  REQUIRE(seqs.size() == 20);
  for (auto s : seqs) CHECK(s % 3 != 0);
  CHECK(rb.drops() == std::optional<std::uint64_t>(0));
}

TEST_CASE("events() steps over discarded records in the middle of a batch") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  test::run_raw_tp(skel.program("emit_ring"), {30, 0, 3});
  test::run_raw_tp(skel.program("emit_ring"), {5, 100, 0});
  std::vector<std::uint64_t> seqs;
  for (const stream_event& e : rb.events(100ms)) {
    CHECK(test::intact(e));
    seqs.push_back(e.seq);
    if (e.seq == 100) break; // mid-run: 101..104 must stay for the next loop
  }
  REQUIRE(seqs.size() == 21);
  for (std::size_t i = 0; i < 20; ++i) CHECK(seqs[i] % 3 != 0);
  CHECK(rb.unread_bytes() == 4 * record_bytes);
  std::vector<std::uint64_t> rest;
  rb.consume([&](const stream_event& e) { rest.push_back(e.seq); });
  CHECK(rest == std::vector<std::uint64_t>{101, 102, 103, 104});
}

TEST_CASE("a full ring counts every reserve failure, and drops() reads the count in one call") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  test::run_raw_tp(skel.program("emit_ring"), {3000, 0, 0}); // 3000 x 40 B > 64 KiB
  std::uint64_t n = rb.consume([](const stream_event&) {});
  CHECK(n == ring_bytes / record_bytes);
  CHECK(rb.drops() == std::optional<std::uint64_t>(3000 - n));
}

TEST_CASE("breaking out of events() consumes exactly the records seen; the next loop goes on") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  test::run_raw_tp(skel.program("emit_ring"), {10, 0, 0});
  for (const stream_event& e : rb.events(200ms))
    if (e.seq == 2) break;
  CHECK(rb.unread_bytes() == 7 * record_bytes);
  std::vector<std::uint64_t> rest;
  for (const stream_event& e : rb.events(100ms)) rest.push_back(e.seq);
  CHECK(rest == std::vector<std::uint64_t>{3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("a blocked events() loop gets a lone record (no wake-up: the bounded wait) and ends on a "
          "stop token") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  std::stop_source stop;
  std::thread producer([&] {
    std::this_thread::sleep_for(100ms);
    test::run_raw_tp(skel.program("emit_ring"), {1, 77, 0});
    std::this_thread::sleep_for(100ms);
    stop.request_stop();
  });
  std::vector<std::uint64_t> seqs;
  const auto start = std::chrono::steady_clock::now();
  for (const stream_event& e : rb.events(StreamOptions().stop(stop.get_token()).timeout(10s)))
    seqs.push_back(e.seq);
  producer.join();
  CHECK(seqs == std::vector<std::uint64_t>{77});
  CHECK(std::chrono::steady_clock::now() - start < 5s); // the stop ended it, not the timeout
}

TEST_CASE("poll waits for records and consume does not") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  std::size_t calls = 0;
  CHECK(rb.consume([&](const stream_event&) { ++calls; }) == 0);
  CHECK(rb.poll(50ms, [&](const stream_event&) { ++calls; }) == 0);
  CHECK(calls == 0);
  test::run_raw_tp(skel.program("emit_ring"), {5, 0, 0});
  CHECK(rb.poll(1s, [&](const stream_event&) { ++calls; }) == 5);
  CHECK(calls == 5);
}

TEST_CASE("a record of the wrong size throws an Error naming both sizes, and is consumed") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  test::run_raw_tp(skel.program("emit_small"), {1, 0, 0});
  test::run_raw_tp(skel.program("emit_ring"), {1, 5, 0});
  std::vector<std::uint64_t> seqs;
  try {
    for (const stream_event& e : rb.events(100ms)) seqs.push_back(e.seq);
    FAIL("no throw");
  } catch (const ebpfpp::Error& e) {
    CHECK(std::string(e.what()).find("ring buffer 'test_ring': a record of 16 bytes is not an "
                                     "event of 32 bytes") != std::string::npos);
    CHECK(e.errnum() == EMSGSIZE);
  }
  for (const stream_event& e : rb.events(100ms)) seqs.push_back(e.seq);
  CHECK(seqs == std::vector<std::uint64_t>{5});
}

TEST_CASE("RingBuffer<Bytes> reads records of varying size") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<ebpfpp::Bytes> rb(skel, "var_ring");
  test::run_raw_tp(skel.program("emit_var"), {50, 100, 0});
  std::uint64_t seq = 100, bad = 0;
  for (ebpfpp::Bytes rec : rb.events(200ms)) {
    const std::size_t words = seq % 8 + 1;
    CHECK(rec.size() == words * 8);
    for (std::size_t w = 0; w < rec.size() / 8; ++w) {
      std::uint64_t v;
      std::memcpy(&v, rec.data() + w * 8, 8);
      bad += v != seq + w;
    }
    ++seq;
  }
  CHECK(seq == 150);
  CHECK(bad == 0);
  CHECK(rb.drops() == std::optional<std::uint64_t>(0));
}

TEST_CASE("RingBuffer refuses maps that are not ring buffers, naming the map and its type, and "
          "leaks no fd") {
  auto skel = test::load_streams();
  const std::size_t fds = test::open_fd_count();
  CHECK_THROWS_WITH_AS(RingBuffer<stream_event>(skel, "not_a_stream"),
                       doctest::Contains("view map 'not_a_stream' (hash) as "
                                         "ebpfpp::RingBuffer<stream_event>: the map type does not "
                                         "fit"),
                       ebpfpp::Error);
  CHECK_THROWS_WITH_AS(RingBuffer<stream_event>(skel, "test_perf"),
                       doctest::Contains("use ebpfpp::PerfBuffer<Event> for maps of type "
                                         "perf_event_array"),
                       ebpfpp::Error);
  CHECK_THROWS_WITH_AS(RingBuffer<stream_event>(skel, "test_rnig"),
                       doctest::Contains("find map 'test_rnig'"), ebpfpp::Error);
  CHECK(test::open_fd_count() == fds);
  {
    RingBuffer<stream_event> rb(skel, "test_ring");
    RingBuffer<stream_event> moved = std::move(rb);
    CHECK_FALSE(rb);
    CHECK(moved);
    CHECK(test::open_fd_count() > fds);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("a pinned ring buffer and its drop counter open by path") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  test::BpffsMount fs;
  auto skel = test::load_streams();
  REQUIRE(bpf_map__pin(skel->maps.test_ring, (fs.dir / "ring").c_str()) == 0);
  REQUIRE(bpf_map__pin(skel->maps.test_ring_drops, (fs.dir / "ring_drops").c_str()) == 0);
  auto rb = RingBuffer<stream_event>::open_pinned(fs.dir / "ring");
  test::run_raw_tp(skel.program("emit_ring"), {2000, 0, 0});
  const std::size_t n = rb.consume([](const stream_event&) {});
  CHECK(rb.drops() == std::optional<std::uint64_t>(2000 - n));
  CHECK_THROWS_WITH_AS(RingBuffer<stream_event>::open_pinned(fs.dir / "nope"),
                       doctest::Contains("open pinned map"), ebpfpp::Error);
}

TEST_CASE("a map under the drop counter's name that is not a per-CPU u64 counter is refused") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  test::BpffsMount fs;
  auto skel = test::load_streams();
  REQUIRE(bpf_map__pin(skel->maps.test_ring, (fs.dir / "ring").c_str()) == 0);
  // drops() would read 8 bytes per CPU into a map with 32-byte per-CPU values: an overflow.
  const int wrong = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "wrong_drops", 4, 32, 1, nullptr);
  REQUIRE(wrong >= 0);
  REQUIRE(bpf_obj_pin(wrong, (fs.dir / "ring_drops").c_str()) == 0);
  ::close(wrong);
  const std::size_t fds = test::open_fd_count();
  CHECK_THROWS_WITH_AS(
      RingBuffer<stream_event>::open_pinned(fs.dir / "ring"),
      doctest::Contains("view map 'wrong_drops' (percpu_array) as "
                        "ebpfpp::PerCpuArrayMap<long unsigned int>: the value size is 32 bytes"),
      ebpfpp::Error);
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("an events() loop cut off from its RingBuffer: destroying the generator is harmless, "
          "stepping it throws, and the records it never reached stay unread") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  test::run_raw_tp(skel.program("emit_ring"), {10, 0, 0});
  {
    // The RingBuffer goes first; the generator is destroyed after it (under ASan, any touch of
    // the freed RingBuffer would be reported).
    auto rb = std::make_unique<RingBuffer<stream_event>>(skel, "test_ring");
    auto gen = rb->events(100ms);
    auto it = gen.begin();
    REQUIRE(it != gen.end());
    CHECK(it->seq == 0);
    ++it;
    CHECK(it->seq == 1);
    rb.reset();
  }
  // Moved from while its loop is suspended: the loop throws on its next step; the moved-to
  // RingBuffer reads on after the records the loop was handed (2 by the first one, 1 here).
  RingBuffer<stream_event> a(skel, "test_ring");
  CHECK(a.unread_bytes() == 8 * record_bytes);
  auto gen = a.events(100ms);
  auto it = gen.begin();
  REQUIRE(it != gen.end());
  CHECK(it->seq == 2);
  RingBuffer<stream_event> b = std::move(a);
  try {
    ++it;
    FAIL("stepping a loop whose RingBuffer was moved did not throw");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(e.action() == "read ring buffer 'test_ring': it was destroyed or moved while a loop over "
                        "it was suspended");
    CHECK(e.hint().find("keep the stream alive") != std::string::npos);
  }
  std::vector<std::uint64_t> rest;
  b.consume([&](const stream_event& e) { rest.push_back(e.seq); });
  CHECK(rest == std::vector<std::uint64_t>{3, 4, 5, 6, 7, 8, 9});
}

// Both sides of an assignment have a loop out: each loop is cut (its next step throws), each ring
// keeps as consumed exactly the records its loop was handed, and the assigned-to RingBuffer reads
// the other's ring on from there (move_reader, detail/stream_loop.hpp).
TEST_CASE("a RingBuffer assigned onto while both sides' loops run: both loops end, and each ring "
          "consumed exactly what its loop was handed") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  test::run_raw_tp(skel.program("emit_ring"), {10, 0, 0});
  test::run_raw_tp(skel.program("emit_var"), {10, 100, 0});
  const auto first_word = [](ebpfpp::Bytes rec) {
    std::uint64_t v = 0;
    std::memcpy(&v, rec.data(), sizeof v);
    return v;
  };
  RingBuffer<ebpfpp::Bytes> a(skel, "test_ring");
  RingBuffer<ebpfpp::Bytes> b(skel, "var_ring");
  auto gen_a = a.events(100ms);
  auto it_a = gen_a.begin();
  REQUIRE(it_a != gen_a.end());
  CHECK(first_word(*it_a) == 0);
  ++it_a;
  CHECK(first_word(*it_a) == 1);
  auto gen_b = b.events(100ms);
  auto it_b = gen_b.begin();
  REQUIRE(it_b != gen_b.end());
  CHECK(first_word(*it_b) == 100);

  a = std::move(b);
  CHECK_THROWS_AS(++it_a, ebpfpp::Error);
  CHECK_THROWS_AS(++it_b, ebpfpp::Error);
  CHECK_FALSE(b);
  std::vector<std::uint64_t> rest;
  a.consume([&](ebpfpp::Bytes rec) { rest.push_back(first_word(rec)); });
  CHECK(rest == std::vector<std::uint64_t>{101, 102, 103, 104, 105, 106, 107, 108, 109});
  // test_ring's old reader published the two records its loop was handed, and no more.
  RingBuffer<ebpfpp::Bytes> again(skel, "test_ring");
  CHECK(again.unread_bytes() == 8 * record_bytes);
}

TEST_CASE("a RingBuffer has one events() loop at a time: a second one throws EBUSY") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  RingBuffer<stream_event> rb(skel, "test_ring");
  test::run_raw_tp(skel.program("emit_ring"), {4, 0, 0});
  auto first = rb.events(100ms);
  auto it = first.begin();
  REQUIRE(it != first.end());
  auto second = rb.events(100ms);
  try {
    (void)second.begin();
    FAIL("a second loop did not throw");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EBUSY);
    CHECK(e.action() == "read ring buffer 'test_ring': another loop is already reading it");
  }
  // The first loop is unharmed and reads on.
  std::vector<std::uint64_t> seqs{it->seq};
  for (++it; it != first.end(); ++it) seqs.push_back(it->seq);
  CHECK(seqs == std::vector<std::uint64_t>{0, 1, 2, 3});
  // Once it ended, a new loop may start.
  test::run_raw_tp(skel.program("emit_ring"), {1, 9, 0});
  std::vector<std::uint64_t> more;
  for (const stream_event& e : rb.events(100ms)) more.push_back(e.seq);
  CHECK(more == std::vector<std::uint64_t>{9});
}

} // namespace ring_buffer_test
