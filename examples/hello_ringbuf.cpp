// hello-ringbuf: the chapter's ring buffer program, in C++.
//
// Every time any process calls openat, the kernel side (bpf/hello_ringbuf.bpf.c) writes
// {command, filename, dfd} into a ring buffer, and this program prints `<command> - <filename>`.
//
//   sudo ./hello-ringbuf -d 5
//
// What it shows: RingBuffer<Event>, whose loop reads each event in place in the ring (no copy),
// typed by the generated skeleton (hello_ringbuf.bpf.skel.hpp) from the EBPFPP_EVENT mark on the BPF
// side, and ebpfpp's kernel-side helper (ebpfpp/ring_buffer.bpf.h), which counts the events a
// full ring could not take: reported at exit, never lost silently.

#include <cstdio>
#include <optional>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"
#include "hello_ringbuf.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the object's BTF

namespace {

constexpr std::string_view usage = R"(usage: hello-ringbuf [-d SECONDS] [-h]

Prints "<command> - <filename>" for every openat on the machine, sent by a BPF program through
a ring buffer.

  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON).
)";

} // namespace

int main(int argc, char** argv) {
  return example::run(
      argc, argv, "hello-ringbuf", usage, example::no_flags, [](example::Duration duration) {
        ebpfpp::SignalFd signals;

        auto skel = hello_ringbuf::Skeleton::open_and_load();
        ebpfpp::Tracepoint link(skel.progs.hello_ringbuf, "syscalls", "sys_enter_openat");
        fmt::print(stderr, "hello-ringbuf: attached {}\n", link.description());

        auto& events = skel.maps.output; // RingBuffer<hello_file_event>, with its drop counter
        auto until = ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd());
        for (const hello_ringbuf::hello_file_event& e : events.events(until))
          fmt::print("{} - {}\n", ebpfpp::to_string_view(e.command),
                     ebpfpp::to_string_view(e.filename));

        if (const auto drops = events.drops(); drops && *drops > 0)
          fmt::print(stderr, "hello-ringbuf: {} events dropped (ring buffer full)\n", *drops);
      });
}
