// The life of a link after attach, on the real kernel: Link::update swaps the program of XDP,
// cgroup, tcx, netns and iterator links in place (and refuses a tracepoint's with a hint naming
// the kinds that can), only the expected one when asked; Link::detach leaves the fd and says it
// is detached; Link::info names each link's target; attached_* lists what is on a hook. The
// network parts run on a veth pair between private network namespaces, the cgroup parts on a
// fresh cgroup.

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/cgroup_dir.hpp"
#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "profile.bpf.skel.h"
#include "tasks.bpf.skel.h"
#include "test_fixtures.bpf.skel.h"
#include "test_network.bpf.skel.h"
#include "test_sockets.bpf.skel.h"
#include "xdp_swap.bpf.skel.h"

namespace link_lifecycle_test {  // one per file: the test binaries are unity builds (tests/meson.build)

// The uprobe target of the info test: a real function of this binary, kept out of line.
extern "C" __attribute__((noinline, used)) long ebpfpp_test_lifecycle_target(long x) {
  asm volatile("" ::: "memory");
  return x + 3;
}

namespace {

using SwapSkel = ebpfpp::Skeleton<xdp_swap_bpf>;
using ebpfpp::TcDirection;
using ebpfpp::XdpMode;
constexpr std::uint16_t port = 4747;

SwapSkel load_swap() {
  auto skel = SwapSkel::open();
  skel->rodata->port = port;
  skel.load();
  return skel;
}

std::uint32_t prog_id(const ebpfpp::Program& prog) {
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  REQUIRE(bpf_obj_get_info_by_fd(prog.fd(), &info, &len) == 0);
  return info.id;
}

std::uint64_t inode_of(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

bool has(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

template <class T>
T target_of(const ebpfpp::LinkInfo& info) {
  const std::optional<T> t = info.target<T>();
  REQUIRE_MESSAGE(t, "link type " << info.type_name() << " has another target type");
  return *t;
}

// connect() over TCP to addr:port from a child in cgroup `cg` and network namespace `ns`: 0 or
// its errno (EPERM: a cgroup program refused; ECONNREFUSED: it reached the empty port).
int connect_from(const test::CgroupDir& cg, const test::Netns& ns, const char* addr) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::ofstream procs(cg.path / "cgroup.procs");
    procs << "0\n";
    procs.close();
    if (!procs || ::setns(ns.fd(), CLONE_NEWNET) != 0) ::_exit(100);
    ::_exit(test::tcp_connect(addr, port));
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// The file offset of a function of this binary: its address, less its mapping's start, plus the
// mapping's offset.
std::uint32_t file_offset_of(const void* fn) {
  const auto addr = reinterpret_cast<std::uintptr_t>(fn);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    std::uintptr_t start = 0, end = 0, file_off = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %*s %lx", &start, &end, &file_off) == 3 &&
        addr >= start && addr < end)
      return static_cast<std::uint32_t>(addr - start + file_off);
  }
  FAIL("the function is in no mapping");
  return 0;
}

} // namespace

TEST_CASE("link update: an XDP link swaps count_v1 for count_v2 in place, each datagram counted "
          "once; only the expected program is replaced") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  test::Baseline before;
  {
    auto skel = load_swap();
    auto net = ebpfpp::Skeleton<test_network_bpf>::open_and_load();
    ebpfpp::PerCpuArrayMap<std::uint64_t> counts(skel->maps.counts);
    const auto v1 = skel.program("count_v1"), v2 = skel.program("count_v2");
    test::VethPair pair;
    test::NetnsScope in_a(pair.a);
    ebpfpp::Xdp xdp(v1, pair.ifname_a, XdpMode::generic);
    const ebpfpp::LinkInfo first = xdp.info();
    CHECK(first.type == BPF_LINK_TYPE_XDP);
    CHECK(first.type_name() == "xdp");
    CHECK(first.program_id == prog_id(v1));
    CHECK(target_of<ebpfpp::links::Xdp>(first).ifindex == xdp.ifindex());
    CHECK(first.has_target());
    CHECK_FALSE(first.target<ebpfpp::links::Tcx>()); // another link type's target: none
    CHECK_FALSE(xdp.detached());

    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 40) == 40);
    CHECK(test::wait_for_value([&] { return counts.get(0).sum(); }, 40) == 40);
    xdp.update(v2);
    const ebpfpp::LinkInfo second = xdp.info();
    CHECK(second.id == first.id); // the same link, another program
    CHECK(second.program_id == prog_id(v2));
    CHECK(xdp.attached_mode() == XdpMode::generic);
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 30) == 30);
    CHECK(test::wait_for_value([&] { return counts.get(1).sum(); }, 30) == 30);
    CHECK(counts.get(0).sum() == 40);

    // The link runs v2 now: a swap that expects v1 lost a race, and says so.
    try {
      xdp.update(v1, v1);
      FAIL("updated a link that does not run the expected program");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EPERM);
      CHECK(has(e.what(), "update XDP (generic) on 'veth-a'"));
      CHECK(has(e.what(), "(replacing program 'count_v1')"));
      CHECK(has(e.hint(), "does not run the program given as expected"));
    }
    CHECK(xdp.info().program_id == prog_id(v2));
    // Expecting the one it runs: swapped back.
    xdp.update(v1, v2);
    CHECK(xdp.info().program_id == prog_id(v1));

    // A TC program does not fit an XDP link: the hint says what does.
    try {
      xdp.update(net.program("tc_first"));
      FAIL("updated an XDP link to a TC program");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EINVAL);
      CHECK(has(e.hint(), "program type and attach type"));
    }
    // A program not loaded, an empty one: refused before the kernel.
    CHECK_THROWS_WITH_AS(xdp.update(ebpfpp::Program{}), doctest::Contains("the Program is empty"),
                         ebpfpp::Error);
    CHECK(xdp.info().program_id == prog_id(v1));
  }
  before.check();
}

