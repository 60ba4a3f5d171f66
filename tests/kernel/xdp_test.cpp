// Xdp on a veth pair between two private network namespaces: real UDP datagrams, counted and
// dropped by XDP programs, in native and generic mode; XDP test runs on crafted frames; the
// errors (missing interface, mode the driver lacks, busy interface, wrong expected program, no
// CAP_NET_ADMIN).

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <linux/if_link.h>
#include <net/if.h>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "test_network.bpf.skel.h"

namespace xdp_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_network_bpf>;
using ebpfpp::XdpMode;
constexpr std::uint16_t port = 4242;
constexpr std::uint32_t udp = 17;

Skel load(std::uint16_t drop_port = 0) {
  auto skel = Skel::open();
  skel->rodata->drop_udp_port = drop_port;
  skel.load();
  return skel;
}

std::uint32_t attached_id(int ifindex) {
  std::uint32_t id = 0;
  REQUIRE(bpf_xdp_query_id(ifindex, 0, &id) == 0);
  return id;
}

std::uint32_t prog_id(const ebpfpp::Program& prog) {
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  REQUIRE(bpf_obj_get_info_by_fd(prog.fd(), &info, &len) == 0);
  return info.id;
}

// An Ethernet + IPv4 + UDP frame to `dport`, checksums left zero (XDP does not check them).
std::array<std::byte, 14 + 20 + 8 + 4> udp_frame(std::uint16_t dport) {
  std::array<std::uint8_t, 14 + 20 + 8 + 4> f{};
  const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x0b}, src[6] = {0x02, 0, 0, 0, 0, 0x0a};
  std::memcpy(&f[0], dst, 6);
  std::memcpy(&f[6], src, 6);
  f[12] = 0x08; // ETH_P_IP
  f[14] = 0x45; // IPv4, 5 words
  f[17] = 20 + 8 + 4;
  f[22] = 64;  // TTL
  f[23] = udp; // protocol
  f[26] = 10, f[29] = 1, f[30] = 10, f[33] = 2;
  f[34] = 0x30, f[35] = 0x39; // sport 12345
  f[36] = static_cast<std::uint8_t>(dport >> 8), f[37] = static_cast<std::uint8_t>(dport);
  f[39] = 8 + 4;
  std::array<std::byte, f.size()> out;
  std::memcpy(out.data(), f.data(), f.size());
  return out;
}

} // namespace

TEST_CASE("Xdp counts exactly the N UDP datagrams sent over a veth pair, native and generic") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  constexpr int n = 50;
  for (XdpMode mode : {XdpMode::native, XdpMode::generic, XdpMode::automatic}) {
    CAPTURE(ebpfpp::to_string(mode));
    const std::size_t fds = test::open_fd_count();
    {
      auto skel = load();
      ebpfpp::PerCpuArrayMap<std::uint64_t> protocols(skel->maps.xdp_protocols);
      test::VethPair pair;
      test::NetnsScope in_a(pair.a);
      test::UdpReceiver receiver(pair.addr_a, port);
      ebpfpp::Xdp xdp(skel.program("xdp_count"), pair.ifname_a, mode);
      CHECK(xdp.mode() == mode);
      CHECK(attached_id(xdp.ifindex()) == prog_id(skel.program("xdp_count")));
      bpf_xdp_query_opts q{};
      q.sz = sizeof q;
      REQUIRE(bpf_xdp_query(xdp.ifindex(), 0, &q) == 0);
      CHECK(q.attach_mode == (mode == XdpMode::generic ? XDP_ATTACHED_SKB : XDP_ATTACHED_DRV));
      // veth has native XDP: what the kernel chose for automatic, said in the description.
      CHECK(xdp.attached_mode() == (mode == XdpMode::generic ? XdpMode::generic : XdpMode::native));
      if (mode == XdpMode::automatic)
        CHECK(xdp.description() == "XDP (native, chosen by the kernel) on '" + pair.ifname_a +
                                       "' (ifindex " + std::to_string(xdp.ifindex()) + ")");

      REQUIRE(test::send_udp(pair.b, pair.addr_a, port, n) == n);
      CHECK(receiver.receive(n, std::chrono::seconds(3)) == n);
      const auto udp_count = [&] { return protocols.get(udp).sum(); };
      CHECK(test::wait_for_value(udp_count, n) == n);
      // Only the test's datagrams: no TCP, no ICMP.
      CHECK(protocols.get(6).sum() == 0);
      CHECK(protocols.get(1).sum() == 0);

      const int ifindex = xdp.ifindex();
      xdp.reset();
      CHECK(attached_id(ifindex) == 0);
    }
    CHECK(test::open_fd_count() == fds);
  }
}

