// sock-filter: a socket filter on a UDP socket of its own, dropping the datagrams whose payload
// starts with 'X' before the socket sees them, and counting both kinds.
//
//   sudo ./sock-filter --port 9999 -d 10          # meanwhile: echo -n Xhi | nc -u -q0 127.0.0.1 9999
//
// The kernel side (bpf/sock_filter.bpf.c) is a SEC("socket") program attached to the socket with
// SO_ATTACH_BPF: the kernel runs it for each datagram queued to the socket; it returns 0 (drop)
// for a payload that starts with 'X', the datagram's length (keep) otherwise, and counts each
// verdict in an array. This side reads the socket until the duration ends or Ctrl-C, and prints
// one line: `received <n> dropped <m>`, n the datagrams it read, m those the filter dropped.
//
// What it shows: SocketFilter (attached for the handle's life, detached when it goes), an
// ArrayMap<uint64_t> typed by the generated skeleton (sock_filter.bpf.skel.hpp), and a read loop
// that stops on a signal.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <arpa/inet.h>
#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "example_cli.hpp"
#include "sock_filter.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage = R"(usage: sock-filter --port PORT [-d SECONDS] [-h]

Binds a UDP socket on 127.0.0.1:PORT with a socket filter that drops the datagrams whose first
payload byte is 'X', reads the socket, and at the end prints
  received <n> dropped <m>
n: the datagrams read from the socket; m: those the filter dropped.

  --port PORT              the UDP port to bind on 127.0.0.1
  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF).
)";

// The socket, closed when it goes.
struct Socket {
  int fd;
  explicit Socket(int f) noexcept : fd(f) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
  int get() const noexcept { return fd; }
};

// Receives every datagram waiting on `sock` without blocking; returns how many.
std::uint64_t drain(int sock) {
  std::uint64_t n = 0;
  char buf[65536];
  while (::recv(sock, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++n;
  return n;
}

} // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  const auto flags = [&](std::string_view arg, const char* value) {
    if (arg != "--port" || !value) return 0;
    char* end = nullptr;
    const unsigned long p = std::strtoul(value, &end, 10);
    if (*end != '\0' || p == 0 || p > 65535)
      example::usage_error("sock-filter", fmt::format("bad port '{}'", value), usage);
    port = static_cast<std::uint16_t>(p);
    return 2;
  };
  return example::run(argc, argv, "sock-filter", usage, flags, [&](example::Duration duration) {
    if (port == 0) example::usage_error("sock-filter", "which port? (--port)", usage);
    ebpfpp::SignalFd signals; // Ctrl-C and SIGTERM end the loop; destructors detach

    const Socket sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (sock.get() < 0) throw ebpfpp::Error(errno, "open a UDP socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw ebpfpp::Error(errno, fmt::format("bind a UDP socket on 127.0.0.1:{}", port),
                          errno == EADDRINUSE ? "another socket has that port: choose another"
                                              : "");

    auto skel = sock_filter::Skeleton::open_and_load();
    const ebpfpp::SocketFilter filter(skel.progs.drop_x, sock.get());
    fmt::print(stderr, "sock-filter: attached {}, reading 127.0.0.1:{}\n", filter.description(),
               port);

    using clock = std::chrono::steady_clock;
    const auto end = duration ? std::optional(clock::now() + *duration) : std::nullopt;
    std::uint64_t received = 0;
    for (;;) {
      int timeout = -1;
      if (end) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*end - clock::now());
        timeout = static_cast<int>(std::max<long long>(0, left.count()));
      }
      pollfd p[2] = {{sock.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
      ::poll(p, 2, timeout);
      received += drain(sock.get());
      if (p[1].revents != 0 || (end && clock::now() >= *end)) break;
    }
    // What arrived between the last poll and now counts too: the filter counted it.
    received += drain(sock.get());
    fmt::print("received {} dropped {}\n", received, skel.maps.counts.get(1));
  });
}
