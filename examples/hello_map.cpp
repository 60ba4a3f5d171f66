// hello-map: the chapter's second eBPF program, in C++.
//
// The kernel side (bpf/hello_map.bpf.c) counts execve calls in a hash map keyed by the caller's
// uid; every 2 seconds this program reads the map and prints one line, `ID <uid>: <count>` for
// each uid, tab-separated, as the chapter's program does. It attaches a kprobe on the syscall
// where the kernel has kprobes, else the syscalls/sys_enter_<name> tracepoint, and says which
// on stderr. The chapter's exercises are flags:
//
//   sudo ./hello-map                               # execve per uid, until Ctrl-C
//   sudo ./hello-map --syscalls execve,openat,write  # several syscalls, one shared map
//   sudo ./hello-map --raw-tp                 # every syscall (raw tracepoint sys_enter)
//   sudo ./hello-map --by-syscall --raw-tp    # system-wide counts per syscall, by name
//
// What it shows: the typed skeleton generated from the object's BTF (hello_map.bpf.skel.hpp: the
// map is a Map<uint32_t, uint64_t> because the BPF side says so, the programs are members), the
// map read with items(), .rodata set before load, several links to one program, and an EventLoop
// whose timer task prints every 2 seconds and which ends on Ctrl-C.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"

#include "hello_map.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF
#include "syscall_table.h"

namespace {

namespace kernel = ebpfpp::kernel;

constexpr std::string_view usage =
    R"(usage: hello-map [--syscalls LIST | --raw-tp] [--by-syscall] [-i SECONDS] [-d SECONDS] [-h]

Counts syscalls per user id in a BPF hash map and prints the counts every 2 seconds, one line of
tab-separated `ID <uid>: <count>` entries (cumulative, as the chapter's program does).

  --syscalls LIST          count these syscalls, comma-separated (default: execve), e.g.
                           --syscalls execve,openat,write; all share one map
  --raw-tp                 count every syscall, from the raw tracepoint sys_enter
  --by-syscall             key the map by syscall number instead of uid: system-wide counts per
                           syscall, printed as `<name>: <count>`
  -i, --interval SECONDS   print every SECONDS (default: 2)
  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Syscalls are hooked with a kprobe where the kernel has kprobes and BPF cookies (5.15+), else
with the syscalls/sys_enter_<name> tracepoint. Needs root (or CAP_BPF + CAP_PERFMON).
)";

struct Options {
  std::vector<std::string> syscalls;
  bool raw_tp = false;
  bool by_syscall = false;
  bool syscalls_given = false;
  std::chrono::milliseconds interval{2000};
};

[[noreturn]] void bad_usage(const std::string& message) {
  example::usage_error("hello-map", message, usage);
}

std::chrono::milliseconds parse_seconds(std::string_view flag, const char* text) {
  return example::parse_seconds("hello-map", flag, text, usage);
}

std::optional<unsigned> syscall_number(std::string_view name) {
  for (const auto& e : syscall_table)
    if (e.name == name) return e.nr;
  return std::nullopt;
}

std::string syscall_name(std::uint32_t nr) {
  for (const auto& e : syscall_table)
    if (e.nr == nr) return std::string(e.name);
  return fmt::format("syscall {}", nr);
}

// hello-map's own flags, for example::run.
auto flags(Options& options) {
  return [&options](std::string_view arg, const char* value) {
    if ((arg == "-i" || arg == "--interval") && value) {
      options.interval = parse_seconds(arg, value);
      if (options.interval.count() == 0) bad_usage("the interval must be more than 0");
      return 2;
    }
    if (arg == "--syscalls" && value) {
      options.syscalls_given = true;
      for (std::string_view list = value; !list.empty();) {
        const auto comma = list.find(',');
        const std::string_view name = list.substr(0, comma);
        if (!name.empty()) {
          if (!syscall_number(name)) bad_usage(fmt::format("unknown syscall '{}'", name));
          options.syscalls.emplace_back(name);
        }
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      }
      if (options.syscalls.empty()) bad_usage("--syscalls needs at least one name");
      return 2;
    }
    if (arg == "--raw-tp") {
      options.raw_tp = true;
      return 1;
    }
    if (arg == "--by-syscall") {
      options.by_syscall = true;
      return 1;
    }
    return 0;
  };
}

void print_counts(const ebpfpp::Map<std::uint32_t, std::uint64_t>& counts, bool by_syscall) {
  auto items = counts.items();
  std::sort(items.begin(), items.end());
  std::string line;
  for (const auto& [key, count] : items) {
    if (!line.empty()) line += '\t';
    line += by_syscall ? fmt::format("{}: {}", syscall_name(key), count)
                       : fmt::format("ID {}: {}", key, count);
  }
  fmt::print("{}\n", line);
}

// Prints the counts every `interval`, for as long as the loop runs it.
ebpfpp::Task<> print_every(ebpfpp::EventLoop& loop, std::chrono::milliseconds interval,
                           const ebpfpp::Map<std::uint32_t, std::uint64_t>& counts,
                           bool by_syscall) {
  for (;;) {
    co_await loop.sleep(interval);
    print_counts(counts, by_syscall);
  }
}

// Ends the loop after `duration` (-d).
ebpfpp::Task<> stop_after(ebpfpp::EventLoop& loop, std::chrono::milliseconds duration) {
  co_await loop.sleep(duration);
  loop.stop();
}

} // namespace