TEST_CASE("Xdp dropping UDP to a port: the receiver gets none and N drops are counted") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  constexpr int n = 40;
  for (XdpMode mode : {XdpMode::native, XdpMode::generic}) {
    CAPTURE(ebpfpp::to_string(mode));
    auto skel = load(port);
    ebpfpp::PerCpuArrayMap<std::uint64_t> protocols(skel->maps.xdp_protocols);
    ebpfpp::PerCpuArrayMap<std::uint64_t> drops(skel->maps.xdp_drops);
    test::VethPair pair;
    test::NetnsScope in_a(pair.a);
    test::UdpReceiver receiver(pair.addr_a, port);
    test::UdpReceiver other(pair.addr_a, port + 1);
    ebpfpp::Xdp xdp(skel.program("xdp_count"), pair.ifname_a, mode);

    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, n) == n);
    CHECK(test::wait_for_value([&] { return drops.get(0).sum(); }, n) == n);
    // Datagrams to another port pass: they prove the path works while the first ones vanish.
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port + 1, 3) == 3);
    CHECK(other.receive(3, std::chrono::seconds(3)) == 3);
    CHECK(receiver.receive(0, std::chrono::milliseconds(200)) == 0);
    CHECK(drops.get(0).sum() == n);
    CHECK(protocols.get(udp).sum() == n + 3);
  }
}

TEST_CASE("XDP test runs: the verdict and the rewritten bytes of crafted frames") {
  auto skel = load(port);
  const auto frame = udp_frame(port);

  auto drop = skel.program("xdp_count").test_run(ebpfpp::TestRun().data_in(frame));
  CHECK(drop.return_value == XDP_DROP);
  auto pass = skel.program("xdp_count").test_run(ebpfpp::TestRun().data_in(udp_frame(port + 1)));
  CHECK(pass.return_value == XDP_PASS);
  ebpfpp::PerCpuArrayMap<std::uint64_t> drops(skel->maps.xdp_drops);
  CHECK(drops.get(0).sum() == 1);

  auto tx = skel.program("xdp_swap_macs")
                .test_run(ebpfpp::TestRun().data_in(frame).data_out(frame.size()));
  CHECK(tx.return_value == XDP_TX);
  REQUIRE(tx.data_out.size() == frame.size());
  // Destination and source swapped; the rest untouched.
  CHECK(std::memcmp(tx.data_out.data(), frame.data() + 6, 6) == 0);
  CHECK(std::memcmp(tx.data_out.data() + 6, frame.data(), 6) == 0);
  CHECK(std::memcmp(tx.data_out.data() + 12, frame.data() + 12, frame.size() - 12) == 0);

  // Too short for an Ethernet header: the kernel refuses the run (XDP needs at least 14 bytes).
  const std::array<std::byte, 4> runt{};
  CHECK_THROWS_AS(skel.program("xdp_swap_macs").test_run(ebpfpp::TestRun().data_in(runt)),
                  ebpfpp::Error);
}

