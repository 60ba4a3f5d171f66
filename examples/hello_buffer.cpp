// hello-buffer: the chapter's perf buffer program, in C++.
//
// Every time any process calls execve, the kernel side (bpf/hello_buffer.bpf.c) writes an event
// {pid, uid, command, message} into a perf buffer, and this program prints one line per event:
// `<pid> <uid> <command> <message>`. The command is the name of the process that called execve
// (the program it replaces). It hooks execve with a kprobe where the kernel has kprobes (as the
// chapter does), else with the syscalls/sys_enter_execve tracepoint, and says which on stderr.
//
//   sudo ./hello-buffer               # until Ctrl-C
//   sudo ./hello-buffer --odd-even    # the chapter's exercise: messages by pid parity
//
// What it shows: PerfBuffer<Event> iterated as a range, a struct shared by both sides
// (bpf/hello_buffer.h), a .rodata switch set before load, and lost samples reported at exit.

#include <cstdio>
#include <optional>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"
#include "hello_buffer.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage = R"(usage: hello-buffer [--odd-even] [-d SECONDS] [-h]

Prints "<pid> <uid> <command> <message>" for every execve on the machine, sent by a BPF
program through a perf buffer.

  --odd-even               message "Odd pid" or "Even pid" instead of "Hello World"
  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON).
)";

} // namespace

int main(int argc, char** argv) {
  bool odd_even = false;
  auto flags = example::switch_flag("--odd-even", odd_even);
  return example::run(argc, argv, "hello-buffer", usage, flags, [&](example::Duration duration) {
    // Blocked before anything else, so Ctrl-C ends the loop and the destructors detach.
    ebpfpp::SignalFd signals;

    auto skel = hello_buffer::Skeleton::open();
    skel->rodata->odd_even = odd_even;
    example::load_execve(skel);
    auto& events = skel.maps.output; // PerfBuffer<hello_event>, opened by load()
    ebpfpp::Link link = example::attach_execve("hello-buffer", skel);

    auto until = ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd());
    for (const hello_buffer::hello_event& e : events.events(until))
      fmt::print("{} {} {} {}\n", e.pid, e.uid, ebpfpp::to_string_view(e.command),
                 ebpfpp::to_string_view(e.message));

    if (events.lost() > 0) {
      fmt::print(stderr,
                 "hello-buffer: the kernel lost {} events (perf buffer full):", events.lost());
      for (int cpu : events.cpus())
        if (events.lost_on(cpu)) fmt::print(stderr, " cpu {}: {}", cpu, events.lost_on(cpu));
      fmt::print(stderr, "\n");
    }
  });
}
