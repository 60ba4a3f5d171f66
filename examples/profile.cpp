// profile: a sampling CPU profiler printing folded stacks, BCC's profile -f in C++.
//
// The kernel side (bpf/profile.bpf.c) runs on a cpu-clock perf event on every online CPU, 99
// times a second by default; each sample counts its (process, user stack, kernel stack). At the
// end this program symbolizes the stacks (kallsyms for the kernel, the ELF symbol tables of the
// mapped files for user space) and prints one line per distinct stack, outermost frame first,
// in the folded format flamegraph.pl and speedscope read. Every 100 ms while it samples, each
// process new in the samples is tracked (Symbolizer::track), so the stacks of a process that has
// exited by the end still name their functions.
//
//   sudo ./profile -d 5 > out.folded && flamegraph.pl out.folded > out.svg
//   sudo ./profile --pid 1234 -F 999 -d 10
//
// What it shows: PerfEvent on every CPU, StackTraceMap, Symbolizer, .rodata set before load, and
// the typed skeleton (profile.bpf.skel.hpp): the maps' views and the key type come from the object.

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
#include "profile.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage =
    R"(usage: profile [-F HZ] [-p PID] [--kernel-only | --user-only] [-d SECONDS] [-h]

Samples on-CPU stacks on every CPU and prints them as folded stacks, one line per distinct stack:
`comm;outermost frame;...;innermost frame count`, user frames first, then kernel frames (kernel
frames end in _[k]). Idle CPUs are not counted. The output feeds flamegraph.pl or speedscope.

  -F, --frequency HZ       samples a second per CPU (default: 99)
  -p, --pid PID            only this process (default: every process)
  --kernel-only            print only kernel frames
  --user-only              print only user frames
  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON, and CAP_SYSLOG for kernel symbols).
)";

struct Options {
  std::uint64_t frequency = 99;
  pid_t pid = 0;
  bool kernel = true;
  bool user = true;
  std::optional<std::chrono::milliseconds> duration;
};

Options parse_args(int argc, char** argv) {
  Options o;
  const auto number = [&](std::string_view what, const char* text) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (*end != '\0' || v == 0)
      example::usage_error("profile", fmt::format("bad {} '{}'", what, text), usage);
    return v;
  };
  o.duration = example::parse_command_line(argc, argv, "profile", usage,
                                           [&](std::string_view arg, const char* value) {
                                             if ((arg == "-F" || arg == "--frequency") && value) {
                                               o.frequency = number("frequency", value);
                                               return 2;
                                             }
                                             if ((arg == "-p" || arg == "--pid") && value) {
                                               o.pid = static_cast<pid_t>(number("pid", value));
                                               return 2;
                                             }
                                             if (arg == "--kernel-only") {
                                               o.user = false;
                                               return 1;
                                             }
                                             if (arg == "--user-only") {
                                               o.kernel = false;
                                               return 1;
                                             }
                                             return 0;
                                           });
  if (!o.user && !o.kernel)
    example::usage_error("profile", "--kernel-only and --user-only exclude each other", usage);
  return o;
}

} // namespace

int main(int argc, char** argv) try {
  const Options options = parse_args(argc, argv);
  // Blocks Ctrl-C/SIGTERM from here on: one that comes while loading stays pending, and
  // tool::every below ends at once on it, after which everything detaches.
  ebpfpp::SignalFd signals;

  auto skel = profile::Skeleton::open();
  skel->rodata->target_tgid = static_cast<std::uint32_t>(options.pid);
  skel.load();
  ebpfpp::PerfEvent sampler(skel.progs.profile_sample, ebpfpp::PerfEventConfig::cpu_clock(),
                            ebpfpp::Sampling::frequency(options.frequency));
  fmt::print(stderr, "profile: sampling {} at {} Hz on {} CPUs{}\n",
             options.pid ? fmt::format("pid {}", options.pid) : std::string("every process"),
             options.frequency, sampler.size(), options.duration ? "" : "; Ctrl-C to stop");

  // While it samples, every 100 ms: each process new in the samples is tracked, so that its
  // stacks symbolize at the end even when it has exited by then (a profile's usual target is a
  // short-lived process, whose mappings go with it).
  // Map<profile::profile_key, uint64_t> and StackTraceMap<127>, as the object's BTF says.
  const auto& counts = skel.maps.counts;
  const auto& stacks = skel.maps.stacks;
  ebpfpp::Symbolizer symbolizer;
  if (options.pid) symbolizer.track(options.pid);
  ebpfpp::tool::every(std::chrono::milliseconds(100), options.duration, [&] {
    if (options.user)
      for (const profile::profile_key& key : counts.keys())
        if (!symbolizer.tracked(static_cast<pid_t>(key.tgid)))
          symbolizer.track(static_cast<pid_t>(key.tgid));
  });
  sampler.reset(); // stop sampling before reading, so the counts hold still

  auto items = counts.items();
  // Heaviest first, as a human reads them; flame graph tools do not care about the order.
  std::sort(items.begin(), items.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [key, count] : items) {
    std::string line(key.comm, strnlen(key.comm, sizeof key.comm));
    const auto pid = static_cast<pid_t>(key.tgid);
    if (options.user) {
      auto frames = symbolizer.stack(pid, stacks.lookup(key.user_stack_id));
      for (std::size_t i = frames.size(); i-- > 0;) line += ";" + frames[i].display();
    }
    if (options.kernel) {
      auto frames = symbolizer.stack(pid, stacks.lookup(key.kernel_stack_id));
      for (std::size_t i = frames.size(); i-- > 0;) line += ";" + frames[i].display() + "_[k]";
    }
    fmt::print("{} {}\n", line, count);
  }
  if (skel->bss->lost_stacks)
    fmt::print(stderr,
               "profile: {} samples lost a stack (stack id hash collisions, or the stack map is "
               "full)\n",
               skel->bss->lost_stacks);
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "profile: {}\n", e.what());
  return 1;
}
