// Netkit, flow dissector and freplace on real traffic and real programs (bpf/netdev_kinds.bpf.c):
// TC programs on a netkit pair made over rtnetlink between two private namespaces count the
// datagrams each side sends, in the order their anchors say; a flow dissector attached to a
// namespace fills the flow keys of a test-run packet exactly, and is asked by the kernel once
// per datagram that a hashing packet socket sees; an extension replaces a global function of a
// loaded tc program, whose test run then returns the extension's value, and the original one
// once the link is gone. Each with its bad input. Netkit needs 6.7 and CONFIG_NETKIT, freplace a
// kernel that lets the BPF trampoline run (not this host's: scripts/vm-test runs them).

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "netdev_kinds.bpf.skel.h"

namespace netdev_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<netdev_kinds_bpf>;
using ebpfpp::kernel::Feature;
constexpr std::uint16_t port = 6060;

Skel load() {
  auto skel = Skel::open();
  skel->rodata->nk_port = port;
  skel->rodata->fd_port = port;
  skel.load();
  return skel;
}

// --- a netkit pair over rtnetlink (iproute2 before 6.7 cannot make one) ---------------------

// An RTM_NEWLINK request built in place: a header, an ifinfomsg, attributes (nested ones too).
class NewLink {
public:
  NewLink() {
    nlmsghdr h{};
    h.nlmsg_type = RTM_NEWLINK;
    h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    put_raw(&h, sizeof h);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    put_raw(&ifi, sizeof ifi);
  }
  std::size_t begin(std::uint16_t type) {
    const std::size_t at = buf_.size();
    nlattr a{0, type};
    put_raw(&a, sizeof a);
    return at;
  }
  void end(std::size_t at) {
    const auto len = static_cast<std::uint16_t>(buf_.size() - at);
    std::memcpy(buf_.data() + at, &len, sizeof len);
  }
  void put(std::uint16_t type, const void* data, std::size_t len) {
    const std::size_t at = begin(type);
    put_raw(data, len);
    end(at);
    buf_.resize(NLMSG_ALIGN(buf_.size()));
  }
  void put_string(std::uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }
  void put_raw(const void* data, std::size_t len) {
    const auto* p = static_cast<const unsigned char*>(data);
    buf_.insert(buf_.end(), p, p + len);
    buf_.resize(NLMSG_ALIGN(buf_.size()));
  }
  // Sends the request on a fresh rtnetlink socket of the calling thread's namespace; the
  // kernel's answer (0 or a negative errno).
  int send() {
    const auto len = static_cast<std::uint32_t>(buf_.size());
    std::memcpy(buf_.data(), &len, sizeof len);
    const int s = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    REQUIRE(s >= 0);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    int err = -EIO;
    if (::sendto(s, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) == static_cast<ssize_t>(buf_.size())) {
      alignas(nlmsghdr) unsigned char reply[4096];
      const ssize_t n = ::recv(s, reply, sizeof reply, 0);
      const auto* h = reinterpret_cast<const nlmsghdr*>(reply);
      if (n >= static_cast<ssize_t>(NLMSG_HDRLEN + sizeof(nlmsgerr)) && h->nlmsg_type == NLMSG_ERROR)
        err = static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
    }
    ::close(s);
    return err;
  }

private:
  std::vector<unsigned char> buf_;
};

// A netkit pair: the primary `nk-a` (addr_a) in namespace a, its peer `nk-b` (addr_b) in b.
struct NetkitPair {
  test::Netns a{(test::cleanup_stale_namespaces(), "nka")};
  test::Netns b{"nkb"};
  std::string net = test::VethPair::subnet();
  std::string addr_a = net + ".1";
  std::string addr_b = net + ".2";

