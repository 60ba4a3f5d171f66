// opencount: every openat on the machine as `<pid> <command> <file>`, then the opens per process.
// docs/11-typed-skeleton.md builds it from an empty directory.
//
//   sudo ./opencount        # until Ctrl-C
//   sudo ./opencount 5      # for 5 seconds
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include "opencount.bpf.skel.hpp" // made from opencount.bpf.c's BTF by ebpfpp's recipe

int main(int argc, char** argv) try {
  std::optional<std::chrono::milliseconds> duration; // none: until Ctrl-C
  if (argc > 1) duration = std::chrono::milliseconds(std::atoi(argv[1]) * 1000);
  ebpfpp::SignalFd signals;                 // first: Ctrl-C and SIGTERM become an fd to wait on
  std::setvbuf(stdout, nullptr, _IOLBF, 0); // a line per open, even through a pipe

  auto skel = opencount::Skeleton::open();
  skel.rodata()->ignore_tgid = static_cast<std::uint32_t>(::getpid());
  skel.load();
  ebpfpp::Tracepoint link(skel.progs.count_open, "syscalls", "sys_enter_openat");
  fmt::print(stderr, "opencount: attached {}\n", link.description());

  auto until = ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd());
  for (const opencount::open_event& e : skel.maps.events.events(until))
    fmt::print("{:>7} {:<16} {}\n", e.pid, ebpfpp::to_string_view(e.comm),
               ebpfpp::to_string_view(e.filename));

  auto opens = skel.maps.opens.items(); // std::uint32_t pid -> std::uint64_t count, as in BTF
  std::sort(opens.begin(), opens.end(), [](auto& a, auto& b) { return a.second > b.second; });
  for (const auto& [pid, count] : opens) fmt::print("-- {} opens by pid {}\n", count, pid);
  return 0;
} catch (const ebpfpp::Error& e) { // what was attempted, on which name, errno, what to try
  fmt::print(stderr, "opencount: {}\n", e.what());
  return 1;
}