TEST_CASE("link update: a raw tracepoint link cannot be updated or detached, and the hint says "
          "which links can") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::raw_tracepoints)) EBPFPP_SKIP(*r);
  auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open();
  skel->rodata->target_tgid = ::getpid();
  skel->rodata->getppid_nr = SYS_getppid;
  skel.load();
  ebpfpp::RawTracepoint raw(skel.program("count_raw_tracepoint"), "sys_enter");
  try {
    raw.update(skel.program("count_raw_tracepoint"));
    FAIL("updated a raw tracepoint link");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(has(e.what(), "update raw tracepoint sys_enter to program 'count_raw_tracepoint'"));
    CHECK(has(e.hint(), "only of cgroup, XDP, tcx, netkit, netns"));
    CHECK(has(e.hint(), "cannot be updated"));
  }
  try {
    raw.detach();
    FAIL("detached a raw tracepoint link");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EOPNOTSUPP);
    CHECK(has(e.hint(), "destroy (or reset()) this Link"));
  }
  // Nothing changed: it still counts.
  CHECK_FALSE(raw.detached());
  test::call_getppid(7);
  CHECK(skel->bss->raw_tracepoint_hits == 7);
}

TEST_CASE("link update and detach of a cgroup link: the new program filters, a detached link "
          "filters nothing and cannot be updated") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::cgroup)) EBPFPP_SKIP(*r);
  const auto root = test::cgroup2_root();
  REQUIRE_MESSAGE(root, "no cgroup2 mount in /proc/self/mounts");
  const auto load_blocking = [](const char* addr) {
    auto skel = ebpfpp::Skeleton<test_network_bpf>::open();
    in_addr a{};
    REQUIRE(::inet_pton(AF_INET, addr, &a) == 1);
    skel->rodata->blocked_ip4 = a.s_addr;
    skel.load();
    return skel;
  };
  test::Baseline before;
  {
    auto old_fw = load_blocking("127.0.0.2"), new_fw = load_blocking("127.0.0.3");
    const auto old_prog = old_fw.program("block_connect4"),
               new_prog = new_fw.program("block_connect4");
    test::Netns ns("cgu");
    REQUIRE(test::sh(fmt::format("ip -n {} link set lo up", ns.name())) == 0);
    test::CgroupDir cg(*root);
    ebpfpp::Cgroup link(old_prog, cg.path);
    const auto target = target_of<ebpfpp::links::Cgroup>(link.info());
    CHECK(target.cgroup_id == inode_of(cg.path));
    CHECK(target.attach_type == BPF_CGROUP_INET4_CONNECT);
    CHECK(connect_from(cg, ns, "127.0.0.2") == EPERM);
    CHECK(connect_from(cg, ns, "127.0.0.3") == ECONNREFUSED);

    auto on_hook = ebpfpp::attached_cgroup(cg.path, BPF_CGROUP_INET4_CONNECT).programs;
    REQUIRE(on_hook.size() == 1);
    CHECK(on_hook[0].program_id == prog_id(old_prog));
    CHECK(on_hook[0].name == "block_connect4");

    link.update(new_prog, old_prog);
    CHECK(connect_from(cg, ns, "127.0.0.2") == ECONNREFUSED);
    CHECK(connect_from(cg, ns, "127.0.0.3") == EPERM);
    on_hook = ebpfpp::attached_cgroup(cg.path, BPF_CGROUP_INET4_CONNECT).programs;
    REQUIRE(on_hook.size() == 1);
    CHECK(on_hook[0].program_id == prog_id(new_prog));
    // The effective list of a child cgroup inherits it.
    {
      test::CgroupDir child(cg.path);
      const auto inherited =
          ebpfpp::attached_cgroup(child.path, BPF_CGROUP_INET4_CONNECT, true).programs;
      REQUIRE(inherited.size() == 1);
      CHECK(inherited[0].program_id == prog_id(new_prog));
      CHECK(ebpfpp::attached_cgroup(child.path, BPF_CGROUP_INET4_CONNECT).programs.empty());
    }

    link.detach();
    CHECK(link.fd() >= 0);
    CHECK(link.detached());
    CHECK(link.info().detached());
    CHECK(target_of<ebpfpp::links::Cgroup>(link.info()).cgroup_id == 0);
    CHECK(connect_from(cg, ns, "127.0.0.3") == ECONNREFUSED);
    CHECK(ebpfpp::attached_cgroup(cg.path, BPF_CGROUP_INET4_CONNECT).programs.empty());
    try {
      link.update(old_prog);
      FAIL("updated a detached link");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == ENOLINK);
      CHECK(has(e.hint(), "the link is detached"));
    }
  }
  before.check();
}

