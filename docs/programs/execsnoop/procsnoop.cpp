// procsnoop: programs starting and ending on this machine, read from two ring buffers on one
// thread with ebpfpp::EventLoop, with a once-a-second summary and a clean end on Ctrl-C.
// docs/10-event-loop.md walks through it.
//
//   sudo ./procsnoop        # until Ctrl-C
//   sudo ./procsnoop 10     # for 10 seconds
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "execsnoop.h"
#include "procsnoop.bpf.skel.h"
#include "procsnoop.h"

using namespace std::chrono_literals;

namespace {

struct Counts {
  unsigned execs = 0;
  unsigned exits = 0;
};

// One task per stream: each awaits its own ring buffer's next event.
ebpfpp::Task<> print_execs(ebpfpp::EventLoop& loop, ebpfpp::RingBuffer<exec_event>& execs,
                           Counts& counts) {
  for (;;) {
    const exec_event& e = co_await loop.next(execs); // valid until this task's next co_await
    ++counts.execs;
    fmt::print("exec {:>7} {:<16} {}\n", e.pid, ebpfpp::to_string_view(e.comm),
               ebpfpp::to_string_view(e.filename));
  }
}

ebpfpp::Task<> print_exits(ebpfpp::EventLoop& loop, ebpfpp::RingBuffer<exit_event>& exits,
                           Counts& counts) {
  for (;;) {
    const exit_event& e = co_await loop.next(exits);
    ++counts.exits;
    fmt::print("exit {:>7} {:<16} {}\n", e.pid, ebpfpp::to_string_view(e.comm), e.exit_code);
  }
}

// A timer: a summary line every second.
ebpfpp::Task<> every_second(ebpfpp::EventLoop& loop, Counts& counts) {
  for (;;) {
    co_await loop.sleep(1s);
    fmt::print("-- {} execs, {} exits in the last second\n", counts.execs, counts.exits);
    counts = {};
  }
}

// Ends the loop after `duration`.
ebpfpp::Task<> stop_after(ebpfpp::EventLoop& loop, std::chrono::milliseconds duration) {
  co_await loop.sleep(duration);
  loop.stop();
}

} // namespace

int main(int argc, char** argv) try {
  std::optional<std::chrono::milliseconds> duration; // none: until Ctrl-C
  if (argc > 1) duration = std::chrono::milliseconds(std::atoi(argv[1]) * 1000);

  ebpfpp::EventLoop loop; // first: it takes SIGINT and SIGTERM, which end loop.run()
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  auto skel = ebpfpp::Skeleton<procsnoop_bpf>::open_and_load();
  ebpfpp::RingBuffer<exec_event> execs(skel, "execs");
  ebpfpp::RingBuffer<exit_event> exits(skel, "exits");
  ebpfpp::Tracepoint on_exec(skel.program("handle_exec"), "syscalls", "sys_enter_execve");
  ebpfpp::Tracepoint on_exit(skel.program("handle_exit"), "sched", "sched_process_exit");
  fmt::print(stderr, "procsnoop: attached {} and {}\n", on_exec.description(),
             on_exit.description());

  Counts counts;
  loop.spawn(print_execs(loop, execs, counts));
  loop.spawn(print_exits(loop, exits, counts));
  loop.spawn(every_second(loop, counts));
  if (duration) loop.spawn(stop_after(loop, *duration));
  const std::optional<int> signal = loop.run(); // one thread, three or four tasks
  fmt::print(stderr, "procsnoop: {}\n", signal ? "stopped by a signal" : "time is up");
  return 0;
} catch (const ebpfpp::Error& e) {
  fmt::print(stderr, "procsnoop: {}\n", e.what());
  return 1;
}
