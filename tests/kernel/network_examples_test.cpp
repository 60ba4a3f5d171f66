// The network examples end to end, as processes, against datagrams the test sent over a veth
// pair between two private network namespaces.

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/cgroup_dir.hpp"
#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"

namespace network_examples_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  if (end == std::string::npos) return {};
  const auto start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

} // namespace

TEST_CASE("xdp-count counts and drops exactly the datagrams sent to it") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  constexpr int dropped = 30, passed = 20;
  constexpr std::uint16_t port = 4545;
  test::VethPair pair;
  auto child = test::spawn("xdp-count",
                           {(test::examples_dir() / "xdp-count").string(), "--generic",
                            "--drop-udp-port", std::to_string(port), "-d", "30", pair.ifname_a},
                           true, pair.a.fd());
  const std::string err = test::read_until(
      child.err, [](const std::string& t) { return t.find('\n') != std::string::npos; },
      std::chrono::seconds(10));
  REQUIRE_MESSAGE(err.find("attached XDP (generic) on 'veth-a'") != std::string::npos, err);

  REQUIRE(test::send_udp(pair.b, pair.addr_a, port, dropped) == dropped);
  REQUIRE(test::send_udp(pair.b, pair.addr_a, port + 1, passed) == passed);
  ::usleep(1200 * 1000); // at least one periodic line after the datagrams
  ::kill(child.pid, SIGINT);
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status);
  CHECK(*status == 0); // Ctrl-C is a normal end
  const std::string out = test::read_until(
      child.out, [](const std::string&) { return false; }, std::chrono::seconds(1));
  const std::string line = last_line(out);
  CAPTURE(out);
  CHECK(line.starts_with(fmt::format("udp: {}  tcp: 0  icmp: 0", dropped + passed)));
  CHECK(line.find(fmt::format("dropped: {}", dropped)) != std::string::npos);
  CHECK(line.find(fmt::format("top: {} ({})", pair.addr_b, dropped + passed)) != std::string::npos);
}

TEST_CASE("xdp-count names a missing interface and exits 1") {
  test::Netns ns("x");
  auto child =
      test::spawn("xdp-count", {(test::examples_dir() / "xdp-count").string(), "ebpfpp-nosuch2"},
                  true, ns.fd());
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status);
  CHECK(*status == 1);
  const std::string err = test::read_until(
      child.err, [](const std::string&) { return false; }, std::chrono::seconds(1));
  CHECK(err.find("'ebpfpp-nosuch2'") != std::string::npos);
}

TEST_CASE("xdp-swap counts every datagram sent across the swap exactly once: v1 + v2 == sent") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  constexpr std::uint16_t port = 4848;
  test::VethPair pair;
  auto child = test::spawn("xdp-swap",
                           {(test::examples_dir() / "xdp-swap").string(), "--generic", "--port",
                            std::to_string(port), "--swap-after-ms", "300", "-d", "30",
                            pair.ifname_a},
                           true, pair.a.fd());
  std::string err = test::read_until(
      child.err, [](const std::string& t) { return t.find('\n') != std::string::npos; },
      std::chrono::seconds(10));
  REQUIRE_MESSAGE(err.find("attached XDP (generic) on 'veth-a'") != std::string::npos, err);

  // Datagrams in small batches until the swap is said, and as many batches after it; a few to
  // another port, which neither version counts.
  int sent = 0, batches_after = -1;
  while (batches_after < 20) {
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port, 5) == 5);
    sent += 5;
    REQUIRE(test::send_udp(pair.b, pair.addr_a, port + 1, 1) == 1);
    err += test::read_until(
        child.err, [](const std::string& t) { return t.find('\n') != std::string::npos; },
        std::chrono::milliseconds(10));
    if (batches_after >= 0 || err.find("xdp-swap: swapped link") != std::string::npos)
      ++batches_after;
    REQUIRE_MESSAGE(sent < 20000, "no swap said on stderr: " << err);
  }
  ::usleep(200 * 1000);
  ::kill(child.pid, SIGINT);
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status);
  CHECK(*status == 0);
  const std::string out = test::read_until(
      child.out, [](const std::string&) { return false; }, std::chrono::seconds(1));
  CAPTURE(out);
  CAPTURE(err);
  unsigned long a = 0, b = 0;
  REQUIRE(std::sscanf(last_line(out).c_str(), "v1 %lu v2 %lu", &a, &b) == 2);
  CHECK(a > 0);
  CHECK(b > 0);
  CHECK(a + b == static_cast<unsigned long>(sent));
}