TEST_CASE("link update of tcx, netns (sk_lookup) and iterator links keeps each link's place and "
          "id; hook queries list them in order") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tcx)) EBPFPP_SKIP(*r);
  test::Baseline before;
  {
    auto net = ebpfpp::Skeleton<test_network_bpf>::open_and_load();
    auto other = ebpfpp::Skeleton<test_network_bpf>::open_and_load();
    const auto first = net.program("tc_first"), second = net.program("tc_second"),
               third = net.program("tc_third");
    test::VethPair pair;
    test::NetnsScope in_a(pair.a);
    const ebpfpp::Interface iface(pair.ifname_a);
    ebpfpp::Tcx a(first, iface, TcDirection::ingress);
    ebpfpp::Tcx b(second, iface, TcDirection::ingress);
    ebpfpp::Tcx c(third, iface, TcDirection::ingress, ebpfpp::TcxAnchor::first());
    const auto tcx = target_of<ebpfpp::links::Tcx>(b.info());
    CHECK(tcx.ifindex == iface.index());
    CHECK(tcx.ingress());
    CHECK(b.info().type_name() == "tcx");

    auto hook = ebpfpp::attached_tcx(iface, TcDirection::ingress);
    REQUIRE(hook.programs.size() == 3);
    CHECK(hook.programs[0].program_id == prog_id(third));
    CHECK(hook.programs[0].link_id == c.info().id);
    CHECK(hook.programs[1].program_id == prog_id(first));
    CHECK(hook.programs[1].name == "tc_first");
    CHECK(hook.programs[1].type == BPF_PROG_TYPE_SCHED_CLS);
    CHECK(hook.programs[2].link_id == b.info().id);
    CHECK(hook.revision > 0);
    CHECK(ebpfpp::attached_tcx(iface, TcDirection::egress).programs.empty());

    // The middle program swapped for another object's: same place, same link, revision + 1.
    a.update(other.program("tc_first"));
    const auto swapped = ebpfpp::attached_tcx(iface, TcDirection::ingress);
    REQUIRE(swapped.programs.size() == 3);
    CHECK(swapped.programs[1].program_id == prog_id(other.program("tc_first")));
    CHECK(swapped.programs[1].link_id == a.info().id);
    CHECK(swapped.revision == hook.revision + 1);

    a.detach();
    CHECK(a.detached());
    CHECK(target_of<ebpfpp::links::Tcx>(a.info()).ifindex == 0);
    CHECK(ebpfpp::attached_tcx(iface, TcDirection::ingress).programs.size() == 2);

    // sk_lookup on the namespace: its inode, the query, an update.
    auto socks = ebpfpp::Skeleton<test_sockets_bpf>::open_and_load();
    auto socks2 = ebpfpp::Skeleton<test_sockets_bpf>::open_and_load();
    ebpfpp::SkLookup lookup(socks.program("steer"), pair.a.path());
    const auto netns = target_of<ebpfpp::links::Netns>(lookup.info());
    CHECK(netns.netns_ino == inode_of(pair.a.path()));
    CHECK(netns.attach_type == BPF_SK_LOOKUP);
    auto steering = ebpfpp::attached_netns(pair.a.path(), BPF_SK_LOOKUP).programs;
    REQUIRE(steering.size() == 1);
    CHECK(steering[0].name == "steer");
    lookup.update(socks2.program("steer"), socks.program("steer"));
    steering = ebpfpp::attached_netns(pair.a.path(), BPF_SK_LOOKUP).programs;
    REQUIRE(steering.size() == 1);
    CHECK(steering[0].program_id == prog_id(socks2.program("steer")));
    CHECK(ebpfpp::attached_netns(pair.b.path(), BPF_SK_LOOKUP).programs.empty());
  }
  {
    // An iterator link takes another program of the same target.
    auto tasks = ebpfpp::Skeleton<tasks_bpf>::open_and_load();
    ebpfpp::Iterator it(tasks.program("dump_task"));
    CHECK(target_of<ebpfpp::links::Iterator>(it.info()).target == "task");
    it.update(tasks.program("dump_task_text"));
    CHECK(it.info().program_id == prog_id(tasks.program("dump_task_text")));
  }
  before.check();
}

