// PerfBuffer<Event> against a real perf event array, filled by test_streams.bpf.c's programs
// (bpf_perf_event_output with BPF_F_CURRENT_CPU: the CPU the test run happens on).
#include <doctest/doctest.h>

#include <memory>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <sched.h>

#include <bpf/bpf.h>
#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "identity.hpp"
#include "streams_helpers.hpp"

namespace perf_buffer_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;
using ebpfpp::PerfBuffer;
using ebpfpp::PerfBufferOptions;

TEST_CASE("PerfBuffer::events yields each sample in order with its fields intact" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::perf_buffer)) EBPFPP_SKIP(*r);
  // The producer emits from a bpf_loop (and its object is loaded whole).
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_loop)) EBPFPP_SKIP(*r);
  auto skel = test::load_streams();
  PerfBuffer<stream_event> pb(skel, "test_perf");
  CHECK(!pb.cpus().empty());
  test::run_raw_tp(skel.program("emit_perf"), {100, 500, 0});
  std::vector<std::uint64_t> seqs;
  std::uint64_t torn = 0;
  for (const stream_event& e : pb.events(300ms)) {
    torn += !test::intact(e);
    seqs.push_back(e.seq);
  }
  REQUIRE(seqs.size() == 100);
  for (std::size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == 500 + i);
  CHECK(torn == 0);
  CHECK(pb.lost() == 0);
}

TEST_CASE("a burst into a one-page perf ring loses samples: counted per CPU and in total, and "
          "reported in order with the samples") {
  auto skel = test::load_streams();
  PerfBuffer<stream_event> pb(skel, "test_perf", PerfBufferOptions().pages(1));
  // Stay on one CPU, so the whole burst goes to one ring.
  cpu_set_t set;
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &set)) ++cpu;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  std::uint64_t samples = 0, notices = 0, lost = 0;
  std::int64_t last = -1;
  bool loss_between = false; // a loss notice came after some samples and before seq 1000
  auto read = [&] {
    for (const auto& r : pb.records(200ms)) {
      CHECK(r.cpu == cpu);
      if (r.event) {
        CHECK(test::intact(*r.event));
        CHECK(static_cast<std::int64_t>(r.event->seq) > last);
        if (r.event->seq == 1000) loss_between = notices > 0 && samples > 0;
        last = static_cast<std::int64_t>(r.event->seq);
        ++samples;
      } else {
        CHECK(r.lost > 0);
        ++notices;
        lost += r.lost;
      }
    }
  };
  test::run_raw_tp(skel.program("emit_perf"), {1000, 0, 0}); // 1000 x 48 B >> 4 KiB
  read();
  // The kernel writes its loss notice before the next sample that fits.
  test::run_raw_tp(skel.program("emit_perf"), {1, 1000, 0});
  read();
  REQUIRE(sched_setaffinity(0, sizeof set, &set) == 0);
  MESSAGE("samples " << samples << ", lost " << lost << " in " << notices << " notices");
  CHECK(notices > 0);
  CHECK(loss_between);
  CHECK(samples + lost == 1001);
  CHECK(pb.lost() == lost);
  CHECK(pb.lost_on(cpu) == lost);
}

namespace {
// stream_event seen as 32-bit words: alignof 4, so PerfBuffer hands samples out in place.
struct words_event {
  std::uint32_t w[8];
};
stream_event as_stream_event(const words_event& e) {
  stream_event s;
  std::memcpy(&s, &e, sizeof s);
  return s;
}
} // namespace

TEST_CASE("PerfBuffer hands out 4-byte-aligned events in place in the ring, and copies the ones "
          "that wrap around its end") {
  auto skel = test::load_streams();
  // One 4 KiB page per CPU: 48 B records do not divide it, so a record straddles the end.
  PerfBuffer<words_event> pb(skel, "test_perf", PerfBufferOptions().pages(1));
  cpu_set_t set;
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &set)) ++cpu;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  std::uint64_t next = 0, torn = 0, in_place = 0, copies = 0;
  const words_event* prev = nullptr;
  for (int batch = 0; batch < 6; ++batch) { // 6 x 50 x 48 B: the ring wraps 3 times
    test::run_raw_tp(skel.program("emit_perf"), {50, next, 0});
    for (const words_event& e : pb.events(200ms)) {
      const stream_event s = as_stream_event(e);
      torn += !test::intact(s);
      CHECK(s.seq == next);
      ++next;
      // In place: 4 bytes past an 8-aligned record start (an aligned copy would be 8-aligned).
      if (reinterpret_cast<std::uintptr_t>(&e) % 8 == 4) {
        ++in_place;
        if (prev) { // the next record, or the first one after a record that ended the ring
          const auto step =
              reinterpret_cast<const std::byte*>(&e) - reinterpret_cast<const std::byte*>(prev);
          CHECK((step == 48 || step == 48 - 4096));
        }
        prev = &e;
      } else {
        ++copies;
        prev = nullptr;
      }
    }
    prev = nullptr;
  }
  REQUIRE(sched_setaffinity(0, sizeof set, &set) == 0);
  MESSAGE(in_place << " in place, " << copies << " copied");
  CHECK(next == 300);
  CHECK(torn == 0);
  CHECK(pb.lost() == 0);
  CHECK(in_place > 250);
  CHECK(copies >= 1); // the record across the end of the ring
}

