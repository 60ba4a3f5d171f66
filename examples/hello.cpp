// hello: the chapter's first eBPF program, in C++.
//
// Every time any process on the machine calls execve, the kernel side (bpf/hello.bpf.c) runs
// bpf_printk("Hello World!"), and this program prints those trace lines: the task that called
// execve, its pid and the message. It attaches a kprobe on the execve syscall where the kernel
// has kprobes (as the chapter does), else the syscalls/sys_enter_execve tracepoint, and says
// which on stderr.
//
//   sudo ./hello            # until Ctrl-C
//   sudo ./hello -d 5       # for 5 seconds
//
// What it shows: the typed skeleton (hello.bpf.skel.hpp, generated from the object: the BPF
// object embedded in the binary, its programs as members), choosing a hook from a run-time
// kernel probe, a Link that detaches when it goes out of scope, and TracePipe.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"

#include "hello.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage = R"(usage: hello [-d SECONDS] [-h]

Prints "Hello World!" trace lines from a BPF program that runs on every execve.

  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON) and tracefs mounted at /sys/kernel/tracing.
)";

} // namespace

int main(int argc, char** argv) {
  return example::run(
      argc, argv, "hello", usage, example::no_flags, [](example::Duration duration) {
        // Blocked before anything else, so Ctrl-C ends the read loop and the destructors detach.
        ebpfpp::SignalFd signals;

        auto skel = hello::Skeleton::open();
        // Load only the program we will attach: the other one would be verified for nothing.
        const bool kprobes = ebpfpp::kernel::has_kprobes();
        if (kprobes)
          skel.progs.hello_tracepoint.set_autoload(false);
        else
          skel.progs.hello_kprobe.set_autoload(false);
        skel.load();

        // Opened before the attach: the pipe reads a tracefs instance of its own, which holds the
        // lines printed from the moment it exists.
        ebpfpp::TracePipe pipe;
        ebpfpp::Link link;
        if (kprobes) {
          link = ebpfpp::SyscallKprobe(skel.progs.hello_kprobe, "execve");
        } else {
          link = ebpfpp::Tracepoint(skel.progs.hello_tracepoint, "syscalls", "sys_enter_execve");
        }
        fmt::print(stderr, "hello: attached {}{}\n", link.description(),
                   kprobes ? "" : " (this kernel has no kprobes)");

        for (const ebpfpp::TraceLine& line :
             pipe.lines(ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd()))) {
          fmt::print("{:<16} {:>7} {}\n", line.task, line.pid, line.message);
        }
        if (pipe.lost() > 0)
          fmt::print(stderr, "hello: the kernel lost {} trace lines\n", pipe.lost());
      });
}