  NetkitPair() {
    {
      test::NetnsScope in(a);
      NewLink req;
      req.put_string(IFLA_IFNAME, "nk-a");
      const auto linkinfo = req.begin(IFLA_LINKINFO);
      req.put_string(IFLA_INFO_KIND, "netkit");
      const auto data = req.begin(IFLA_INFO_DATA);
      // The peer: an ifinfomsg, then its own attributes (its name, its namespace).
      const auto peer = req.begin(ebpfpp::detail::uapi::ifla_netkit_peer_info);
      ifinfomsg ifi{};
      req.put_raw(&ifi, sizeof ifi);
      req.put_string(IFLA_IFNAME, "nk-b");
      const std::uint32_t ns_fd = static_cast<std::uint32_t>(b.fd());
      req.put(IFLA_NET_NS_FD, &ns_fd, sizeof ns_fd);
      req.end(peer);
      req.end(data);
      req.end(linkinfo);
      const int err = req.send();
      REQUIRE_MESSAGE(err == 0, "RTM_NEWLINK netkit: " << std::strerror(-err));
    }
    REQUIRE(test::sh(fmt::format("ip -n {} addr add {}/24 dev nk-a", a.name(), addr_a)) == 0);
    REQUIRE(test::sh(fmt::format("ip -n {} addr add {}/24 dev nk-b", b.name(), addr_b)) == 0);
    REQUIRE(test::sh(fmt::format("ip -n {} link set nk-a up", a.name())) == 0);
    REQUIRE(test::sh(fmt::format("ip -n {} link set nk-b up", b.name())) == 0);
  }
};

// --- a packet for the flow dissector --------------------------------------------------------

struct [[gnu::packed]] UdpFrame {
  ethhdr eth;
  std::uint8_t ip[20];
  std::uint16_t sport, dport, len, check;
  std::array<char, 8> payload;
};

UdpFrame udp_frame(std::uint32_t saddr, std::uint32_t daddr, std::uint16_t sport,
                   std::uint16_t dport) {
  UdpFrame f{};
  f.eth.h_proto = htons(ETH_P_IP);
  f.ip[0] = 0x45;                                    // IPv4, 20-byte header
  const std::uint16_t total = htons(20 + 8 + 8);
  std::memcpy(&f.ip[2], &total, 2);
  f.ip[8] = 64;                                      // ttl
  f.ip[9] = IPPROTO_UDP;
  std::memcpy(&f.ip[12], &saddr, 4);
  std::memcpy(&f.ip[16], &daddr, 4);
  f.sport = htons(sport);
  f.dport = htons(dport);
  f.len = htons(8 + 8);
  return f;
}

std::uint32_t ipv4_addr(const char* text) {
  in_addr a{};
  REQUIRE(::inet_pton(AF_INET, text, &a) == 1);
  return a.s_addr;
}

} // namespace

// --- netkit ---------------------------------------------------------------------------------

