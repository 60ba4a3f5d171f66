// Usdt, UprobeMulti, KprobeMulti, TpBtf, FmodRet, Lsm, Iterator and StructOps on the running
// kernel: real probes in this binary, real events, exact counts.

#include <doctest/doctest.h>

#include <sys/sdt.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ebpfpp/btf_tracing.hpp>
#include <ebpfpp/hash_map.hpp>
#include <ebpfpp/iterator.hpp>
#include <ebpfpp/multi_probe.hpp>
#include <ebpfpp/object.hpp>
#include <ebpfpp/struct_ops.hpp>
#include <ebpfpp/usdt.hpp>

#include "helpers.hpp"
#include "tasks.h"
#include "tasks.bpf.skel.h"
#include "test_btf_hooks.bpf.skel.h"
#include "test_probes.bpf.skel.h"
#include "test_struct_ops.bpf.skel.h"

namespace probes_test {  // one per file: the test binaries are unity builds (tests/meson.build)

// A USDT probe in this binary: provider ebpfpp_test, name tick, arguments (i, i * 3).
extern "C" __attribute__((noinline, used)) void ebpfpp_test_usdt_fire(long i) {
  DTRACE_PROBE2(ebpfpp_test, tick, i, i * 3);
  asm volatile("" ::: "memory");
}

// Three functions for uprobe.multi, matched by the glob ebpfpp_test_multi_*.
extern "C" __attribute__((noinline, used)) long ebpfpp_test_multi_alpha(long x) {
  asm volatile("" ::: "memory");
  return x + 1;
}
extern "C" __attribute__((noinline, used)) long ebpfpp_test_multi_beta(long x) {
  asm volatile("" ::: "memory");
  return x + 2;
}
extern "C" __attribute__((noinline, used)) long ebpfpp_test_multi_gamma(long x) {
  asm volatile("" ::: "memory");
  return x + 3;
}

namespace {

// Opens a skeleton and loads only `program` (the others may need hooks this kernel lacks).
template <class Skel>
ebpfpp::Skeleton<Skel> load_only(std::string_view program, bool load = true) {
  auto skel = ebpfpp::Skeleton<Skel>::open();
  for (ebpfpp::Program p : skel.programs()) p.set_autoload(p.name() == program);
  if constexpr (requires { skel->rodata->target_tgid; }) skel->rodata->target_tgid = ::getpid();
  if (load) skel.load();
  return skel;
}

std::string own_comm() {
  std::ifstream in("/proc/self/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

} // namespace

TEST_CASE("probes: a USDT probe in this binary sees each firing with its arguments" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::uprobes)) EBPFPP_SKIP(*r);
  auto skel = load_only<test_probes_bpf>("on_usdt_tick");
  {
    ebpfpp::Usdt usdt(skel.program("on_usdt_tick"), test::self_exe(), "ebpfpp_test", "tick",
                      ::getpid(), 0xc00c1e);
    CHECK(usdt.description().find("USDT probe ebpfpp_test:tick in") == 0);
    for (long i = 0; i < 10; ++i) ebpfpp_test_usdt_fire(100 + i);
  }
  ebpfpp_test_usdt_fire(1); // detached: not seen
  REQUIRE(skel->bss->usdt_hits == 10);
  for (long i = 0; i < 10; ++i) {
    CHECK(skel->bss->usdt_args[i][0] == 100 + i);
    CHECK(skel->bss->usdt_args[i][1] == (100 + i) * 3);
  }
  CHECK(skel->bss->usdt_cookie == 0xc00c1e);

