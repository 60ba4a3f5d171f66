// PerfEvent, StackTraceMap and Symbolizer: sample real processes, read their stacks, name them.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "profile.h"
#include "profile.bpf.skel.h"

namespace profile_test {  // one per file: the test binaries are unity builds (tests/meson.build)

// The function the profiled child spins in: out of line and exported (export_dynamic), so its
// name is in the binary's .dynsym as well as .symtab.
extern "C" __attribute__((noinline, used)) void
ebpfpp_test_profile_spin(volatile unsigned long* n) {
  for (;;) {
    *n = *n * 6364136223846793005ul + 1442695040888963407ul;
    asm volatile("" ::: "memory");
  }
}

// A function whose last instruction is a call that never returns: its return address, the one
// a stack holds for its frame, is the first byte past the function.
namespace {
std::uint64_t last_call_return = 0;
[[noreturn]] __attribute__((noinline)) void record_return_and_throw() {
  last_call_return = reinterpret_cast<std::uint64_t>(__builtin_return_address(0));
  throw std::runtime_error("unwound on purpose");
}
} // namespace
extern "C" __attribute__((noinline, used)) void ebpfpp_test_calls_last() {
  record_return_and_throw();
}

namespace {

using namespace std::chrono_literals;

// A forked child running `fn` until it is killed (test::Child kills and reaps it).
template <class Fn>
test::Child fork_child(const char* name, Fn&& fn) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::prctl(PR_SET_NAME, name);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    fn();
    ::_exit(0);
  }
  test::Child c;
  c.pid = pid;
  return c;
}

// A child that spends its time in the kernel: reading /dev/zero clears user memory there.
void read_zeroes() {
  const int fd = ::open("/dev/zero", O_RDONLY);
  static char buf[1 << 20];
  for (;;)
    if (::read(fd, buf, sizeof buf) < 0) ::_exit(1);
}

ebpfpp::Skeleton<profile_bpf> load_profile(std::uint32_t tgid = 0) {
  auto skel = ebpfpp::Skeleton<profile_bpf>::open();
  skel->rodata->target_tgid = tgid;
  skel.load();
  return skel;
}

} // namespace

TEST_CASE("profile: a child spinning in a named function holds its samples; kernel frames "
          "resolve to kallsyms names") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::perf_event)) EBPFPP_SKIP(*r);
  auto skel = load_profile();
  test::Child spinner = fork_child("ebpfpp-spin", [] {
    volatile unsigned long n = 1;
    ebpfpp_test_profile_spin(&n);
  });
  test::Child reader = fork_child("ebpfpp-readz", read_zeroes);
  std::this_thread::sleep_for(50ms);
  {
    ebpfpp::PerfEvent sampler(skel.program("profile_sample"), ebpfpp::PerfEventConfig::cpu_clock(),
                              ebpfpp::Sampling::frequency(199));
    CHECK(sampler.size() == ebpfpp::detail::online_cpus().size());
    std::this_thread::sleep_for(1500ms);
  }

  ebpfpp::Map<profile_key, std::uint64_t> counts(skel->maps.counts);
  ebpfpp::StackTraceMap<PROFILE_STACK_DEPTH> stacks(skel->maps.stacks);
  ebpfpp::Symbolizer sym;

  std::uint64_t spin_total = 0, spin_in_function = 0, reader_kernel = 0, kernel_frames = 0;
  bool reader_saw_read = false;
  for (const auto& [key, count] : counts.items()) {
    if (key.tgid == static_cast<std::uint32_t>(spinner.pid)) {
      spin_total += count;
      bool in_function = false;
      for (const ebpfpp::Symbol& s : sym.stack(spinner.pid, stacks.lookup(key.user_stack_id)))
        in_function = in_function || s.name == "ebpfpp_test_profile_spin";
      if (in_function) spin_in_function += count;
    }
    if (key.tgid == static_cast<std::uint32_t>(reader.pid) && key.kernel_stack_id >= 0) {
      reader_kernel += count;
      for (std::uint64_t ip : stacks.lookup(key.kernel_stack_id)) {
        const ebpfpp::Symbol s = sym.kernel(ip);
        CHECK_MESSAGE(s.found(), "kernel address " << std::hex << ip << " has no kallsyms name");
        ++kernel_frames;
        reader_saw_read = reader_saw_read || s.name.find("read") != std::string::npos;
      }
    }
  }
  const double pct =
      spin_total ? 100.0 * static_cast<double>(spin_in_function) / static_cast<double>(spin_total)
                 : 0.0;
  MESSAGE("spinner: " << spin_in_function << " of " << spin_total << " samples (" << pct
                      << "%) in ebpfpp_test_profile_spin; reader: " << reader_kernel
                      << " kernel samples, " << kernel_frames << " frames");
  std::fprintf(stderr,
               "profile: %.1f%% of the spinner's %llu samples in ebpfpp_test_profile_spin\n", pct,
               static_cast<unsigned long long>(spin_total));
  CHECK(spin_total >= 20);
  CHECK(spin_in_function * 100 >= spin_total * 80);
  CHECK(reader_kernel >= 5);
  CHECK(reader_saw_read);
}

