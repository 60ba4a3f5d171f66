// XDP redirect targets on a veth pair between two private network namespaces
// (bpf/test_xdp_redirect.bpf.c): UDP datagrams redirected through an XskMap reach an XdpSocket
// byte for byte, each once, in native and generic XDP, through receive() and through the
// frames() loop (which gives UMEM frames back as it goes and ends when asked), with and without
// need-wakeup; frames() cut off by a move, and beside receive() or a second loop; a frame sent
// through the socket's TX ring reaches a UDP socket on the other side; datagrams redirected through
// a CpuMap are seen by its program on the target CPU and then by the stack, exactly N. And the bad
// input: a queue the interface lacks, a busy queue, zero-copy on veth, an interface that does not
// exist, an XskMap slot given a socket that is not a bound AF_XDP one, a CPU that is not possible.

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "test_xdp_redirect.bpf.skel.h"
#include "test_xdp_redirect.bpf.skel.hpp"

namespace xdp_redirect_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_xdp_redirect_bpf>;
using ebpfpp::XdpMode;
constexpr std::uint16_t port = 4343;
enum Counter : std::uint32_t { redirected_xsk, redirected_cpu, seen_on_cpu, wrong_cpu };

// The generated skeleton gives the redirect maps their typed views.
static_assert(std::is_same_v<decltype(test_xdp_redirect::Maps::xsks),
                             ebpfpp::SkeletonView<test_xdp_redirect::map::xsks, ebpfpp::XskMap>>);
static_assert(std::is_same_v<decltype(test_xdp_redirect::Maps::cpus),
                             ebpfpp::SkeletonView<test_xdp_redirect::map::cpus,
                                                  ebpfpp::CpuMap<test_xdp_redirect::bpf_cpumap_val>>>);

Skel load(std::uint32_t target_cpu = 0) {
  auto skel = Skel::open();
  skel->rodata->udp_port = port;
  skel->rodata->target_cpu = target_cpu;
  skel.load();
  return skel;
}

std::uint64_t counter(Skel& skel, Counter c) {
  return ebpfpp::ArrayMap<std::uint64_t>(skel->maps.counts).get(c);
}

// The Ethernet address of `ifname` in the calling thread's namespace.
std::array<std::uint8_t, 6> mac_of(const std::string& ifname) {
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(s >= 0);
  const int r = ::ioctl(s, SIOCGIFHWADDR, &req);
  ::close(s);
  REQUIRE(r == 0);
  std::array<std::uint8_t, 6> mac{};
  std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, 6);
  return mac;
}

std::string payload(int i) { return fmt::format("ebpfpp AF_XDP datagram {:03}", i); }

// The Ethernet address of `ifname` in `ns`.
std::array<std::uint8_t, 6> mac_in(const test::Netns& ns, const std::string& ifname) {
  test::NetnsScope in(ns);
  return mac_of(ifname);
}
// A veth pair and the Ethernet address of each end, read in its own namespace.
struct VethWithMacs : test::VethPair {
  std::array<std::uint8_t, 6> mac_a = mac_in(a, ifname_a);
  std::array<std::uint8_t, 6> mac_b = mac_in(b, ifname_b);
};

std::uint16_t be16(const std::byte* p) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                    std::to_integer<unsigned>(p[1]));
}

// The payload of `frame` if it is exactly the Ethernet/IPv4/UDP frame that `src` (addr_src)
// sends to `dst` (addr_dst):port with no IP options; else a description of what differs.
struct Parsed {
  std::string payload, problem;
};
Parsed parse(std::span<const std::byte> f, const std::array<std::uint8_t, 6>& dst,
             const std::array<std::uint8_t, 6>& src, const std::string& addr_dst,
             const std::string& addr_src) {
  const auto bytes = [&](std::size_t at, std::size_t n) {
    return std::string(reinterpret_cast<const char*>(f.data()) + at, n);
  };
  const auto str = [](const std::array<std::uint8_t, 6>& m) {
    return std::string(reinterpret_cast<const char*>(m.data()), 6);
  };
  const auto ip = [](const std::string& a) {
    in_addr x{};
    ::inet_pton(AF_INET, a.c_str(), &x);
    return std::string(reinterpret_cast<const char*>(&x), 4);
  };
  if (f.size() < 14 + 20 + 8) return {{}, fmt::format("a frame of {} bytes", f.size())};
  if (bytes(0, 6) != str(dst)) return {{}, "another destination MAC"};
  if (bytes(6, 6) != str(src)) return {{}, "another source MAC"};
  if (be16(&f[12]) != 0x0800) return {{}, "not IPv4"};
  if (f[14] != std::byte{0x45}) return {{}, "IP options or not IPv4"};
  const std::size_t ip_len = be16(&f[16]);
  if (ip_len + 14 != f.size()) return {{}, fmt::format("IP length {} in {} bytes", ip_len, f.size())};
  if (f[23] != std::byte{17}) return {{}, "not UDP"};
  if (bytes(26, 4) != ip(addr_src) || bytes(30, 4) != ip(addr_dst)) return {{}, "other addresses"};
  if (be16(&f[36]) != port) return {{}, "another port"};
  if (be16(&f[38]) != ip_len - 20) return {{}, "a UDP length that does not fit"};
  return {bytes(42, ip_len - 28), {}};
}