TEST_CASE("Netkit counts exactly what each side of a netkit pair sends, in anchor order" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(Feature::netkit)) EBPFPP_SKIP(*r);
  constexpr int n = 20, m = 7, k = 5;
  auto skel = load();
  NetkitPair pair;
  test::NetnsScope in_a(pair.a);
  const std::size_t fds = test::open_fd_count();
  {
    ebpfpp::Netkit primary(skel.program("nk_count"), "nk-a", ebpfpp::NetkitSide::primary);
    ebpfpp::Netkit peer(skel.program("nk_count"), "nk-a", ebpfpp::NetkitSide::peer);
    CHECK(primary.side() == ebpfpp::NetkitSide::primary);
    CHECK(peer.description().starts_with("netkit peer of 'nk-a'"));
    const auto target = peer.info().target<ebpfpp::links::Netkit>().value();
    CHECK(target.peer());
    CHECK(target.ifindex == primary.ifindex());
    CHECK_FALSE(primary.info().target<ebpfpp::links::Netkit>().value().peer());

    test::UdpReceiver at_a(pair.addr_a, port + 1);
    std::optional<test::UdpReceiver> at_b;
    {
      test::NetnsScope in_b(pair.b);
      at_b.emplace(pair.addr_b, port);
    }
    // a sends: the primary's program runs; b sends: the peer's.
    REQUIRE(test::send_udp(pair.a, pair.addr_b, port, n) == n);
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port + 1, m) == m);
    CHECK(at_b->receive(n, std::chrono::seconds(2)) == n);
    CHECK(at_a.receive(m, std::chrono::seconds(2)) == m);
    CHECK(skel->bss->nk_counted[0] == n);
    CHECK(skel->bss->nk_counted[1] == m);

    // A dropper before the primary's counter: the counter sees nothing more, nothing arrives.
    {
      ebpfpp::Netkit drop(skel.program("nk_drop"), "nk-a", ebpfpp::NetkitSide::primary,
                          ebpfpp::TcxAnchor::before(primary));
      REQUIRE(test::send_udp(pair.a, pair.addr_b, port, k) == k);
      CHECK(at_b->receive(n + k, std::chrono::milliseconds(300)) == n);
      CHECK(skel->bss->nk_dropped[0] == k);
      CHECK(skel->bss->nk_counted[0] == n);
    }
    // After it: the counter counts first, then the dropper drops.
    {
      ebpfpp::Netkit drop(skel.program("nk_drop"), "nk-a", ebpfpp::NetkitSide::primary,
                          ebpfpp::TcxAnchor::after(primary));
      REQUIRE(test::send_udp(pair.a, pair.addr_b, port, k) == k);
      CHECK(at_b->receive(n + k, std::chrono::milliseconds(300)) == n);
      CHECK(skel->bss->nk_dropped[0] == 2 * k);
      CHECK(skel->bss->nk_counted[0] == n + k);
    }
    // Both gone: the datagrams pass again, counted by nothing.
    primary.reset();
    REQUIRE(test::send_udp(pair.a, pair.addr_b, port, k) == k);
    CHECK(at_b->receive(n + k, std::chrono::seconds(2)) == n + k);
    CHECK(skel->bss->nk_counted[0] == n + k);
    CHECK(skel->bss->nk_counted[1] == m);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("Netkit errors: not a netkit device, the peer named, a wrong program type" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(Feature::netkit)) EBPFPP_SKIP(*r);
  auto skel = load();
  NetkitPair pair;
  const std::size_t fds = test::open_fd_count();
  {
    test::NetnsScope in_a(pair.a);
    try {
      ebpfpp::Netkit nk(skel.program("nk_count"), "lo", ebpfpp::NetkitSide::primary);
      FAIL("netkit attached to lo");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == ENXIO);
      CHECK(std::string(e.what()).find("'lo'") != std::string::npos);
      CHECK(e.hint().find("not a netkit device") != std::string::npos);
    }
    try {
      ebpfpp::Netkit nk(skel.program("dissect"), "nk-a", ebpfpp::NetkitSide::primary);
      FAIL("a flow dissector attached to netkit");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EINVAL);
      CHECK(std::string(e.what()).find("'dissect'") != std::string::npos);
      CHECK(e.hint().find("flow_dissector") != std::string::npos);
    }
    CHECK_THROWS_WITH_AS(
        ebpfpp::Netkit(skel.program("nk_count"), "nk-none", ebpfpp::NetkitSide::primary),
        doctest::Contains("'nk-none'"), ebpfpp::Error);
  }
  {
    test::NetnsScope in_b(pair.b);
    try {
      ebpfpp::Netkit nk(skel.program("nk_count"), "nk-b", ebpfpp::NetkitSide::peer);
      FAIL("netkit attached through the peer");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EACCES);
      CHECK(e.hint().find("primary") != std::string::npos);
    }
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("Netkit on a kernel without netkit: a FeatureError naming CONFIG_NETKIT or 6.7") {
  if (ebpfpp::kernel::has(Feature::netkit)) EBPFPP_SKIP("this kernel has netkit");
  auto skel = load();
  try {
    ebpfpp::Netkit nk(skel.program("nk_count"), "lo", ebpfpp::NetkitSide::primary);
    FAIL("netkit attached without netkit");
  } catch (const ebpfpp::FeatureError& e) {
    CHECK(e.feature() == "netkit");
    const std::string what = e.what();
    CHECK((what.find("CONFIG_NETKIT") != std::string::npos ||
           what.find("6.7") != std::string::npos));
    CHECK(e.hint().find("Tcx") != std::string::npos);
  }
}

// --- flow dissector -------------------------------------------------------------------------

