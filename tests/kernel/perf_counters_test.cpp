// PerfCounters on the running kernel: counting perf events in a perf event array, read by a BPF
// program (test_counters.bpf.c, run with BPF_PROG_TEST_RUN on a chosen CPU) with
// bpf_perf_event_read_value and by user space with read(2). The counter is page faults, which
// this thread causes in a number it chooses: it writes to N fresh pages.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include <linux/perf_event.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ebpfpp/object.hpp>
#include <ebpfpp/perf_counters.hpp>
#include <ebpfpp/test_run.hpp>

#include "helpers.hpp"
#include "test_counters.bpf.skel.h"

namespace perf_counters_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

constexpr std::size_t fresh_pages = 64;

ebpfpp::PerfEventConfig page_faults() {
  return ebpfpp::PerfEventConfig::software(PERF_COUNT_SW_PAGE_FAULTS, "page-faults");
}

// The CPUs this thread may run on; pins it to one of them for its lifetime, then restores.
struct Pinned {
  cpu_set_t saved{};
  std::vector<int> allowed;
  int cpu = -1;
  Pinned() {
    REQUIRE(::sched_getaffinity(0, sizeof saved, &saved) == 0);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &saved)) allowed.push_back(c);
    REQUIRE(!allowed.empty());
    pin(allowed.front());
  }
  void pin(int c) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    REQUIRE(::sched_setaffinity(0, sizeof one, &one) == 0);
    cpu = c;
  }
  Pinned(const Pinned&) = delete;
  Pinned& operator=(const Pinned&) = delete;
  ~Pinned() { ::sched_setaffinity(0, sizeof saved, &saved); }
};

// N anonymous pages never touched: writing a byte to each is one page fault each. Huge pages
// are off for them, so that one fault does not map them all.
struct FreshPages {
  std::size_t size = fresh_pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  char* base = nullptr;
  FreshPages() {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    base = static_cast<char*>(p);
    REQUIRE(::madvise(base, size, MADV_NOHUGEPAGE) == 0);
  }
  // Not instrumented: ASan would read the shadow of each page first, faulting in shadow pages
  // too (8 more for 64 pages in the ASan build).
  __attribute__((no_sanitize("address"))) void touch() {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    for (std::size_t off = 0; off < size; off += page) *static_cast<volatile char*>(base + off) = 1;
  }
  FreshPages(const FreshPages&) = delete;
  FreshPages& operator=(const FreshPages&) = delete;
  ~FreshPages() { ::munmap(base, size); }
};

// What the BPF program read on one run: bpf_perf_event_read_value's return, the value, the CPU.
struct BpfRead {
  long ret;
  ebpfpp::CounterValue value;
  std::uint32_t cpu;
};

// Runs read_counter on `cpu` (-1: in this thread, on the CPU it is on).
BpfRead bpf_read(ebpfpp::Skeleton<test_counters_bpf>& skel, int cpu = -1) {
  ebpfpp::TestRun run;
  run.ctx_in(std::array<std::uint64_t, 2>{0, 0});
  if (cpu >= 0) run.cpu(static_cast<std::uint32_t>(cpu));
  (void)skel.program("read_counter").test_run(run);
  const auto& v = skel->bss->counter_value;
  return {skel->data->counter_ret, {v.counter, v.enabled, v.running}, skel->data->counter_cpu};
}

} // namespace

TEST_CASE("PerfCounters: a thread's page faults, read by BPF and by read(2), exactly the pages "
          "it touched" *
          doctest::test_suite("vm")) {
  Pinned pinned;
  auto skel = ebpfpp::Skeleton<test_counters_bpf>::open_and_load();
  ebpfpp::PerfCounters faults(skel.map("counters"), page_faults(), 0); // this thread
  CHECK(faults.pid() == 0);
  CHECK(faults.cpus() == ebpfpp::detail::online_cpus());
  FreshPages warm, pages;
  // A first round touches whatever the reads themselves touch for the first time.
  (void)bpf_read(skel);
  (void)faults.read(pinned.cpu);
  warm.touch();

  const BpfRead before = bpf_read(skel);
  pages.touch();
  const BpfRead after = bpf_read(skel);
  const ebpfpp::CounterValue user = faults.read(pinned.cpu);
  const ebpfpp::CounterValue total = faults.total(); // one event: the thread's count again
  REQUIRE(before.ret == 0);
  REQUIRE(after.ret == 0);
  CHECK(before.cpu == static_cast<std::uint32_t>(pinned.cpu));
  const std::uint64_t delta = after.value.counter - before.value.counter;
  MESSAGE("page faults: " << delta << " for " << fresh_pages << " fresh pages");
  CHECK(delta >= fresh_pages);
  // What the BPF read between the two counts faults in itself: nothing in a plain build; under
  // ASan a few pages, because its allocator hands each allocation fresh memory (its quarantine
  // keeps freed blocks out of reuse), which then faults on first touch (67 for 64 seen).
#if defined(__SANITIZE_ADDRESS__)
  constexpr std::uint64_t reading_faults = 8;
#else
  constexpr std::uint64_t reading_faults = 2;
#endif
  CHECK(delta <= fresh_pages + reading_faults);
  // read(2) counts what the BPF program's read counted, and at most the page or two that the
  // reading itself can fault in between (under ASan, a first touch of shadow memory: 149 for 148).
  CHECK(user.counter >= after.value.counter);
  CHECK(user.counter <= after.value.counter + 2);
  // A software counter counts whenever it is enabled.
  CHECK(after.value.enabled > before.value.enabled);
  CHECK(after.value.running == after.value.enabled);
  CHECK(user.enabled >= after.value.enabled);
  // total() reads the same event again a moment later: at most the page or two that reading
  // faults in between (a trixie guest counted 129 after 128).
  CHECK(total.counter >= user.counter);
  CHECK(total.counter <= user.counter + 2);

  // Another CPU runs the program in another context: the kernel refuses to read a thread's
  // counter there (EINVAL), though the CPU's slot holds it.
  if (pinned.allowed.size() > 1) {
    const int other = pinned.allowed[1];
    const BpfRead elsewhere = bpf_read(skel, other);
    CHECK(elsewhere.cpu == static_cast<std::uint32_t>(other));
    CHECK(elsewhere.ret == -EINVAL);
  }

  // Destroying the counters empties the slots: the BPF side finds nothing.
  ebpfpp::PerfCounters moved = std::move(faults);
  CHECK(faults.cpus().empty()); // NOLINT(bugprone-use-after-move): moved-from is empty
  CHECK(bpf_read(skel).ret == 0);
  ebpfpp::PerfCounters assigned;
  assigned = std::move(moved);
  CHECK(moved.cpus().empty()); // NOLINT(bugprone-use-after-move): moved-from is empty
  CHECK(assigned.cpus() == ebpfpp::detail::online_cpus());
  CHECK(bpf_read(skel).ret == 0);
  assigned.reset();
  CHECK(bpf_read(skel).ret == -ENOENT);
}

