// The suite without root's privileges: three identities, each in a forked child, as users run
// tools. (1) uid 65534 with no capabilities; (2) uid 65534 with exactly CAP_BPF + CAP_PERFMON
// (the setcap'ed tool); (3) uid 0 with every capability dropped (a container's root). Each child
// tries what users try and reports one line per case (identity.hpp); the parent asserts what
// works and the exact hint for what does not. Nothing a child does reads the build tree, which
// may be closed to uid 65534 (a clone in a 0700 directory): object files come read by the
// parent, the uprobe's binary through /proc/self/exe.
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "hello.bpf.skel.h"
#include "helpers.hpp"
#include "identity.hpp"
#include "profile.bpf.skel.h"
#include "test_fixtures.bpf.skel.h"
#include "test_maps.bpf.skel.h"

namespace privilege_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using test::cap_bit;
using test::cap_bpf;
using test::cap_perfmon;
using test::failed;
using test::Reporter;
using test::run_as;
using test::worked;

int unprivileged_bpf_disabled() {
  std::ifstream in("/proc/sys/kernel/unprivileged_bpf_disabled");
  int v = -1;
  in >> v;
  return v;
}

const std::string lacks_bpf_perfmon =
    "this process lacks CAP_BPF + CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8): run it as "
    "root, or grant them, e.g. setcap cap_bpf,cap_perfmon+ep <binary>";
const std::string tracefs_hint =
    "tracefs (/sys/kernel/tracing) is not readable by this process (it is usually mode 0700, "
    "owned by root), and this attach reads it: run as root, add CAP_DAC_READ_SEARCH or "
    "CAP_DAC_OVERRIDE (setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep <binary>), or make "
    "tracefs readable (mount -o remount,mode=755 /sys/kernel/tracing)";

// Whether tracefs is closed to other users here (mode 0700, the default): the tracefs cases
// depend on it.
bool tracefs_private() {
  struct stat st {};
  return ::stat("/sys/kernel/tracing", &st) == 0 && (st.st_mode & 0005) == 0;
}

// A map and a loaded tracepoint program made by the (root) parent before the fork: the child
// inherits their fds, as a tool that dropped privileges after loading does.
struct Inherited {
  ebpfpp::Map<std::uint32_t, std::uint64_t> map =
      ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 4, "inherited");
  ebpfpp::Skeleton<test_fixtures_bpf> fixtures =
      ebpfpp::Skeleton<test_fixtures_bpf>::open_and_load();
  Inherited() { map.update(1, 11); }
};

} // namespace

TEST_CASE("as uid 65534 with no capabilities: loads fail naming CAP_BPF + CAP_PERFMON") {
  const test::Baseline before;
  {
    Inherited parent;
    test::BpffsMount fs;
    const test::ObjectImage fixtures = test::read_object("test_fixtures");
    auto r = run_as(65534, 0, [&](Reporter& rep) {
      rep.run("open object", [&] {
        auto obj = fixtures.open();
        return std::string(obj.name());
      });
      rep.run("load hello", [] {
        auto skel = ebpfpp::Skeleton<hello_bpf>::open_and_load();
        return std::string();
      });
      rep.run("create map", [] {
        auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 4, "mine");
        return std::string();
      });
      rep.run("read inherited map", [&] { return std::to_string(parent.map.lookup(1).value()); });
      rep.run("pin and unpin inherited map", [&] {
        parent.map.pin(fs.dir / "pinned");
        const bool there = std::filesystem::exists(fs.dir / "pinned");
        parent.map.unpin();
        return std::string(there ? "pinned" : "not there");
      });
      rep.run("attach tracepoint", [&] {
        ebpfpp::Tracepoint tp(parent.fixtures.program("count_tracepoint"), "syscalls",
                              "sys_enter_getppid");
        return std::string();
      });
    });
    CHECK(worked(r, "open object") == "test_fixtures"); // parsing needs no privilege
    failed(r, "load hello", EPERM, lacks_bpf_perfmon);
    if (unprivileged_bpf_disabled() != 0)
      failed(r, "create map", EPERM,
             "this process lacks CAP_BPF (CAP_SYS_ADMIN on kernels before 5.8): run it as root, "
             "or grant them, e.g. setcap cap_bpf,cap_perfmon+ep <binary>");
    // An fd is a capability of its own: a map handed over (or kept after dropping privileges)
    // stays readable, and can be pinned on a bpffs the process may write to.
    CHECK(worked(r, "read inherited map") == "11");
    CHECK(worked(r, "pin and unpin inherited map") == "pinned");
    if (tracefs_private())
      failed(r, "attach tracepoint", EACCES,
             tracefs_hint + "; this process also lacks CAP_BPF + CAP_PERFMON");
    CHECK(fs.pins() == "");
  }
  before.check();
}

