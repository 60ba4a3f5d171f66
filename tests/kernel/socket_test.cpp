// Socket hooks on real TCP connections inside a private network namespace: SkLookup steering
// connections for a port nobody listens on to a socket on another port; SockMap/SockHash with an
// sk_msg verdict program (count, drop, redirect what a socket sends) and sk_skb programs (echo
// what a socket receives back to its peer, or count it); their errors.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "test_sockets.bpf.skel.h"

namespace socket_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_sockets_bpf>;
using ebpfpp::SockMapAttach;
using ebpfpp::SockMapHook;
using ebpfpp::detail::UniqueFd;

constexpr std::uint16_t listen_port = 5151, steered_port = 5252;

// A namespace of its own with the loopback up, entered by the test thread for its scope.
struct LoopbackNetns {
  test::Netns ns{"sock"};
  LoopbackNetns() { REQUIRE(test::sh(fmt::format("ip -n {} link set lo up", ns.name())) == 0); }
};

UniqueFd tcp_listen(std::uint16_t port) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(s);
  // The port again right after a previous listener's connections (TIME_WAIT).
  const int one = 1;
  REQUIRE(::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
  const sockaddr_in sa = test::ipv4("127.0.0.1", port);
  REQUIRE(::bind(s.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(s.get(), 8) == 0);
  return s;
}

// A connected socket, or the connect's errno.
struct Connected {
  UniqueFd fd;
  int err = 0;
};
Connected tcp_connect(std::uint16_t port) {
  Connected c{UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0))};
  REQUIRE(c.fd);
  const sockaddr_in sa = test::ipv4("127.0.0.1", port);
  if (::connect(c.fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) c.err = errno;
  return c;
}

UniqueFd accept_one(int listener) {
  pollfd p{listener, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  UniqueFd s(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(s);
  return s;
}

// A connected pair over the loopback: client and the server's accepted end.
struct TcpPair {
  UniqueFd listener = tcp_listen(listen_port);
  UniqueFd client;
  UniqueFd server;
  TcpPair() {
    auto c = tcp_connect(listen_port);
    REQUIRE(c.err == 0);
    client = std::move(c.fd);
    server = accept_one(listener.get());
  }
};

void send_all(int fd, const std::string& data) {
  const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
  const std::string why = n < 0 ? std::strerror(errno) : "short send";
  REQUIRE_MESSAGE(n == static_cast<ssize_t>(data.size()), "send: " << why);
}

// What arrives on `fd` until `n` bytes came or `timeout` passed.
std::string receive(int fd, std::size_t n,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (got.size() < n || n == 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r <= 0) break;
    got.append(buf, static_cast<std::size_t>(r));
  }
  return got;
}

std::uint16_t local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  return ntohs(sa.sin_port);
}

std::uint64_t socket_cookie(int fd) {
  std::uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0);
  return cookie;
}

Skel load_sockets() {
  auto skel = Skel::open();
  skel->rodata->steer_port = steered_port;
  skel.load();
  return skel;
}

} // namespace

