// ebpf-exporter: hello-map's counters for Prometheus.
//
// The kernel side is hello-map's (bpf/hello_map.bpf.c): a hash map uid -> number of execve
// calls, filled by a syscall kprobe where the kernel has kprobes, else by the
// syscalls/sys_enter_execve tracepoint. This program serves that map over HTTP in the Prometheus
// text exposition format (version 0.0.4), read afresh from the kernel at every scrape:
//
//   sudo ./ebpf-exporter                          # http://127.0.0.1:9435/metrics until Ctrl-C
//   curl -s 127.0.0.1:9435/metrics
//   # HELP ebpf_execs_total execve calls since the exporter started, by the caller's user id.
//   # TYPE ebpf_execs_total counter
//   ebpf_execs_total{uid="1000"} 42
//
// What it shows: the typed skeleton's Map<uint32_t, uint64_t> read from another thread than the one
// that loaded it (a map is a kernel object: any thread may read it through its fd), an HTTP server
// from a Debian-packaged library (cpp-httplib) beside the library, and a main thread that only
// waits for Ctrl-C/SIGTERM or the -d deadline, then stops the server and detaches.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>
#include <httplib.h>

#include "example_cli.hpp"
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "hello_map.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage =
    R"(usage: ebpf-exporter [--listen ADDR:PORT] [-d SECONDS] [-h]

Counts execve calls per user id in a BPF hash map (hello-map's program) and serves the counts
for Prometheus at http://ADDR:PORT/metrics, in the text exposition format:

  # HELP ebpf_execs_total execve calls since the exporter started, by the caller's user id.
  # TYPE ebpf_execs_total counter
  ebpf_execs_total{uid="1000"} 42

  --listen ADDR:PORT       where to serve (default: 127.0.0.1:9435); port 0 picks a free one,
                           and the address served is said on stderr; [::1]:PORT for IPv6
  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

execve is hooked with a kprobe where the kernel has kprobes, else with the
syscalls/sys_enter_execve tracepoint. Needs root (or CAP_BPF + CAP_PERFMON). The counts start
at 0 with each run: Prometheus's rate() and increase() take such counter resets in stride.
)";

constexpr int default_port = 9435; // after node_exporter's 9100 range; free on most hosts

struct Options {
  std::string host = "127.0.0.1";
  int port = default_port;
  std::optional<std::chrono::milliseconds> duration;
};

[[noreturn]] void bad_usage(const std::string& message) {
  example::usage_error("ebpf-exporter", message, usage);
}

// "ADDR:PORT", "[IPv6]:PORT".
void parse_listen(std::string_view text, Options& options) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    bad_usage(fmt::format("--listen wants ADDR:PORT, not '{}'", text));
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port(text.substr(colon + 1));
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || errno != 0 || n < 0 || n > 65535)
    bad_usage(fmt::format("bad port '{}' in --listen", port));
  options.host = std::string(host);
  options.port = static_cast<int>(n);
}

Options parse_args(int argc, char** argv) {
  Options options;
  options.duration = example::parse_command_line(argc, argv, "ebpf-exporter", usage,
                                                 [&](std::string_view arg, const char* value) {
                                                   if (arg == "--listen" && value) {
                                                     parse_listen(value, options);
                                                     return 2;
                                                   }
                                                   return 0;
                                                 });
  return options;
}

// The exposition text for one scrape. The HELP and TYPE lines come even when no uid has been
// counted yet, so Prometheus knows the metric from the first scrape on.
std::string exposition(const ebpfpp::Map<std::uint32_t, std::uint64_t>& counts) {
  auto items = counts.items();
  std::sort(items.begin(), items.end());
  std::string text =
      "# HELP ebpf_execs_total execve calls since the exporter started, by the caller's user id.\n"
      "# TYPE ebpf_execs_total counter\n";
  for (const auto& [uid, n] : items)
    text += fmt::format("ebpf_execs_total{{uid=\"{}\"}} {}\n", uid, n);
  return text;
}

// The host part of an address as a URL writes it.
std::string url_host(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

} // namespace

int main(int argc, char** argv) try {
  const Options options = parse_args(argc, argv);
  // First, so the server's threads (started later) inherit the blocked signals and Ctrl-C or
  // SIGTERM reaches only the signalfd the main thread waits on.
  ebpfpp::SignalFd signals;

  // hello-map's object: load only the execve program that will be attached.
  auto skel = hello_map::Skeleton::open();
  const bool kprobes = ebpfpp::kernel::has_kprobes();
  const ebpfpp::Program used =
      kprobes ? ebpfpp::Program(skel.progs.count_kprobe) : skel.progs.count_tracepoint;
  for (ebpfpp::Program p : skel.programs()) p.set_autoload(p.get() == used.get());
  skel.load();
  const auto& counts = skel.maps.counter_table; // made by load(): Map<uint32_t, uint64_t>

  httplib::Server server;
  // Two workers: Prometheus scrapes one request at a time; the library's default is a pool of
  // at least 8 threads.
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // The library also sets SO_REUSEPORT, which would let a second exporter bind the same port
  // and share the scrapes silently; SO_REUSEADDR alone makes that an EADDRINUSE error.
  server.set_socket_options([](int sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    try {
      res.set_content(exposition(counts), "text/plain; version=0.0.4; charset=utf-8");
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(fmt::format("ebpf-exporter: {}\n", e.what()), "text/plain");
    }
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ebpf-exporter: the metrics are at /metrics\n", "text/plain");
  });

  errno = 0;
  const int port = options.port == 0 ? server.bind_to_any_port(options.host)
                   : server.bind_to_port(options.host, options.port) ? options.port
                                                                     : -1;
  if (port <= 0) {
    const int err = errno;
    fmt::print(stderr, "ebpf-exporter: cannot listen on {}:{}: {}{}\n", url_host(options.host),
               options.port, err ? std::strerror(err) : "no such address",
               err == EADDRINUSE ? " (another exporter running? pick a port with --listen)" : "");
    return 1;
  }

  // Attached last, once the port is ours: a failed start leaves nothing attached behind.
  ebpfpp::Link link = kprobes
                          ? ebpfpp::Link(ebpfpp::SyscallKprobe(used, "execve"))
                          : ebpfpp::Link(ebpfpp::Tracepoint(used, "syscalls", "sys_enter_execve"));
  fmt::print(stderr, "ebpf-exporter: attached {}{}; serving http://{}:{}/metrics\n",
             link.description(), kprobes ? "" : " (this kernel has no kprobes)",
             url_host(options.host), port);
  // The socket already listens: a scrape that comes before the thread runs waits in its backlog.
  // Nothing below throws, so the thread is always joined.
  std::atomic<bool> served{false};
  std::thread serving([&] {
    server.listen_after_bind();
    served = true;
  });

  using clock = std::chrono::steady_clock;
  const auto deadline =
      options.duration ? std::optional(clock::now() + *options.duration) : std::nullopt;
  for (;;) {
    int timeout = -1;
    if (deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - clock::now());
      if (left.count() <= 0) break;
      timeout = static_cast<int>(left.count());
    }
    pollfd p{signals.fd(), POLLIN, 0};
    if (::poll(&p, 1, timeout) > 0) break; // Ctrl-C or SIGTERM
  }
  // stop() does nothing before the server runs: wait for that (or for its failure) first.
  while (!server.is_running() && !served) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server.stop();
  serving.join();
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "ebpf-exporter: {}\n", e.what());
  return 1;
}
