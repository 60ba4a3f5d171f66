// Tcx and TcClassic on a veth pair between two private network namespaces: the order several
// tcx programs run in, as they record it for a real UDP datagram; the clsact qdisc made and
// removed by TcClassic, or kept when it was there before or when others' filters are still on
// it; a TcClassic that outlived its interface leaves the next one with the same index alone.

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "test_network.bpf.skel.h"

namespace tc_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_network_bpf>;
using ebpfpp::TcDirection;
using ebpfpp::TcxAnchor;
constexpr std::uint16_t port = 4343;

// The ids the TC programs recorded, in order.
std::vector<std::uint32_t> recorded(const ebpfpp::ArrayMap<std::uint32_t>& log) {
  std::vector<std::uint32_t> ids;
  const std::uint32_t n = log.get(0);
  for (std::uint32_t i = 1; i <= n && i < log.size(); ++i) ids.push_back(log.get(i));
  return ids;
}

void clear(ebpfpp::ArrayMap<std::uint32_t>& log) {
  for (std::uint32_t i = 0; i < log.size(); ++i) log.set(i, 0);
}

// What `tc` says about the interface's qdiscs, in its namespace.
std::string qdiscs(const test::Netns& ns, const std::string& ifname) {
  return test::output_of(fmt::format("ip netns exec {} tc qdisc show dev {}", ns.name(), ifname));
}

// What `tc` says about the interface's filters in one direction ("ingress" or "egress").
std::string filters(const test::Netns& ns, const std::string& ifname, const char* direction) {
  return test::output_of(
      fmt::format("ip netns exec {} tc filter show dev {} {}", ns.name(), ifname, direction));
}

bool has(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

// Another tool's filter: a u32 match on an address nothing sends to (a match would end the
// classification before the BPF filters run).
void add_u32_filter(const test::Netns& ns, const std::string& ifname, const char* direction) {
  REQUIRE(test::sh(fmt::format("ip netns exec {} tc filter add dev {} {} protocol ip pref 10 u32 "
                               "match ip dst 192.0.2.1/32",
                               ns.name(), ifname, direction)) == 0);
}

} // namespace

TEST_CASE("Tcx runs ingress and egress programs in the before/after order asked for") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tcx)) EBPFPP_SKIP(*r);
  auto skel = Skel::open_and_load();
  ebpfpp::ArrayMap<std::uint32_t> log(skel->maps.tc_order);
  const auto first = skel.program("tc_first"), second = skel.program("tc_second"),
             third = skel.program("tc_third");
  const std::size_t fds = test::open_fd_count();
  {
    test::VethPair pair;
    std::vector<ebpfpp::Link> links;
    {
      // Egress on b: `first` appended, then `third` put in front of everything: 3, 1.
      test::NetnsScope in_b(pair.b);
      links.push_back(ebpfpp::Tcx(first, pair.ifname_b, TcDirection::egress));
      links.push_back(ebpfpp::Tcx(third, pair.ifname_b, TcDirection::egress, TcxAnchor::first()));
    }
    test::NetnsScope in_a(pair.a);
    // Ingress on a: `second` alone, `first` before its link, `third` after the program `second`.
    ebpfpp::Tcx mid(second, pair.ifname_a, TcDirection::ingress);
    CHECK(mid.direction() == TcDirection::ingress);
    ebpfpp::Tcx before(first, pair.ifname_a, TcDirection::ingress, TcxAnchor::before(mid));
    ebpfpp::Tcx after(third, pair.ifname_a, TcDirection::ingress, TcxAnchor::after(second));
    test::UdpReceiver receiver(pair.addr_a, port);

    clear(log);
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 1) == 1);
    CHECK(receiver.receive(1, std::chrono::seconds(3)) == 1);
    // One datagram: out of b (3, 1), then into a (1, 2, 3).
    CHECK(recorded(log) == std::vector<std::uint32_t>{3, 1, 1, 2, 3});

    // Detaching the middle one closes the gap.
    mid.reset();
    clear(log);
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 1) == 1);
    CHECK(receiver.receive(2, std::chrono::seconds(3)) == 2);
    CHECK(recorded(log) == std::vector<std::uint32_t>{3, 1, 1, 3});

    // A revision that is not the hook's: refused (someone changed the programs since).
    try {
      ebpfpp::Tcx stale(second, pair.ifname_a, TcDirection::ingress,
                        TcxAnchor::last().expected_revision(1000));
      FAIL("attached with a stale revision");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == ESTALE);
    }

    // An anchor that is not on this hook: refused, nothing attached.
    try {
      ebpfpp::Tcx bad(second, pair.ifname_a, TcDirection::egress, TcxAnchor::after(first));
      FAIL("attached after a program that is not on the hook");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == ENOENT);
      CHECK(std::string(e.what()).find("after program 'tc_first'") != std::string::npos);
    }
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("TcClassic makes the clsact qdisc and removes it; an existing qdisc is kept") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tc)) EBPFPP_SKIP(*r);
  auto skel = Skel::open_and_load();
  ebpfpp::ArrayMap<std::uint32_t> log(skel->maps.tc_order);
  test::VethPair pair;
  test::NetnsScope in_a(pair.a);
  test::UdpReceiver receiver(pair.addr_a, port);
  REQUIRE(qdiscs(pair.a, pair.ifname_a).find("clsact") == std::string::npos);
  const std::size_t fds = test::open_fd_count();
  {
    ebpfpp::TcClassic tc(skel.program("tc_second"), pair.ifname_a, TcDirection::ingress);
    CHECK(tc.created_qdisc());
    CHECK(qdiscs(pair.a, pair.ifname_a).find("clsact") != std::string::npos);
    clear(log);
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 1) == 1);
    CHECK(receiver.receive(1, std::chrono::seconds(3)) == 1);
    CHECK(recorded(log) == std::vector<std::uint32_t>{2});
  }
  CHECK(qdiscs(pair.a, pair.ifname_a).find("clsact") == std::string::npos);
  CHECK(test::open_fd_count() == fds);

  // A clsact qdisc someone else made: used, and left in place (without our filter).
  REQUIRE(test::sh(fmt::format("ip netns exec {} tc qdisc add dev {} clsact", pair.a.name(),
                               pair.ifname_a)) == 0);
  {
    ebpfpp::TcClassic in(skel.program("tc_first"), pair.ifname_a, TcDirection::ingress);
    ebpfpp::TcClassic out(skel.program("tc_third"), pair.ifname_a, TcDirection::egress);
    CHECK_FALSE(in.created_qdisc());
    CHECK_FALSE(out.created_qdisc());
  }
  CHECK(qdiscs(pair.a, pair.ifname_a).find("clsact") != std::string::npos);
  clear(log);
  REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 1) == 1);
  CHECK(receiver.receive(2, std::chrono::seconds(3)) == 2);
  CHECK(recorded(log).empty());

  // A missing interface is named.
  try {
    ebpfpp::TcClassic tc(skel.program("tc_first"), "ebpfpp-nosuch1", TcDirection::ingress);
    FAIL("attached to a missing interface");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENODEV);
    CHECK(std::string(e.what()).find("'ebpfpp-nosuch1'") != std::string::npos);
  }
}

