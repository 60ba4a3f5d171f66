// profiler: samples on-CPU stacks and prints them folded, one line per distinct stack, for a
// flame graph. docs/13-profiling.md walks through it.
//
//   sudo ./profiler -d 10 > out.folded && flamegraph.pl out.folded > out.svg
//   sudo ./profiler -p 1234 -F 999 -d 5
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "profiler.bpf.skel.hpp" // made from profiler.bpf.c by ebpfpp's recipe

using namespace std::chrono_literals;

namespace {

constexpr std::string_view usage = R"(usage: profiler [-F HZ] [-p PID] [-d SECONDS]

Samples the stacks running on every CPU HZ times a second (default 99), of every process or only
PID, and at the end (-d, Ctrl-C or SIGTERM) prints one line per distinct stack:
  command;outermost function;...;innermost function count
user frames first, then kernel frames (ending in _[k]): the folded format of flamegraph.pl.
)";

struct Flags {
  unsigned frequency = 99;
  unsigned pid = 0;
};

// "comm;outer;...;inner": the frames of a stack, outermost first (the kernel gives them
// innermost first), kernel frames after the user frames that made the system call.
std::string folded(ebpfpp::Symbolizer& symbols, const profiler::sample_key& key,
                   const ebpfpp::StackTraceMap<127>& stacks) {
  std::string line(ebpfpp::to_string_view(key.comm));
  const auto pid = static_cast<pid_t>(key.pid);
  auto user = symbols.stack(pid, stacks.lookup(key.user_stack));
  std::reverse(user.begin(), user.end());
  for (const ebpfpp::Symbol& frame : user) line += ";" + frame.display();
  auto kernel = symbols.stack(pid, stacks.lookup(key.kernel_stack));
  std::reverse(kernel.begin(), kernel.end());
  for (const ebpfpp::Symbol& frame : kernel) line += ";" + frame.display() + "_[k]";
  return line;
}

void profile(const Flags& flags, const ebpfpp::tool::Options& options) {
  auto skel = profiler::Skeleton::open();
  skel->rodata->target_pid = flags.pid;
  skel.load();
  ebpfpp::PerfEvent sampler(skel.progs.on_sample, ebpfpp::PerfEventConfig::cpu_clock(),
                            ebpfpp::Sampling::frequency(flags.frequency));
  fmt::print(stderr, "profiler: sampling {} at {} Hz on {} CPUs\n",
             flags.pid ? fmt::format("pid {}", flags.pid) : std::string("every process"),
             flags.frequency, sampler.size());

  // A process's stacks are named through its memory mappings, which go when it exits. So the
  // Symbolizer reads them while it lives (track) and keeps them: at once for -p, and for every
  // process that shows up in the samples, looked at every 100 ms.
  ebpfpp::Symbolizer symbols;
  if (flags.pid) symbols.track(static_cast<pid_t>(flags.pid));
  ebpfpp::tool::every(100ms, options.duration, [&] {
    for (const profiler::sample_key& key : skel.maps.samples.keys())
      if (!symbols.tracked(static_cast<pid_t>(key.pid))) symbols.track(static_cast<pid_t>(key.pid));
  });
  sampler.reset(); // stop sampling, so that the counts hold still while we read them

  // Two stacks can fold to one line: a loop's samples stop at different addresses of the same
  // function. Summed per line, heaviest first.
  std::map<std::string, std::uint64_t> lines;
  for (const auto& [key, count] : skel.maps.samples.items())
    lines[folded(symbols, key, skel.maps.stacks)] += count;
  std::vector<std::pair<std::string, std::uint64_t>> sorted(lines.begin(), lines.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [line, count] : sorted) fmt::print("{} {}\n", line, count);
}

} // namespace

int main(int argc, char** argv) {
  Flags flags;
  auto parse = [&](std::string_view arg, const char* value) {
    if (!value || (arg != "-F" && arg != "-p")) return 0; // -d and -h are tool::run's
    const long n = std::atol(value);
    if (n <= 0)
      ebpfpp::tool::usage_error("profiler", fmt::format("bad {} '{}'", arg, value), usage);
    (arg == "-F" ? flags.frequency : flags.pid) = static_cast<unsigned>(n);
    return 2;
  };
  return ebpfpp::tool::run(argc, argv, "profiler", usage, parse,
                           [&](const ebpfpp::tool::Options& o) { profile(flags, o); });
}