TEST_CASE("as uid 65534 with CAP_BPF + CAP_PERFMON: loads, maps, raw tracepoints and perf "
          "events work; tracefs, uprobes and networking say what is missing") {
  const test::Baseline before;
  {
    test::BpffsMount fs;
    // The test binary itself, reached through /proc without searching the build tree's
    // directories (libbpf reads its symbols, the kernel resolves the path).
    const std::filesystem::path exe = "/proc/self/exe";
    const test::ObjectImage xdp = test::read_object("xdp_count"),
                            network = test::read_object("test_network");
    auto r = run_as(65534, cap_bit(cap_bpf) | cap_bit(cap_perfmon), [&](Reporter& rep) {
      rep.run("load hello", [] {
        auto skel = ebpfpp::Skeleton<hello_bpf>::open_and_load();
        return std::string();
      });
      rep.run("create, write and read a map", [] {
        auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 4, "mine");
        m.update(7, 70);
        return std::to_string(m.lookup(7).value()) + "," + std::to_string(m.items().size());
      });
      auto fixtures = ebpfpp::Skeleton<test_fixtures_bpf>::open();
      fixtures->rodata->target_tgid = ::getpid();
      fixtures->rodata->getppid_nr = SYS_getppid;
      rep.run("load fixtures", [&] {
        fixtures.load();
        return std::string();
      });
      rep.run("raw tracepoint fires", [&] {
        ebpfpp::RawTracepoint raw(fixtures.program("count_raw_tracepoint"), "sys_enter");
        test::call_getppid(5);
        return std::to_string(fixtures->bss->raw_tracepoint_hits);
      });
      rep.run("perf event", [] {
        auto skel = ebpfpp::Skeleton<profile_bpf>::open_and_load();
        ebpfpp::PerfEvent ev(skel.program("profile_sample"), ebpfpp::PerfEventConfig::cpu_clock(),
                             ebpfpp::Sampling::frequency(99));
        return std::string();
      });
      rep.run("pin and unpin", [&] {
        auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 1, "pinme");
        m.pin(fs.dir / "pinned");
        auto again = ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned(fs.dir / "pinned");
        m.unpin();
        return std::to_string(again.max_entries());
      });
      rep.run("pin outside bpffs", [&] {
        auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 1, "pinme");
        m.pin("/tmp/ebpfpp-privilege-pin");
        return std::string();
      });
      rep.run("attach tracepoint", [&] {
        ebpfpp::Tracepoint tp(fixtures.program("count_tracepoint"), "syscalls",
                              "sys_enter_getppid");
        return std::string();
      });
      rep.run("attach uprobe", [&] {
        ebpfpp::Uprobe up(fixtures.program("count_uprobe"), exe, "main", 0);
        return std::string();
      });
      rep.run("load XDP program", [&] {
        auto obj = xdp.open();
        obj.load();
        return std::string();
      });
      rep.run("load devmap", [&] {
        auto obj = network.open();
        obj.load();
        return std::string();
      });
      // The BTF type check without CAP_SYS_ADMIN: the Skeleton's own BTF (the fd libbpf keeps)
      // still catches a signed key on an unsigned map.
      auto maps = ebpfpp::Skeleton<test_maps_bpf>::open_and_load();
      rep.run("typed map of the wrong signedness", [&] {
        ebpfpp::Map<std::int32_t, std::uint64_t> m(maps, "hash_u32_u64");
        return std::string();
      });
      rep.run("typed map of the right types", [&] {
        ebpfpp::Map<std::uint32_t, std::uint64_t> m(maps->maps.hash_u32_u64);
        return std::string();
      });
      // A map whose BTF this process does not hold (its object is gone): sizes only, and one
      // message through the log handler saying so, however many views are made.
      rep.run("BTF out of reach is said once", [&] {
        const int fd = ::fcntl(maps.map("hash_u32_u64").fd(), F_DUPFD_CLOEXEC, 3);
        maps.reset();
        std::vector<std::string> said;
        ebpfpp::set_log_handler([&](ebpfpp::LogLevel, std::string_view text) {
          if (text.find("BTF type check") != std::string_view::npos) said.emplace_back(text);
        });
        for (int i = 0; i < 3; ++i)
          (void)ebpfpp::Map<std::int32_t, std::uint64_t>::from_fd(fd, "orphan");
        ebpfpp::set_log_handler({});
        ::close(fd);
        return fmt::format("{}: {}", said.size(), said.empty() ? "" : said.front());
      });
    });
    CHECK(worked(r, "load hello").empty());
    CHECK(worked(r, "create, write and read a map") == "70,1");
    worked(r, "load fixtures");
    CHECK(worked(r, "raw tracepoint fires") == "5");
    worked(r, "perf event");
    CHECK(worked(r, "pin and unpin") == "1");
    failed(r, "pin outside bpffs", EPERM,
           "'/tmp/ebpfpp-privilege-pin' is not on a bpffs mount: pins live on one (mount -t bpf "
           "bpf /sys/fs/bpf), and its directory must exist");
    if (tracefs_private()) failed(r, "attach tracepoint", EACCES, tracefs_hint);
    // libbpf read the binary and found the symbol: what refused is the perf event.
    CHECK(r["attach uprobe"].what.find("failed to create uprobe '/proc/self/exe:0x") !=
          std::string::npos);
    failed(r, "attach uprobe", EACCES,
           "CAP_BPF + CAP_PERFMON are not enough for a uprobe here: the kernel refused its perf "
           "event to a process without CAP_SYS_ADMIN; add CAP_SYS_ADMIN or run as root");
    const std::string net_admin =
        "this process lacks CAP_NET_ADMIN (CAP_SYS_ADMIN on kernels before 5.8): run it as root, "
        "or grant them, e.g. setcap cap_bpf,cap_net_admin+ep <binary>";
    failed(r, "load XDP program", EPERM, net_admin);
    CHECK(r["load XDP program"].what.find("load program 'xdp_count' of BPF object 'xdp_count'") !=
          std::string::npos);
    failed(r, "load devmap", EPERM, net_admin);
    CHECK(r["load devmap"].what.find("create map 'tx_ports' of BPF object 'test_network'") !=
          std::string::npos);
    failed(r, "typed map of the wrong signedness", EINVAL,
           "use a C++ type that matches the BPF declaration, or pass TypeCheck::size_only if the "
           "reinterpretation is intended");
    CHECK(r["typed map of the wrong signedness"].what.find(
              "key: BTF says '__u32 = unsigned int', an unsigned 32-bit integer, but the C++ type "
              "'int' is a signed integer") != std::string::npos);
    worked(r, "typed map of the right types");
    const std::string said = worked(r, "BTF out of reach is said once");
    CHECK(said.starts_with("1: the BTF type check of map 'orphan'"));
    CHECK(said.find("needs CAP_SYS_ADMIN") != std::string::npos);
    CHECK(fs.pins() == "");
  }
  before.check();
}

