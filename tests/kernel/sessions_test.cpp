// Kprobe and uprobe sessions (KprobeMulti / UprobeMulti with ProbeAt::session) on the running
// kernel: one program at each call's entry and return, the cookie the entry set read back at the
// return, the return skipped when the entry says so. Uprobe sessions (6.13) run on the host;
// kprobe sessions (6.10, fprobe) in the qemu suite, and are a FeatureError where kprobes are off.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <ebpfpp/multi_probe.hpp>
#include <ebpfpp/object.hpp>

#include "helpers.hpp"
#include "test_sessions.bpf.skel.h"
#include "test_sessions_ctx.bpf.skel.h"

namespace sessions_test {  // one per file: the test binaries are unity builds (tests/meson.build)

// The function the uprobe sessions attach to, by name, in this binary.
extern "C" __attribute__((noinline, used)) long ebpfpp_test_session_add(long x) {
  asm volatile("" ::: "memory");
  return x + 1;
}

namespace {

using ebpfpp::ProbeAt;
using Skel = ebpfpp::Skeleton<test_sessions_bpf>;
// The same programs for 7.x, whose session kfuncs take the ctx (test_sessions.bpf.c says why).
using SkelCtx = ebpfpp::Skeleton<test_sessions_ctx_bpf>;

// The skeleton with only `programs` autoloaded, each prepared for a session (or, for
// uprobe_multi_plain, for uprobe.multi), loaded.
template <class S = Skel>
S load_prepared(const std::vector<std::string>& programs) {
  auto skel = S::open();
  skel->rodata->target_tgid = ::getpid();
  for (ebpfpp::Program p : skel.programs()) {
    const bool wanted = std::find(programs.begin(), programs.end(), p.name()) != programs.end();
    p.set_autoload(wanted);
    if (!wanted) continue;
    if (p.name() == "kprobe_session_count")
      ebpfpp::KprobeMulti::prepare(p, ProbeAt::session);
    else
      ebpfpp::UprobeMulti::prepare(
          p, p.name() == "uprobe_multi_plain" ? ProbeAt::entry : ProbeAt::session);
  }
  skel.load();
  return skel;
}

// Attaches kprobe_session_count to `getppid` as a session and counts each call's entry and
// return, with the cookie the entry set.
template <class S>
void kprobe_session_counts(S& skel, const std::string& getppid) {
  const ebpfpp::Program prog = skel.program("kprobe_session_count");
  // Without the flag, the session program is refused before the kernel sees it.
  CHECK_THROWS_WITH_AS((void)ebpfpp::KprobeMulti(prog, getppid),
                       doctest::Contains("ProbeAt::session"), ebpfpp::Error);
  {
    ebpfpp::KprobeMulti km(prog, getppid, ProbeAt::session);
    CHECK(km.description() == "kprobe session '" + getppid + "'");
    test::call_getppid(6);
  }
  test::call_getppid(2); // detached: not seen
  CHECK(skel->bss->kprobe_entries == 6);
  CHECK(skel->bss->kprobe_returns == 6);
  CHECK(skel->bss->kprobe_cookie_sum == 1 + 2 + 3 + 4 + 5 + 6);
  // By name, with cookies: the same.
  {
    ebpfpp::KprobeMulti km(prog, std::vector<std::string>{getppid}, {42}, ProbeAt::session);
    test::call_getppid(3);
  }
  CHECK(skel->bss->kprobe_entries == 9);
  CHECK(skel->bss->kprobe_returns == 9);
  CHECK(skel->bss->kprobe_cookie_sum == 21 + 7 + 8 + 9);
}

} // namespace

TEST_CASE("sessions: a uprobe session runs at each call's entry and return, with its cookie") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::uprobe_session)) EBPFPP_SKIP(*r);
  test::Baseline before;
  {
    auto skel = load_prepared({"uprobe_session_sum"});
    constexpr long calls = 7;
    long expected_sum = 0;
    {
      ebpfpp::UprobeMulti session(skel.program("uprobe_session_sum"), test::self_exe(),
                                  std::vector<std::string>{"ebpfpp_test_session_add"}, {},
                                  ::getpid(), ProbeAt::session);
      CHECK(session.description().starts_with("uprobe session 1 functions in '"));
      long results = 0;
      for (long i = 0; i < calls; ++i) {
        const long x = 1000 * (i + 1) + 7 * i; // distinct per call: a mixed-up cookie shows
        expected_sum += x;
        results += ebpfpp_test_session_add(x);
      }
      CHECK(results == expected_sum + calls);
    }
    (void)ebpfpp_test_session_add(5); // detached: not seen
    CHECK(skel->bss->sum_entries == calls);
    CHECK(skel->bss->sum_returns == calls);
    CHECK(skel->bss->sum_of_args == static_cast<std::uint64_t>(expected_sum));
  }
  before.check();
}

