// user_ring_buffer.hpp on the running kernel: user space produces, a BPF program on the getppid
// tracepoint (test_user_ringbuf.bpf.c) drains, checks the order and sums; the counters of
// user_ring_buffer.bpf.h come back through the typed view.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <thread>

#include <ebpfpp/link.hpp>
#include <ebpfpp/object.hpp>
#include <ebpfpp/user_ring_buffer.hpp>

#include "helpers.hpp"
#include "test_user_ringbuf.bpf.skel.h"

namespace user_ring_buffer_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

struct Command {
  std::uint64_t seq;
  std::uint64_t value;
};

using Skel = ebpfpp::Skeleton<test_user_ringbuf_bpf>;

Skel loaded() {
  auto skel = Skel::open();
  skel->rodata->target_tgid = ::getpid();
  skel.load();
  return skel;
}

} // namespace

TEST_CASE("UserRingBuffer: a BPF consumer drains every record, in order, exactly once") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::user_ring_buffer)) EBPFPP_SKIP(*r);
  auto skel = loaded();
  ebpfpp::UserRingBuffer<Command> rb(skel, "commands");
  ebpfpp::Tracepoint tp(skel.program("drain"), "syscalls", "sys_enter_getppid");
  CHECK(rb.drained() == 0u);

  std::uint64_t seq = 0, expected_sum = 0;
  for (int round = 0; round < 5; ++round) {
    // Fill the ring (8 KiB, 24 B per record) to the last record, then let the BPF side drain.
    int n = 0;
    while (Command* c = rb.reserve()) {
      c->seq = seq++;
      c->value = seq * 3;
      expected_sum += c->value;
      rb.submit(c);
      ++n;
    }
    CHECK(n == (round == 0 ? 8192 / 24 : n)); // 341 records fit an empty ring
    test::call_getppid(1);
  }
  // A discarded record is skipped by the BPF side, the next one still arrives.
  Command* d = rb.reserve();
  REQUIRE(d);
  rb.discard(d);
  CHECK(rb.push(Command{seq++, 1}));
  expected_sum += 1;
  test::call_getppid(1);

  CHECK(skel->bss->out_of_order == 0);
  CHECK(skel->bss->next_seq == seq);
  CHECK(skel->bss->sum == expected_sum);
  CHECK(rb.submitted() == seq);
  CHECK(rb.discarded() == 1);
  CHECK(rb.reserve_failures() == 5);
  CHECK(rb.drained() == seq);
  CHECK(rb.drain_failures() == 0u);
  CHECK(rb.free_bytes() == 8192);
}

TEST_CASE("UserRingBuffer: a blocking reserve times out when full, and succeeds after a drain") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::user_ring_buffer)) EBPFPP_SKIP(*r);
  auto skel = loaded();
  ebpfpp::UserRingBuffer<Command> rb(skel, "commands");
  ebpfpp::Tracepoint tp(skel.program("drain"), "syscalls", "sys_enter_getppid");
  std::uint64_t seq = 0;
  while (rb.push(Command{seq, seq})) ++seq;

  using namespace std::chrono;
  auto t0 = steady_clock::now();
  CHECK(rb.reserve(milliseconds(100)) == nullptr);
  const auto waited = steady_clock::now() - t0;
  CHECK(waited >= milliseconds(100));
  CHECK(waited < milliseconds(1000));

  // Another thread triggers the drain 100 ms from now: the wait ends with space.
  std::thread drainer([] {
    std::this_thread::sleep_for(milliseconds(100));
    test::call_getppid(1);
  });
  t0 = steady_clock::now();
  Command* c = rb.reserve(seconds(5));
  const auto blocked = steady_clock::now() - t0;
  drainer.join();
  REQUIRE(c != nullptr);
  c->seq = seq++;
  c->value = 0;
  rb.submit(c);
  CHECK(blocked >= milliseconds(50));
  CHECK(blocked < seconds(4));
  test::call_getppid(1);
  CHECK(skel->bss->next_seq == seq);
  CHECK(skel->bss->out_of_order == 0);
  CHECK(rb.drained() == seq);
}

TEST_CASE("UserRingBuffer: create, a record too big for the ring, and the wrong map type") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::user_ring_buffer)) EBPFPP_SKIP(*r);
  auto rb = ebpfpp::UserRingBuffer<Command>::create(4096, "ebpfpp_urb");
  CHECK(rb.name() == "ebpfpp_urb");
  CHECK_FALSE(rb.drained());
  CHECK(rb.push(Command{1, 2}));
  CHECK(rb.free_bytes() == 4096 - 24);

  struct Huge {
    char bytes[5000];
  };
  try {
    ebpfpp::UserRingBuffer<Huge> h(ebpfpp::MapSource::fd(rb.fd()));
    FAIL("no Error");
  } catch (const ebpfpp::Error& e) {
    CHECK(std::string(e.what()).find("cannot fit in a ring of 4096 bytes") != std::string::npos);
  }
  auto skel = loaded();
  try {
    ebpfpp::UserRingBuffer<Command> wrong(skel->maps.commands_stats);
    FAIL("no Error");
  } catch (const ebpfpp::Error& e) {
    CHECK(std::string(e.what()).find("UserRingBuffer") != std::string::npos);
  }
}

} // namespace user_ring_buffer_test
