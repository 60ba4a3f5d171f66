// xdp-swap: upgrades an XDP program in place, the way a firewall is upgraded without a gap:
// attaches version 1, and after a while swaps the link to version 2 with BPF_LINK_UPDATE.
//
//   sudo ./xdp-swap --port 9999 eth0                   # swap after 500 ms, run until Ctrl-C
//   sudo ./xdp-swap --generic --port 9999 --swap-after-ms 2000 -d 5 veth0
//
// The kernel side (bpf/xdp_swap.bpf.c) has two programs, count_v1 and count_v2, each counting the
// UDP datagrams to PORT into its own per-CPU counter. This side attaches count_v1 with an XDP
// link, waits, then calls Link::update(count_v2, count_v1): the kernel swaps the program the link
// runs in one step, so each datagram meets v1 or v2, never neither and never both, and the link
// (its fd, its id, a pin) stays the same. The expected program (count_v1) makes the swap fail
// rather than undo another upgrader's. At the end it prints one line, `v1 <a> v2 <b>`: a + b is
// every datagram to PORT that arrived.
//
// What it shows: Link::update with an expected program, Link::info() (the link's id and the
// program it runs, before and after), the typed skeleton (xdp_swap.bpf.skel.hpp), and the tool
// frame's duration and Ctrl-C.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"
#include "xdp_swap.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage =
    R"(usage: xdp-swap [--generic] --port PORT [--swap-after-ms MS] [-d SECONDS] [-h] INTERFACE

Counts the UDP datagrams to PORT arriving on INTERFACE with XDP program v1, swaps the link to
program v2 after MS milliseconds without detaching (BPF_LINK_UPDATE), and at the end prints
  v1 <datagrams v1 counted> v2 <datagrams v2 counted>

  --generic             run in generic (skb) mode (default: native where the driver has it)
  --port PORT           the UDP destination port to count (required)
  --swap-after-ms MS    swap to v2 after MS milliseconds (default: 500)
  -d, --duration SECONDS  stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help            show this help

Needs root (or CAP_BPF + CAP_NET_ADMIN).
)";

struct Options {
  std::string interface;
  bool generic = false;
  std::uint16_t port = 0;
  std::chrono::milliseconds swap_after{500};
};

unsigned long parse_number(std::string_view what, const char* value, unsigned long max) {
  char* end = nullptr;
  const unsigned long n = std::strtoul(value, &end, 10);
  if (end == value || *end != '\0' || n > max)
    example::usage_error("xdp-swap", fmt::format("bad {} '{}'", what, value), usage);
  return n;
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  const auto flags = [&](std::string_view arg, const char* value) {
    if (arg == "--generic") {
      o.generic = true;
      return 1;
    }
    if (arg == "--port" && value) {
      o.port = static_cast<std::uint16_t>(parse_number("port", value, 65535));
      if (o.port == 0) example::usage_error("xdp-swap", "the port must be 1 to 65535", usage);
      return 2;
    }
    if (arg == "--swap-after-ms" && value) {
      o.swap_after = std::chrono::milliseconds(parse_number("time", value, 24ul * 3600 * 1000));
      return 2;
    }
    if (!arg.starts_with('-') && o.interface.empty()) {
      o.interface = arg;
      return 1;
    }
    return 0;
  };
  return example::run(argc, argv, "xdp-swap", usage, flags, [&](example::Duration duration) {
    if (o.interface.empty()) example::usage_error("xdp-swap", "which interface?", usage);
    if (o.port == 0) example::usage_error("xdp-swap", "which port? (--port PORT)", usage);
    const ebpfpp::Interface iface(o.interface); // a missing interface is named here
    auto skel = xdp_swap::Skeleton::open();
    skel->rodata->port = o.port;
    skel.load();
    ebpfpp::Xdp xdp(skel.progs.count_v1, iface,
                    o.generic ? ebpfpp::XdpMode::generic : ebpfpp::XdpMode::automatic);
    const ebpfpp::LinkInfo before = xdp.info();
    fmt::print(stderr, "xdp-swap: attached {} as link {} running program {} (v1)\n",
               xdp.description(), before.id, before.program_id);

    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const bool swap_in_time = !duration || o.swap_after < *duration;
    // Waits until the swap time (or the end, when that comes first); a signal ends the run.
    const auto stopped = ebpfpp::tool::wait_until_stopped(swap_in_time ? o.swap_after : duration);
    if (!stopped && swap_in_time) {
      // v2 replaces v1 in place, only if the link still runs v1.
      xdp.update(skel.progs.count_v2, skel.progs.count_v1);
      const ebpfpp::LinkInfo after = xdp.info();
      fmt::print(stderr, "xdp-swap: swapped link {} to program {} (v2) after {} ms\n", after.id,
                 after.program_id,
                 std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start)
                     .count());
      const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
      ebpfpp::tool::wait_until_stopped(
          duration ? std::optional(std::max(*duration - elapsed, std::chrono::milliseconds(0)))
                   : std::nullopt);
    }
    const auto& counts = skel.maps.counts;
    fmt::print("v1 {} v2 {}\n", counts.get(0).sum(), counts.get(1).sum());
  });
}