namespace {
// Pins the calling thread to its first allowed CPU (so a burst goes to one ring) until it ends.
struct PinnedToOneCpu {
  cpu_set_t saved;
  int cpu = 0;
  PinnedToOneCpu() {
    REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
    while (!CPU_ISSET(cpu, &saved)) ++cpu;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  }
  ~PinnedToOneCpu() { sched_setaffinity(0, sizeof saved, &saved); }
  PinnedToOneCpu(const PinnedToOneCpu&) = delete;
  PinnedToOneCpu& operator=(const PinnedToOneCpu&) = delete;
};
} // namespace

// consume() walks a ring by itself (detail/perf_reader.hpp's drain(): a plain sample steps by
// its known size, anything else goes through the general decoder): every kind of record here.
TEST_CASE("PerfBuffer::consume() hands over every sample in order across the ring's end, in "
          "place or copied, and counts and skips loss notices") {
  auto skel = test::load_streams();
  auto check = [&](auto tag) {
    using E = decltype(tag);
    const PinnedToOneCpu pin;
    // One 4 KiB page: 48 B records do not divide it, so records straddle its end.
    PerfBuffer<E> pb(skel, "test_perf", PerfBufferOptions().pages(1));
    std::uint64_t next = 0, torn = 0, in_place = 0;
    auto take = [&](const E& e) {
      stream_event s;
      std::memcpy(&s, &e, sizeof s);
      torn += !test::intact(s);
      CHECK(s.seq == next);
      next = s.seq + 1;
      in_place += reinterpret_cast<std::uintptr_t>(&e) % 8 == 4; // 4 past an 8-aligned record
    };
    for (std::uint64_t batch = 0; batch < 6; ++batch) { // 6 x 50 x 48 B: the ring wraps 3 times
      test::run_raw_tp(skel.program("emit_perf"), {50, batch * 50, 0});
      CHECK(pb.consume(take) == 50);
      CHECK(next == (batch + 1) * 50);
    }
    CHECK(pb.consume(take) == 0);
    CHECK(torn == 0);
    if constexpr (alignof(E) <= 4) {
      CHECK(in_place > 250); // all but the samples across the ring's end
      CHECK(in_place < 300);
    } else {
      CHECK(in_place == 0); // copies, 8-aligned
    }

    // A burst of 1000 into the page: the kernel drops most, and writes a loss notice before the
    // next sample that fits once consume() made room. consume() counts the notice, skips it and
    // goes on in order.
    std::uint64_t samples = 0;
    std::vector<std::uint64_t> seqs;
    auto take_all = [&](const E& e) {
      stream_event s;
      std::memcpy(&s, &e, sizeof s);
      torn += !test::intact(s);
      seqs.push_back(s.seq);
      ++samples;
    };
    test::run_raw_tp(skel.program("emit_perf"), {1000, 300, 0});
    std::size_t n = pb.consume(take_all);
    CHECK(pb.lost() == 0); // the notice waits for room in the ring
    test::run_raw_tp(skel.program("emit_perf"), {1, 1300, 0});
    n += pb.consume(take_all);
    CHECK(n == samples);
    CHECK(torn == 0);
    CHECK(pb.lost() > 0);
    CHECK(pb.lost_on(pin.cpu) == pb.lost());
    CHECK(samples + pb.lost() == 1001);
    REQUIRE(!seqs.empty());
    CHECK(seqs.front() == 300);
    CHECK(seqs.back() == 1300); // written after the notice
    CHECK(std::is_sorted(seqs.begin(), seqs.end()));
    CHECK(std::adjacent_find(seqs.begin(), seqs.end()) == seqs.end());
  };
  SUBCASE("alignof 8: copies") {
    check(stream_event{});
  }
  SUBCASE("alignof 4: in place") {
    check(words_event{});
  }
}