TEST_CASE("PerfCounters: a counter per CPU, each read by BPF on its CPU" *
          doctest::test_suite("vm")) {
  Pinned pinned;
  auto skel = ebpfpp::Skeleton<test_counters_bpf>::open_and_load();
  ebpfpp::PerfCounters faults(skel, "counters", page_faults());
  CHECK(faults.pid() == -1);
  REQUIRE(faults.cpus() == ebpfpp::detail::online_cpus());
  for (int cpu : pinned.allowed) {
    const BpfRead r = bpf_read(skel, cpu);
    CHECK(r.ret == 0);
    CHECK(r.cpu == static_cast<std::uint32_t>(cpu));
    CHECK(r.value.running == r.value.enabled);
    // The count only grows: read(2) after the BPF program sees at least as much.
    CHECK(faults.read(cpu).counter >= r.value.counter);
  }
  // This thread's faults on its CPU are counted there (with whatever else ran on it).
  FreshPages pages;
  const BpfRead before = bpf_read(skel);
  pages.touch();
  const BpfRead after = bpf_read(skel);
  REQUIRE(before.ret == 0);
  REQUIRE(after.ret == 0);
  CHECK(after.cpu == static_cast<std::uint32_t>(pinned.cpu));
  CHECK(after.value.counter - before.value.counter >= fresh_pages);
  CHECK(faults.read(pinned.cpu).counter >= after.value.counter);
  CHECK(faults.total().counter >= faults.read(pinned.cpu).counter);
  CHECK_THROWS_WITH_AS(faults.read(100000), doctest::Contains("counters for CPUs"),
                       ebpfpp::Error);
}

TEST_CASE("PerfCounters: a map of another type, too few slots and a hardware counter without a "
          "PMU are Errors that leave the map empty" *
          doctest::test_suite("vm")) {
  Pinned pinned;
  auto skel = ebpfpp::Skeleton<test_counters_bpf>::open_and_load();
  try {
    ebpfpp::PerfCounters wrong(skel.map("not_counters"), page_faults());
    FAIL("an array map was taken for a perf event array");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(std::string(e.what()).find("as ebpfpp::PerfCounters") != std::string::npos);
    CHECK(e.hint().find("perf_event_array") != std::string::npos);
  }

  const auto cpus = ebpfpp::detail::online_cpus();
  if (cpus.size() > 1) {
    try {
      ebpfpp::PerfCounters few(skel.map("one_slot"), page_faults());
      FAIL("CPU " << cpus[1] << " found a slot in a map of one");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == E2BIG);
      CHECK(std::string(e.what()).find("'one_slot'") != std::string::npos);
      CHECK(e.hint().find("has 1 slots") != std::string::npos);
    }
    // CPU 0's slot was filled before CPU 1 failed: it is empty again.
    skel->bss->read_one_slot = 1;
    CHECK(bpf_read(skel, cpus[0]).ret == -ENOENT);
    skel->bss->read_one_slot = 0;
  }

  // Hardware counters need a PMU: where there is one, they count; where not (this kind of
  // virtual machine), the Error says so and no slot is left filled.
  try {
    ebpfpp::PerfCounters cycles(skel.map("counters"), ebpfpp::PerfEventConfig::cpu_cycles());
    MESSAGE("this machine has a PMU: cycles counted");
    const BpfRead r = bpf_read(skel);
    CHECK(r.ret == 0);
    CHECK(r.value.counter > 0);
  } catch (const ebpfpp::Error& e) {
    MESSAGE(std::string(e.what()));
    CHECK(e.errnum() == ENOENT);
    CHECK(std::string(e.what()).find("counter cycles") != std::string::npos);
    CHECK(e.hint().find("no PMU") != std::string::npos);
  }
  for (int cpu : pinned.allowed) CHECK(bpf_read(skel, cpu).ret == -ENOENT);
}

} // namespace perf_counters_test