TEST_CASE("Tcx and TcClassic without CAP_NET_ADMIN fail with a hint naming it") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tc)) EBPFPP_SKIP(*r);
  auto skel = Skel::open_and_load();
  test::Netns ns("unpriv");
  test::NetnsScope in(ns);
  const ebpfpp::Program prog = skel.program("tc_first");
  const std::string refused =
      test::refused_unprivileged([&] { ebpfpp::TcClassic tc(prog, "lo", TcDirection::ingress); });
  CHECK_MESSAGE(refused.empty(), refused);
  CHECK(qdiscs(ns, "lo").find("clsact") == std::string::npos);
}

TEST_CASE("TcClassic removes the clsact qdisc it made only when no other filter is left on it") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tc)) EBPFPP_SKIP(*r);
  auto skel = Skel::open_and_load();
  ebpfpp::ArrayMap<std::uint32_t> log(skel->maps.tc_order);
  test::VethPair pair;
  test::NetnsScope in_a(pair.a);
  test::UdpReceiver receiver(pair.addr_a, port);
  const test::Netns& ns = pair.a;
  const std::string& dev = pair.ifname_a;
  const std::string del_qdisc =
      fmt::format("ip netns exec {} tc qdisc del dev {} clsact", ns.name(), dev);
  const std::size_t fds = test::open_fd_count();

  // Beside the maker's filter: another TcClassic's and another tool's, on the same direction.
  {
    std::optional<ebpfpp::TcClassic> maker(std::in_place, skel.program("tc_first"), dev,
                                           TcDirection::ingress);
    REQUIRE(maker->created_qdisc());
    ebpfpp::TcClassic other(skel.program("tc_second"), dev, TcDirection::ingress);
    CHECK_FALSE(other.created_qdisc());
    add_u32_filter(ns, dev, "ingress");
    maker.reset();
    CHECK(has(qdiscs(ns, dev), "clsact"));
    const std::string left = filters(ns, dev, "ingress");
    CHECK_MESSAGE(has(left, "u32"), left);
    CHECK_MESSAGE(has(left, "tc_second"), left);
    CHECK_MESSAGE(!has(left, "tc_first"), left);
    // `other` still runs: its filter is there for the packets, not only in the listing.
    clear(log);
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 1) == 1);
    CHECK(receiver.receive(1, std::chrono::seconds(3)) == 1);
    CHECK(recorded(log) == std::vector<std::uint32_t>{2});
  }
  // `other` went too; the u32 filter stays, and the qdisc under it.
  CHECK(has(qdiscs(ns, dev), "clsact"));
  CHECK(has(filters(ns, dev, "ingress"), "u32"));
  CHECK_FALSE(has(filters(ns, dev, "ingress"), "bpf"));
  REQUIRE(test::sh(del_qdisc) == 0);

  // Another tool's filter on the other direction keeps the qdisc as well.
  {
    ebpfpp::TcClassic maker(skel.program("tc_first"), dev, TcDirection::ingress);
    REQUIRE(maker.created_qdisc());
    add_u32_filter(ns, dev, "egress");
  }
  CHECK(has(qdiscs(ns, dev), "clsact"));
  CHECK(has(filters(ns, dev, "egress"), "u32"));
  CHECK_FALSE(has(filters(ns, dev, "ingress"), "bpf"));
  REQUIRE(test::sh(del_qdisc) == 0);

  // Only our own filters, destroyed in the reverse order of their making: the last one out (the
  // maker) finds the qdisc empty and removes it.
  {
    ebpfpp::TcClassic in(skel.program("tc_first"), dev, TcDirection::ingress);
    ebpfpp::TcClassic out(skel.program("tc_third"), dev, TcDirection::egress);
    REQUIRE(in.created_qdisc());
  }
  CHECK_FALSE(has(qdiscs(ns, dev), "clsact"));
  CHECK(test::open_fd_count() == fds);
}