TEST_CASE("PerfBuffer::consume() throws for a sample of the wrong size, past it: the next "
          "consume() goes on with the samples after it") {
  auto skel = test::load_streams();
  const PinnedToOneCpu pin;
  PerfBuffer<stream_event> pb(skel, "test_perf");
  test::run_raw_tp(skel.program("emit_perf"), {3, 0, 0});
  test::run_raw_tp(skel.program("emit_perf_small"), {1, 3, 0});
  test::run_raw_tp(skel.program("emit_perf"), {5, 4, 0});
  std::vector<std::uint64_t> seqs;
  auto take = [&](const stream_event& e) { seqs.push_back(e.seq); };
  CHECK_THROWS_WITH_AS(pb.consume(take),
                       doctest::Contains("perf buffer 'test_perf': a sample of 20 bytes (padded) "
                                         "is not an event of 32 bytes"),
                       ebpfpp::Error);
  CHECK(seqs == std::vector<std::uint64_t>{0, 1, 2});
  CHECK(pb.has_data());
  CHECK(pb.consume(take) == 5);
  CHECK(seqs == std::vector<std::uint64_t>{0, 1, 2, 4, 5, 6, 7, 8});
  CHECK_FALSE(pb.has_data());
}

TEST_CASE("a perf sample of the wrong size throws an Error naming both sizes") {
  auto skel = test::load_streams();
  PerfBuffer<stream_event> pb(skel, "test_perf");
  test::run_raw_tp(skel.program("emit_perf_small"), {1, 0, 0});
  CHECK_THROWS_WITH_AS(
      [&] {
        for ([[maybe_unused]] const stream_event& e : pb.events(200ms)) {
        }
      }(),
      doctest::Contains("perf buffer 'test_perf': a sample of 20 bytes (padded) is not an event of "
                        "32 bytes"),
      ebpfpp::Error);
}

