// hello-ringbuf-config: the chapter's ring buffer program with a config map, in C++.
//
// Every time any process calls execve, the kernel side (bpf/hello_ringbuf_config.bpf.c) looks
// up the caller's uid in a hash map that this program fills (uid 0 -> "Hey root!", plus any
// --message UID=TEXT), and writes hello-buffer's event {pid, uid, command, message} into a ring
// buffer; this program prints `<pid> <uid> <command> <message>`. The message is "Hello World"
// for uids not in the map. It hooks execve with a kprobe where the kernel has kprobes, else with
// the sys_enter_execve tracepoint, and says which on stderr.
//
//   sudo ./hello-ringbuf-config --message 1000=Hi\ alice
//
// What it shows: user space configuring a BPF program through a typed Map<K,V> (filled here
// before attaching; a tool could as well update it while the program runs, and the program sees
// each change at its next event), and RingBuffer<Event> with its drop count.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"
#include "hello_buffer.h"                // HELLO_MESSAGE_LEN
#include "hello_ringbuf_config.bpf.skel.hpp" // typed skeleton: ebpfpp-skel, from the BTF

namespace {

constexpr std::string_view usage =
    R"(usage: hello-ringbuf-config [--message UID=TEXT]... [-d SECONDS] [-h]

Prints "<pid> <uid> <command> <message>" for every execve on the machine; the message comes
from a uid -> message map that this program fills (uid 0: "Hey root!"; others: "Hello World").

  -m, --message UID=TEXT   the message for UID (at most 11 characters; repeatable)
  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C or SIGTERM)
  -h, --help               show this help

Needs root (or CAP_BPF + CAP_PERFMON).
)";

// --message UID=TEXT, repeatable: messages[uid] = text.
auto message_flag(std::map<std::uint32_t, std::string>& messages) {
  return [&messages](std::string_view arg, const char* value) {
    if ((arg != "-m" && arg != "--message") || !value) return 0;
    const std::string_view spec = value;
    const auto eq = spec.find('=');
    char* end = nullptr;
    const std::string uid_text(spec.substr(0, eq));
    const unsigned long uid = std::strtoul(uid_text.c_str(), &end, 10);
    if (eq == std::string_view::npos || uid_text.empty() || *end != '\0' || uid > 0xFFFFFFFFul)
      example::usage_error("hello-ringbuf-config",
                           fmt::format("bad --message '{}' (want UID=TEXT)", spec), usage);
    const std::string_view text = spec.substr(eq + 1);
    if (text.size() >= HELLO_MESSAGE_LEN)
      example::usage_error(
          "hello-ringbuf-config",
          fmt::format("message '{}' is longer than {} characters", text, HELLO_MESSAGE_LEN - 1),
          usage);
    messages[static_cast<std::uint32_t>(uid)] = std::string(text);
    return 2;
  };
}

} // namespace

int main(int argc, char** argv) {
  std::map<std::uint32_t, std::string> messages{{0, "Hey root!"}};
  return example::run(
      argc, argv, "hello-ringbuf-config", usage, message_flag(messages),
      [&](example::Duration duration) {
        ebpfpp::SignalFd signals;

        auto skel = hello_ringbuf_config::Skeleton::open();
        example::load_execve(skel);
        // Map<uint32_t, hello_config>, typed from the object's BTF and checked against the map's.
        auto& config = skel.maps.uid_config;
        for (const auto& [uid, text] : messages) {
          hello_ringbuf_config::hello_config value{};
          std::memcpy(value.message, text.data(), text.size());
          config.update(uid, value);
        }

        auto& events = skel.maps.output; // RingBuffer<hello_event>, with its drop counter
        ebpfpp::Link link = example::attach_execve("hello-ringbuf-config", skel);
        auto until = ebpfpp::StreamOptions().timeout(duration).stop_fd(signals.fd());
        for (const hello_ringbuf_config::hello_event& e : events.events(until))
          fmt::print("{} {} {} {}\n", e.pid, e.uid, ebpfpp::to_string_view(e.command),
                     ebpfpp::to_string_view(e.message));

        if (const auto drops = events.drops(); drops && *drops > 0)
          fmt::print(stderr, "hello-ringbuf-config: {} events dropped (ring buffer full)\n",
                     *drops);
      });
}
