// hello-file: the chapter's openat tracepoint program, in C++.
//
// Every time any process calls openat, the kernel side (bpf/hello_file.bpf.c) copies the file
// name out of the caller's memory (bpf_probe_read_user_str) and bpf_printk's "<command> opened
// <filename>"; this program prints those trace lines as `<task> <pid> <message>`.
//
//   sudo ./hello-file -d 5
//
// What it shows: a tracepoint program reading its arguments, reading user memory from BPF, the
// typed skeleton's program member, and TracePipe. Every openat on the machine is printed: expect a
// lot of lines.

#include <cstdio>
#include <optional>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"
#include "hello_file.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage = R"(usage: hello-file [-d SECONDS] [-h]

Prints a trace line "<command> opened <filename>" for every openat on the machine.

  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON) and tracefs mounted at /sys/kernel/tracing.
)";

} // namespace

int main(int argc, char** argv) {
  return example::run(
      argc, argv, "hello-file", usage, example::no_flags, [](example::Duration duration) {
        ebpfpp::SignalFd signals;

        auto skel = hello_file::Skeleton::open_and_load();
        // Opened before the attach: the pipe reads a tracefs instance of its own, which holds the
        // lines printed from the moment it exists.
        ebpfpp::TracePipe pipe;
        ebpfpp::Tracepoint link(skel.progs.hello_file, "syscalls", "sys_enter_openat");
        fmt::print(stderr, "hello-file: attached {}\n", link.description());

        for (const ebpfpp::TraceLine& line :
             pipe.lines(ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd())))
          fmt::print("{:<16} {:>7} {}\n", line.task, line.pid, line.message);
        if (pipe.lost() > 0)
          fmt::print(stderr, "hello-file: the kernel lost {} trace lines\n", pipe.lost());
      });
}
