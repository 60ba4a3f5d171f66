// ebpfpp/count.bpf.h on the running kernel: two CPUs insert the same new key at the same moment,
// round after round, and every count arrives. Beside it the pattern the header warns about, to
// show the race is real on this machine (how many counts it lost is printed, not asserted: it
// depends on timing).
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <thread>

#include <pthread.h>
#include <sched.h>

#include <ebpfpp/hash_map.hpp>
#include <ebpfpp/object.hpp>

#include "helpers.hpp"
#include "test_count.bpf.skel.h"

namespace count_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_count_bpf>;

constexpr std::uint32_t rounds = 4000;

// Runs `prog` once with (key, amount) as its raw tracepoint arguments, on the calling CPU.
int run(int prog, std::uint64_t key, std::uint64_t amount = 1) {
  std::uint64_t args[2] = {key, amount};
  bpf_test_run_opts opts;
  ebpfpp::detail::init_opts(opts);
  opts.ctx_in = args;
  opts.ctx_size_in = sizeof args;
  return bpf_prog_test_run_opts(prog, &opts) == 0 ? 0 : errno;
}

// Two threads, one pinned to each of the first two CPUs, run `prog` with key r in round r; a
// spin barrier starts both on each round together, so both see key r as new.
void race(int prog) {
  std::atomic<std::uint32_t> arrived{0};
  std::atomic<int> failures{0};
  auto body = [&](int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) failures++;
    for (std::uint32_t r = 0; r < rounds; ++r) {
      arrived.fetch_add(1);
      while (arrived.load() < 2 * (r + 1)) {
      }
      if (run(prog, r) != 0) failures++;
    }
  };
  std::thread a(body, 0), b(body, 1);
  a.join();
  b.join();
  REQUIRE(failures.load() == 0);
}

template <class M>
std::uint32_t keys_not_counted_twice(M& map) {
  std::uint32_t wrong = 0;
  for (std::uint32_t r = 0; r < rounds; ++r)
    if (map.lookup(r).value_or(0) != 2) ++wrong;
  return wrong;
}

} // namespace

TEST_CASE("ebpfpp_count: two CPUs inserting the same new key lose no count") {
  if (std::thread::hardware_concurrency() < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2)
    EBPFPP_SKIP("one CPU online: no two CPUs to race");
  auto skel = Skel::open_and_load();

  race(skel.program("helper").fd());
  ebpfpp::Map<std::uint32_t, std::uint64_t> counts(skel->maps.helper_counts);
  ebpfpp::Map<std::uint32_t, std::uint64_t> lru(skel->maps.helper_lru_counts);
  CHECK(keys_not_counted_twice(counts) == 0);
  CHECK(keys_not_counted_twice(lru) == 0);

  race(skel.program("naive").fd());
  ebpfpp::Map<std::uint32_t, std::uint64_t> naive(skel->maps.naive_counts);
  const std::uint32_t lost = keys_not_counted_twice(naive);
  MESSAGE("the lookup-then-insert pattern lost a count on " << lost << " of " << rounds << " keys");
  CHECK(lost > 0);
}

TEST_CASE("ebpfpp_count: a full map returns -E2BIG and counts nothing") {
  auto skel = Skel::open_and_load();
  const int prog = skel.program("fill_tiny").fd();
  ebpfpp::Map<std::uint32_t, std::uint64_t> tiny(skel->maps.tiny);

  REQUIRE(run(prog, 7, 5) == 0);
  CHECK(skel->bss->tiny_err == 0);
  REQUIRE(run(prog, 7, 3) == 0);
  CHECK(skel->bss->tiny_err == 0);
  CHECK(tiny.lookup(7) == 8);

  REQUIRE(run(prog, 8, 1) == 0);
  CHECK(skel->bss->tiny_err == -E2BIG);
  CHECK_FALSE(tiny.lookup(8).has_value());
  CHECK(tiny.lookup(7) == 8);
}

} // namespace count_test