// The frames a test received on a's side of `pair`: how many of each payload b sent, and what
// was wrong with those that were not exactly such a datagram.
struct Received {
  explicit Received(const VethWithMacs& p) : pair(p) {}

  const VethWithMacs& pair;
  std::map<std::string, int> seen;
  std::vector<std::string> problems;
  int frames = 0;

  void add(std::span<const std::byte> frame) {
    ++frames;
    Parsed p = parse(frame, pair.mac_a, pair.mac_b, pair.addr_a, pair.addr_b);
    if (p.problem.empty())
      ++seen[p.payload];
    else
      problems.push_back(p.problem);
  }
  // Exactly payload(0) .. payload(n - 1), each once, and nothing else.
  void check_each_once(int n) {
    CHECK(frames == n);
    CHECK(problems.empty());
    CHECK(seen.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      CAPTURE(i);
      CHECK(seen[payload(i)] == 1);
    }
  }
};

// An XdpSocket on queue 0 of `ifname`, once the queue is free: the kernel frees the queue of a
// socket closed a moment ago (the one before, on the same veth) in a work item after the close
// (3 or 4 tries of 5 ms here, measured on 6.18).
ebpfpp::XdpSocket bind_when_free(const std::string& ifname, ebpfpp::XdpSocketOptions options) {
  for (int tries = 0;; ++tries) {
    try {
      return ebpfpp::XdpSocket(ifname, 0, options);
    } catch (const ebpfpp::Error& e) {
      if (e.errnum() != EBUSY || tries == 100) throw;
      ::usleep(5000);
    }
  }
}

} // namespace

TEST_CASE("XdpSocket receives the UDP datagrams an XskMap redirect sends it, byte for byte") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::af_xdp)) EBPFPP_SKIP(*r);
  constexpr int n = 64;
  // Copy mode on veth: the XDP program may run in the driver (native) or after the skb is built
  // (generic); AF_XDP receives from both.
  for (XdpMode mode : {XdpMode::native, XdpMode::generic}) {
    CAPTURE(ebpfpp::to_string(mode));
    const std::size_t fds = test::open_fd_count();
    {
      auto skel = load();
      VethWithMacs pair;
      test::NetnsScope in_a(pair.a);
      // The stack's socket on the same port: it must get none of them.
      test::UdpReceiver stack(pair.addr_a, port);
      ebpfpp::XdpSocket first(pair.ifname_a, 0);
      CHECK(first.queue() == 0);
      CHECK_FALSE(first.zero_copy());
      // Move-only: the socket moves with its rings and UMEM; the moved-from one is empty.
      ebpfpp::XdpSocket sock = std::move(first);
      CHECK(first.fd() == -1); // NOLINT(bugprone-use-after-move): the empty state is the point
      CHECK(first.ready() == 0);
      ebpfpp::XskMap xsks(skel->maps.xsks);
      xsks.set(0, sock);
      ebpfpp::Xdp xdp(skel.program("xdp_to_xsk"), pair.ifname_a, mode);

      REQUIRE(test::send_udp(pair.b, pair.addr_a, port, n, payload) == n);
      Received got{pair};
      std::size_t handed = 0;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (got.frames < n && std::chrono::steady_clock::now() < deadline) {
        if (!sock.wait(std::chrono::milliseconds(100))) continue;
        handed += sock.receive([&](std::span<const std::byte> frame) { got.add(frame); });
      }
      CHECK(handed == n);
      got.check_each_once(n);
      CHECK(counter(skel, redirected_xsk) == n);
      CHECK(stack.receive(0, std::chrono::milliseconds(50)) == 0);
      const auto stats = sock.stats();
      CHECK(stats.rx_dropped == 0);
      CHECK(stats.rx_ring_full == 0);
      CHECK(stats.rx_invalid_descs == 0);

      // The slot emptied: the program's XDP_PASS fallback takes the datagrams to the stack.
      xsks.erase(0);
      REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 3, payload) == 3);
      CHECK(stack.receive(3, std::chrono::seconds(2)) == 3);
      CHECK(sock.ready() == 0);
      CHECK(counter(skel, redirected_xsk) == n + 3);
    }
    CHECK(test::open_fd_count() == fds);
  }
}

