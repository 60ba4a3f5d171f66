// LpmTrieMap, DevMap and DevMapHash over the maps of test_network.bpf.c: longest-prefix matches
// as the kernel answers them, to user space and to an XDP program in a test run; devmap slots
// that an XDP program redirects through.

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "test_network.bpf.skel.h"

namespace network_maps_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_network_bpf>;
using ebpfpp::Ipv4Prefix;

// An Ethernet + IPv4 header from `src`.
std::array<std::byte, 14 + 20> ipv4_frame(const char* src) {
  std::array<std::uint8_t, 14 + 20> f{};
  f[12] = 0x08;
  f[14] = 0x45;
  f[17] = 20;
  f[22] = 64;
  f[23] = 17;
  REQUIRE(::inet_pton(AF_INET, src, &f[26]) == 1);
  std::array<std::byte, f.size()> out;
  std::memcpy(out.data(), f.data(), f.size());
  return out;
}

} // namespace

TEST_CASE("LpmTrieMap: the longest stored prefix matches, in user space and in an XDP program") {
  auto skel = Skel::open_and_load();
  ebpfpp::LpmTrieMap<Ipv4Prefix, std::uint32_t> prefixes(skel->maps.prefixes);
  ebpfpp::ArrayMap<std::uint32_t> match(skel->maps.xdp_match);
  prefixes.update(Ipv4Prefix::parse("10.0.0.0/8"), 8);
  prefixes.update(Ipv4Prefix::parse("10.1.0.0/16"), 16);
  prefixes.update(Ipv4Prefix::parse("10.1.2.3"), 32);

  CHECK(prefixes.lookup(Ipv4Prefix::parse("10.1.2.3")) == 32u);
  CHECK(prefixes.lookup(Ipv4Prefix::parse("10.1.9.9")) == 16u);
  CHECK(prefixes.lookup(Ipv4Prefix::parse("10.200.0.1")) == 8u);
  CHECK_FALSE(prefixes.lookup(Ipv4Prefix::parse("11.0.0.1")));

  const auto run = [&](const char* src) {
    match.set(0, 0xffffffffu);
    auto r = skel.program("xdp_match_source").test_run(ebpfpp::TestRun().data_in(ipv4_frame(src)));
    CHECK(r.return_value == XDP_PASS);
    return match.get(0);
  };
  CHECK(run("10.1.2.3") == 32);
  CHECK(run("10.1.7.7") == 16);
  CHECK(run("10.9.9.9") == 8);
  CHECK(run("192.168.0.1") == 0);

  // Exact-prefix erase: the /16 goes, its addresses fall back to the /8.
  CHECK(prefixes.erase(Ipv4Prefix::parse("10.1.0.0/16")));
  CHECK_FALSE(prefixes.erase(Ipv4Prefix::parse("10.1.0.0/16")));
  CHECK(run("10.1.7.7") == 8);

  std::vector<std::string> keys;
  for (auto [k, v] : prefixes) keys.push_back(fmt::format("{}={}", k.str(), v));
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"10.0.0.0/8=8", "10.1.2.3/32=32"});

  // A map made here, and the parse errors.
  auto own = ebpfpp::LpmTrieMap<ebpfpp::Ipv6Prefix, std::uint8_t>::create(4, "lpm6");
  own.update(ebpfpp::Ipv6Prefix::parse("fd00::/8"), 1);
  CHECK(own.lookup(ebpfpp::Ipv6Prefix::parse("fd12::1")) == std::uint8_t{1});
  CHECK_THROWS_WITH_AS(Ipv4Prefix::parse("10.0.0.0/33"), doctest::Contains("'10.0.0.0/33'"),
                       ebpfpp::Error);
  CHECK_THROWS_AS(Ipv4Prefix::parse("fd00::/8"), ebpfpp::Error);
}

TEST_CASE("DevMap and DevMapHash hold interfaces an XDP program redirects to") {
  auto skel = Skel::open_and_load();
  test::Netns ns("dev");
  test::NetnsScope in(ns);
  const int lo = ebpfpp::Interface("lo").index();

  ebpfpp::DevMap<> ports(skel->maps.tx_ports);
  CHECK(ports.size() == 4);
  const auto redirect = [&] {
    return skel.program("xdp_redirect_slot0")
        .test_run(ebpfpp::TestRun().data_in(ipv4_frame("10.0.0.1")))
        .return_value;
  };
  CHECK(redirect() == XDP_ABORTED); // slot 0 empty
  ports.set(0, static_cast<std::uint32_t>(lo));
  CHECK(ports.get(0) == static_cast<std::uint32_t>(lo));
  CHECK(redirect() == XDP_REDIRECT);
  try {
    ports.set(1, 999999);
    FAIL("a devmap took an interface that does not exist");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL); // what the kernel answers for an unknown ifindex
    CHECK(std::string(e.what()).find("tx_ports") != std::string::npos);
  }

  ebpfpp::DevMapHash<> by_index(skel->maps.tx_ports_hash);
  by_index.update(static_cast<std::uint32_t>(lo), static_cast<std::uint32_t>(lo));
  CHECK(by_index.lookup(static_cast<std::uint32_t>(lo)) == static_cast<std::uint32_t>(lo));
  CHECK(by_index.erase(static_cast<std::uint32_t>(lo)));

  // The wrong view names the right one.
  CHECK_THROWS_WITH_AS(ebpfpp::DevMap<>(skel->maps.tx_ports_hash),
                       doctest::Contains("ebpfpp::DevMapHash<V>"), ebpfpp::Error);
  auto own = ebpfpp::DevMap<>::create(2, "devmap");
  own.set(1, static_cast<std::uint32_t>(lo));
  CHECK(own.get(1) == static_cast<std::uint32_t>(lo));
}

} // namespace network_maps_test
