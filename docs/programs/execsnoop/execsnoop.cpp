// execsnoop: prints every program started on this machine, one line each: its pid, its parent's
// pid, the command that started it and the file it runs. Built from an empty directory in
// docs/09-your-own-tool.md.
//
//   sudo ./execsnoop        # until Ctrl-C
//   sudo ./execsnoop 10     # for 10 seconds
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "execsnoop.bpf.skel.h" // made from execsnoop.bpf.c by ebpfpp's recipe
#include "execsnoop.h"

int main(int argc, char** argv) try {
  std::optional<std::chrono::milliseconds> duration; // none: until Ctrl-C
  if (argc > 1) duration = std::chrono::milliseconds(std::atoi(argv[1]) * 1000);

  ebpfpp::SignalFd signals;                 // first: Ctrl-C and SIGTERM become an fd to wait on
  std::setvbuf(stdout, nullptr, _IOLBF, 0); // a line per exec, even through a pipe

  auto skel = ebpfpp::Skeleton<execsnoop_bpf>::open_and_load();
  ebpfpp::RingBuffer<exec_event> events(skel, "events");
  ebpfpp::Tracepoint link(skel.program("handle_execve"), "syscalls", "sys_enter_execve");

  fmt::print("{:>7} {:>7} {:<16} {}\n", "PID", "PPID", "COMM", "FILENAME");
  auto until = ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd());
  for (const exec_event& e : events.events(until))
    fmt::print("{:>7} {:>7} {:<16} {}\n", e.pid, e.ppid, ebpfpp::to_string_view(e.comm),
               ebpfpp::to_string_view(e.filename));

  if (const auto drops = events.drops(); drops && *drops > 0)
    fmt::print(stderr, "execsnoop: {} events dropped (ring buffer full)\n", *drops);
  return 0;
} catch (const ebpfpp::Error& e) { // what was attempted, on which name, errno, what to try
  fmt::print(stderr, "execsnoop: {}\n", e.what());
  return 1;
}
