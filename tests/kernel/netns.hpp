#pragma once
// Network tests' harness: private network namespaces joined by a veth pair, entered by the test
// thread for a scope, and UDP senders and receivers inside them. All traffic stays between the
// namespaces a test made (10.x addresses, nothing routed); everything is removed on every path:
// destructors delete the namespaces (their veths go with them), and each new pair first removes
// namespaces left by test processes that died (`ebpfpp-test-<pid>-...` with a dead pid).

#include "helpers.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

namespace test {

inline constexpr const char* netns_prefix = "ebpfpp-test-";

// Runs a shell command (our own fixed strings only); its output goes to stderr on failure.
inline int sh(const std::string& command) {
  const int status = std::system(fmt::format("{} >/dev/null 2>&1", command).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// What a command (our own fixed strings only) prints on stdout.
inline std::string output_of(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  return out;
}

inline void cleanup_stale_namespaces() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = e.path().filename();
    if (!name.starts_with(netns_prefix)) continue;
    const long pid = std::strtol(name.c_str() + std::strlen(netns_prefix), nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)) continue;
    sh(fmt::format("ip netns del {}", name));
  }
}

// A named network namespace (ip netns add), deleted on destruction.
class Netns {
public:
  explicit Netns(std::string suffix) {
    static std::atomic<int> seq{0};
    name_ = fmt::format("{}{}-{}-{}", netns_prefix, ::getpid(), seq++, suffix);
    REQUIRE_MESSAGE(sh(fmt::format("ip netns add {}", name_)) == 0, "ip netns add " << name_);
    fd_ = ::open(path().c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd_ >= 0);
    // No IPv6: no router solicitations or DAD packets to count besides the test's own.
    REQUIRE(sh(fmt::format("ip netns exec {} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                           "net.ipv6.conf.default.disable_ipv6=1",
                           name_)) == 0);
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  ~Netns() {
    if (fd_ >= 0) ::close(fd_);
    sh(fmt::format("ip netns del {}", name_));
  }
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }
  int fd() const { return fd_; }

private:
  std::string name_;
  int fd_ = -1;
};

// The calling thread in `ns` until the scope ends (setns); interfaces, sockets and netlink calls
// made meanwhile belong to `ns`.
class NetnsScope {
public:
  explicit NetnsScope(const Netns& ns) {
    saved_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    REQUIRE(saved_ >= 0);
    REQUIRE_MESSAGE(::setns(ns.fd(), CLONE_NEWNET) == 0, "setns: " << std::strerror(errno));
  }
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;
  ~NetnsScope() {
    ::setns(saved_, CLONE_NEWNET);
    ::close(saved_);
  }

private:
  int saved_ = -1;
};

// Two namespaces joined by a veth pair: `ifname_a` (addr_a) in `a`, `ifname_b` (addr_b) in `b`.
struct VethPair {
  static std::string subnet() {
    static std::atomic<int> n{0};
    return fmt::format("10.201.{}", n++ % 250);
  }

  Netns a{(cleanup_stale_namespaces(), "a")};
  Netns b{"b"};
  std::string net = subnet();
  std::string addr_a = net + ".1";
  std::string addr_b = net + ".2";
  std::string ifname_a = "veth-a";
  std::string ifname_b = "veth-b";

  VethPair() {
    REQUIRE(sh(fmt::format("ip -n {} link add {} type veth peer name {} netns {}", a.name(),
                           ifname_a, ifname_b, b.name())) == 0);
    REQUIRE(sh(fmt::format("ip -n {} addr add {}/24 dev {}", a.name(), addr_a, ifname_a)) == 0);
    REQUIRE(sh(fmt::format("ip -n {} addr add {}/24 dev {}", b.name(), addr_b, ifname_b)) == 0);
    REQUIRE(sh(fmt::format("ip -n {} link set {} up", a.name(), ifname_a)) == 0);
    REQUIRE(sh(fmt::format("ip -n {} link set {} up", b.name(), ifname_b)) == 0);
  }
};

inline sockaddr_in ipv4(const std::string& addr, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  REQUIRE(::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) == 1);
  return sa;
}

// Sends `count` UDP datagrams from inside `from` to addr:port, in a child process, the i-th
// carrying `payload(i)`; returns how many were sent. With `no_checksum`, the datagrams carry no
// UDP checksum (SO_NO_CHECK): veth leaves the checksum to the receiver's offload
// (CHECKSUM_PARTIAL), which a frame that went through a cpumap no longer has, so the stack
// there would drop it as corrupt.
inline int send_udp(const Netns& from, const std::string& addr, std::uint16_t port, int count,
                    const std::function<std::string(int)>& payload, bool no_checksum = false) {
  const sockaddr_in to = ipv4(addr, port);
  int pipefd[2];
  REQUIRE(::pipe2(pipefd, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int sent = 0;
    if (::setns(from.fd(), CLONE_NEWNET) == 0) {
      const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const int one = 1;
      const bool ready = s >= 0 && (!no_checksum || ::setsockopt(s, SOL_SOCKET, SO_NO_CHECK, &one,
                                                                 sizeof one) == 0);
      for (int i = 0; ready && i < count; ++i) {
        const std::string p = payload(i);
        if (::sendto(s, p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
            static_cast<ssize_t>(p.size()))
          ++sent;
      }
    }
    [[maybe_unused]] auto w = ::write(pipefd[1], &sent, sizeof sent);
    ::_exit(0);
  }
  ::close(pipefd[1]);
  int sent = -1;
  [[maybe_unused]] auto r = ::read(pipefd[0], &sent, sizeof sent);
  ::close(pipefd[0]);
  ::waitpid(pid, nullptr, 0);
  return sent;
}

// As above, each datagram `size` bytes of 'x'.
inline int send_udp(const Netns& from, const std::string& addr, std::uint16_t port, int count,
                    std::size_t size = 32) {
  return send_udp(from, addr, port, count, [size](int) { return std::string(size, 'x'); });
}

// A UDP socket bound in the current namespace (make it inside a NetnsScope).
class UdpReceiver {
public:
  UdpReceiver(const std::string& addr, std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd_ >= 0);
    const sockaddr_in sa = ipv4(addr, port);
    REQUIRE_MESSAGE(::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0,
                    "bind " << addr << ":" << port << ": " << std::strerror(errno));
  }
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;
  ~UdpReceiver() { ::close(fd_); }

  // Datagrams received until `expected` arrived or `timeout` passed.
  int receive(int expected, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[2048];
    while (got_ < expected || expected == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      while (::recv(fd_, buf, sizeof buf, 0) >= 0) ++got_;
    }
    return got_;
  }

private:
  int fd_ = -1;
  int got_ = 0;
};

// Waits until `value()` reaches `expected` (or `timeout`), then returns it.
template <class F>
auto wait_for_value(F&& value, decltype(value()) expected,
                    std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto v = value();
  while (v < expected && std::chrono::steady_clock::now() < deadline) {
    ::usleep(10000);
    v = value();
  }
  return v;
}

} // namespace test
