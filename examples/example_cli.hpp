#pragma once
// The runner the chapter's examples share, so that each example file is its chapter logic plus
// its usage text: example::run is the library's tool frame (ebpfpp/tool.hpp: -h/-d and the
// example's own flags, stdout line-buffered, an exception printed as "<name>: <what>" with exit
// status 1). Also the execve hook choice (a syscall kprobe where the kernel has kprobes, as the
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

// The tool frame is the library's (ebpfpp/tool.hpp): these are it, with the body given only the
// duration, as the examples take their other flags (-i included) themselves.
using ebpfpp::tool::no_flags;
using ebpfpp::tool::parse_seconds;
using ebpfpp::tool::switch_flag;
using ebpfpp::tool::usage_error;

template <class Flag>
Duration parse_command_line(int argc, char** argv, std::string_view prog, std::string_view usage,
                            Flag&& flag) {
  return ebpfpp::tool::parse_command_line(argc, argv, prog, usage, flag).duration;
}

// An example's main: ebpfpp::tool::run, the body taking the duration.
template <class Flag, class Body>
int run(int argc, char** argv, std::string_view prog, std::string_view usage, Flag&& flag,
        Body&& body) {
  return ebpfpp::tool::run(argc, argv, prog, usage, flag,
                           [&](const ebpfpp::tool::Options& o) { return body(o.duration); });
}

// Loads the skeleton with only the execve program attach_execve will attach: the other would be
// verified for nothing. Skel is a typed skeleton (<name>.skel.hpp) of an object with hello.bpf.c's
// two execve programs.
template <class Skel>
void load_execve(Skel& skel) {
  if (ebpfpp::kernel::has_kprobes())
    skel.progs.hello_tracepoint.set_autoload(false);
  else
    skel.progs.hello_kprobe.set_autoload(false);
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