  try {
    ebpfpp::Usdt missing(skel.program("on_usdt_tick"), test::self_exe(), "ebpfpp_test", "tock");
    FAIL("attached a USDT probe that does not exist");
  } catch (const ebpfpp::Error& e) {
    MESSAGE(std::string(e.what()));
    CHECK(e.errnum() == ENOENT);
    CHECK(std::string(e.what()).find("ebpfpp_test:tock") != std::string::npos);
    CHECK(e.hint().find("readelf -n") != std::string::npos);
  }
}

TEST_CASE("probes: uprobe.multi on three functions by a glob counts each exactly" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::uprobe_multi)) EBPFPP_SKIP(*r);
  // The program counts by bpf_get_attach_cookie(): the counts prove the cookies too.
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_cookie)) EBPFPP_SKIP(*r);
  auto skel = load_only<test_probes_bpf>("count_uprobe_multi", false);
  ebpfpp::UprobeMulti::prepare(skel.program("count_uprobe_multi"));
  skel.load();
  {
    ebpfpp::UprobeMulti multi(skel.program("count_uprobe_multi"), test::self_exe(),
                              "ebpfpp_test_multi_*", ::getpid());
    REQUIRE(multi.symbols() == std::vector<std::string>{"ebpfpp_test_multi_alpha",
                                                        "ebpfpp_test_multi_beta",
                                                        "ebpfpp_test_multi_gamma"});
    CHECK(multi.cookies() == std::vector<std::uint64_t>{0, 1, 2});
    // A Link like every attachment: a kernel link of this program, described as attached.
    const ebpfpp::Link& link = multi;
    CHECK(link.description().starts_with("uprobe.multi 'ebpfpp_test_multi_*' in '"));
    bpf_link_info li{};
    __u32 li_len = sizeof li;
    REQUIRE(bpf_obj_get_info_by_fd(link.fd(), &li, &li_len) == 0);
    bpf_prog_info pi{};
    __u32 pi_len = sizeof pi;
    REQUIRE(bpf_obj_get_info_by_fd(skel.program("count_uprobe_multi").fd(), &pi, &pi_len) == 0);
    CHECK(li.prog_id == pi.id);
    long sum = ebpfpp_test_multi_alpha(1);
    for (int i = 0; i < 2; ++i) sum += ebpfpp_test_multi_beta(i);
    for (int i = 0; i < 3; ++i) sum += ebpfpp_test_multi_gamma(i);
    CHECK(sum > 0);
  }
  (void)ebpfpp_test_multi_alpha(5); // detached: not counted
  CHECK(skel->bss->multi_hits[0] == 1);
  CHECK(skel->bss->multi_hits[1] == 2);
  CHECK(skel->bss->multi_hits[2] == 3);

  // Listed symbols with cookies of the caller's choice.
  {
    ebpfpp::UprobeMulti listed(skel.program("count_uprobe_multi"), test::self_exe(),
                               std::vector<std::string>{"ebpfpp_test_multi_gamma"}, {5}, 0);
    (void)ebpfpp_test_multi_gamma(1);
  }
  CHECK(skel->bss->multi_hits[5] == 1);

  CHECK_THROWS_WITH_AS(ebpfpp::UprobeMulti(skel.program("count_uprobe_multi"), test::self_exe(),
                                           "ebpfpp_no_such_function_*"),
                       doctest::Contains("no function symbol matches"), ebpfpp::Error);
}

TEST_CASE("probes: uprobe.multi without prepare() says how to load the program") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::uprobe_multi)) EBPFPP_SKIP(*r);
  auto skel = load_only<test_probes_bpf>("count_uprobe_multi");
  CHECK_THROWS_WITH_AS(ebpfpp::UprobeMulti(skel.program("count_uprobe_multi"), test::self_exe(),
                                           "ebpfpp_test_multi_*"),
                       doctest::Contains("UprobeMulti::prepare"), ebpfpp::Error);
}

TEST_CASE("probes: tp_btf on sched_process_exec sees a child's exec" * doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::btf)) EBPFPP_SKIP(*r);
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tp_btf)) EBPFPP_SKIP(*r);
  auto skel = load_only<test_probes_bpf>("on_exec");
  ebpfpp::TpBtf tp(skel.program("on_exec"));
  test::Child child = test::spawn("ebpfpp-exec", {"/bin/true"});
  const pid_t pid = child.pid;
  CHECK(child.wait() == 0);
  CHECK(skel->bss->exec_hits == 1);
  CHECK(skel->bss->exec_pid == static_cast<std::uint32_t>(pid));
  CHECK(skel->bss->exec_old_pid == static_cast<std::uint32_t>(pid));
  CHECK(std::string(skel->bss->exec_comm) == "true");
}