TEST_CASE("link detach: an XDP link detaches, keeps its fd, says so, and cannot be updated") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  test::Baseline before;
  {
    auto skel = load_swap();
    ebpfpp::PerCpuArrayMap<std::uint64_t> counts(skel->maps.counts);
    test::VethPair pair;
    test::NetnsScope in_a(pair.a);
    ebpfpp::Xdp xdp(skel.program("count_v1"), pair.ifname_a, XdpMode::generic);
    auto on_if = ebpfpp::attached_xdp(pair.ifname_a);
    REQUIRE(on_if.size() == 1);
    CHECK(on_if[0].program_id == prog_id(skel.program("count_v1")));
    CHECK(on_if[0].name == "count_v1");
    CHECK(on_if[0].mode == XdpMode::generic);
    CHECK(on_if[0].link_id == xdp.info().id);

    xdp.detach();
    CHECK(xdp.fd() >= 0);
    CHECK(xdp.detached());
    CHECK(target_of<ebpfpp::links::Xdp>(xdp.info()).ifindex == 0);
    CHECK(ebpfpp::attached_xdp(pair.ifname_a).empty());
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 10) == 10);
    ::usleep(100 * 1000);
    CHECK(counts.get(0).sum() == 0);
    CHECK_THROWS_WITH_AS(xdp.update(skel.program("count_v2")),
                         doctest::Contains("the link is detached"), ebpfpp::Error);
    // A second detach has nothing left to do.
    xdp.detach();
    // A netlink attachment is no kernel link: nothing to update, detach or describe.
    auto old = ebpfpp::Xdp::replace(skel.program("count_v2"), pair.ifname_a, ebpfpp::Program{},
                                    XdpMode::generic);
    CHECK_THROWS_WITH_AS(old.update(skel.program("count_v1")),
                         doctest::Contains("is not a kernel link"), ebpfpp::Error);
    CHECK_THROWS_WITH_AS((void)old.info(), doctest::Contains("is not a kernel link"),
                         ebpfpp::Error);
    CHECK_FALSE(old.detached());
    on_if = ebpfpp::attached_xdp(pair.ifname_a);
    REQUIRE(on_if.size() == 1);
    CHECK(on_if[0].link_id == 0);
    CHECK_THROWS_WITH_AS((void)ebpfpp::Link().info(), doctest::Contains("it is empty"),
                         ebpfpp::Error);
  }
  before.check();
}

