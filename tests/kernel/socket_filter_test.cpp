// Socket filters and sk_reuseport on UDP sockets the test opens on the loopback: SocketFilter
// drops and counts exactly the datagrams that start with 'X' and detaches with its handle;
// SkReuseport with a ReuseportSockArray sends each datagram to the socket whose index it names;
// their errors.

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/helpers.hpp"
#include "sock_filter.bpf.skel.hpp"
#include "test_reuseport.bpf.skel.hpp"

namespace socket_filter_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using ebpfpp::detail::UniqueFd;
using ebpfpp::kernel::Feature;

UniqueFd udp_socket(bool reuseport = false) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  REQUIRE(s);
  if (reuseport) {
    const int one = 1;
    REQUIRE(::setsockopt(s.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0);
  }
  return s;
}

// Binds to 127.0.0.1:`port` (0: a free one) and returns the port bound.
std::uint16_t bind_loopback(int fd, std::uint16_t port = 0) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  return ntohs(sa.sin_port);
}

void send_to(int from, std::uint16_t port, const std::string& payload) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::sendto(from, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&sa),
                   sizeof sa) == static_cast<ssize_t>(payload.size()));
}

// Every datagram that reaches `fd` within a short wait after the last one.
std::vector<std::string> receive_all(int fd) {
  std::vector<std::string> got;
  for (pollfd p{fd, POLLIN, 0}; ::poll(&p, 1, 200) == 1;) {
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    REQUIRE(n >= 0);
    got.emplace_back(buf, static_cast<std::size_t>(n));
  }
  return got;
}

// What a manual SO_DETACH_BPF / SO_DETACH_REUSEPORT_BPF says: 0 when a program was attached,
// else the errno (ENOENT: none).
int detach_errno(int fd, int option) {
  const int unused = 0;
  return ::setsockopt(fd, SOL_SOCKET, option, &unused, sizeof unused) == 0 ? 0 : errno;
}

} // namespace

TEST_CASE("socket filter drops and counts exactly the datagrams that start with X") {
  if (auto r = test::skip_reason(Feature::socket_filter)) EBPFPP_SKIP(*r);
  auto skel = sock_filter::Skeleton::open_and_load();
  const UniqueFd sock = udp_socket(), sender = udp_socket();
  const std::uint16_t port = bind_loopback(sock.get());
  {
    const ebpfpp::SocketFilter filter(skel.progs.drop_x, sock.get());
    CHECK(filter.socket_fd() == sock.get());
    for (const char* p : {"a1", "X1", "b2", "X2", "X3", "c3", "", "xlower", "d4"})
      send_to(sender.get(), port, p);
    const auto got = receive_all(sock.get());
    CHECK(got == std::vector<std::string>{"a1", "b2", "c3", "", "xlower", "d4"});
    CHECK(skel.maps.counts.get(0) == 6);
    CHECK(skel.maps.counts.get(1) == 3);
  }
  // The handle detached it: nothing is left to detach, and an 'X' datagram arrives.
  CHECK(detach_errno(sock.get(), SO_DETACH_BPF) == ENOENT);
  send_to(sender.get(), port, "X4");
  CHECK(receive_all(sock.get()) == std::vector<std::string>{"X4"});
  CHECK(skel.maps.counts.get(1) == 3);
}

TEST_CASE("socket filter handle leaves a socket alone that took its closed socket's fd") {
  if (auto r = test::skip_reason(Feature::socket_filter)) EBPFPP_SKIP(*r);
  auto skel = sock_filter::Skeleton::open_and_load();
  auto first = std::make_unique<UniqueFd>(udp_socket());
  const int number = first->get();
  auto filter = std::make_unique<ebpfpp::SocketFilter>(skel.progs.drop_x, number);
  first.reset(); // the socket goes, and its filter with it
  const UniqueFd second = udp_socket();
  REQUIRE(second.get() == number); // the lowest free fd: the same number
  const int prog_fd = skel.progs.drop_x.fd();
  REQUIRE(::setsockopt(second.get(), SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof prog_fd) == 0);
  filter.reset();                                           // must not detach the second's
  CHECK(detach_errno(second.get(), SO_DETACH_BPF) == 0);    // it was still there
  CHECK(detach_errno(second.get(), SO_DETACH_BPF) == ENOENT);
}