TEST_CASE("probes: the task iterator lists this process, as records and as text" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::iterators)) EBPFPP_SKIP(*r);
  auto skel = ebpfpp::Skeleton<tasks_bpf>::open_and_load();
  ebpfpp::Iterator tasks(skel.program("dump_task"));
  const auto records = tasks.records<task_record>();
  CHECK(records.size() > 1);
  const auto self = std::find_if(records.begin(), records.end(),
                                 [](const task_record& r) { return r.pid == ::getpid(); });
  REQUIRE(self != records.end());
  CHECK(self->tgid == ::getpid());
  CHECK(self->ppid == ::getppid());
  CHECK(self->state == 0); // running: it is reading the iterator
  CHECK(std::string(self->comm) == own_comm());
  const auto parent = std::find_if(records.begin(), records.end(),
                                   [](const task_record& r) { return r.pid == ::getppid(); });
  CHECK(parent != records.end());
  // A second walk sees the tasks anew.
  CHECK(tasks.records<task_record>().size() > 1);

  ebpfpp::Iterator text(skel.program("dump_task_text"));
  const auto lines = text.lines();
  const std::string mine = fmt::format("{} {}", ::getpid(), own_comm());
  CHECK(std::find(lines.begin(), lines.end(), mine) != lines.end());
  // Records of the wrong size are refused. A prime size larger than the walk (65521 B: more
  // than 1600 processes' records) divides no walk's byte count, whatever the process count.
  using Odd = std::array<char, 65521>;
  REQUIRE(records.size() * sizeof(task_record) < sizeof(Odd));
  CHECK_THROWS_WITH_AS(tasks.records<Odd>(), doctest::Contains("not a whole number"),
                       ebpfpp::Error);
}

TEST_CASE("probes: the map-element iterator walks every element of a hash map exactly once" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::iterators)) EBPFPP_SKIP(*r);
  // The task iterator is 5.8, map elements 5.9: below, the attach fails on the target.
  if (ebpfpp::KernelVersion::running() < ebpfpp::KernelVersion{5, 9, 0})
    EBPFPP_SKIP("the bpf_map_elem iterator needs kernel 5.9+, this is " +
                ebpfpp::KernelVersion::running().str());
  auto skel = load_only<test_probes_bpf>("dump_elems", false);
  try {
    skel.load();
  } catch (const ebpfpp::Error& e) {
    // Seen on 6.18 here: a policy that refuses trampolines (fentry: EPERM to a process with every
    // capability) refuses this iterator's load too, with EPERM before verification.
    if (!ebpfpp::kernel::has(ebpfpp::kernel::Feature::fentry) && e.errnum() == EPERM)
      EBPFPP_SKIP("the bpf_map_elem iterator is refused like BPF trampolines on this kernel: " +
                  std::string(e.what()).substr(0, std::string_view(e.what()).find('\n')));
    throw;
  }
  ebpfpp::Map<std::uint32_t, std::uint64_t> elems(skel->maps.iter_elems);
  constexpr std::uint32_t n = 500;
  std::uint64_t key_sum = 0, value_sum = 0;
  for (std::uint32_t k = 1; k <= n; ++k) {
    const std::uint64_t v = std::uint64_t{k} * 1000003u + 7;
    elems.update(k, v);
    key_sum += k;
    value_sum += v;
  }
  ebpfpp::Iterator walk(skel.program("dump_elems"), skel.map("iter_elems"));
  using Record = std::array<std::uint64_t, 2>;
  const auto records = walk.records<Record>();
  REQUIRE(records.size() == n);
  std::vector<bool> seen(n + 1);
  for (const Record& r : records) {
    REQUIRE(r[0] >= 1);
    REQUIRE(r[0] <= n);
    CHECK_FALSE(seen[r[0]]);
    seen[r[0]] = true;
    CHECK(r[1] == r[0] * 1000003u + 7);
  }
  CHECK(skel->bss->iter_elem_count == n);
  CHECK(skel->bss->iter_key_sum == key_sum);
  CHECK(skel->bss->iter_value_sum == value_sum);
  // Each walk reads the map anew: one element fewer, one walk later.
  CHECK(elems.erase(n));
  CHECK(walk.records<Record>().size() == n - 1);
  CHECK(skel->bss->iter_elem_count == 2 * n - 1);
}

TEST_CASE("probes: kprobe.multi counts a syscall where the kernel has fprobe, a FeatureError "
          "where not" *
          doctest::test_suite("vm")) {
  auto skel = load_only<test_btf_hooks_bpf>("count_kprobe_multi", false);
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::kprobe_multi)) {
    skel.load(); // nothing autoloaded: the attach must fail on the feature, not the load
    try {
      ebpfpp::KprobeMulti km(skel.program("count_kprobe_multi"), "__x64_sys_getppid");
      FAIL("attached kprobe.multi where the probe says the kernel cannot");
    } catch (const ebpfpp::FeatureError& e) {
      CHECK(e.feature() == "kprobe_multi");
      CHECK(e.min_kernel() == ebpfpp::KernelVersion{5, 18, 0});
    }
    EBPFPP_SKIP(*r + ": asserted the Error; attach+count runs where kprobe.multi works");
  }
  skel.load();
  {
    ebpfpp::KprobeMulti km(skel.program("count_kprobe_multi"), "__x64_sys_getppid");
    test::call_getppid(4);
  }
  test::call_getppid(2);
  CHECK(skel->bss->kprobe_multi_hits == 4);
}