int main(int argc, char** argv) {
  Options options;
  return example::run(
      argc, argv, "hello-map", usage, flags(options), [&](example::Duration duration) {
        if (options.raw_tp && options.syscalls_given)
          bad_usage("--raw-tp counts every syscall; it does not take --syscalls");
        if (options.syscalls.empty()) options.syscalls = {"execve"};
        // First, before anything else: the loop blocks SIGINT and SIGTERM and takes them through a
        // signalfd, so Ctrl-C ends loop.run() below and the destructors detach.
        ebpfpp::EventLoop loop;

        auto skel = hello_map::Skeleton::open();
        skel->rodata->by_syscall = options.by_syscall;
        // The kprobe program tells the syscalls apart by the link's cookie: kprobes and BPF
        // cookies (5.15+), else the tracepoints.
        const bool has_kprobes = ebpfpp::kernel::has_kprobes();
        const bool kprobes = has_kprobes && ebpfpp::kernel::has(kernel::Feature::bpf_cookie);
        // Load only the program we attach: the others would be verified for nothing (and the kprobe
        // one needs bpf_get_attach_cookie, which older kernels lack).
        // Each program is a type of its own (so it cannot be taken for a map): choose into a
        // Program.
        ebpfpp::Program used = skel.progs.count_tracepoint;
        if (options.raw_tp)
          used = skel.progs.count_raw_tp;
        else if (kprobes)
          used = skel.progs.count_kprobe;
        for (ebpfpp::Program p : skel.programs()) p.set_autoload(p.get() == used.get());
        skel.load();

        std::vector<ebpfpp::Link> links;
        if (options.raw_tp) {
          links.push_back(ebpfpp::RawTracepoint(used, "sys_enter"));
        } else {
          for (const std::string& name : options.syscalls) {
            if (kprobes)
              links.push_back(ebpfpp::SyscallKprobe(used, name, false, *syscall_number(name)));
            else
              links.push_back(ebpfpp::Tracepoint(used, "syscalls", "sys_enter_" + name));
          }
        }
        std::string attached;
        for (const auto& l : links) attached += (attached.empty() ? "" : ", ") + l.description();
        const std::string why =
            options.raw_tp || kprobes ? ""
            : has_kprobes
                ? fmt::format(
                      " (this kernel has no BPF cookies: {}+)",
                      ebpfpp::kernel::info(ebpfpp::kernel::Feature::bpf_cookie).min_kernel.str())
                : " (this kernel has no kprobes)";
        fmt::print(stderr, "hello-map: attached {}{}\n", attached, why);

        const auto& counts = skel.maps.counter_table; // made by load(), typed from BTF
        loop.spawn(print_every(loop, options.interval, counts, options.by_syscall));
        if (duration) loop.spawn(stop_after(loop, *duration));
        loop.run(); // until -d's time is up, or Ctrl-C or SIGTERM
        // One last line, so a short run (-d) still reports what it counted.
        print_counts(counts, options.by_syscall);
      });
}