TEST_CASE("FlowDissector's program fills the flow keys of a test-run packet exactly") {
  if (auto r = test::skip_reason(Feature::flow_dissector)) EBPFPP_SKIP(*r);
  auto skel = load();
  const auto frame = udp_frame(ipv4_addr("10.9.8.7"), ipv4_addr("10.1.2.3"), 4242, port);
  const auto result = skel.program("dissect").test_run(
      ebpfpp::TestRun().data_in(frame).data_out(sizeof(bpf_flow_keys)));
  CHECK(result.return_value == BPF_OK);
  REQUIRE(result.data_out.size() == sizeof(bpf_flow_keys));
  bpf_flow_keys keys{};
  std::memcpy(&keys, result.data_out.data(), sizeof keys);
  CHECK(keys.nhoff == ETH_HLEN);
  CHECK(keys.thoff == ETH_HLEN + 20);
  CHECK(keys.addr_proto == ETH_P_IP);
  CHECK(keys.ip_proto == IPPROTO_UDP);
  CHECK(keys.n_proto == htons(ETH_P_IP));
  CHECK(keys.ipv4_src == ipv4_addr("10.9.8.7"));
  CHECK(keys.ipv4_dst == ipv4_addr("10.1.2.3"));
  CHECK(ntohs(keys.sport) == 4242);
  CHECK(ntohs(keys.dport) == port);
  CHECK(skel->bss->fd_udp == 1);
  CHECK(skel->bss->fd_all == 1);
}

TEST_CASE("FlowDissector on a namespace: the kernel asks it once per datagram a hashing packet "
          "socket sees, and not once it is destroyed") {
  if (auto r = test::skip_reason(Feature::flow_dissector)) EBPFPP_SKIP(*r);
  constexpr int n = 30;
  auto skel = load();
  test::Netns ns("fd");
  REQUIRE(test::sh(fmt::format("ip -n {} link set lo up", ns.name())) == 0);
  const std::size_t fds = test::open_fd_count();
  {
    test::NetnsScope in(ns);
    // A packet socket in a hash fanout group: the kernel hashes each IPv4 packet lo receives
    // (__skb_get_hash_symmetric), and so dissects it, once.
    const int ps = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
    REQUIRE(ps >= 0);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_IP);
    sll.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
    REQUIRE(::bind(ps, reinterpret_cast<sockaddr*>(&sll), sizeof sll) == 0);
    const int fanout = 0x4242 | (PACKET_FANOUT_HASH << 16);
    REQUIRE(::setsockopt(ps, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof fanout) == 0);
    test::UdpReceiver receiver("127.0.0.1", port);
    {
      ebpfpp::FlowDissector dissector(skel.program("dissect"), ns.path());
      CHECK(dissector.description().find(ns.path()) != std::string::npos);
      REQUIRE(test::send_udp(ns, "127.0.0.1", port, n) == n);
      CHECK(receiver.receive(n, std::chrono::seconds(2)) == n);
      CHECK(test::wait_for_value([&] { return skel->bss->fd_udp; }, n) == n);
    }
    REQUIRE(test::send_udp(ns, "127.0.0.1", port, n) == n);
    CHECK(receiver.receive(2 * n, std::chrono::seconds(2)) == 2 * n);
    CHECK(skel->bss->fd_udp == n);
    ::close(ps);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("FlowDissector errors: a wrong program type, no such namespace, not a namespace, a "
          "second dissector") {
  if (auto r = test::skip_reason(Feature::flow_dissector)) EBPFPP_SKIP(*r);
  auto skel = load();
  test::Netns ns("fderr");
  const std::size_t fds = test::open_fd_count();
  try {
    ebpfpp::FlowDissector fd(skel.program("nk_count"), ns.path());
    FAIL("a tc program attached as a flow dissector");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(std::string(e.what()).find("'nk_count'") != std::string::npos);
    CHECK(e.hint().find("sched_cls") != std::string::npos);
  }
  try {
    ebpfpp::FlowDissector fd(skel.program("dissect"), "/run/netns/ebpfpp-no-such-netns");
    FAIL("attached to a namespace that does not exist");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENOENT);
    CHECK(std::string(e.what()).find("ebpfpp-no-such-netns") != std::string::npos);
    CHECK(e.hint().find("ip netns list") != std::string::npos);
  }
  try {
    ebpfpp::FlowDissector fd(skel.program("dissect"), "/proc/self/status");
    FAIL("attached to a file that is no namespace");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(e.hint().find("not a namespace file") != std::string::npos);
  }
  {
    ebpfpp::FlowDissector first(skel.program("dissect"), ns.path());
    try {
      auto second = ebpfpp::FlowDissector::from_fd(skel.program("dissect"), ns.fd());
      FAIL("a second flow dissector on one namespace");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == E2BIG);
      CHECK(e.hint().find("one flow dissector at a time") != std::string::npos);
    }
  }
  CHECK(test::open_fd_count() == fds);
}

