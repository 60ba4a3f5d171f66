#pragma once
// The runner the chapter's examples share, so that each example file is its chapter logic plus
// its usage text: example::run parses -h/-d and the example's own flags, makes stdout
// line-buffered, runs the example's body and turns an exception into "<name>: <what>" and exit
// status 1. Also the execve hook choice (a syscall kprobe where the kernel has kprobes, as the
// chapter does, else the sys_enter_execve tracepoint), said on stderr.
//
// Everything here is plain ebpfpp and fmt: a tool of your own needs none of it (docs/09).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

namespace example {

// How long to run: -d SECONDS, or nullopt for "until Ctrl-C or SIGTERM".
using Duration = std::optional<std::chrono::milliseconds>;

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

// The command line every example takes: -h/--help (prints `usage`, exits 0) and -d/--duration
// SECONDS, which it returns. `flag(arg, value)` handles the example's own flags: it returns how
// many arguments it used (1, or 2 with `value`, which is nullptr after the last argument), or 0
// for one that is not its own: that is a usage error (exit 2).
template <class Flag>
Duration parse_command_line(int argc, char** argv, std::string_view prog, std::string_view usage,
                            Flag&& flag) {
  Duration duration;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "-h" || arg == "--help") {
      fmt::print("{}", usage);
      std::exit(0);
    } else if ((arg == "-d" || arg == "--duration") && value) {
      duration = parse_seconds(prog, "duration", value, usage);
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

// One on/off flag (`--odd-even`) that sets `on`.
inline auto switch_flag(std::string_view name, bool& on) {
  return [name, &on](std::string_view arg, const char*) {
    if (arg != name) return 0;
    on = true;
    return 1;
  };
}

// An example's main: parses the command line (see parse_command_line), makes stdout line-buffered
// (one event, one line, even through a pipe), and calls body(duration), whose result (int, or
// void for 0) is the exit status. An exception out of the body, an ebpfpp::Error above all, is
// printed as "<prog>: <what>" on stderr with exit status 1; the body's destructors have run by
// then, so everything it attached is detached.
template <class Flag, class Body>
int run(int argc, char** argv, std::string_view prog, std::string_view usage, Flag&& flag,
        Body&& body) {
  const Duration duration = parse_command_line(argc, argv, prog, usage, flag);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Body&, Duration>>) {
      body(duration);
      return 0;
    } else {
      return body(duration);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", prog, e.what());
    return 1;
  }
}

// Loads the skeleton with only the execve program attach_execve will attach: the other would be
// verified for nothing. Skel is a typed skeleton (<name>.skel.hpp) of an object with hello.bpf.c's
// two execve programs.
template <class Skel>
void load_execve(Skel& skel) {
  (ebpfpp::kernel::has_kprobes() ? skel.progs.hello_tracepoint : skel.progs.hello_kprobe)
      .set_autoload(false);
  skel.load();
}

// Attaches the execve program and says which hook on stderr. Call it last, once whatever reads
// the events is in place: events before that would be lost (a perf event array has no rings
// until a PerfBuffer is opened on it).
template <class Skel>
ebpfpp::Link attach_execve(std::string_view prog, Skel& skel) {
  const bool kprobes = ebpfpp::kernel::has_kprobes();
  ebpfpp::Link link;
  if (kprobes)
    link = ebpfpp::SyscallKprobe(skel.progs.hello_kprobe, "execve");
  else
    link = ebpfpp::Tracepoint(skel.progs.hello_tracepoint, "syscalls", "sys_enter_execve");
  fmt::print(stderr, "{}: attached {}{}\n", prog, link.description(),
             kprobes ? "" : " (this kernel has no kprobes)");
  return link;
}

} // namespace example