TEST_CASE("PerfBuffer refuses other map types and bad page counts, leaking no fd") {
  auto skel = test::load_streams();
  const std::size_t fds = test::open_fd_count();
  CHECK_THROWS_WITH_AS(PerfBuffer<stream_event>(skel, "test_ring"),
                       doctest::Contains("view map 'test_ring' (ringbuf) as "
                                         "ebpfpp::PerfBuffer<stream_event>: the map type does not "
                                         "fit"),
                       ebpfpp::Error);
  CHECK_THROWS_WITH_AS(PerfBuffer<stream_event>(skel, "test_perf", PerfBufferOptions().pages(3)),
                       doctest::Contains("power of two"), ebpfpp::Error);
  CHECK(test::open_fd_count() == fds);
  {
    PerfBuffer<stream_event> pb(skel, "test_perf");
    CHECK(test::open_fd_count() > fds);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("breaking out of PerfBuffer::events() consumes exactly the samples seen, copied or in "
          "place") {
  auto skel = test::load_streams();
  auto check = [&](auto tag) {
    using E = decltype(tag);
    PerfBuffer<E> pb(skel, "test_perf");
    auto seq_of = [](const E& e) {
      stream_event s;
      std::memcpy(&s, &e, sizeof s);
      return s.seq;
    };
    test::run_raw_tp(skel.program("emit_perf"), {10, 0, 0});
    for (const E& e : pb.events(200ms)) {
      CHECK(pb.has_data()); // the samples handed out are released as the walk goes on
      if (seq_of(e) == 2) break;
    }
    CHECK(pb.has_data());
    std::vector<std::uint64_t> rest;
    for (const E& e : pb.events(100ms)) rest.push_back(seq_of(e));
    CHECK(rest == std::vector<std::uint64_t>{3, 4, 5, 6, 7, 8, 9});
  };
  SUBCASE("alignof 8: copies") {
    check(stream_event{});
  }
  SUBCASE("alignof 4: in place") {
    check(words_event{});
  }
}

TEST_CASE("replacing a PerfBuffer with a newer one on the same map keeps the newer one's rings") {
  auto skel = test::load_streams();
  auto opts = PerfBufferOptions().wakeup_events(1);
  PerfBuffer<stream_event> pb(skel, "test_perf", opts);
  test::run_raw_tp(skel.program("emit_perf"), {10, 0, 0});
  CHECK(pb.consume([](const stream_event&) {}) == 10);
  {
    PerfBuffer<stream_event> newer(skel, "test_perf", opts);
    pb = std::move(newer); // the old buffer closes after the newer one took the slots
  }
  test::run_raw_tp(skel.program("emit_perf"), {10, 0, 0});
  CHECK(pb.poll(1s, [](const stream_event&) {}) == 10);

  // An older buffer destroyed after a newer one opened leaves the newer one working too.
  auto older = std::make_unique<PerfBuffer<stream_event>>(skel, "test_perf", opts);
  PerfBuffer<stream_event> newest(skel, "test_perf", opts);
  older.reset();
  test::run_raw_tp(skel.program("emit_perf"), {10, 0, 0});
  CHECK(newest.poll(1s, [](const stream_event&) {}) == 10);
}

TEST_CASE("a PerfBuffer loop cut off from its buffer: destroying it is harmless, stepping throws") {
  auto skel = test::load_streams();
  auto pb = std::make_unique<PerfBuffer<stream_event>>(skel, "test_perf");
  test::run_raw_tp(skel.program("emit_perf"), {10, 0, 0});
  {
    auto gen = pb->records(100ms);
    auto it = gen.begin();
    REQUIRE(it != gen.end());
    auto moved = std::move(*pb); // the loop's frame still points at *pb
    try {
      ++it;
      FAIL("stepping a loop whose PerfBuffer was moved did not throw");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EINVAL);
      CHECK(e.action() ==
            "read perf buffer 'test_perf': it was destroyed or moved while a loop over it was "
            "suspended");
    }
  }
  // Destroyed first, generator after (ASan would report a touch of the freed buffer).
  pb = std::make_unique<PerfBuffer<stream_event>>(skel, "test_perf");
  test::run_raw_tp(skel.program("emit_perf"), {10, 0, 0});
  auto gen = pb->events(100ms);
  auto it = gen.begin();
  REQUIRE(it != gen.end());
  CHECK(it->seq == 0);
  pb.reset();
}

// The map's slots that hold a ring, found by deleting them: a filled slot deletes (0), an empty
// one is ENOENT. (A perf event array cannot be read from user space: lookups are EOPNOTSUPP.)
std::vector<int> filled_slots(int map_fd) {
  std::vector<int> filled;
  for (int cpu : ebpfpp::detail::online_cpus()) {
    if (bpf_map_delete_elem(map_fd, &cpu) == 0)
      filled.push_back(cpu);
    else
      CHECK_MESSAGE(errno == ENOENT, "slot " << cpu << ": " << std::strerror(errno));
  }
  return filled;
}

// Issue 19: without CAP_SYS_ADMIN the reader cannot have a map file of its own
// (BPF_MAP_GET_FD_BY_ID), so it stores its rings through the file it shares with the loader and
// has libbpf delete them when it goes. Here the loader (root) keeps that file open after the
// reader is gone: if the deletes were skipped, the slots would keep the dead rings.
TEST_CASE("a PerfBuffer without CAP_SYS_ADMIN takes its rings out of the map when destroyed") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::perf_buffer)) EBPFPP_SKIP(*r);
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_loop)) EBPFPP_SKIP(*r);
  auto skel = test::load_streams(); // by root: the child inherits its fds
  const int map_fd = bpf_map__fd(skel->maps.test_perf);
  const std::uint32_t map_id = [&] {
    PerfBuffer<stream_event> pb(skel, "test_perf");
    // The check finds rings where they are: root's buffer has one in every online CPU's slot.
    CHECK(filled_slots(map_fd) == ebpfpp::detail::online_cpus());
    return pb.info().id;
  }();
  REQUIRE(filled_slots(map_fd).empty());

  auto r = test::run_as(
      65534, test::cap_bit(test::cap_bpf) | test::cap_bit(test::cap_perfmon),
      [&](test::Reporter& rep) {
        rep.run("map file of its own", [&] {
          ebpfpp::detail::UniqueFd own(bpf_map_get_fd_by_id(map_id));
          if (!own) throw ebpfpp::Error(errno, "open map by id");
          return std::string("opened");
        });
        rep.run("read, then destroy", [&] {
          std::size_t read = 0;
          {
            // 2 pages a CPU: uid 65534 may lock only perf_event_mlock_kb (516 KB) of rings.
            PerfBuffer<stream_event> pb(skel, "test_perf",
                                        PerfBufferOptions().pages(2).wakeup_events(1));
            std::array<std::uint64_t, 3> args{10, 0, 0};
            bpf_test_run_opts opts;
            ebpfpp::detail::init_opts(opts);
            opts.ctx_in = args.data();
            opts.ctx_size_in = sizeof args;
            if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.emit_perf), &opts) != 0)
              throw ebpfpp::Error(errno, "test_run emit_perf");
            read = pb.poll(1s, [](const stream_event&) {});
          }
          return std::to_string(read);
        });
      });
  // The child took the shared-file path: BPF_MAP_GET_FD_BY_ID needs CAP_SYS_ADMIN.
  CHECK_FALSE(r["map file of its own"].ok);
  CHECK(r["map file of its own"].errnum == EPERM);
  CHECK(test::worked(r, "read, then destroy") == "10"); // its rings were in the slots
  CHECK(filled_slots(map_fd) == std::vector<int>{});    // and are not any more
}

} // namespace perf_buffer_test
