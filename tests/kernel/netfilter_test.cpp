// Netfilter on real UDP datagrams inside a private network namespace: a netfilter program on
// the IPv4 LOCAL_IN hook drops the datagrams to one port and counts them; destroyed, it lets
// them through again. Its errors: a wrong program type, a reserved priority, a hook that does
// not exist, no CAP_NET_ADMIN.

#include <doctest/doctest.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <string>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "test_netfilter.bpf.skel.h"
#include "test_sockets.bpf.skel.h"

namespace netfilter_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_netfilter_bpf>;
using ebpfpp::NetfilterFamily;
using ebpfpp::NetfilterHook;
constexpr std::uint16_t port = 5353;

Skel load() {
  auto skel = Skel::open();
  skel->rodata->nf_drop_port = port;
  ebpfpp::Netfilter::prepare(skel.program("nf_drop_udp"));
  skel.load();
  return skel;
}

struct LoopbackNetns {
  test::Netns ns{"nf"};
  LoopbackNetns() { REQUIRE(test::sh(fmt::format("ip -n {} link set lo up", ns.name())) == 0); }
};

} // namespace

TEST_CASE("Netfilter drops exactly the N UDP datagrams to its port and lets them through once "
          "destroyed" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::netfilter)) EBPFPP_SKIP(*r);
  constexpr int n = 25;
  auto skel = load();
  LoopbackNetns netns;
  test::NetnsScope in(netns.ns);
  const std::size_t fds = test::open_fd_count();
  {
    test::UdpReceiver receiver("127.0.0.1", port);
    test::UdpReceiver other("127.0.0.1", port + 1);
    ebpfpp::Netfilter nf(skel.program("nf_drop_udp"), NetfilterFamily::ipv4,
                         NetfilterHook::local_in, -128);
    CHECK(nf.fd() >= 0);
    CHECK(nf.hook() == NetfilterHook::local_in);
    CHECK(nf.description() == "netfilter ipv4 local_in priority -128");

    REQUIRE(test::send_udp(netns.ns, "127.0.0.1", port, n) == n);
    REQUIRE(test::send_udp(netns.ns, "127.0.0.1", port + 1, 3) == 3);
    CHECK(other.receive(3, std::chrono::seconds(2)) == 3);
    CHECK(receiver.receive(0, std::chrono::milliseconds(100)) == 0);
    CHECK(skel->bss->nf_dropped == n);
    CHECK(skel->bss->nf_udp == n + 3);

    nf.reset();
    REQUIRE(test::send_udp(netns.ns, "127.0.0.1", port, n) == n);
    CHECK(receiver.receive(n, std::chrono::seconds(2)) == n);
    CHECK(skel->bss->nf_dropped == n);
    CHECK(skel->bss->nf_udp == n + 3);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("Netfilter errors: wrong program type, reserved priority, no such hook, no "
          "CAP_NET_ADMIN" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::netfilter)) EBPFPP_SKIP(*r);
  auto skel = load();
  auto other = ebpfpp::Skeleton<test_sockets_bpf>::open_and_load();
  LoopbackNetns netns;
  test::NetnsScope in(netns.ns);
  const auto prog = skel.program("nf_drop_udp");
  const std::size_t fds = test::open_fd_count();
  try {
    ebpfpp::Netfilter nf(other.program("steer"), NetfilterFamily::ipv4, NetfilterHook::local_in, 0);
    FAIL("an sk_lookup program attached to netfilter");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(std::string(e.what()).find("'steer'") != std::string::npos);
    CHECK(e.hint().find("sk_lookup") != std::string::npos);
  }
  try {
    ebpfpp::Netfilter nf(prog, NetfilterFamily::ipv4, NetfilterHook::local_in, INT_MIN);
    FAIL("the reserved priority NF_IP_PRI_FIRST was accepted");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ERANGE);
    CHECK(e.hint().find("NF_IP_PRI_FIRST") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(
      ebpfpp::Netfilter(prog, NetfilterFamily::ipv4, static_cast<NetfilterHook>(9), 0),
      doctest::Contains("netfilter ipv4 ? priority 0"), ebpfpp::Error);
  CHECK_THROWS_AS(ebpfpp::Netfilter::prepare(prog), ebpfpp::Error); // after load
  CHECK_THROWS_AS(ebpfpp::Netfilter::prepare(ebpfpp::Program()), ebpfpp::Error);
  CHECK(test::open_fd_count() == fds);

  // The kernel checks CAP_NET_ADMIN at load (the attach is not checked again).
  const std::string refused = test::refused_unprivileged([&] {
    auto mine = load();
    ebpfpp::Netfilter nf(mine.program("nf_drop_udp"), NetfilterFamily::ipv4,
                         NetfilterHook::local_in, -128);
  });
  CHECK_MESSAGE(refused.empty(), refused);
}

} // namespace netfilter_test
