#pragma once
// What the chapter's examples share: the -d/-h command line, and the execve hook choice (a
// syscall kprobe where the kernel has kprobes, as the chapter does, else the sys_enter_execve
// tracepoint), said on stderr.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

namespace example {

[[noreturn]] inline void usage_error(std::string_view prog, std::string_view what,
                                     std::string_view usage) {
  fmt::print(stderr, "{}: {}\n{}", prog, what, usage);
  std::exit(2);
}

// A number of seconds (fractions allowed) given for `what` ("duration", "interval").
inline std::chrono::milliseconds parse_seconds(std::string_view prog, std::string_view what,
                                               const char* text, std::string_view usage) {
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (*end != '\0' || seconds < 0) usage_error(prog, fmt::format("bad {} '{}'", what, text), usage);
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// "-d SECONDS".
inline std::chrono::milliseconds parse_duration(std::string_view prog, const char* text,
                                                std::string_view usage) {
  return parse_seconds(prog, "duration", text, usage);
}

// The command line every example takes: -h/--help (prints `usage`, exits 0) and -d/--duration
// SECONDS, which it returns. `flag(arg, value)` handles the example's own flags: it returns how
// many arguments it used (1, or 2 with `value`, which is nullptr after the last argument), or 0
// for one that is not its own: that is a usage error (exit 2).
template <class Flag>
std::optional<std::chrono::milliseconds> parse_command_line(int argc, char** argv,
                                                            std::string_view prog,
                                                            std::string_view usage, Flag&& flag) {
  std::optional<std::chrono::milliseconds> duration;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "-h" || arg == "--help") {
      fmt::print("{}", usage);
      std::exit(0);
    } else if ((arg == "-d" || arg == "--duration") && value) {
      duration = parse_duration(prog, value, usage);
      ++i;
    } else if (const int used = flag(arg, value); used > 0) {
      i += used - 1;
    } else {
      usage_error(prog, fmt::format("unknown argument '{}'", arg), usage);
    }
  }
  return duration;
}

// For examples with no flags of their own.
inline int no_flags(std::string_view, const char*) {
  return 0;
}

// Loads the skeleton with only the execve program attach_execve will attach: the other would be
// verified for nothing.
template <class Skel>
void load_execve(ebpfpp::Skeleton<Skel>& skel) {
  skel.program(ebpfpp::kernel::has_kprobes() ? "hello_tracepoint" : "hello_kprobe")
      .set_autoload(false);
  skel.load();
}

// Attaches the execve program and says which hook on stderr. Call it last, once whatever reads
// the events is in place: events before that would be lost (a perf event array has no rings
// until a PerfBuffer is opened on it).
template <class Skel>
ebpfpp::Link attach_execve(std::string_view prog, ebpfpp::Skeleton<Skel>& skel) {
  const bool kprobes = ebpfpp::kernel::has_kprobes();
  ebpfpp::Link link;
  if (kprobes)
    link = ebpfpp::SyscallKprobe(skel.program("hello_kprobe"), "execve");
  else
    link = ebpfpp::Tracepoint(skel.program("hello_tracepoint"), "syscalls", "sys_enter_execve");
  fmt::print(stderr, "{}: attached {}{}\n", prog, link.description(),
             kprobes ? "" : " (this kernel has no kprobes)");
  return link;
}

// Run-until options for a stream: the duration, and Ctrl-C/SIGTERM through the signalfd.
inline ebpfpp::StreamOptions until(const std::optional<std::chrono::milliseconds>& duration,
                                   const ebpfpp::SignalFd& signals) {
  return ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd());
}

// A fixed-size C string field as a string_view (it may fill the field with no NUL).
template <std::size_t N>
std::string_view field(const char (&s)[N]) {
  std::size_t n = 0;
  while (n < N && s[n] != '\0') ++n;
  return {s, n};
}

} // namespace example
