// cgroup-firewall: refuses outbound IPv4 connections from the processes of a cgroup to the
// address ranges given on the command line, and reports each refusal.
//
//   sudo mkdir /sys/fs/cgroup/jail && echo $$ | sudo tee /sys/fs/cgroup/jail/cgroup.procs
//   sudo ./cgroup-firewall --cgroup /sys/fs/cgroup/jail 10.0.0.0/8 192.168.1.1
//
// The kernel side (bpf/cgroup_firewall.bpf.c) is a cgroup/connect4 program: the kernel runs it
// at every connect() of a process in the cgroup (and its descendants); it looks the destination
// up in an LPM trie of the blocked prefixes and, on a match, refuses (connect() fails with
// EPERM) and sends {pid, command, address, port} through a ring buffer, printed here as
// `refused <pid> <command> <address>:<port>`.
//
// What it shows: Cgroup (a cgroup link, its attach type from SEC()), LpmTrieMap<Ipv4Prefix, V>
// filled from CIDR text, RingBuffer<Event> read until Ctrl-C, all typed by the generated
// skeleton (cgroup_firewall.bpf.skel.hpp) from the object's BTF and its EBPFPP_EVENT mark.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "cgroup_firewall.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF
#include "example_cli.hpp"

namespace {

constexpr std::string_view usage =
    R"(usage: cgroup-firewall --cgroup PATH [-d SECONDS] [-h] CIDR...

Refuses IPv4 connect() calls from the processes in the cgroup v2 directory PATH to the address
ranges CIDR (10.0.0.0/8, 192.168.1.1, ...): they fail with EPERM. Each refusal is printed as
  refused <pid> <command> <address>:<port>

  --cgroup PATH            the cgroup v2 directory (e.g. /sys/fs/cgroup/jail)
  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_NET_ADMIN).
)";

struct Options {
  std::string cgroup;
  std::vector<ebpfpp::Ipv4Prefix> blocked;
  std::optional<std::chrono::milliseconds> duration;
};

Options parse_args(int argc, char** argv) {
  Options o;
  o.duration = example::parse_command_line(
      argc, argv, "cgroup-firewall", usage, [&](std::string_view arg, const char* value) {
        if (arg == "--cgroup" && value) {
          o.cgroup = value;
          return 2;
        }
        if (arg.starts_with('-')) return 0;
        try {
          o.blocked.push_back(ebpfpp::Ipv4Prefix::parse(arg));
        } catch (const ebpfpp::Error& e) {
          example::usage_error("cgroup-firewall", e.what(), usage);
        }
        return 1;
      });
  if (o.cgroup.empty()) example::usage_error("cgroup-firewall", "which cgroup? (--cgroup)", usage);
  if (o.blocked.empty()) example::usage_error("cgroup-firewall", "no range to block", usage);
  return o;
}

} // namespace

int main(int argc, char** argv) try {
  const Options options = parse_args(argc, argv);
  ebpfpp::SignalFd signals; // before anything else: Ctrl-C ends the loop, destructors detach
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  auto skel = cgroup_firewall::Skeleton::open_and_load();
  // An LPM trie keyed by {__u32 prefixlen; __u8 addr[4]}: LpmTrieMap<Ipv4Prefix, uint8_t>.
  for (const auto& prefix : options.blocked) skel.maps.blocked.update(prefix, 1);
  // The ring buffer (RingBuffer<firewall_event>) is mapped by load(), before the link exists:
  // no refusal is missed.
  auto& refusals = skel.maps.refusals;
  ebpfpp::Cgroup link(skel.progs.refuse_connect4, options.cgroup);
  std::string ranges;
  for (const auto& p : options.blocked) ranges += (ranges.empty() ? "" : ", ") + p.str();
  fmt::print(stderr, "cgroup-firewall: attached {}, blocking {}\n", link.description(), ranges);

  for (const cgroup_firewall::firewall_event& e :
       refusals.events(ebpfpp::StreamOptions().timeout(options.duration).stop_fd(signals.fd()))) {
    char addr[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &e.addr, addr, sizeof addr);
    fmt::print("refused {} {} {}:{}\n", e.pid, ebpfpp::to_string_view(e.command), addr, e.port);
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "cgroup-firewall: {}\n", e.what());
  return 1;
}