TEST_CASE("xdp-swap without --port is a usage error") {
  auto child = test::spawn("xdp-swap", {(test::examples_dir() / "xdp-swap").string(), "lo"}, true);
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status);
  CHECK(*status == 2);
  const std::string err = test::read_until(
      child.err, [](const std::string&) { return false; }, std::chrono::seconds(1));
  CHECK(err.find("xdp-swap: which port? (--port PORT)") != std::string::npos);
}

TEST_CASE("cgroup-firewall refuses a child's connect to a blocked range and reports its pid") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::cgroup)) EBPFPP_SKIP(*r);
  const auto root = test::cgroup2_root();
  REQUIRE(root);
  constexpr std::uint16_t port = 4646;
  test::Netns ns("fw");
  REQUIRE(test::sh(fmt::format("ip -n {} link set lo up", ns.name())) == 0);
  test::CgroupDir cg(*root);
  auto fw = test::spawn("cgroup-firewall",
                        {(test::examples_dir() / "cgroup-firewall").string(), "--cgroup",
                         cg.path.string(), "-d", "30", "127.0.0.2/32", "10.99.0.0/16"},
                        true);
  const std::string err = test::read_until(
      fw.err, [](const std::string& t) { return t.find('\n') != std::string::npos; },
      std::chrono::seconds(10));
  REQUIRE_MESSAGE(err.find("blocking 127.0.0.2/32, 10.99.0.0/16") != std::string::npos, err);

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::prctl(PR_SET_NAME, "ebpfpp-fw");
    if (::setns(ns.fd(), CLONE_NEWNET) != 0) ::_exit(20);
    const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(l, 8) != 0)
      ::_exit(21);
    std::ofstream(cg.path / "cgroup.procs") << ::getpid() << std::flush;
    if (test::tcp_connect("127.0.0.2", port) != EPERM) ::_exit(22);
    if (test::tcp_connect("127.0.0.1", port) != 0) ::_exit(23);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));

  const std::string expected = fmt::format("refused {} ebpfpp-fw 127.0.0.2:{}\n", pid, port);
  const std::string out = test::read_until(
      fw.out, [&](const std::string& t) { return t.find(expected) != std::string::npos; },
      std::chrono::seconds(5));
  CHECK(out == expected); // one refusal, the blocked one only
  ::kill(fw.pid, SIGINT);
  const auto code = fw.wait(std::chrono::seconds(10));
  REQUIRE(code);
  CHECK(*code == 0);
}

TEST_CASE("sock-filter example counts exactly the datagrams it read and the socket filter dropped") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::socket_filter)) EBPFPP_SKIP(*r);
  constexpr int kept = 25, dropped = 15;
  constexpr std::uint16_t port = 4646;
  test::Netns ns("sf"); // a loopback of its own: the port is free there
  REQUIRE(test::sh(fmt::format("ip -n {} link set lo up", ns.name())) == 0);
  auto child = test::spawn("sock-filter",
                           {(test::examples_dir() / "sock-filter").string(), "--port",
                            std::to_string(port), "-d", "30"},
                           true, ns.fd());
  const std::string err = test::read_until(
      child.err, [](const std::string& t) { return t.find('\n') != std::string::npos; },
      std::chrono::seconds(10));
  REQUIRE_MESSAGE(err.find("attached socket filter on socket fd") != std::string::npos, err);
  {
    test::NetnsScope in(ns);
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    const sockaddr_in to = test::ipv4("127.0.0.1", port);
    // Interleaved, so the count cannot come from the order alone.
    for (int i = 0; i < kept + dropped; ++i) {
      const std::string payload = i % 8 < 3 ? fmt::format("X{}", i) : fmt::format("ok{}", i);
      REQUIRE(::sendto(s, payload.data(), payload.size(), 0,
                       reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
              static_cast<ssize_t>(payload.size()));
    }
    ::close(s);
  }
  ::usleep(300 * 1000);
  ::kill(child.pid, SIGINT);
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status);
  CHECK(*status == 0);
  const std::string out = test::read_until(
      child.out, [](const std::string&) { return false; }, std::chrono::seconds(1));
  CHECK(out == fmt::format("received {} dropped {}\n", kept, dropped));
}

} // namespace network_examples_test