TEST_CASE("profile: a PerfEvent on one process samples only that process") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::perf_event)) EBPFPP_SKIP(*r);
  auto skel = load_profile();
  test::Child spinner = fork_child("ebpfpp-spin", [] {
    volatile unsigned long n = 1;
    ebpfpp_test_profile_spin(&n);
  });
  {
    ebpfpp::PerfEvent sampler(skel.program("profile_sample"), ebpfpp::PerfEventConfig::cpu_clock(),
                              ebpfpp::Sampling::period(2'000'000), spinner.pid); // every 2 ms
    CHECK(sampler.size() == 1);
    CHECK(sampler.cpus() == std::vector<int>{-1});
    std::this_thread::sleep_for(500ms);
  }
  ebpfpp::Map<profile_key, std::uint64_t> counts(skel->maps.counts);
  std::uint64_t total = 0;
  for (const auto& [key, count] : counts.items()) {
    CHECK(key.tgid == static_cast<std::uint32_t>(spinner.pid));
    total += count;
  }
  CHECK(total >= 10);
}

TEST_CASE("profile: bad perf events say what is wrong") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::perf_event)) EBPFPP_SKIP(*r);
  auto skel = load_profile();
  const ebpfpp::Program prog = skel.program("profile_sample");
  const auto fds = test::open_fd_count();

  // A hardware event: attached where a PMU counts cycles, else an Error saying there is none.
  try {
    ebpfpp::PerfEvent hw(prog, ebpfpp::PerfEventConfig::cpu_cycles(),
                         ebpfpp::Sampling::period(10'000'000));
    CHECK(hw.size() == ebpfpp::detail::online_cpus().size());
    MESSAGE("this machine has a PMU: cycles sampled");
  } catch (const ebpfpp::Error& e) {
    MESSAGE("no PMU: " << std::string(e.what()));
    CHECK((e.errnum() == ENOENT || e.errnum() == EOPNOTSUPP));
    CHECK(std::string(e.what()).find("perf event cycles on CPU") != std::string::npos);
    CHECK(e.hint().find("software event") != std::string::npos);
  }
  CHECK(test::open_fd_count() == fds);

  try {
    (void)ebpfpp::PerfEvent(prog, ebpfpp::PerfEventConfig::cpu_clock(),
                            ebpfpp::Sampling::frequency(0));
    FAIL("a frequency of 0 was accepted");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
  }
  try {
    (void)ebpfpp::PerfEvent(prog, ebpfpp::PerfEventConfig::cpu_clock(),
                            ebpfpp::Sampling::frequency(10'000'000));
    FAIL("a frequency above perf_event_max_sample_rate was accepted");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(e.hint().find("perf_event_max_sample_rate") != std::string::npos);
  }
  try {
    (void)ebpfpp::PerfEvent(prog, ebpfpp::PerfEventConfig::cpu_clock(), {}, 0x3ffffff0);
    FAIL("a missing thread was accepted");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ESRCH);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("profile: symbolizing thousands of stacks is correct and fast") {
  // Addresses inside known functions: this binary's, the C library's (dynsym names that dlsym
  // finds), and the kernel's (from /proc/kallsyms).
  struct Known {
    std::uint64_t address; // a few bytes into the function
    std::uint64_t start;
    bool kernel;
  };
  std::vector<Known> known;
  const auto add_user = [&](void* fn) {
    const auto start = reinterpret_cast<std::uint64_t>(fn);
    known.push_back({start + 1, start, false});
  };
  add_user(reinterpret_cast<void*>(&ebpfpp_test_profile_spin));
  for (const char* name : {"getpid", "qsort", "abort", "fopen", "fclose", "getenv", "setenv",
                           "opendir", "closedir", "fork", "nanosleep", "sigaction"}) {
    void* fn = ::dlsym(RTLD_DEFAULT, name);
    REQUIRE_MESSAGE(fn, name);
    add_user(fn);
  }
  {
    std::ifstream in("/proc/kallsyms");
    std::vector<std::uint64_t> text;
    for (std::string line; std::getline(in, line);) {
      std::uint64_t addr = 0;
      char type = 0;
      if (std::sscanf(line.c_str(), "%lx %c", &addr, &type) == 2 && (type == 'T' || type == 't') &&
          line.find('\t') == std::string::npos)
        text.push_back(addr);
    }
    std::sort(text.begin(), text.end());
    text.erase(std::unique(text.begin(), text.end()), text.end());
    std::mt19937 rng(42);
    for (int i = 0; i < 200; ++i) {
      const std::size_t j = rng() % (text.size() - 1);
      if (text[j + 1] - text[j] < 2) continue;
      known.push_back({text[j] + 1, text[j], true});
    }
  }

  // 5000 stacks of 20 frames drawn from the known addresses.
  std::mt19937 rng(7);
  std::vector<std::vector<std::size_t>> stacks(5000);
  std::vector<std::vector<std::uint64_t>> addrs(stacks.size());
  for (std::size_t i = 0; i < stacks.size(); ++i)
    for (int f = 0; f < 20; ++f) {
      const std::size_t k = rng() % known.size();
      stacks[i].push_back(k);
      addrs[i].push_back(known[k].address);
    }

  const auto t0 = std::chrono::steady_clock::now();
  ebpfpp::Symbolizer sym;
  std::vector<std::vector<ebpfpp::Symbol>> out;
  out.reserve(stacks.size());
  for (const auto& a : addrs) out.push_back(sym.stack(::getpid(), a));
  const auto elapsed =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
  MESSAGE("symbolized " << stacks.size() << " stacks (" << stacks.size() * 20 << " frames, "
                        << sym.files_read() << " files read) in " << elapsed.count() << " ms");
  std::fprintf(stderr, "symbolizer: %zu stacks x 20 frames in %.1f ms\n", stacks.size(),
               elapsed.count());

  std::size_t wrong = 0;
  for (std::size_t i = 0; i < stacks.size(); ++i)
    for (std::size_t f = 0; f < stacks[i].size(); ++f) {
      const Known& k = known[stacks[i][f]];
      const ebpfpp::Symbol& s = out[i][f];
      // The function found must start where the known one does (aliases share a start).
      if (!s.found() || s.address - s.offset != k.start) {
        if (wrong++ < 5)
          MESSAGE("wrong: " << std::hex << k.address << " -> " << s.str() << " in " << s.module);
      }
    }
  CHECK(wrong == 0);
  CHECK(out[0].size() == 20);
  const ebpfpp::Symbol self = sym.user(::getpid(), known[0].address);
  CHECK(self.name == "ebpfpp_test_profile_spin");
  CHECK(self.offset == 1);
  CHECK(self.module == test::self_exe().string());
}

