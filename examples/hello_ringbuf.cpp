// hello-ringbuf: the chapter's ring buffer program, in C++.
//
// Every time any process calls openat, the kernel side (bpf/hello_ringbuf.bpf.c) writes
// {command, filename, dfd} into a ring buffer, and this program prints `<command> - <filename>`.
//
//   sudo ./hello-ringbuf -d 5
//
// What it shows: RingBuffer<Event>, whose loop reads each event in place in the ring (no copy),
// and ebpfpp's kernel-side helper (ebpfpp/ring_buffer.bpf.h), which counts the events a full
// ring could not take: reported at exit, never lost silently.

#include <cstdio>
#include <optional>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"
#include "hello_ringbuf.h"
#include "hello_ringbuf.skel.h"

namespace {

constexpr std::string_view usage = R"(usage: hello-ringbuf [-d SECONDS] [-h]

Prints "<command> - <filename>" for every openat on the machine, sent by a BPF program through
a ring buffer.

  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON).
)";

} // namespace

int main(int argc, char** argv) try {
  const auto duration =
      example::parse_command_line(argc, argv, "hello-ringbuf", usage, example::no_flags);
  ebpfpp::SignalFd signals;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  auto skel = ebpfpp::Skeleton<hello_ringbuf_bpf>::open_and_load();
  ebpfpp::Tracepoint link(skel.program("hello_ringbuf"), "syscalls", "sys_enter_openat");
  fmt::print(stderr, "hello-ringbuf: attached {}\n", link.description());

  ebpfpp::RingBuffer<hello_file_event> events(skel, "output");
  for (const hello_file_event& e : events.events(example::until(duration, signals)))
    fmt::print("{} - {}\n", example::field(e.command), example::field(e.filename));

  if (const auto drops = events.drops(); drops && *drops > 0)
    fmt::print(stderr, "hello-ringbuf: {} events dropped (ring buffer full)\n", *drops);
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "hello-ringbuf: {}\n", e.what());
  return 1;
}