namespace {
// Deletes the pair's veth (both ends go) and makes a new one with the same names, whose ends both
// get `index` in their namespaces: the kernel reuses a free index, and `ip link add ... index`
// asks for one.
void remake_veth(const test::VethPair& pair, int index) {
  const std::string a = pair.a.name(), b = pair.b.name();
  REQUIRE(test::sh(fmt::format("ip -n {} link del {}", a, pair.ifname_a)) == 0);
  REQUIRE(test::sh(fmt::format("ip -n {} link add {} index {} type veth peer name {} index {} "
                               "netns {}",
                               a, pair.ifname_a, index, pair.ifname_b, index, b)) == 0);
  REQUIRE(test::sh(fmt::format("ip -n {} addr add {}/24 dev {}", a, pair.addr_a, pair.ifname_a)) ==
          0);
  REQUIRE(test::sh(fmt::format("ip -n {} addr add {}/24 dev {}", b, pair.addr_b, pair.ifname_b)) ==
          0);
  REQUIRE(test::sh(fmt::format("ip -n {} link set {} up", a, pair.ifname_a)) == 0);
  REQUIRE(test::sh(fmt::format("ip -n {} link set {} up", b, pair.ifname_b)) == 0);
}
} // namespace

TEST_CASE(
    "a TcClassic that outlived its interface leaves the interface that took its index alone") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tc)) EBPFPP_SKIP(*r);
  auto skel = Skel::open_and_load();
  ebpfpp::ArrayMap<std::uint32_t> log(skel->maps.tc_order);
  test::VethPair pair;
  test::NetnsScope in_a(pair.a);
  const test::Netns& ns = pair.a;
  const std::string& dev = pair.ifname_a;
  const std::size_t fds = test::open_fd_count();
  {
    ebpfpp::TcClassic stale(skel.program("tc_first"), dev, TcDirection::ingress);
    REQUIRE(stale.created_qdisc());
    remake_veth(pair, stale.ifindex());

    // On the new interface: the same program at the same (kernel-picked) handle and priority, so
    // only the attachment itself tells them apart; and another tool's filter.
    ebpfpp::TcClassic fresh(skel.program("tc_first"), dev, TcDirection::ingress);
    REQUIRE(fresh.ifindex() == stale.ifindex());
    CHECK(fresh.created_qdisc());
    add_u32_filter(ns, dev, "ingress");
    stale.reset();
    CHECK(has(qdiscs(ns, dev), "clsact"));
    const std::string left = filters(ns, dev, "ingress");
    CHECK_MESSAGE(has(left, "u32"), left);
    CHECK_MESSAGE(has(left, "tc_first"), left);
    test::UdpReceiver receiver(pair.addr_a, port);
    clear(log);
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 1) == 1);
    CHECK(receiver.receive(1, std::chrono::seconds(3)) == 1);
    CHECK(recorded(log) == std::vector<std::uint32_t>{1});

    // Destroyed in another namespace, where its index names another interface (veth-b has the
    // same index in b) with the same program on the same hook: that one is left alone too.
    std::optional<ebpfpp::TcClassic> away(std::in_place, skel.program("tc_second"), dev,
                                          TcDirection::egress);
    {
      test::NetnsScope in_b(pair.b);
      ebpfpp::TcClassic there(skel.program("tc_second"), pair.ifname_b, TcDirection::egress);
      REQUIRE(there.ifindex() == away->ifindex());
      add_u32_filter(pair.b, pair.ifname_b, "egress");
      away.reset();
      CHECK(has(qdiscs(pair.b, pair.ifname_b), "clsact"));
      const std::string there_left = filters(pair.b, pair.ifname_b, "egress");
      CHECK_MESSAGE(has(there_left, "u32"), there_left);
      CHECK_MESSAGE(has(there_left, "tc_second"), there_left);
    }
  }
  CHECK(test::open_fd_count() == fds);
}

} // namespace tc_test
