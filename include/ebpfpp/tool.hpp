#pragma once
/// @file
/// The frame every command-line tracing tool repeats, so a tool's file is its own logic:
/// `-h`, `-d SECONDS` and `-i SECONDS` on the command line, stdout line-buffered, an Error
/// printed as "<tool>: <what>" with exit status 1, and a main loop that prints every interval
/// and ends after the duration or on Ctrl-C/SIGTERM with everything detached. ebpfpp's examples
/// are built on it.
///
///     int main(int argc, char** argv) {
///       return ebpfpp::tool::run(argc, argv, "opencount", usage, ebpfpp::tool::no_flags,
///                                [&](const ebpfpp::tool::Options& o) {
///         auto skel = ebpfpp::Skeleton<opencount_bpf>::open_and_load();
///         ebpfpp::Tracepoint tp(skel.program("on_open"), "syscalls", "sys_enter_openat");
///         ebpfpp::tool::every(o.interval, o.duration, [&] { print_counts(skel); });
///       });                                       // returns when -d passed or on Ctrl-C
///     }
///
/// Everything here is optional: a tool with its own command-line parser uses every() or
/// wait_until_stopped() alone.

#include "detail/config.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <poll.h>

#include "detail/format.hpp"
#include "signal.hpp"

namespace ebpfpp::tool {

/// What the common flags said.
struct Options {
  /// -d/--duration SECONDS: how long to run; nullopt: until Ctrl-C or SIGTERM.
  std::optional<std::chrono::milliseconds> duration;
  /// -i/--interval SECONDS: how often to print, for tools that print periodically (default 1 s).
  std::chrono::milliseconds interval{1000};
};

/// Prints "<prog>: <what>" and the usage text on stderr, and exits with status 2.
[[noreturn]] inline void usage_error(std::string_view prog, std::string_view what,
                                     std::string_view usage) {
  std::fputs(detail::format("{}: {}\n{}", prog, what, usage).c_str(), stderr);
  std::exit(2);
}

/// A number of seconds (fractions allowed) given for `what` ("duration", "interval"); a usage
/// error when it is not a number, negative, or (for an interval) zero.
inline std::chrono::milliseconds parse_seconds(std::string_view prog, std::string_view what,
                                               const char* text, std::string_view usage) {
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(seconds >= 0) || (what == "interval" && seconds == 0))
    usage_error(prog, detail::format("bad {} '{}'", what, text), usage);
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

/// Parses -h/--help (prints `usage`, exits 0), -d/--duration and -i/--interval. `flag(arg,
/// value)` handles the tool's own flags and sees each argument first (so a tool may give -i its
/// own meaning): it returns how many arguments it used (1, or 2 with `value`, which is nullptr
/// after the last argument), or 0 for one that is not its own. An argument neither it nor this
/// takes is a usage error (exit 2).
template <class Flag>
Options parse_command_line(int argc, char** argv, std::string_view prog, std::string_view usage,
                           Flag&& flag) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (const int used = flag(arg, value); used > 0) {
      i += used - 1;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(std::string(usage).c_str(), stdout);
      std::exit(0);
    } else if ((arg == "-d" || arg == "--duration") && value) {
      o.duration = parse_seconds(prog, "duration", value, usage);
      ++i;
    } else if ((arg == "-i" || arg == "--interval") && value) {
      o.interval = parse_seconds(prog, "interval", value, usage);
      ++i;
    } else {
      usage_error(prog, detail::format("unknown argument '{}'", arg), usage);
    }
  }
  return o;
}

/// For tools with no flags of their own.
inline int no_flags(std::string_view, const char*) { return 0; }

/// One on/off flag (`--verbose`) that sets `on`.
inline auto switch_flag(std::string_view name, bool& on) {
  return [name, &on](std::string_view arg, const char*) {
    if (arg != name) return 0;
    on = true;
    return 1;
  };
}

/// A tool's main: parses the command line (parse_command_line), makes stdout line-buffered (one
/// event, one line, also through a pipe), and calls body(options), whose result (int, or void
/// for 0) is the exit status. An exception out of the body, an ebpfpp::Error above all, is
/// printed as "<prog>: <what>" on stderr with exit status 1; the body's destructors have run by
/// then, so everything it attached is detached.
template <class Flag, class Body>
int run(int argc, char** argv, std::string_view prog, std::string_view usage, Flag&& flag,
        Body&& body) {
  const Options options = parse_command_line(argc, argv, prog, usage, flag);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Body&, const Options&>>) {
      body(options);
      return 0;
    } else {
      return body(options);
    }
  } catch (const std::exception& e) {
    std::fputs(detail::format("{}: {}\n", prog, e.what()).c_str(), stderr);
    return 1;
  }
}

/// Calls `tick()` every `interval` until `duration` has passed (nullopt: forever) or SIGINT or
/// SIGTERM arrives, and returns that signal's number (nullopt when the duration ended it). The
/// signals are blocked and taken through a signalfd while it runs, so the tool's destructors
/// run on Ctrl-C. The last, partial interval gets no tick: call it once more after, if the
/// tool prints totals. Throws what `tick` throws, or Error when the signalfd cannot be made.
template <class Tick>
std::optional<int> every(std::chrono::milliseconds interval,
                         std::optional<std::chrono::milliseconds> duration, Tick&& tick) {
  using clock = std::chrono::steady_clock;
  SignalFd signals;
  const auto start = clock::now();
  auto next = start + interval;
  for (;;) {
    auto wake = next;
    if (duration && start + *duration < wake) wake = start + *duration;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(wake - clock::now());
    pollfd p{signals.fd(), POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
    if (n > 0)
      if (auto s = signals.take()) return s;
    const auto now = clock::now();
    if (duration && now >= start + *duration) return std::nullopt;
    if (now >= next) {
      tick();
      next += interval;
    }
  }
}

/// Waits until `duration` has passed (nullopt: forever) or SIGINT or SIGTERM arrives; returns
/// that signal's number, or nullopt when the duration ended it. (A template over a parameter
/// nobody gives: a file that includes this header and never waits does not compile every().)
template <class = void>
std::optional<int> wait_until_stopped(std::optional<std::chrono::milliseconds> duration) {
  return every(duration ? *duration + std::chrono::hours(1) : std::chrono::hours(24 * 365),
               duration, [] {});
}

} // namespace ebpfpp::tool