TEST_CASE("sessions: a uprobe session whose entry returns 1 has no return run") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::uprobe_session)) EBPFPP_SKIP(*r);
  auto skel = load_prepared({"uprobe_session_skip"});
  {
    // By a glob this time: the same resolution as uprobe.multi's.
    ebpfpp::UprobeMulti session(skel.program("uprobe_session_skip"), test::self_exe(),
                                "ebpfpp_test_session_a*", ::getpid(), ProbeAt::session);
    REQUIRE(session.symbols() == std::vector<std::string>{"ebpfpp_test_session_add"});
    for (long i = 0; i < 5; ++i) (void)ebpfpp_test_session_add(i);
  }
  CHECK(skel->bss->skip_entries == 5);
  CHECK(skel->bss->skip_returns == 0);
}

TEST_CASE("sessions: the session flag and the program's preparation must agree, or an Error "
          "says how") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::uprobe_session)) EBPFPP_SKIP(*r);
  test::Baseline before;
  {
    auto skel = load_prepared({"uprobe_multi_plain", "uprobe_session_sum"});
    const std::vector<std::string> add{"ebpfpp_test_session_add"};
    // A uprobe.multi program with the session flag.
    try {
      ebpfpp::UprobeMulti bad(skel.program("uprobe_multi_plain"), test::self_exe(), add, {},
                              ::getpid(), ProbeAt::session);
      FAIL("attached an uprobe.multi program as a session");
    } catch (const ebpfpp::Error& e) {
      MESSAGE(std::string(e.what()));
      CHECK(e.errnum() == EINVAL);
      CHECK(std::string(e.what()).find("uprobe session 1 functions in") != std::string::npos);
      CHECK(std::string(e.what()).find("uprobe_multi_plain") != std::string::npos);
      CHECK(e.hint().find("UprobeMulti::prepare(prog, ebpfpp::ProbeAt::session) before load") !=
            std::string::npos);
    }
    // A session program without it.
    try {
      ebpfpp::UprobeMulti bad(skel.program("uprobe_session_sum"), test::self_exe(), add, {},
                              ::getpid());
      FAIL("attached a session program as uprobe.multi");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EINVAL);
      CHECK(e.hint().find("attach it with ebpfpp::ProbeAt::session") != std::string::npos);
    }
    // Each as prepared: both attach and run.
    {
      ebpfpp::UprobeMulti plain(skel.program("uprobe_multi_plain"), test::self_exe(), add, {},
                                ::getpid());
      ebpfpp::UprobeMulti session(skel.program("uprobe_session_sum"), test::self_exe(), add, {},
                                  ::getpid(), ProbeAt::session);
      for (long i = 0; i < 3; ++i) (void)ebpfpp_test_session_add(i);
    }
    CHECK(skel->bss->plain_hits == 3);
    CHECK(skel->bss->sum_returns == 3);
    CHECK(skel->bss->sum_of_args == 0 + 1 + 2);
  }
  before.check();
}

TEST_CASE("sessions: a kprobe session pairs each syscall's entry and return where the kernel "
          "has them, a FeatureError naming kprobes where not" *
          doctest::test_suite("vm")) {
  const std::string getppid =
      std::string(ebpfpp::syscall_prefix_for(ebpfpp::compiled_arch())) + "getppid";
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::kprobe_session)) {
    // Not loaded: the feature is checked before anything else, so the FeatureError comes first.
    auto skel = Skel::open();
    try {
      ebpfpp::KprobeMulti km(skel.program("kprobe_session_count"), getppid, ProbeAt::session);
      FAIL("attached a kprobe session where the probe says the kernel cannot");
    } catch (const ebpfpp::FeatureError& e) {
      MESSAGE(std::string(e.what()));
      CHECK(e.feature() == "kprobe_session");
      CHECK(e.min_kernel() == ebpfpp::KernelVersion{6, 10, 0});
      CHECK(std::string(e.what()).find("attach kprobe session '" + getppid + "'") !=
            std::string::npos);
      CHECK(e.hint().find("lacks kprobe sessions (6.10+") != std::string::npos);
      // Where kprobes are off (this project's host), that is what the error names as the cause.
      if (ebpfpp::kernel::config_enabled("CONFIG_KPROBES") == std::optional<bool>(false))
        CHECK(e.hint().find("CONFIG_KPROBES is not set") != std::string::npos);
    }
    EBPFPP_SKIP(*r + ": asserted the FeatureError; attach+count runs where kprobe sessions work");
  }
  // The object whose kfunc declarations this kernel takes.
  std::optional<Skel> skel;
  try {
    skel.emplace(load_prepared({"kprobe_session_count"}));
  } catch (const ebpfpp::Error& e) {
    if (e.log().find("incompatible with kernel") == std::string::npos) throw;
  }
  if (skel) {
    kprobe_session_counts(*skel, getppid);
  } else {
    auto ctx_skel = load_prepared<SkelCtx>({"kprobe_session_count"});
    kprobe_session_counts(ctx_skel, getppid);
  }
}

} // namespace sessions_test