TEST_CASE("as root with every capability dropped: hints name the capabilities, never 'no "
          "capability is missing'") {
  const test::Baseline before;
  {
    Inherited parent;
    test::BpffsMount fs;
    const test::ObjectImage xdp = test::read_object("xdp_count");
    auto r = run_as(0, 0, [&](Reporter& rep) {
      rep.run("load hello", [] {
        auto skel = ebpfpp::Skeleton<hello_bpf>::open_and_load();
        return std::string();
      });
      rep.run("load XDP program", [&] {
        auto obj = xdp.open();
        obj.load();
        return std::string();
      });
      rep.run("attach inherited tracepoint program", [&] {
        ebpfpp::Tracepoint tp(parent.fixtures.program("count_tracepoint"), "syscalls",
                              "sys_enter_getppid");
        return std::string();
      });
      rep.run("pin and unpin inherited map", [&] {
        parent.map.pin(fs.dir / "pinned");
        const bool there = std::filesystem::exists(fs.dir / "pinned");
        parent.map.unpin();
        return std::string(there ? "pinned" : "not there");
      });
      rep.run("read inherited map", [&] { return std::to_string(parent.map.lookup(1).value()); });
    });
    failed(r, "load hello", EPERM, lacks_bpf_perfmon);
    // libbpf creates the object's maps first: CAP_BPF is what is missing first.
    CHECK(r["load XDP program"].hint.find("this process lacks CAP_BPF") != std::string::npos);
    CHECK(r["load XDP program"].hint.find("no capability is missing") == std::string::npos);
    // Root owns tracefs, so the perf event is what is refused, for want of CAP_PERFMON.
    failed(r, "attach inherited tracepoint program", EACCES,
           "this process lacks CAP_BPF + CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8): run "
           "it as root, or grant them, e.g. setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep "
           "<binary>");
    CHECK(worked(r, "read inherited map") == "11");
    CHECK(worked(r, "pin and unpin inherited map") == "pinned");
    CHECK(fs.pins() == "");
  }
  before.check();
}

} // namespace privilege_test
