// hello-tail: tail calls, the chapter's jump table of BPF programs.
//
// The kernel side (bpf/hello_tail.bpf.c) runs `hello` at the entry of every syscall; it
// tail-calls into a prog array indexed by the syscall number. This program fills that array:
// hello_exec in execve's slot ("Executing a program"), hello_timer in the slots of timer_create,
// timer_settime, timer_gettime, timer_getoverrun and timer_delete ("Creating a timer", "Deleting
// a timer", "Some other timer operation"), and ignore_opcode in every other slot. With
// --show-others the other slots stay empty: the tail call falls through and `hello` itself
// prints "Another syscall: N" (the book's original behaviour; a line per syscall, so many).
// It then prints the trace lines: task, pid, message.
//
//   sudo ./hello-tail                  # until Ctrl-C
//   sudo ./hello-tail -d 5 --show-others
//
// What it shows: ProgArray (the typed skeleton's maps.syscall), a tail call's fall-through on an
// empty slot, the syscall numbers of the machine it was built for handed to the BPF side through
// .rodata (they differ between x86-64 and arm64), and why the table is filled before the program is
// attached: otherwise the first events would fall through an empty table.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"
#include <sys/syscall.h>
#include <unistd.h>

#include "hello_tail.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage = R"(usage: hello-tail [-d SECONDS] [--show-others] [-h]

Prints trace lines from BPF programs that a raw tracepoint on every syscall tail-calls into,
chosen by syscall number: "Executing a program" for execve, "Creating a timer",
"Deleting a timer" or "Some other timer operation" for the timer_* syscalls.

  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
      --show-others        leave the other syscalls' slots empty, so the main program prints
                           "Another syscall: N" for each of them (many lines)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON) and tracefs mounted at /sys/kernel/tracing.
)";

} // namespace

int main(int argc, char** argv) {
  bool show_others = false;
  auto flags = example::switch_flag("--show-others", show_others);
  return example::run(argc, argv, "hello-tail", usage, flags, [&](example::Duration duration) {
    // Blocked before anything else, so Ctrl-C ends the read loop and the destructors detach.
    ebpfpp::SignalFd signals;

    auto skel = hello_tail::Skeleton::open();
    skel->rodata->nr_timer_create = SYS_timer_create;
    skel->rodata->nr_timer_delete = SYS_timer_delete;
    skel->rodata->ignore_tgid = ::getpid();
    skel.load();

    ebpfpp::ProgArray& table = skel.maps.syscall; // made by load(): a ProgArray, as BTF says
    if (!show_others) table.fill(skel.progs.ignore_opcode);
    table.set(SYS_execve, skel.progs.hello_exec);
    for (long nr : {SYS_timer_create, SYS_timer_settime, SYS_timer_gettime, SYS_timer_getoverrun,
                    SYS_timer_delete})
      table.set(static_cast<std::uint32_t>(nr), skel.progs.hello_timer);

    // Opened before the attach: the pipe reads a tracefs instance of its own, which holds the
    // lines printed from the moment it exists.
    ebpfpp::TracePipe pipe;
    // Only now: an event before the table was filled would have fallen through.
    ebpfpp::RawTracepoint link(skel.progs.hello, "sys_enter");
    fmt::print(stderr,
               "hello-tail: attached {}; prog array '{}': execve ({}) -> hello_exec, "
               "timer_create..timer_delete ({}..{}) -> hello_timer, {}\n",
               link.description(), table.name(), SYS_execve, SYS_timer_create, SYS_timer_delete,
               show_others ? "others empty (fall through)" : "others -> ignore_opcode");

    for (const ebpfpp::TraceLine& line :
         pipe.lines(ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd()))) {
      fmt::print("{:<16} {:>7} {}\n", line.task, line.pid, line.message);
    }
    if (pipe.lost() > 0)
      fmt::print(stderr, "hello-tail: the kernel lost {} trace lines\n", pipe.lost());
  });
}