TEST_CASE("link info names each link's target: raw tracepoint, tracepoint, uprobe, uretprobe, "
          "perf event; all_links has them too") {
  auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open();
  skel->rodata->target_tgid = ::getpid();
  skel->rodata->getppid_nr = SYS_getppid;
  skel.load();
  ebpfpp::RawTracepoint raw(skel.program("count_raw_tracepoint"), "sys_enter");
  const ebpfpp::LinkInfo raw_info = raw.info();
  CHECK(raw_info.type_name() == "raw_tracepoint");
  CHECK(target_of<ebpfpp::links::RawTracepoint>(raw_info).name == "sys_enter");
  CHECK_FALSE(raw_info.detached());

  const std::uint32_t offset = file_offset_of(reinterpret_cast<void*>(&ebpfpp_test_lifecycle_target));
  ebpfpp::Uprobe up(skel.program("count_uprobe"), test::self_exe(), "ebpfpp_test_lifecycle_target");
  ebpfpp::Uretprobe uret(skel.program("count_uretprobe"), test::self_exe(),
                         "ebpfpp_test_lifecycle_target");
  CHECK(ebpfpp_test_lifecycle_target(1) == 4);
  const auto up_target = target_of<ebpfpp::links::Uprobe>(up.info());
  CHECK(std::filesystem::equivalent(up_target.path, test::self_exe()));
  CHECK(up_target.offset == offset);
  CHECK_FALSE(up_target.retprobe);
  // The same link type (perf event) on another kind of event: not a kprobe's or tracepoint's.
  CHECK_FALSE(up.info().target<ebpfpp::links::Kprobe>());
  CHECK_FALSE(up.info().target<ebpfpp::links::Tracepoint>());
  const auto uret_target = target_of<ebpfpp::links::Uprobe>(uret.info());
  CHECK(uret_target.offset == offset);
  CHECK(uret_target.retprobe);

  if (ebpfpp::kernel::tracefs()) {
    ebpfpp::Tracepoint tp(skel.program("count_tracepoint"), "syscalls", "sys_enter_getppid");
    CHECK(target_of<ebpfpp::links::Tracepoint>(tp.info()).name == "sys_enter_getppid");
  } else {
    MESSAGE("tracefs is not mounted: the tracepoint link's info is not checked");
  }

  auto profile = ebpfpp::Skeleton<profile_bpf>::open_and_load();
  // Context switches: a software event the kernel reports as PERF_TYPE_SOFTWARE (measured on
  // 6.18, a cpu-clock event reports type 6, a PMU of its own).
  ebpfpp::PerfEvent sampler(
      profile.program("profile_sample"),
      ebpfpp::PerfEventConfig::software(PERF_COUNT_SW_CONTEXT_SWITCHES, "context-switches"),
      ebpfpp::Sampling::period(1000), ::getpid());
  REQUIRE(sampler.size() == 1);
  const auto pe = target_of<ebpfpp::links::PerfEvent>(sampler.links()[0].info());
  CHECK(pe.type == PERF_TYPE_SOFTWARE);
  CHECK(pe.config == PERF_COUNT_SW_CONTEXT_SWITCHES);

  const auto all = ebpfpp::all_links();
  const auto in_all = [&](const ebpfpp::Link& l) {
    const std::uint32_t id = l.info().id;
    return std::any_of(all.begin(), all.end(), [&](const ebpfpp::LinkInfo& i) {
      return i.id == id && i.has_target();
    });
  };
  CHECK(in_all(raw));
  CHECK(in_all(up));
}

TEST_CASE("hook queries name what they could not open") {
  CHECK_THROWS_WITH_AS(
      (void)ebpfpp::attached_cgroup("/sys/fs/cgroup/ebpfpp-no-such", BPF_CGROUP_INET4_CONNECT),
      doctest::Contains("query the cgroup_inet4_connect programs of cgroup "
                        "'/sys/fs/cgroup/ebpfpp-no-such': No such file"),
      ebpfpp::Error);
  try {
    (void)ebpfpp::attached_netns("/run/netns/ebpfpp-no-such", BPF_SK_LOOKUP);
    FAIL("queried a namespace that does not exist");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENOENT);
    CHECK(has(e.what(), "'/run/netns/ebpfpp-no-such'"));
    CHECK(has(e.hint(), "ip netns list"));
  }
  CHECK_THROWS_WITH_AS((void)ebpfpp::attached_xdp(ebpfpp::Interface("ebpfpp-nosuch9")),
                       doctest::Contains("'ebpfpp-nosuch9'"), ebpfpp::Error);
}

} // namespace link_lifecycle_test
