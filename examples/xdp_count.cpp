// xdp-count: counts the packets arriving on a network interface, per IP protocol and per source
// address, with an XDP program; optionally drops UDP datagrams to one port and counts the drops.
//
//   sudo ./xdp-count eth0                          # counts every second, until Ctrl-C
//   sudo ./xdp-count --generic --drop-udp-port 9999 veth0
//
// The kernel side (bpf/xdp_count.bpf.c) runs for each frame before the kernel's network stack
// sees it: it adds one to a per-CPU counter for the frame's IP protocol (each CPU its own slot,
// no locks), counts the source address in an LRU hash, and returns XDP_DROP for UDP to the given
// port, XDP_PASS otherwise. Every second (-i to change) this side sums the per-CPU counters and
// prints one line: `udp: 12  tcp: 3  icmp: 1  dropped: 12  top: 10.0.0.2 (15), ...`.
//
// What it shows: Xdp (native, or generic with --generic), PerCpuArrayMap<uint64_t>::get().sum(),
// Map<uint32_t, uint64_t>::items() over an LRU hash, all three typed by the generated skeleton
// (xdp_count.bpf.skel.hpp) from the object's BTF, .rodata set before load, and CAP_NET_ADMIN.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>
#include <poll.h>

#include "example_cli.hpp"
#include "xdp_count.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage =
    R"(usage: xdp-count [--generic] [--drop-udp-port PORT] [-i SECONDS] [-d SECONDS] [-h] INTERFACE

Counts the IPv4 packets arriving on INTERFACE per IP protocol and per source address with an XDP
program, and prints the totals every second:
  udp: <n>  tcp: <n>  icmp: <n>  [dropped: <n>]  top: <address> (<n>), ...

  --generic                run in generic (skb) mode: every interface has it; the default is
                           the driver's native mode, with generic where the driver lacks it
  --drop-udp-port PORT     drop UDP datagrams to PORT (XDP_DROP) and count them
  -i, --interval SECONDS   print every SECONDS (default: 1)
  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_NET_ADMIN).
)";

struct Options {
  std::string interface;
  bool generic = false;
  std::uint16_t drop_port = 0;
  std::chrono::milliseconds interval{1000};
  std::optional<std::chrono::milliseconds> duration;
};

Options parse_args(int argc, char** argv) {
  Options o;
  o.duration = example::parse_command_line(
      argc, argv, "xdp-count", usage, [&](std::string_view arg, const char* value) {
        if (arg == "--generic") {
          o.generic = true;
          return 1;
        }
        if (arg == "--drop-udp-port" && value) {
          char* end = nullptr;
          const unsigned long port = std::strtoul(value, &end, 10);
          if (*end != '\0' || port == 0 || port > 65535)
            example::usage_error("xdp-count", fmt::format("bad port '{}'", value), usage);
          o.drop_port = static_cast<std::uint16_t>(port);
          return 2;
        }
        if ((arg == "-i" || arg == "--interval") && value) {
          o.interval = example::parse_seconds("xdp-count", arg, value, usage);
          if (o.interval.count() == 0)
            example::usage_error("xdp-count", "the interval must be more than 0", usage);
          return 2;
        }
        if (!arg.starts_with('-') && o.interface.empty()) {
          o.interface = arg;
          return 1;
        }
        return 0;
      });
  if (o.interface.empty()) example::usage_error("xdp-count", "which interface?", usage);
  return o;
}

std::string address(std::uint32_t network_order) {
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &network_order, buf, sizeof buf);
  return buf;
}

void print_counts(const ebpfpp::PerCpuArrayMap<std::uint64_t>& protocols,
                  const ebpfpp::PerCpuArrayMap<std::uint64_t>& drops,
                  const ebpfpp::Map<std::uint32_t, std::uint64_t>& sources, bool dropping) {
  // The three the chapter cares about always, any other protocol when it was seen.
  std::string line = fmt::format("udp: {}  tcp: {}  icmp: {}", protocols.get(17).sum(),
                                 protocols.get(6).sum(), protocols.get(1).sum());
  for (std::uint32_t p = 0; p < protocols.size(); ++p)
    if (p != 17 && p != 6 && p != 1)
      if (const auto n = protocols.get(p).sum()) line += fmt::format("  proto {}: {}", p, n);
  if (dropping) line += fmt::format("  dropped: {}", drops.get(0).sum());
  auto top = sources.items();
  std::sort(top.begin(), top.end(), [](auto& a, auto& b) { return a.second > b.second; });
  if (top.size() > 3) top.resize(3);
  std::string tops;
  for (const auto& [src, n] : top)
    tops += fmt::format("{}{} ({})", tops.empty() ? "" : ", ", address(src), n);
  if (!tops.empty()) line += "  top: " + tops;
  fmt::print("{}\n", line);
}

} // namespace

int main(int argc, char** argv) try {
  const Options options = parse_args(argc, argv);
  ebpfpp::SignalFd signals; // before anything else: Ctrl-C ends the loop, destructors detach
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  const ebpfpp::Interface iface(options.interface); // a missing interface is named here
  auto skel = xdp_count::Skeleton::open();
  skel->rodata->drop_udp_port = options.drop_port;
  skel.load();
  ebpfpp::Xdp xdp(skel.progs.xdp_count, iface,
                  options.generic ? ebpfpp::XdpMode::generic : ebpfpp::XdpMode::automatic);
  fmt::print(stderr, "xdp-count: attached {}\n", xdp.description());

  // Typed views made by load(): PerCpuArrayMap<uint64_t>, Map<uint32_t, uint64_t>, as BTF says.
  const auto& protocols = skel.maps.protocols;
  const auto& drops = skel.maps.drops;
  const auto& sources = skel.maps.sources;
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto next_print = start + options.interval;
  for (;;) {
    auto wake = next_print;
    if (options.duration) wake = std::min(wake, start + *options.duration);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - clock::now());
    pollfd p{signals.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long long>(wait.count(), 0))) > 0) break;
    if (options.duration && clock::now() >= start + *options.duration) break;
    if (clock::now() >= next_print) {
      print_counts(protocols, drops, sources, options.drop_port != 0);
      next_print += options.interval;
    }
  }
  // One last line, so a short run (-d) still reports what it counted.
  print_counts(protocols, drops, sources, options.drop_port != 0);
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "xdp-count: {}\n", e.what());
  return 1;
}
