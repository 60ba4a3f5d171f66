#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "test_fentry.bpf.skel.h"
#include "test_fixtures.bpf.skel.h"

namespace link_test {  // one per file: the test binaries are unity builds (tests/meson.build)

// The uprobe target: a real function of this binary, kept out of line and exported.
extern "C" __attribute__((noinline, used)) long ebpfpp_test_uprobe_target(long x) {
  asm volatile("" ::: "memory");
  return x * 2 + 1;
}

namespace {

ebpfpp::Skeleton<test_fixtures_bpf> fixtures() {
  auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open();
  skel->rodata->target_tgid = ::getpid();
  skel->rodata->getppid_nr = SYS_getppid;
  skel.load();
  return skel;
}

} // namespace

TEST_CASE("a tracepoint link counts this process's syscalls and stops when destroyed" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tracepoints)) EBPFPP_SKIP(*r);
  auto skel = fixtures();
  {
    ebpfpp::Tracepoint tp(skel.program("count_tracepoint"), "syscalls", "sys_enter_getppid");
    CHECK(tp.fd() >= 0);
    CHECK(tp.description() == "tracepoint syscalls/sys_enter_getppid");
    test::call_getppid(10);
    CHECK(skel->bss->tracepoint_hits == 10);
  }
  test::call_getppid(10);
  CHECK(skel->bss->tracepoint_hits == 10);
}

TEST_CASE("a raw tracepoint link sees sys_enter with the syscall number" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::raw_tracepoints)) EBPFPP_SKIP(*r);
  auto skel = fixtures();
  ebpfpp::RawTracepoint raw(skel.program("count_raw_tracepoint"), "sys_enter");
  test::call_getppid(25);
  CHECK(skel->bss->raw_tracepoint_hits == 25);
  raw.reset();
  CHECK_FALSE(raw);
  test::call_getppid(5);
  CHECK(skel->bss->raw_tracepoint_hits == 25);
}

TEST_CASE("a uprobe on a function of this binary sees its calls and argument") {
  auto skel = fixtures();
  ebpfpp::Uprobe up(skel.program("count_uprobe"), test::self_exe(), "ebpfpp_test_uprobe_target");
  ebpfpp::Uretprobe uret(skel.program("count_uretprobe"), test::self_exe(),
                         "ebpfpp_test_uprobe_target");
  long sum = 0;
  for (long i = 1; i <= 5; ++i) sum += ebpfpp_test_uprobe_target(i * 100);
  CHECK(sum > 0);
  CHECK(skel->bss->uprobe_hits == 5);
  CHECK(skel->bss->uprobe_last_arg == 500);
  CHECK(skel->bss->uretprobe_hits == 5);
  CHECK(skel->bss->uretprobe_last_ret == 1001);
}

TEST_CASE("a uprobe at a file offset fires like one at the symbol") {
  // The function's file offset: its address, less its mapping's start, plus the mapping's offset.
  const auto addr = reinterpret_cast<std::uintptr_t>(&ebpfpp_test_uprobe_target);
  std::ifstream maps("/proc/self/maps");
  std::size_t offset = 0;
  bool found = false;
  for (std::string line; std::getline(maps, line);) {
    std::uintptr_t start = 0, end = 0, file_off = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %*s %lx", &start, &end, &file_off) == 3 &&
        addr >= start && addr < end) {
      offset = addr - start + file_off;
      found = true;
      break;
    }
  }
  REQUIRE(found);
  auto skel = fixtures();
  ebpfpp::Uprobe up(skel.program("count_uprobe"), test::self_exe(), offset);
  CHECK(up.description().find(fmt::format("uprobe offset {:#x} in '", offset)) == 0);
  ebpfpp_test_uprobe_target(7);
  ebpfpp_test_uprobe_target(8);
  CHECK(skel->bss->uprobe_hits == 2);
  CHECK(skel->bss->uprobe_last_arg == 8);
}

TEST_CASE("a uprobe on a symbol that does not exist names it") {
  auto skel = fixtures();
  CHECK_THROWS_WITH_AS(
      ebpfpp::Uprobe(skel.program("count_uprobe"), test::self_exe(), "no_such_symbol_ebpfpp"),
      doctest::Contains("attach uprobe 'no_such_symbol_ebpfpp' in '"), ebpfpp::Error);
}