TEST_CASE("socket filter on a bad fd or with the wrong program is a clear Error") {
  if (auto r = test::skip_reason(Feature::socket_filter)) EBPFPP_SKIP(*r);
  auto skel = sock_filter::Skeleton::open_and_load();
  const std::size_t fds = test::open_fd_count();
  CHECK_THROWS_WITH_AS(ebpfpp::SocketFilter(skel.progs.drop_x, -1),
                       doctest::Contains("give the fd of an open socket"), ebpfpp::Error);
  int pipefd[2];
  REQUIRE(::pipe2(pipefd, O_CLOEXEC) == 0);
  try {
    const ebpfpp::SocketFilter f(skel.progs.drop_x, pipefd[0]);
    FAIL("a pipe took a socket filter");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.code().value() == ENOTSOCK);
    CHECK(std::string(e.what()).find("socket filter on socket fd") != std::string::npos);
  }
  ::close(pipefd[0]);
  ::close(pipefd[1]);
  if (test::kernel_has(Feature::sk_reuseport)) {
    auto other = test_reuseport::Skeleton::open_and_load();
    const UniqueFd sock = udp_socket();
    try {
      const ebpfpp::SocketFilter f(other.progs.pick_by_digit, sock.get());
      FAIL("an sk_reuseport program went in as a socket filter");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.code().value() == EINVAL);
      CHECK(e.hint().find("SEC(\"socket\")") != std::string::npos);
    }
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("sk_reuseport sends each datagram to the socket its index names") {
  if (auto r = test::skip_reason(Feature::sk_reuseport)) EBPFPP_SKIP(*r);
  auto skel = test_reuseport::Skeleton::open_and_load();
  std::vector<UniqueFd> socks;
  socks.push_back(udp_socket(true));
  const std::uint16_t port = bind_loopback(socks[0].get());
  for (int i = 1; i < 3; ++i) {
    socks.push_back(udp_socket(true));
    bind_loopback(socks.back().get(), port);
  }
  ebpfpp::ReuseportSockArray<std::uint64_t>& group = skel.maps.group;
  for (std::uint32_t i = 0; i < 3; ++i) group.set(i, socks[i].get());
  // The array gives back each socket's cookie.
  for (std::uint32_t i = 0; i < 3; ++i)
    CHECK(group.cookie(i) == ebpfpp::detail::socket_cookie(socks[i].get()));
  CHECK_FALSE(group.cookie(3));

  const UniqueFd sender = udp_socket();
  {
    const ebpfpp::SkReuseport pick(skel.progs.pick_by_digit, socks[0].get());
    for (const char* p : {"0a", "1b", "2c", "1d", "2e", "2f"}) send_to(sender.get(), port, p);
    CHECK(receive_all(socks[0].get()) == std::vector<std::string>{"0a"});
    CHECK(receive_all(socks[1].get()) == std::vector<std::string>{"1b", "1d"});
    CHECK(receive_all(socks[2].get()) == std::vector<std::string>{"2c", "2e", "2f"});
    // No socket at index 3: the kernel chooses one of the group by its hash.
    send_to(sender.get(), port, "3g");
    std::size_t total = 0;
    for (const auto& s : socks) total += receive_all(s.get()).size();
    CHECK(total == 1);
    CHECK(skel.maps.picks.get(0) == 6);
    CHECK(skel.maps.picks.get(1) == 1);
    // A socket out of the array: its index selects nothing any more.
    CHECK(group.erase(1));
    CHECK_FALSE(group.erase(1));
  }
  // The handle detached the group's program.
  CHECK(detach_errno(socks[0].get(), SO_DETACH_REUSEPORT_BPF) == ENOENT);
}

TEST_CASE("sk_reuseport on a socket without SO_REUSEPORT is a clear Error") {
  if (auto r = test::skip_reason(Feature::sk_reuseport)) EBPFPP_SKIP(*r);
  auto skel = test_reuseport::Skeleton::open_and_load();
  const UniqueFd plain = udp_socket();
  try {
    const ebpfpp::SkReuseport pick(skel.progs.pick_by_digit, plain.get());
    FAIL("a socket without SO_REUSEPORT took an sk_reuseport program");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.code().value() == EINVAL);
    CHECK(e.hint().find("SO_REUSEPORT") != std::string::npos);
  }
  // An unbound socket has no group to join the array with.
  ebpfpp::ReuseportSockArray<std::uint64_t>& group = skel.maps.group;
  const UniqueFd unbound = udp_socket(true);
  CHECK_THROWS_AS(group.set(0, unbound.get()), ebpfpp::Error);
}

} // namespace socket_filter_test