// --- freplace -------------------------------------------------------------------------------

namespace {

std::uint32_t run_target(const Skel& target) {
  const std::array<std::uint8_t, 64> packet{};
  return target.program("fr_target").test_run(ebpfpp::TestRun().data_in(packet)).return_value;
}

// The object again, loading only the extension (its target set to `target`'s fr_value).
Skel load_extension(const Skel& target, const char* function = "fr_value") {
  auto ext = Skel::open();
  for (const char* name : {"nk_count", "nk_drop", "dissect", "fr_target"})
    ext.program(name).set_autoload(false);
  ext.program("fr_replacement").set_autoload(true);
  ebpfpp::Freplace::prepare(ext.program("fr_replacement"), target.program("fr_target"), function);
  ext.load();
  return ext;
}

} // namespace

TEST_CASE("Freplace replaces a global function of a loaded program until it is destroyed" *
          doctest::test_suite("vm")) {
  auto target = load();
  if (auto r = test::skip_reason(Feature::freplace)) {
    // Here the extension cannot be loaded: prepare says so before the load would.
    auto ext = Skel::open();
    CHECK_THROWS_AS(ebpfpp::Freplace::prepare(ext.program("fr_replacement"),
                                              target.program("fr_target"), "fr_value"),
                    ebpfpp::FeatureError);
    EBPFPP_SKIP(*r);
  }
  CHECK(run_target(target) == 1001);
  auto ext = load_extension(target);
  const std::size_t fds = test::open_fd_count();
  {
    ebpfpp::Freplace replaced(ext.program("fr_replacement"), target.program("fr_target"),
                              "fr_value");
    CHECK(replaced.description() == "freplace of function 'fr_value' in program 'fr_target'");
    CHECK(run_target(target) == 3000);
    CHECK(run_target(target) == 3000);
  }
  CHECK(run_target(target) == 1001);
  // Attached again (the extension keeps its target): replaced again.
  {
    ebpfpp::Freplace again(ext.program("fr_replacement"), target.program("fr_target"), "fr_value");
    CHECK(run_target(target) == 3000);
  }
  CHECK(run_target(target) == 1001);
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("Freplace errors: a function the target lacks, not an extension, a target not loaded" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(Feature::freplace)) EBPFPP_SKIP(*r);
  auto target = load();
  auto ext = Skel::open();
  auto loaded = load_extension(target);
  const std::size_t fds = test::open_fd_count();
  try {
    ebpfpp::Freplace::prepare(ext.program("fr_replacement"), target.program("fr_target"),
                              "no_such_function");
    FAIL("prepared to replace a function that does not exist");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENOENT);
    CHECK(std::string(e.what()).find("'no_such_function'") != std::string::npos);
    CHECK(e.hint().find("global") != std::string::npos);
  }
  try {
    ebpfpp::Freplace::prepare(ext.program("nk_count"), target.program("fr_target"), "fr_value");
    FAIL("a tc program prepared as an extension");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(std::string(e.what()).find("sched_cls") != std::string::npos);
    CHECK(e.hint().find("freplace/") != std::string::npos);
  }
  try {
    ebpfpp::Freplace::prepare(ext.program("fr_replacement"), ext.program("fr_target"), "fr_value");
    FAIL("prepared against a target that is not loaded");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(std::string(e.what()).find("not loaded") != std::string::npos);
  }
  // Loaded for fr_value, attached over another function: refused, nothing left.
  CHECK_THROWS_WITH_AS(ebpfpp::Freplace(loaded.program("fr_replacement"),
                                        target.program("fr_target"), "nk_count"),
                       doctest::Contains("'nk_count'"), ebpfpp::Error);
  CHECK(run_target(target) == 1001);
  CHECK(test::open_fd_count() == fds);
}

} // namespace netdev_test