TEST_CASE("kprobes: attach and observe where the kernel has them, a clear FeatureError where not" *
          doctest::test_suite("vm")) {
  auto skel = fixtures();
  const std::string getppid = ebpfpp::syscall_symbol("getppid");
  if (const auto skip = test::skip_reason(ebpfpp::kernel::Feature::kprobes)) {
    try {
      ebpfpp::Kprobe kp(skel.program("count_kprobe"), getppid);
      FAIL("attached a kprobe on a kernel without kprobes");
    } catch (const ebpfpp::FeatureError& e) {
      CHECK(e.feature() == "kprobes");
      CHECK(std::string(e.what()).find("attach kprobe '" + getppid + "'") != std::string::npos);
      CHECK(e.hint().find("lacks kprobes and kretprobes (4.1+") != std::string::npos);
      CHECK(e.min_kernel() == ebpfpp::KernelVersion{4, 1, 0});
      CHECK(e.hint().find("Tracepoint(") != std::string::npos);
    }
    CHECK_THROWS_AS(ebpfpp::Kretprobe(skel.program("count_kretprobe"), getppid),
                    ebpfpp::FeatureError);
    try {
      ebpfpp::SyscallKprobe ks(skel.program("count_ksyscall"), "execve");
      FAIL("attached a syscall kprobe on a kernel without kprobes");
    } catch (const ebpfpp::FeatureError& e) {
      CHECK(e.hint().find("Tracepoint(prog, \"syscalls\", \"sys_enter_execve\")") !=
            std::string::npos);
    }
    EBPFPP_SKIP(*skip + ": asserted the Error; attach+observe runs where kprobes exist");
  }
  ebpfpp::Kprobe kp(skel.program("count_kprobe"), getppid);
  ebpfpp::Kretprobe kret(skel.program("count_kretprobe"), getppid);
  ebpfpp::SyscallKprobe ks(skel.program("count_ksyscall"), "getppid");
  test::call_getppid(9);
  CHECK(skel->bss->kprobe_hits == 9);
  CHECK(skel->bss->kretprobe_hits == 9);
  CHECK(skel->bss->ksyscall_hits == 9);
  kp.reset();
  test::call_getppid(1);
  CHECK(skel->bss->kprobe_hits == 9);
  CHECK(skel->bss->ksyscall_hits == 10);
}

TEST_CASE("fentry/fexit: attach and observe where the kernel loads them, a FeatureError where not" *
          doctest::test_suite("vm")) {
  auto skel = ebpfpp::Skeleton<test_fentry_bpf>::open();
  skel->rodata->target_tgid = ::getpid();
  // A function every kernel has in its BTF (syscall wrappers are not always there).
  const std::string target = "do_nanosleep";
  REQUIRE(bpf_program__set_attach_target(skel->progs.count_fentry, 0, target.c_str()) == 0);
  REQUIRE(bpf_program__set_attach_target(skel->progs.count_fexit, 0, target.c_str()) == 0);
  if (const auto skip = test::skip_reason(ebpfpp::kernel::Feature::fentry)) {
    try {
      skel.load();
      FAIL("loaded fentry on a kernel whose probe says it cannot");
    } catch (const ebpfpp::FeatureError& e) {
      CHECK(e.feature() == "fentry");
      CHECK(std::string(e.what()).find("load program 'count_f") != std::string::npos);
      CHECK(e.hint().find("lacks fentry/fexit programs (BPF trampoline) (5.5+") !=
            std::string::npos);
      CHECK(e.min_kernel() == ebpfpp::KernelVersion{5, 5, 0});
    }
    EBPFPP_SKIP(*skip + ": asserted the Error; attach+observe runs where fentry works");
  }
  skel.load();
  ebpfpp::Fentry fentry(skel.program("count_fentry"));
  ebpfpp::Fexit fexit(skel.program("count_fexit"));
  for (int i = 0; i < 6; ++i) ::usleep(1);
  CHECK(skel->bss->fentry_hits == 6);
  CHECK(skel->bss->fexit_hits == 6);
}

TEST_CASE("a tracepoint that does not exist gives an Error naming it") {
  auto skel = fixtures();
  try {
    ebpfpp::Tracepoint tp(skel.program("count_tracepoint"), "syscalls", "sys_enter_execvee");
    FAIL("attached a tracepoint that does not exist");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENOENT);
    CHECK(e.action() ==
          "attach tracepoint syscalls/sys_enter_execvee (program 'count_tracepoint')");
    CHECK(e.hint().find("does not exist") != std::string::npos);
  }
}

TEST_CASE("attaching a program that was not loaded says to load first") {
  auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open();
  CHECK_THROWS_WITH_AS(ebpfpp::RawTracepoint(skel.program("count_raw_tracepoint"), "sys_enter"),
                       doctest::Contains("is not loaded"), ebpfpp::Error);
}

TEST_CASE("a pinned link outlives its Link object until unpinned") {
  test::BpffsMount bpffs;
  auto skel = fixtures();
  const auto pin = bpffs.dir / "tp_link";
  {
    ebpfpp::Tracepoint tp(skel.program("count_tracepoint"), "syscalls", "sys_enter_getppid");
    tp.pin(pin);
  }
  CHECK(std::filesystem::exists(pin));
  test::call_getppid(3);
  CHECK(skel->bss->tracepoint_hits == 3); // still attached through the pin
  {
    auto reopened = ebpfpp::Link::open_pinned(pin);
    CHECK(reopened.fd() >= 0);
    reopened.unpin();
  }
  CHECK_FALSE(std::filesystem::exists(pin));
  test::call_getppid(3);
  CHECK(skel->bss->tracepoint_hits == 3);
}

TEST_CASE("auto-attach by section works, and a moved-from Link is empty") {
  auto skel = fixtures();
  ebpfpp::Link a = ebpfpp::attach(skel.program("count_tracepoint"));
  ebpfpp::Link b = std::move(a);
  CHECK_FALSE(a);
  CHECK(b);
  test::call_getppid(4);
  CHECK(skel->bss->tracepoint_hits == 4);
}

} // namespace link_test
