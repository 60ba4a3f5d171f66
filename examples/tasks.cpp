// tasks: a ps-like process list read from the kernel with a BPF task iterator.
//
// The kernel side (bpf/tasks.bpf.c) is an iter/task program writing one fixed-size record per
// task (pid, tgid, parent, state, flags, comm); this program reads one walk of it as typed
// records and prints them sorted by pid, with ps's state letters:
//
//   sudo ./tasks              # one line per process
//   sudo ./tasks --threads    # one line per thread
//
// What it shows: Iterator::records<T>() over a struct shared with the BPF side, the typed
// skeleton's programs as members, .rodata set before load, CO-RE for a field renamed across kernels
// (task_struct::state -> __state).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"
#include "tasks.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF
#include "tasks.h"            // task_record, what dump_task writes

namespace {

constexpr std::string_view usage = R"(usage: tasks [--threads] [-h]

Lists the processes (or, with --threads, every thread) as the kernel's task list has them, read
with a BPF task iterator: PID, PPID (the parent process), S (state: R running, S sleeping, D
disk sleep, I idle, T stopped, t traced, Z zombie, X dead) and COMMAND ([name] for kernel
threads).

  --threads    one line per thread, with its thread id in TID
  -h, --help   show this help

Needs root (or CAP_BPF + CAP_PERFMON). Kernel 5.8+.
)";

// ps's state letter from task_struct's state and exit_state bits.
char state_letter(const task_record& r) {
  if (r.exit_state & 0x10) return 'X'; // EXIT_DEAD
  if (r.exit_state & 0x20) return 'Z'; // EXIT_ZOMBIE
  if (r.state == 0x402) return 'I';    // TASK_IDLE (TASK_UNINTERRUPTIBLE | TASK_NOLOAD)
  if (r.state == 0) return 'R';
  if (r.state & 0x1) return 'S'; // TASK_INTERRUPTIBLE
  if (r.state & 0x2) return 'D'; // TASK_UNINTERRUPTIBLE
  if (r.state & 0x4) return 'T'; // __TASK_STOPPED
  if (r.state & 0x8) return 't'; // __TASK_TRACED
  return '?';
}

} // namespace

int main(int argc, char** argv) try {
  bool threads = false;
  example::parse_command_line(argc, argv, "tasks", usage, [&](std::string_view arg, const char*) {
    if (arg == "--threads") {
      threads = true;
      return 1;
    }
    return 0;
  });

  auto skel = tasks::Skeleton::open();
  skel->rodata->all_threads = threads;
  skel.progs.dump_task_text.set_autoload(false);
  skel.load();
  ebpfpp::Iterator iterator(skel.progs.dump_task);
  auto records = iterator.records<task_record>();
  std::sort(records.begin(), records.end(), [](const task_record& a, const task_record& b) {
    return a.tgid != b.tgid ? a.tgid < b.tgid : a.pid < b.pid;
  });

  constexpr unsigned pf_kthread = 0x00200000;
  if (threads)
    fmt::print("{:>7} {:>7} {:>7} S COMMAND\n", "PID", "TID", "PPID");
  else
    fmt::print("{:>7} {:>7} S COMMAND\n", "PID", "PPID");
  for (const task_record& r : records) {
    std::string comm(r.comm, strnlen(r.comm, sizeof r.comm));
    if (r.flags & pf_kthread) comm.insert(0, 1, '[').push_back(']');
    if (threads)
      fmt::print("{:>7} {:>7} {:>7} {} {}\n", r.tgid, r.pid, r.ppid, state_letter(r), comm);
    else
      fmt::print("{:>7} {:>7} {} {}\n", r.tgid, r.ppid, state_letter(r), comm);
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "tasks: {}\n", e.what());
  return 1;
}