TEST_CASE("probes: fmod_ret runs where the kernel has trampolines, a FeatureError where not" *
          doctest::test_suite("vm")) {
  auto skel = load_only<test_btf_hooks_bpf>("count_fmod_ret", false);
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::fmod_ret)) {
    skel.program("count_fmod_ret").set_autoload(false);
    skel.load();
    try {
      ebpfpp::FmodRet f(skel.program("count_fmod_ret"));
      FAIL("attached fmod_ret where the probe says the kernel cannot");
    } catch (const ebpfpp::FeatureError& e) {
      CHECK(e.feature() == "fmod_ret");
      CHECK(e.min_kernel() == ebpfpp::kernel::info(ebpfpp::kernel::Feature::fmod_ret).min_kernel);
    }
    EBPFPP_SKIP(*r + ": asserted the FeatureError; attach+count runs where fmod_ret works");
  }
  skel.load();
  const ebpfpp::Program prog = skel.program("count_fmod_ret");
  {
    ebpfpp::FmodRet f(prog);
    // The test run calls bpf_modify_return_test(1, &b), which adds 1 to b (a side effect,
    // counted in bits 16+ of the result) and returns 1 + b (newer kernels add a second function
    // to the run). Skipped by a non-zero fmod_ret, the function returns what the program says
    // and has no side effect.
    const std::uint32_t ran = prog.test_run().return_value;
    skel->bss->fmod_ret_value = 42;
    const std::uint32_t skipped = prog.test_run().return_value;
    CHECK((ran >> 16) - (skipped >> 16) == 1);
    CHECK((skipped & 0xffff) - (ran & 0xffff) == 42 - 4);
  }
  CHECK(skel->bss->fmod_ret_hits == 2);
}

TEST_CASE("probes: an LSM program sees file opens where BPF LSM is active, a FeatureError "
          "naming lsm= where not" *
          doctest::test_suite("vm")) {
  auto skel = load_only<test_btf_hooks_bpf>("count_lsm", false);
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::lsm)) {
    skel.program("count_lsm").set_autoload(false);
    skel.load();
    try {
      ebpfpp::Lsm l(skel.program("count_lsm"));
      FAIL("attached an LSM program where the probe says the kernel cannot");
    } catch (const ebpfpp::FeatureError& e) {
      CHECK(e.feature() == "lsm");
      CHECK(e.hint().find("lsm=") != std::string::npos);
    }
    EBPFPP_SKIP(*r + ": asserted the FeatureError; attach+count runs where BPF LSM is active");
  }
  skel.load();
  {
    ebpfpp::Lsm l(skel.program("count_lsm"));
    for (int i = 0; i < 3; ++i) ::close(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  ::close(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  CHECK(skel->bss->lsm_hits == 3);
}

TEST_CASE("probes: a struct_ops TCP congestion control is listed while registered" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::struct_ops)) EBPFPP_SKIP(*r);
  const auto available = [] {
    std::ifstream in("/proc/sys/net/ipv4/tcp_available_congestion_control");
    std::string line;
    std::getline(in, line);
    return " " + line + " ";
  };
  auto skel = ebpfpp::Skeleton<test_struct_ops_bpf>::open();
  try {
    skel.load();
  } catch (const ebpfpp::Error& e) {
    // struct_ops programs run through BPF trampolines: a kernel refusing those refuses them.
    if (!ebpfpp::kernel::has(ebpfpp::kernel::Feature::fentry) && e.errnum() == EPERM)
      EBPFPP_SKIP(std::string("struct_ops programs need BPF trampolines, which this kernel "
                              "refuses: ") +
                  e.what());
    throw;
  }
  CHECK(available().find(" ebpfpp_test_cc ") == std::string::npos);
  {
    ebpfpp::StructOps cc(skel->maps.ebpfpp_cc);
    CHECK(cc.description() == "struct_ops 'ebpfpp_cc'");
    CHECK(available().find(" ebpfpp_test_cc ") != std::string::npos);
  }
  CHECK(available().find(" ebpfpp_test_cc ") == std::string::npos);
  CHECK_THROWS_WITH_AS(ebpfpp::StructOps{ebpfpp::MapRef{}},
                       doctest::Contains("register struct_ops"), ebpfpp::Error);
}

} // namespace probes_test
