// hello-func: BPF-to-BPF function calls, and what the kernel shows of them.
//
// The kernel side (bpf/hello_func.bpf.c) has two programs that print "Syscall: N" at the entry
// of every syscall. hello_func gets N from get_opcode(), a __noinline function: a real
// BPF-to-BPF call (kernel 4.16+). hello_inline gets it from an __always_inline copy, as all BPF
// code had to before 4.16. At start this program loads both and prints what introspection
// (Program::info(), as bpftool prog show / dump xlated) says of each: instruction counts and the
// number of BPF-to-BPF calls, 1 against 0. Then it attaches one of them (hello_func, or
// hello_inline with --inline) and prints the trace lines: task, pid, message. Syscalls of this
// tool itself are not traced: its own reads of the trace would print a line per line.
//
//   sudo ./hello-func                  # until Ctrl-C
//   sudo ./hello-func -d 5 --inline
//
// What it shows: Program::info() decoding the instructions the verifier accepted, the typed
// skeleton's programs as members, and a program type (raw tracepoint) whose arguments are the
// syscall number itself.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"
#include <unistd.h>

#include "hello_func.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage = R"(usage: hello-func [-d SECONDS] [--inline] [-h]

Prints, for two BPF programs, what the kernel shows of them (instructions, BPF-to-BPF calls),
then "Syscall: N" trace lines from the one attached to every syscall's entry.

  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
      --inline             attach hello_inline (no function call) instead of hello_func
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON) and tracefs mounted at /sys/kernel/tracing.
)";

void print_introspection(const ebpfpp::Program& prog) {
  const ebpfpp::ProgramInfo info = prog.info();
  fmt::print("{:<12} {} BPF-to-BPF call{}, {} instructions loaded, {} after verification "
             "(xlated), {} bytes JITed; id {}, tag {}\n",
             prog.name(), info.bpf_to_bpf_calls, info.bpf_to_bpf_calls == 1 ? "" : "s",
             prog.instruction_count(), info.instruction_count, info.jited_size, info.id,
             info.tag_string());
}

} // namespace

int main(int argc, char** argv) {
  bool use_inline = false;
  auto flags = example::switch_flag("--inline", use_inline);
  return example::run(argc, argv, "hello-func", usage, flags, [&](example::Duration duration) {
    // Blocked before anything else, so Ctrl-C ends the read loop and the destructors detach.
    ebpfpp::SignalFd signals;

    auto skel = hello_func::Skeleton::open();
    skel->rodata->ignore_tgid = ::getpid();
    skel.load();
    print_introspection(skel.progs.hello_func);
    print_introspection(skel.progs.hello_inline);

    // Opened before the attach: the pipe reads a tracefs instance of its own, which holds the
    // lines printed from the moment it exists.
    ebpfpp::TracePipe pipe;
    ebpfpp::Program attached = skel.progs.hello_func; // each program is a type of its own
    if (use_inline) attached = skel.progs.hello_inline;
    ebpfpp::RawTracepoint link(attached, "sys_enter");
    fmt::print(stderr, "hello-func: attached {} (program '{}')\n", link.description(),
               attached.name());

    for (const ebpfpp::TraceLine& line :
         pipe.lines(ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd()))) {
      fmt::print("{:<16} {:>7} {}\n", line.task, line.pid, line.message);
    }
    if (pipe.lost() > 0)
      fmt::print(stderr, "hello-func: the kernel lost {} trace lines\n", pipe.lost());
  });
}
