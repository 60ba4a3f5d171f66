// packets: counts the IPv4 packets an interface receives (XDP) and sends (TC) by IP protocol,
// every second, and drops UDP datagrams to one port on arrival. docs/12-packets.md walks
// through it.
//
//   sudo ./packets eth0                              # until Ctrl-C
//   sudo ./packets --drop-udp-port 9999 -d 10 veth0  # for 10 seconds, dropping UDP to 9999
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <netinet/in.h> // IPPROTO_UDP, ...

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "packets.bpf.skel.hpp" // made from packets.bpf.c by ebpfpp's recipe

namespace {

constexpr std::string_view usage =
    R"(usage: packets [--drop-udp-port PORT] [--tc-classic] [-i SECONDS] [-d SECONDS] INTERFACE

Counts the IPv4 packets INTERFACE receives (XDP) and sends (TC) by IP protocol, and prints
  in: udp N tcp N icmp N other N dropped N  out: udp N tcp N icmp N other N
every interval and once more at the end.

  --drop-udp-port PORT   drop the UDP datagrams to PORT on arrival, and count them
  --tc-classic           the clsact qdisc for TC even where the kernel has tcx
  -i, --interval SECONDS print every SECONDS (default: 1)
  -d, --duration SECONDS stop after SECONDS (default: at Ctrl-C or SIGTERM)
)";

struct Flags {
  std::string interface;
  std::uint16_t drop_port = 0;
  bool tc_classic = false;
};

// One direction's counts: the per-CPU slots of each protocol, summed.
std::string counts(const ebpfpp::PerCpuArrayMap<std::uint64_t>& by_protocol) {
  std::uint64_t other = 0;
  for (std::uint32_t p = 0; p < by_protocol.size(); ++p)
    if (p != IPPROTO_UDP && p != IPPROTO_TCP && p != IPPROTO_ICMP)
      other += by_protocol.get(p).sum();
  return fmt::format("udp {} tcp {} icmp {} other {}", by_protocol.get(IPPROTO_UDP).sum(),
                     by_protocol.get(IPPROTO_TCP).sum(), by_protocol.get(IPPROTO_ICMP).sum(),
                     other);
}

// TC on the way out: tcx where the kernel has it (6.6+), a link like Xdp's; else a filter on the
// clsact qdisc, which every kernel since 4.1 has. Either is a Link: destroying it detaches.
ebpfpp::Link attach_tc(const ebpfpp::Program& prog, const ebpfpp::Interface& iface, bool classic) {
  if (!classic && ebpfpp::kernel::has(ebpfpp::kernel::Feature::tcx))
    return ebpfpp::Tcx(prog, iface, ebpfpp::TcDirection::egress);
  return ebpfpp::TcClassic(prog, iface, ebpfpp::TcDirection::egress);
}

// The tool itself; tool::run (below) has parsed -d and -i into `options`.
void count_packets(const Flags& flags, const ebpfpp::tool::Options& options) {
  if (flags.interface.empty()) ebpfpp::tool::usage_error("packets", "which interface?", usage);
  const ebpfpp::Interface iface(flags.interface); // a name that does not exist: an Error here

  auto skel = packets::Skeleton::open();
  skel->rodata->drop_port = flags.drop_port; // .rodata is set before load, then frozen
  skel.load();
  ebpfpp::Xdp in(skel.progs.count_in, iface);
  ebpfpp::Link out = attach_tc(skel.progs.count_out, iface, flags.tc_classic);
  fmt::print(stderr, "packets: attached {} and {}\n", in.description(), out.description());

  auto print = [&] {
    fmt::print("in: {} dropped {}  out: {}\n", counts(skel.maps.received), skel->bss->dropped,
               counts(skel.maps.sent));
  };
  ebpfpp::tool::every(options.interval, options.duration, print); // until -d, Ctrl-C or SIGTERM
  print(); // the totals, also for a run shorter than one interval
} // here `out`, `in` and `skel` go, in that order: everything is detached and unloaded

} // namespace

int main(int argc, char** argv) {
  Flags flags;
  auto parse = [&](std::string_view arg, const char* value) {
    if (arg == "--drop-udp-port" && value) {
      const int port = std::atoi(value);
      if (port <= 0 || port > 65535)
        ebpfpp::tool::usage_error("packets", fmt::format("bad port '{}'", value), usage);
      flags.drop_port = static_cast<std::uint16_t>(port);
      return 2;
    }
    if (arg == "--tc-classic") {
      flags.tc_classic = true;
      return 1;
    }
    if (!arg.starts_with('-') && flags.interface.empty()) {
      flags.interface = arg;
      return 1;
    }
    return 0; // not ours: -d, -i and -h are tool::run's
  };
  // -h, -d and -i, stdout a line at a time, an Error printed as "packets: ..." with status 1.
  return ebpfpp::tool::run(argc, argv, "packets", usage, parse,
                           [&](const ebpfpp::tool::Options& o) { count_packets(flags, o); });
}