TEST_CASE("SkLookup steers connections to a port nobody listens on to a socket in a SockMap" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::sk_lookup)) EBPFPP_SKIP(*r);
  auto skel = load_sockets();
  LoopbackNetns netns;
  test::NetnsScope in(netns.ns);
  const std::size_t fds = test::open_fd_count();
  {
    UniqueFd listener = tcp_listen(listen_port);
    ebpfpp::SockMap<> socks(skel->maps.lookup_socks);
    socks.set(0, listener.get());
    CHECK(socks.cookie(0) == socket_cookie(listener.get()));

    // Without the program, nothing answers on the other port.
    CHECK(tcp_connect(steered_port).err == ECONNREFUSED);
    ebpfpp::SkLookup lookup(skel.program("steer"));
    CHECK(lookup.fd() >= 0);

    auto c = tcp_connect(steered_port);
    REQUIRE(c.err == 0);
    UniqueFd s = accept_one(listener.get());
    // The listener on listen_port took it; the connection keeps the port it was made to.
    CHECK(local_port(s.get()) == steered_port);
    send_all(c.fd.get(), "steered hello");
    CHECK(receive(s.get(), 13) == "steered hello");
    send_all(s.get(), "and back");
    CHECK(receive(c.fd.get(), 8) == "and back");
    CHECK(skel->bss->steered == 1);
    // Connections to the listener's own port are not the program's business.
    auto direct = tcp_connect(listen_port);
    CHECK(direct.err == 0);
    CHECK(skel->bss->steered == 1);

    lookup.reset();
    CHECK(tcp_connect(steered_port).err == ECONNREFUSED);
    CHECK(skel->bss->steered == 1);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("SkLookup by namespace path and fd; errors name a missing namespace and a wrong "
          "program" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::sk_lookup)) EBPFPP_SKIP(*r);
  auto skel = load_sockets();
  LoopbackNetns netns;
  const std::size_t fds = test::open_fd_count();
  {
    // Attached from outside the namespace, by path: connections inside it are steered.
    ebpfpp::SkLookup by_path(skel.program("steer"), netns.ns.path());
    test::NetnsScope in(netns.ns);
    UniqueFd listener = tcp_listen(listen_port);
    ebpfpp::SockMap<> socks(skel->maps.lookup_socks);
    socks.set(0, listener.get());
    CHECK(tcp_connect(steered_port).err == 0);
    by_path.reset();
    CHECK(tcp_connect(steered_port).err == ECONNREFUSED);
    auto by_fd = ebpfpp::SkLookup::from_fd(skel.program("steer"), netns.ns.fd());
    CHECK(tcp_connect(steered_port).err == 0);
    CHECK(skel->bss->steered == 2);
  }
  const std::string missing = test::what_of(
      [&] { ebpfpp::SkLookup l(skel.program("steer"), "/run/netns/ebpfpp-nosuch-ns"); });
  CHECK(missing.find("'/run/netns/ebpfpp-nosuch-ns'") != std::string::npos);
  CHECK(missing.find("ip netns list") != std::string::npos);
  // A file that is not a namespace.
  CHECK(test::what_of([&] {
          ebpfpp::SkLookup l(skel.program("steer"), "/proc/self/status");
        }).find("not a namespace file") != std::string::npos);
  // A program of another type: the kernel refuses, the Error says which type it is.
  try {
    ebpfpp::SkLookup l(skel.program("msg_verdict"));
    FAIL("an sk_msg program attached as sk_lookup");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(std::string(e.what()).find("'msg_verdict'") != std::string::npos);
    CHECK(e.hint().find("sk_msg") != std::string::npos);
  }
  CHECK_THROWS_AS(ebpfpp::SkLookup::from_fd(skel.program("steer"), -1), ebpfpp::Error);
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("SockMap sk_msg verdict: counts what a socket sends, drops and redirects it" *
          doctest::test_suite("vm")) {
  auto skel = load_sockets();
  LoopbackNetns netns;
  test::NetnsScope in(netns.ns);
  const std::size_t fds = test::open_fd_count();
  for (SockMapAttach how : {SockMapAttach::automatic, SockMapAttach::prog_attach}) {
    CAPTURE(static_cast<int>(how));
    skel->bss->msg_count = skel->bss->msg_bytes = skel->bss->msg_dropped =
        skel->bss->msg_redirected = 0;
    ebpfpp::SockMap<> socks(skel->maps.msg_socks);
    auto verdict = socks.attach(skel.program("msg_verdict"), SockMapHook::msg_verdict, how);
    CHECK(verdict.hook() == SockMapHook::msg_verdict);
    TcpPair one;
    // The second pair's server end receives what the first client redirects.
    auto c2 = tcp_connect(listen_port);
    REQUIRE(c2.err == 0);
    UniqueFd s2 = accept_one(one.listener.get());
    socks.set(0, one.client.get());
    socks.set(1, s2.get());

    send_all(one.client.get(), "hello");
    CHECK(receive(one.server.get(), 5) == "hello");
    // Redirected into s2's receive queue: the first pair's server sees nothing.
    send_all(one.client.get(), ">moved");
    CHECK(receive(s2.get(), 6) == ">moved");
    CHECK(receive(one.server.get(), 0, std::chrono::milliseconds(100)).empty());
    // Dropped: sendmsg fails with EACCES, nothing arrives. (The kernel keeps the drop verdict
    // for the socket's later sends: this one comes last.)
    CHECK(::send(one.client.get(), "!bad", 4, MSG_NOSIGNAL) == -1);
    CHECK(errno == EACCES);
    CHECK(receive(one.server.get(), 0, std::chrono::milliseconds(100)).empty());
    CHECK(skel->bss->msg_count == 3);
    CHECK(skel->bss->msg_bytes == 5 + 4 + 6);
    CHECK(skel->bss->msg_dropped == 1);
    CHECK(skel->bss->msg_redirected == 1);

    CHECK(socks.erase(0));
    CHECK_FALSE(socks.erase(0));
    CHECK(socks.cookie(1) == socket_cookie(s2.get()));
    CHECK(socks.erase(1));
    // Out of the map, the socket is on its own again: nothing counted.
    send_all(one.client.get(), "!free");
    CHECK(receive(one.server.get(), 5) == "!free");
    CHECK(skel->bss->msg_count == 3);
    // Detached: a socket put in the map now gets no program.
    verdict.reset();
    socks.set(0, one.client.get());
    send_all(one.client.get(), "!after");
    CHECK(receive(one.server.get(), 6) == "!after");
    CHECK(skel->bss->msg_count == 3);
    CHECK(socks.erase(0));
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("SockMap sk_skb stream parser and verdict echo what a socket receives to its peer" *
          doctest::test_suite("vm")) {
  auto skel = load_sockets();
  LoopbackNetns netns;
  test::NetnsScope in(netns.ns);
  const std::size_t fds = test::open_fd_count();
  for (SockMapAttach how : {SockMapAttach::automatic, SockMapAttach::prog_attach}) {
    CAPTURE(static_cast<int>(how));
    skel->bss->skb_bytes = 0;
    TcpPair pair;
    ebpfpp::SockMap<> echo(skel->maps.echo_socks);
    {
      auto parser = echo.attach(skel.program("echo_parser"), SockMapHook::stream_parser, how);
      auto verdict = echo.attach(skel.program("echo_verdict"), SockMapHook::stream_verdict, how);
      echo.set(0, pair.server.get());
      std::string sent;
      for (int i = 0; i < 20; ++i) {
        const std::string chunk = fmt::format("ping {:02} ", i);
        send_all(pair.client.get(), chunk);
        sent += chunk;
      }
      CHECK(receive(pair.client.get(), sent.size()) == sent);
      CHECK(skel->bss->skb_bytes == sent.size());
      CHECK(receive(pair.server.get(), 0, std::chrono::milliseconds(100)).empty());
      CHECK(echo.erase(0));
    }
    // Detached, and the socket out of the map: data reaches the server, nothing echoes.
    send_all(pair.client.get(), "plain");
    CHECK(receive(pair.server.get(), 5) == "plain");
    CHECK(receive(pair.client.get(), 0, std::chrono::milliseconds(100)).empty());
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("SockHash sk_skb verdict without parser counts and passes received data" *
          doctest::test_suite("vm")) {
  // No entry in the feature table: the attach type is an extension of sk_skb programs.
  if (const auto running = ebpfpp::KernelVersion::running();
      running < ebpfpp::KernelVersion{5, 13, 0})
    EBPFPP_SKIP(fmt::format("BPF_SK_SKB_VERDICT needs kernel 5.13+, this is {}", running.str()));
  auto skel = load_sockets();
  LoopbackNetns netns;
  test::NetnsScope in(netns.ns);
  const std::size_t fds = test::open_fd_count();
  {
    skel->bss->skb_bytes = 0;
    auto hash = ebpfpp::SockHash<std::uint64_t>::create(4, "test_sockhash");
    CHECK(hash.type() == BPF_MAP_TYPE_SOCKHASH);
    auto verdict = hash.attach(skel.program("count_verdict"), SockMapHook::skb_verdict);
    // stream_verdict and skb_verdict exclude each other on one map.
    CHECK_THROWS_WITH_AS(
        (void)hash.attach(skel.program("echo_verdict"), SockMapHook::stream_verdict),
        doctest::Contains("stream_verdict on socket map 'test_sockhash'"), ebpfpp::Error);
    TcpPair pair;
    const std::uint64_t key = socket_cookie(pair.server.get());
    hash.set(key, pair.server.get());
    CHECK(hash.cookie(key) == key);
    CHECK_FALSE(hash.cookie(key + 1).has_value());
    send_all(pair.client.get(), "counted bytes");
    CHECK(receive(pair.server.get(), 13) == "counted bytes");
    CHECK(skel->bss->skb_bytes == 13);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("SockMap errors: bad fds, a wrong program type, a map of another type" *
          doctest::test_suite("vm")) {
  auto skel = load_sockets();
  LoopbackNetns netns;
  test::NetnsScope in(netns.ns);
  const std::size_t fds = test::open_fd_count();
  {
    ebpfpp::SockMap<> socks(skel->maps.msg_socks);
    CHECK_THROWS_WITH_AS(socks.set(0, -1), doctest::Contains("fd -1"), ebpfpp::Error);
    // Not a socket.
    try {
      socks.set(0, STDIN_FILENO);
      FAIL("a non-socket fd went into a sockmap");
    } catch (const ebpfpp::Error& e) {
      CHECK(std::string(e.what()).find("'msg_socks'") != std::string::npos);
    }
    // A slot beyond the map's two.
    TcpPair pair;
    CHECK_THROWS_AS(socks.set(7, pair.client.get()), ebpfpp::Error);
    // An sk_skb program in the sk_msg slot: EINVAL, the hook and map named.
    try {
      auto l = socks.attach(skel.program("echo_verdict"), SockMapHook::msg_verdict);
      FAIL("an sk_skb program attached as sk_msg");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EINVAL);
      CHECK(std::string(e.what()).find("msg_verdict on socket map 'msg_socks'") !=
            std::string::npos);
    }
    // A map that is not a socket map.
    CHECK_THROWS_AS(ebpfpp::SockMapLink(skel.program("msg_verdict"), STDIN_FILENO, "stdin",
                                        SockMapHook::msg_verdict),
                    ebpfpp::Error);
    CHECK_THROWS_AS(ebpfpp::SockMapLink(skel.program("msg_verdict"), -1, "none",
                                        SockMapHook::msg_verdict, SockMapAttach::prog_attach),
                    ebpfpp::Error);
    // The view checks the map type.
    CHECK_THROWS_WITH_AS(ebpfpp::SockHash<std::uint32_t>(skel->maps.msg_socks),
                         doctest::Contains("SockMap<"), ebpfpp::Error);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("SkLookup and SockMapLink without CAP_NET_ADMIN: the load fails with a hint naming "
          "it") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::sk_lookup)) EBPFPP_SKIP(*r);
  LoopbackNetns netns;
  test::NetnsScope in(netns.ns);
  // The kernel checks CAP_NET_ADMIN when a network program is loaded (its attach is not checked
  // again): an unprivileged run fails there, and the hint must name it.
  std::string refused = test::refused_unprivileged([&] {
    auto skel = load_sockets();
    ebpfpp::SkLookup l(skel.program("steer"));
  });
  CHECK_MESSAGE(refused.empty(), refused);
  refused = test::refused_unprivileged([&] {
    auto skel = load_sockets();
    ebpfpp::SockMap<> socks(skel->maps.msg_socks);
    auto l = socks.attach(skel.program("msg_verdict"), SockMapHook::msg_verdict);
  });
  CHECK_MESSAGE(refused.empty(), refused);
}

} // namespace socket_test