TEST_CASE("Xdp errors: a missing interface is named; a mode the driver lacks suggests generic") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  auto skel = load();
  test::Netns ns("lo");
  test::NetnsScope in(ns);
  const std::size_t fds = test::open_fd_count();
  try {
    ebpfpp::Xdp xdp(skel.program("xdp_count"), "ebpfpp-nosuch0");
    FAIL("attached to a missing interface");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENODEV);
    CHECK(std::string(e.what()).find("'ebpfpp-nosuch0'") != std::string::npos);
    CHECK(e.hint().find("ip link") != std::string::npos);
  }
  CHECK_THROWS_AS(ebpfpp::Interface(999999), ebpfpp::Error);

  // The loopback driver has no native XDP.
  try {
    ebpfpp::Xdp xdp(skel.program("xdp_count"), "lo", XdpMode::native);
    FAIL("native XDP on lo");
  } catch (const ebpfpp::Error& e) {
    CHECK((e.errnum() == EOPNOTSUPP || e.errnum() == 524));
    CHECK(std::string(e.what()).find("'lo'") != std::string::npos);
    CHECK(e.hint().find("XdpMode::generic") != std::string::npos);
  }
  ebpfpp::Xdp generic(skel.program("xdp_count"), "lo", XdpMode::generic);
  CHECK(attached_id(generic.ifindex()) == prog_id(skel.program("xdp_count")));
  generic.reset();
  CHECK(attached_id(ebpfpp::Interface("lo").index()) == 0);
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("Xdp replaces a program only when asked, and only the one expected") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  auto skel = load();
  const auto count = skel.program("xdp_count"), pass = skel.program("xdp_pass"),
             swap = skel.program("xdp_swap_macs");
  test::VethPair pair;
  test::NetnsScope in_a(pair.a);
  const int ifindex = ebpfpp::Interface(pair.ifname_a).index();
  {
    ebpfpp::Xdp first(count, pair.ifname_a, XdpMode::generic);
    // A second link on the same interface: refused, not replaced.
    try {
      ebpfpp::Xdp second(pass, pair.ifname_a, XdpMode::generic);
      FAIL("a second XDP link replaced the first");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EBUSY);
      CHECK(e.hint().find("replace") != std::string::npos);
      // How to find who holds it, not only "detach it".
      CHECK(e.hint().find("bpftool net show dev <if>") != std::string::npos);
      CHECK(e.hint().find("bpftool link show") != std::string::npos);
    }
    CHECK(attached_id(ifindex) == prog_id(count));
    // A link cannot be replaced through netlink either.
    CHECK_THROWS_AS(ebpfpp::Xdp::replace(pass, pair.ifname_a, count, XdpMode::generic),
                    ebpfpp::Error);
    CHECK(attached_id(ifindex) == prog_id(count));
  }
  CHECK(attached_id(ifindex) == 0);

  // Netlink attachments: "replace nothing", then replace with the expected-program check.
  auto a = ebpfpp::Xdp::replace(count, pair.ifname_a, {}, XdpMode::generic);
  CHECK(attached_id(ifindex) == prog_id(count));
  CHECK_THROWS_AS(ebpfpp::Xdp::replace(pass, pair.ifname_a, {}, XdpMode::generic), ebpfpp::Error);
  try {
    auto wrong = ebpfpp::Xdp::replace(pass, pair.ifname_a, swap, XdpMode::generic);
    FAIL("replaced a program that was not the expected one");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EEXIST);
    CHECK(e.hint().find("expected") != std::string::npos);
  }
  CHECK(attached_id(ifindex) == prog_id(count));
  auto b = ebpfpp::Xdp::replace(pass, pair.ifname_a, count, XdpMode::generic);
  CHECK(attached_id(ifindex) == prog_id(pass));
  // `a` no longer owns the attachment: destroying it leaves `b`'s program alone.
  a.reset();
  CHECK(attached_id(ifindex) == prog_id(pass));
  b.reset();
  CHECK(attached_id(ifindex) == 0);
}

TEST_CASE("Xdp without CAP_NET_ADMIN fails with a hint naming it, and leaks nothing") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  auto skel = load();
  test::Netns ns("unpriv");
  test::NetnsScope in(ns);
  const ebpfpp::Program prog = skel.program("xdp_count");
  // The program was loaded with privileges; the attach runs in a child that dropped them all.
  // The netlink attach (Xdp::replace) is where the kernel asks for CAP_NET_ADMIN: a link attach
  // with a program fd in hand is not checked again on 6.x kernels (the load was).
  const std::string refused = test::refused_unprivileged(
      [&] { auto xdp = ebpfpp::Xdp::replace(prog, "lo", {}, XdpMode::generic); });
  CHECK_MESSAGE(refused.empty(), refused);
  CHECK(attached_id(ebpfpp::Interface("lo").index()) == 0);
}

TEST_CASE("an Xdp link pins and unpins like any link; a netlink attachment cannot be pinned") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  auto skel = load();
  test::BpffsMount bpffs;
  test::Netns ns("pin");
  test::NetnsScope in(ns);
  {
    ebpfpp::Xdp xdp(skel.program("xdp_count"), "lo", XdpMode::generic);
    REQUIRE(xdp.fd() >= 0);
    xdp.pin(bpffs.dir / "xdp");
    CHECK(std::filesystem::exists(bpffs.dir / "xdp"));
    CHECK_THROWS_AS(xdp.pin(bpffs.dir / "again"), ebpfpp::Error);
    // The pinned link is the same one: opened again, it reports our program.
    auto again = ebpfpp::Link::open_pinned(bpffs.dir / "xdp");
    bpf_link_info info{};
    std::uint32_t len = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(again.fd(), &info, &len) == 0);
    CHECK(info.prog_id == prog_id(skel.program("xdp_count")));
    xdp.unpin();
    CHECK_FALSE(std::filesystem::exists(bpffs.dir / "xdp"));
  }
  CHECK(attached_id(ebpfpp::Interface("lo").index()) == 0);
  auto netlink = ebpfpp::Xdp::replace(skel.program("xdp_count"), "lo", {}, XdpMode::generic);
  CHECK(netlink);
  CHECK(netlink.fd() == -1);
  CHECK_THROWS_WITH_AS(netlink.pin(bpffs.dir / "nl"), doctest::Contains("not a kernel link"),
                       ebpfpp::Error);
}

} // namespace xdp_test