TEST_CASE("profile: a StackTraceMap reads stacks by id and refuses other map types") {
  auto stacks = ebpfpp::StackTraceMap<>::create(16, "test_stacks");
  CHECK(stacks.lookup(0).empty());
  CHECK(stacks.lookup(-14).empty());
  CHECK(stacks.type() == BPF_MAP_TYPE_STACK_TRACE);
  auto skel = load_profile();
  try {
    ebpfpp::StackTraceMap<> wrong(skel->maps.counts);
    FAIL("a hash map was accepted as a StackTraceMap");
  } catch (const ebpfpp::Error& e) {
    CHECK(std::string(e.what()).find("does not fit") != std::string::npos);
  }
  try {
    ebpfpp::StackTraceMap<64> shallow(skel->maps.stacks);
    FAIL("a depth of 64 was accepted for a map of 127 frames");
  } catch (const ebpfpp::Error& e) {
    CHECK(std::string(e.what()).find("value size") != std::string::npos);
  }
}

TEST_CASE("profile: a caller whose last instruction is the call is named by its return address") {
  // perf and BCC look a return address up one byte earlier; looked up as is, it names whatever
  // follows the caller (the next function, or padding).
  CHECK_THROWS_AS(ebpfpp_test_calls_last(), std::runtime_error);
  REQUIRE(last_call_return != 0);
  const auto inner = reinterpret_cast<std::uint64_t>(&ebpfpp_test_profile_spin) + 1;
  ebpfpp::Symbolizer sym;
  const std::vector<ebpfpp::Symbol> frames = sym.stack(::getpid(), {inner, last_call_return});
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].name == "ebpfpp_test_profile_spin");
  CHECK(frames[0].offset == 1);
  CHECK(frames[1].name == "ebpfpp_test_calls_last");
  CHECK(frames[1].address == last_call_return);
  CHECK(frames[1].address - frames[1].offset ==
        reinterpret_cast<std::uint64_t>(&ebpfpp_test_calls_last));
  MESSAGE("the return address alone: " << sym.user(::getpid(), last_call_return).display());
}

} // namespace profile_test
