// funclatency: a user-space function's latency as a log2 histogram, BCC's funclatency in C++.
//
// The kernel side (bpf/funclatency.bpf.c) stamps each call's start in a uprobe and buckets the
// elapsed time in a uretprobe. This program prints the histogram every interval (and once at
// the end), in BCC's layout:
//
//   sudo ./funclatency /usr/lib/x86_64-linux-gnu/libc.so.6:malloc -i 1
//   sudo ./funclatency -u -p 1234 /usr/bin/python3:PyEval_EvalFrameDefault
//
// What it shows: a Uprobe/Uretprobe pair on one function, the typed skeleton's ArrayMap read
// every interval
// (printing the difference from the last read, so no call is lost to a clear), SignalFd.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>
#include <poll.h>

#include "example_cli.hpp"
#include "funclatency.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF
#include "funclatency.h"            // FUNCLATENCY_SLOTS, the histogram's size

namespace {

constexpr std::string_view usage =
    R"(usage: funclatency [-p PID] [-u | -m] [-i SECONDS] [-d SECONDS] [-h] BINARY:FUNCTION

Times every call of FUNCTION in BINARY (an executable or shared library path) with a uprobe and
a uretprobe and prints a log2 histogram of the latencies: every interval with -i (the calls of
that interval), and at the end (with -i, the last interval; without, every call).

  -p, --pid PID            only this process (default: every process)
  -u, --microseconds       histogram in microseconds (default: nanoseconds)
  -m, --milliseconds       histogram in milliseconds
  -i, --interval SECONDS   print every SECONDS (default: only at the end)
  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON).
)";

struct Options {
  std::filesystem::path binary;
  std::string function;
  pid_t pid = 0;
  std::uint64_t unit_ns = 1;
  std::string unit_name = "nsecs";
  std::optional<std::chrono::milliseconds> interval;
  std::optional<std::chrono::milliseconds> duration;
};

[[noreturn]] void bad_usage(const std::string& message) {
  example::usage_error("funclatency", message, usage);
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::string target;
  o.duration = example::parse_command_line(
      argc, argv, "funclatency", usage, [&](std::string_view arg, const char* value) {
        if ((arg == "-p" || arg == "--pid") && value) {
          char* end = nullptr;
          o.pid = static_cast<pid_t>(std::strtol(value, &end, 10));
          if (*end != '\0' || o.pid <= 0) bad_usage(fmt::format("bad pid '{}'", value));
          return 2;
        }
        if (arg == "-u" || arg == "--microseconds") {
          o.unit_ns = 1000;
          o.unit_name = "usecs";
          return 1;
        }
        if (arg == "-m" || arg == "--milliseconds") {
          o.unit_ns = 1000000;
          o.unit_name = "msecs";
          return 1;
        }
        if ((arg == "-i" || arg == "--interval") && value) {
          o.interval = example::parse_seconds("funclatency", "interval", value, usage);
          if (o.interval->count() == 0) bad_usage("the interval must be more than 0");
          return 2;
        }
        if (!arg.starts_with('-') && target.empty()) {
          target = arg;
          return 1;
        }
        return 0;
      });
  const auto colon = target.rfind(':');
  if (target.empty() || colon == std::string::npos || colon == 0 || colon + 1 == target.size())
    bad_usage(
        "give the function as BINARY:FUNCTION, e.g. /usr/lib/x86_64-linux-gnu/libc.so.6:malloc");
  o.binary = target.substr(0, colon);
  o.function = target.substr(colon + 1);
  return o;
}

// BCC's print_log2_hist: one line per bucket from the first to the last non-empty one.
void print_histogram(const std::array<std::uint64_t, FUNCLATENCY_SLOTS>& counts,
                     std::string_view unit) {
  int last = -1;
  std::uint64_t max = 0;
  for (int i = 0; i < FUNCLATENCY_SLOTS; ++i) {
    if (counts[i]) last = i;
    max = std::max(max, counts[i]);
  }
  if (last < 0) {
    fmt::print("no calls\n");
    return;
  }
  fmt::print("{:>20} : count     distribution\n", unit);
  for (int i = 0; i <= last; ++i) {
    const std::uint64_t low = i == 0 ? 0 : (std::uint64_t{1} << i);
    const std::uint64_t high = (std::uint64_t{1} << (i + 1)) - 1;
    const auto stars = static_cast<std::size_t>(max ? counts[i] * 40 / max : 0);
    fmt::print("{:>20} -> {:<16} : {:<8} |{:<40}|\n", low, high, counts[i],
               std::string(stars, '*'));
  }
}

} // namespace

int main(int argc, char** argv) try {
  const Options options = parse_args(argc, argv);
  ebpfpp::SignalFd signals;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  auto skel = funclatency::Skeleton::open();
  skel->rodata->target_tgid = static_cast<std::uint32_t>(options.pid);
  skel->rodata->unit_ns = options.unit_ns;
  skel.load();
  const pid_t pid = options.pid ? options.pid : -1;
  ebpfpp::Uprobe entry(skel.progs.func_entry, options.binary, options.function, pid);
  ebpfpp::Uretprobe exit(skel.progs.func_exit, options.binary, options.function, pid);
  fmt::print(stderr, "funclatency: tracing {} in {}{}{}\n", options.function,
             options.binary.string(), options.pid ? fmt::format(" (pid {})", options.pid) : "",
             options.duration ? "" : "; Ctrl-C to end");

  const auto& hist = skel.maps.hist; // made by load(): ArrayMap<uint64_t>, as BTF says
  std::array<std::uint64_t, FUNCLATENCY_SLOTS> printed{};
  const auto print = [&] {
    std::array<std::uint64_t, FUNCLATENCY_SLOTS> now{}, delta{};
    for (std::uint32_t i = 0; i < FUNCLATENCY_SLOTS; ++i) {
      now[i] = hist.get(i);
      delta[i] = now[i] - printed[i];
    }
    printed = now;
    print_histogram(delta, options.unit_name);
  };

  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto next_print = options.interval ? start + *options.interval : clock::time_point::max();
  for (;;) {
    auto wake = next_print;
    if (options.duration) wake = std::min(wake, start + *options.duration);
    int timeout = -1;
    if (wake != clock::time_point::max())
      timeout = static_cast<int>(std::max<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(wake - clock::now()).count(), 0));
    pollfd p{signals.fd(), POLLIN, 0};
    if (::poll(&p, 1, timeout) > 0) break; // Ctrl-C or SIGTERM
    if (options.duration && clock::now() >= start + *options.duration) break;
    if (clock::now() >= next_print) {
      print();
      fmt::print("\n");
      next_print += *options.interval;
    }
  }
  print();
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "funclatency: {}\n", e.what());
  return 1;
}