TEST_CASE("XdpSocket::frames() reads datagrams in rounds through a UMEM half their number, each "
          "once, and ends when asked; with and without need-wakeup") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::af_xdp)) EBPFPP_SKIP(*r);
  // 4 rounds of 16 datagrams through 32 UMEM frames: the third round arrives only if the loop
  // gave the first round's frames back to the fill ring. Each round is sent from inside the
  // loop, once the round before has been read, while at most that round's frames are out.
  constexpr int round = 16, rounds = 4, n = round * rounds;
  const std::size_t fds = test::open_fd_count();
  {
    auto skel = load();
    VethWithMacs pair;
    test::NetnsScope in_a(pair.a);
    ebpfpp::XskMap xsks(skel->maps.xsks);
    std::uint64_t redirected = 0;
    for (XdpMode mode : {XdpMode::native, XdpMode::generic}) {
      for (bool need_wakeup : {true, false}) {
        CAPTURE(ebpfpp::to_string(mode));
        CAPTURE(need_wakeup);
        ebpfpp::XdpSocket sock =
            bind_when_free(pair.ifname_a, {.frames = 32, .need_wakeup = need_wakeup});
        CHECK(sock.need_wakeup() == need_wakeup);
        xsks.set(0, sock);
        ebpfpp::Xdp xdp(skel.program("xdp_to_xsk"), pair.ifname_a, mode);

        const auto send_round = [&](int r) {
          const int first = r * round;
          return test::send_udp(pair.b, pair.addr_a, port, round,
                                [first](int i) { return payload(first + i); });
        };
        REQUIRE(send_round(0) == round);
        Received got{pair};
        const auto start = std::chrono::steady_clock::now();
        for (std::span<const std::byte> frame :
             sock.frames(ebpfpp::StreamOptions().timeout(std::chrono::seconds(3)))) {
          got.add(frame);
          if (got.frames % round != 0) continue;
          if (got.frames == n)
            sock.request_stop(); // the loop ends here, long before its timeout
          else
            REQUIRE(send_round(got.frames / round) == round);
        }
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
        got.check_each_once(n);
        redirected += n;
        CHECK(counter(skel, redirected_xsk) == redirected);
        const auto stats = sock.stats();
        CHECK(stats.rx_dropped == 0);
        CHECK(stats.rx_ring_full == 0);
        // The stop was forgotten once it ended that loop: the next one runs to its timeout,
        // with nothing to read.
        int more = 0;
        for ([[maybe_unused]] auto f : sock.frames(std::chrono::milliseconds(20))) ++more;
        CHECK(more == 0);
      }
    }
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("XdpSocket::frames() cut off by a move throws on its next step; receive() and a second "
          "loop meanwhile throw EBUSY; the frames it never reached stay ready") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::af_xdp)) EBPFPP_SKIP(*r);
  const std::size_t fds = test::open_fd_count();
  {
    auto skel = load();
    VethWithMacs pair;
    test::NetnsScope in_a(pair.a);
    ebpfpp::XdpSocket sock(pair.ifname_a, 0);
    ebpfpp::XskMap xsks(skel->maps.xsks);
    xsks.set(0, sock);
    ebpfpp::Xdp xdp(skel.program("xdp_to_xsk"), pair.ifname_a, XdpMode::generic);
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 3, payload) == 3);
    REQUIRE(sock.wait(std::chrono::seconds(2)));
    CHECK(test::wait_for_value([&] { return sock.ready(); }, 3u) == 3);
    const auto text = [&](std::span<const std::byte> f) {
      return parse(f, pair.mac_a, pair.mac_b, pair.addr_a, pair.addr_b).payload;
    };

    auto gen = sock.frames(std::chrono::seconds(1));
    auto it = gen.begin();
    REQUIRE(it != gen.end());
    CHECK(text(*it) == payload(0));
    try {
      sock.receive([](std::span<const std::byte>) {});
      FAIL("receive() read beside a running frames() loop");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EBUSY);
      CHECK(std::string(e.what()).find("a frames() loop is reading it") != std::string::npos);
    }
    auto second = sock.frames(std::chrono::seconds(1));
    try {
      (void)second.begin();
      FAIL("a second frames() loop did not throw");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EBUSY);
      CHECK(e.hint().find("one reader at a time") != std::string::npos);
    }
    // Moved while the loop is suspended on the first frame: that frame is given back, the two
    // the loop never reached are the moved-to socket's.
    ebpfpp::XdpSocket moved = std::move(sock);
    try {
      ++it;
      FAIL("stepping a loop whose socket was moved did not throw");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EINVAL);
      CHECK(e.hint().find("keep the stream alive") != std::string::npos);
    }
    std::vector<std::string> rest;
    CHECK(moved.ready() == 2);
    CHECK(moved.receive([&](std::span<const std::byte> f) { rest.push_back(text(f)); }) == 2);
    CHECK(rest == std::vector<std::string>{payload(1), payload(2)});
    CHECK(moved.stats().rx_invalid_descs == 0);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("XdpSocket sends a frame through its TX ring to a UDP socket across the veth pair") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::af_xdp)) EBPFPP_SKIP(*r);
  const std::size_t fds = test::open_fd_count();
  {
    VethWithMacs pair;
    test::NetnsScope in_a(pair.a);
    ebpfpp::XdpSocket sock(pair.ifname_a, 0);
    CHECK(sock.need_wakeup()); // the default where the kernel has it (5.4+): TX sends on the flag

    // An Ethernet/IPv4/UDP frame from a to b:port, its IP checksum computed (b's stack checks
    // it), no UDP checksum (0: none, which IPv4 allows).
    const std::string text = "sent through the TX ring";
    std::vector<std::uint8_t> f(14 + 20 + 8 + text.size());
    std::memcpy(&f[0], pair.mac_b.data(), 6);
    std::memcpy(&f[6], pair.mac_a.data(), 6);
    f[12] = 0x08;
    f[14] = 0x45;
    f[16] = static_cast<std::uint8_t>((f.size() - 14) >> 8);
    f[17] = static_cast<std::uint8_t>(f.size() - 14);
    f[22] = 64;
    f[23] = 17;
    ::inet_pton(AF_INET, pair.addr_a.c_str(), &f[26]);
    ::inet_pton(AF_INET, pair.addr_b.c_str(), &f[30]);
    std::uint32_t sum = 0;
    for (std::size_t i = 14; i < 34; i += 2) sum += (f[i] << 8) | f[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    f[24] = static_cast<std::uint8_t>(~sum >> 8);
    f[25] = static_cast<std::uint8_t>(~sum);
    f[34] = 0x30, f[35] = 0x39;
    f[36] = port >> 8, f[37] = port & 0xff;
    f[38] = static_cast<std::uint8_t>((8 + text.size()) >> 8);
    f[39] = static_cast<std::uint8_t>(8 + text.size());
    std::memcpy(&f[42], text.data(), text.size());

    int receiver = -1;
    {
      test::NetnsScope in_b(pair.b);
      receiver = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const sockaddr_in sa = test::ipv4(pair.addr_b, port);
      REQUIRE(::bind(receiver, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
    }
    constexpr int n = 5;
    for (int i = 0; i < n; ++i) REQUIRE(sock.send(std::as_bytes(std::span(f))));
    CHECK(test::wait_for_value([&] { return n - static_cast<int>(sock.in_flight()); }, n) == n);
    for (int i = 0; i < n; ++i) {
      pollfd p{receiver, POLLIN, 0};
      REQUIRE(::poll(&p, 1, 2000) == 1);
      char buf[256];
      const ssize_t got = ::recv(receiver, buf, sizeof buf, 0);
      CHECK(std::string(buf, got > 0 ? static_cast<std::size_t>(got) : 0) == text);
    }
    ::close(receiver);
    const std::vector<std::byte> too_big(2049);
    CHECK_THROWS_AS(sock.send(too_big), ebpfpp::Error);

    // The interface goes: the kernel unbinds the socket, which then receives and sends nothing.
    REQUIRE(test::sh(fmt::format("ip -n {} link del {}", pair.a.name(), pair.ifname_a)) == 0);
    CHECK_FALSE(sock.wait(std::chrono::milliseconds(20)));
    {
      // frames() yields nothing and sleeps to its timeout: poll on the unbound socket does not
      // return at once (a loop woken for nothing would spin, 200 ms of CPU; measured 0 here).
      const std::clock_t cpu = std::clock();
      int got = 0;
      for ([[maybe_unused]] auto frame : sock.frames(std::chrono::milliseconds(200))) ++got;
      CHECK(got == 0);
      CHECK((std::clock() - cpu) * 1000 / CLOCKS_PER_SEC < 100);
    }
    try {
      (void)sock.send(std::as_bytes(std::span(f)));
      FAIL("sent on a socket whose interface is gone");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == ENXIO);
      CHECK(e.hint().find("no longer bound") != std::string::npos);
    }
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("CpuMap: N datagrams redirected to another CPU, seen there by its program, then the stack") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::cpumap)) EBPFPP_SKIP(*r);
  constexpr int n = 40;
  const auto cpus = static_cast<std::uint32_t>(libbpf_num_possible_cpus());
  const std::uint32_t target = cpus > 1 ? 1 : 0;
  const std::size_t fds = test::open_fd_count();
  {
    auto skel = load(target);
    ebpfpp::CpuMap<> cpu_map(skel->maps.cpus);
    const auto on_cpu = skel.program("on_cpu");
    cpu_map.set(target, {192, on_cpu.fd()});
    // Read back: the queue size and the program's id.
    const ebpfpp::CpuMapValue back = cpu_map.get(target);
    CHECK(back.qsize == 192);
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    REQUIRE(bpf_obj_get_info_by_fd(on_cpu.fd(), &info, &len) == 0);
    CHECK(back.prog == static_cast<std::int32_t>(info.id));
    CHECK_FALSE(cpu_map.lookup(target == 0 ? 1 : 0).has_value());

    test::VethPair pair;
    test::NetnsScope in_a(pair.a);
    test::UdpReceiver stack(pair.addr_a, port);
    ebpfpp::Xdp xdp(skel.program("xdp_to_cpu"), pair.ifname_a, XdpMode::native);
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, n, payload, true) == n);
    CHECK(stack.receive(n, std::chrono::seconds(2)) == n);
    CHECK(counter(skel, redirected_cpu) == n);
    CHECK(counter(skel, seen_on_cpu) == n);
    CHECK(counter(skel, wrong_cpu) == 0);

    // A CPU this machine cannot have, a queue too long, a program not made for a cpumap.
    if (cpus < cpu_map.size()) {
      try {
        cpu_map.set(cpus, {192, 0});
        FAIL("a cpumap took a CPU that is not possible");
      } catch (const ebpfpp::Error& e) {
        CHECK(e.errnum() == ENODEV);
        CHECK(e.hint().find("/sys/devices/system/cpu/possible") != std::string::npos);
      }
    }
    try {
      cpu_map.set(target, {20000, 0});
      FAIL("a cpumap took a queue of 20000 frames");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EOVERFLOW);
      CHECK(e.hint().find("16384") != std::string::npos);
    }
    CHECK_THROWS_AS(cpu_map.set(target, {192, skel.program("xdp_to_xsk").fd()}), ebpfpp::Error);
    CHECK_THROWS_AS(cpu_map.set(cpu_map.size(), {192, 0}), ebpfpp::Error);
    // qsize 0 takes the CPU out.
    cpu_map.set(target, {0, 0});
    CHECK_FALSE(cpu_map.lookup(target).has_value());
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("XdpSocket and XskMap bad input: each a clear Error with a hint, nothing left open") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::af_xdp)) EBPFPP_SKIP(*r);
  auto skel = load();
  test::VethPair pair;
  test::NetnsScope in_a(pair.a);
  const std::size_t fds = test::open_fd_count();
  const auto error_of = [](auto&& f) -> ebpfpp::Error {
    try {
      f();
    } catch (const ebpfpp::Error& e) {
      return e;
    }
    FAIL("no Error thrown");
    return ebpfpp::Error(0, "", "");
  };

  // A queue a veth does not have.
  auto e = error_of([&] { ebpfpp::XdpSocket s(pair.ifname_a, 5); });
  CHECK(e.errnum() == EINVAL);
  CHECK(std::string(e.what()).find("queue 5 of '" + pair.ifname_a + "'") != std::string::npos);
  CHECK(e.hint().find("ethtool -l") != std::string::npos);
  // An interface that does not exist.
  e = error_of([&] { ebpfpp::XdpSocket s("ebpfpp-nosuch0", 0); });
  CHECK(e.errnum() == ENODEV);
  CHECK(std::string(e.what()).find("'ebpfpp-nosuch0'") != std::string::npos);
  CHECK(e.hint().find("ip link") != std::string::npos);
  // Zero-copy, which veth lacks.
  e = error_of([&] {
    ebpfpp::XdpSocket s(pair.ifname_a, 0, {.mode = ebpfpp::XdpCopyMode::zero_copy});
  });
  CHECK((e.errnum() == EOPNOTSUPP || e.errnum() == 524));
  CHECK(e.hint().find("XdpCopyMode::copy") != std::string::npos);
  // Sizes the kernel would refuse, refused first here.
  e = error_of([&] { ebpfpp::XdpSocket s(pair.ifname_a, 0, {.frames = 3}); });
  CHECK(e.errnum() == EINVAL);
  CHECK(e.hint().find("power of two") != std::string::npos);
  e = error_of([&] { ebpfpp::XdpSocket s(pair.ifname_a, 0, {.frame_size = 1000}); });
  CHECK(e.hint().find("from 2048 to the page size") != std::string::npos);
  CHECK(test::open_fd_count() == fds);

  {
    ebpfpp::XdpSocket sock(pair.ifname_a, 0);
    // A second socket on a queue that has one.
    e = error_of([&] { ebpfpp::XdpSocket s(pair.ifname_a, 0); });
    CHECK(e.errnum() == EBUSY);
    CHECK(e.hint().find("another AF_XDP socket") != std::string::npos);

    ebpfpp::XskMap xsks(skel->maps.xsks);
    // A UDP socket, a pipe, a closed fd: none is an AF_XDP socket.
    const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int pipefd[2];
    REQUIRE(::pipe2(pipefd, O_CLOEXEC) == 0);
    for (const auto& bad : std::vector<std::pair<int, int>>{
             {udp, EOPNOTSUPP}, {pipefd[0], ENOTSOCK}, {999, EBADF}}) {
      const int fd = bad.first, err = bad.second;
      CAPTURE(fd);
      e = error_of([&] { xsks.set(1, fd); });
      CHECK(e.errnum() == err);
      CHECK(std::string(e.what()).find("slot 1 of XSK map 'xsks'") != std::string::npos);
      CHECK(e.hint().find("AF_XDP sockets only") != std::string::npos);
    }
    for (int fd : {udp, pipefd[0], pipefd[1]}) ::close(fd);
    e = error_of([&] { xsks.set(4, sock); });
    CHECK(e.errnum() == ERANGE);
    CHECK(e.hint() == "valid slots are 0..3");
    // An empty (moved-from) socket.
    ebpfpp::XdpSocket other = std::move(sock);
    e = error_of([&] { xsks.set(0, sock); }); // NOLINT(bugprone-use-after-move)
    CHECK(e.errnum() == EBADF);
    xsks.set(0, other);
    xsks.erase(0);

    // Views check their maps: an XskMap is not a CpuMap, and says which view fits.
    e = error_of([&] { ebpfpp::XskMap wrong(skel->maps.cpus); });
    CHECK(std::string(e.hint()).find("ebpfpp::CpuMap<V>") != std::string::npos);
    e = error_of([&] { ebpfpp::CpuMap<> wrong(skel->maps.xsks); });
    CHECK(std::string(e.hint()).find("ebpfpp::XskMap") != std::string::npos);
    // Maps of their own, for user space.
    auto own = ebpfpp::XskMap::create(2, "own_xsks");
    own.set(1, other);
    CHECK(own.size() == 2);
    auto own_cpus = ebpfpp::CpuMap<std::uint32_t>::create(4, "own_cpus");
    own_cpus.set(0, 64);
    CHECK(own_cpus.get(0) == 64);
  }
  CHECK(test::open_fd_count() == fds);
}

} // namespace xdp_redirect_test
