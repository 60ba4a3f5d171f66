#pragma once
/// @file
/// TracePipe: the output of bpf_printk(), read from tracefs's trace_pipe as parsed lines.
///
///     ebpfpp::TracePipe pipe;                        // throws if tracefs is not mounted
///     for (const ebpfpp::TraceLine& l : pipe.lines(5s))
///       fmt::print("{} {} {}\n", l.task, l.pid, l.message);
///
/// trace_pipe is one system-wide stream and reading consumes it: two readers split the lines
/// between them, and lines printed before you opened it still arrive first. It is a debugging
/// channel; for data, use a map or a ring buffer. The library mounts nothing: when tracefs is
/// not mounted the Error says how to mount it.

#include "detail/config.hpp"

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <unistd.h>

#include <fmt/format.h>

#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "generator.hpp"
#include "kernel.hpp"
#include "stream.hpp"

namespace ebpfpp {

/// One line of trace_pipe output.
struct TraceLine {
  /// The task's comm (up to 15 characters; may contain spaces and dashes). The kernel looks it
  /// up when the line is read, in a pid -> comm cache: a process that exec'd since shows its new
  /// name, and a pid the cache has not seen shows "<...>". `pid` is exact.
  std::string task;
  pid_t pid = 0;
  /// The thread group id, when the kernel prints it (the record-tgid trace option).
  std::optional<pid_t> tgid;
  int cpu = 0;
  /// irqs-off / need-resched / hardirq-softirq / preempt-depth flags, e.g. "d..31"; empty when
  /// the kernel prints none.
  std::string flags;
  /// The trace clock's timestamp (by default: seconds since boot, CLOCK_MONOTONIC-like).
  std::chrono::nanoseconds timestamp{0};
  /// What bpf_printk printed.
  std::string message;
};

namespace detail {

inline void skip_spaces(std::string_view& s) noexcept {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
}

inline std::optional<long long> take_number(std::string_view& s) noexcept {
  long long v = 0;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
  if (i == 0) return std::nullopt;
  s.remove_prefix(i);
  return v;
}

inline std::string_view take_token(std::string_view& s) noexcept {
  std::size_t i = 0;
  while (i < s.size() && s[i] != ' ') ++i;
  std::string_view t = s.substr(0, i);
  s.remove_prefix(i);
  return t;
}

// "5678.123456:" -> ns; nullopt when the token is not a timestamp.
inline std::optional<std::chrono::nanoseconds> parse_timestamp(std::string_view t) noexcept {
  if (!t.ends_with(':')) return std::nullopt;
  t.remove_suffix(1);
  const auto dot = t.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view sec = t.substr(0, dot), frac = t.substr(dot + 1);
  auto s = take_number(sec);
  if (!s || !sec.empty() || frac.empty() || frac.size() > 9) return std::nullopt;
  long long ns = 0;
  for (std::size_t i = 0; i < 9; ++i) {
    if (i < frac.size()) {
      if (frac[i] < '0' || frac[i] > '9') return std::nullopt;
      ns = ns * 10 + (frac[i] - '0');
    } else {
      ns *= 10;
    }
  }
  return std::chrono::seconds(*s) + std::chrono::nanoseconds(ns);
}

} // namespace detail

/// Parses one trace_pipe line (no trailing newline); nullopt for lines that are not records
/// (e.g. "CPU:1 [LOST 3 EVENTS]"). Handles the format of kernels 5.9+
/// ("bash-42 [001] d..31 5.123456: bpf_trace_printk: msg") and of older ones, where the message
/// follows an address ("... 5.123456: 0: msg").
inline std::optional<TraceLine> parse_trace_line(std::string_view line) {
  TraceLine out;
  std::string_view rest;
  // The kernel prints "%16s-%-7d": the comm right-aligned in 16 columns, then '-' and the pid.
  // Cutting at column 16 keeps dashes and spaces inside the comm intact.
  if (line.size() > 17 && line[16] == '-' && line[17] >= '0' && line[17] <= '9') {
    std::string_view task = line.substr(0, 16);
    detail::skip_spaces(task);
    out.task = std::string(task);
    rest = line.substr(17);
  } else {
    // Not column-aligned (other tracers' output, hand-made lines): the pid is the number after
    // the last '-' before the " [cpu]" field.
    const auto cpu_field = line.find(" [");
    const auto dash = cpu_field == std::string_view::npos ? cpu_field : line.rfind('-', cpu_field);
    if (dash == std::string_view::npos) return std::nullopt;
    std::string_view task = line.substr(0, dash);
    detail::skip_spaces(task);
    out.task = std::string(task);
    rest = line.substr(dash + 1);
  }
  auto pid = detail::take_number(rest);
  if (!pid) return std::nullopt;
  out.pid = static_cast<pid_t>(*pid);
  detail::skip_spaces(rest);
  if (rest.starts_with('(')) { // "(   1234)" or "(-------)"
    rest.remove_prefix(1);
    detail::skip_spaces(rest);
    if (auto tgid = detail::take_number(rest)) out.tgid = static_cast<pid_t>(*tgid);
    const auto close = rest.find(')');
    if (close == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(close + 1);
    detail::skip_spaces(rest);
  }
  if (!rest.starts_with('[')) return std::nullopt;
  rest.remove_prefix(1);
  auto cpu = detail::take_number(rest);
  if (!cpu || !rest.starts_with(']')) return std::nullopt;
  out.cpu = static_cast<int>(*cpu);
  rest.remove_prefix(1);
  detail::skip_spaces(rest);
  std::string_view token = detail::take_token(rest);
  auto ts = detail::parse_timestamp(token);
  if (!ts) { // the token was the flags field
    out.flags = std::string(token);
    detail::skip_spaces(rest);
    ts = detail::parse_timestamp(detail::take_token(rest));
    if (!ts) return std::nullopt;
  }
  out.timestamp = *ts;
  if (rest.starts_with(' ')) rest.remove_prefix(1);
  // 5.9+: "bpf_trace_printk: msg". Before: "<ip>: msg", the ip printed as 0, 0x1 or a symbol.
  const auto colon = rest.find(": ");
  if (colon != std::string_view::npos) {
    const std::string_view source = rest.substr(0, colon);
    const bool is_printk = source == "bpf_trace_printk";
    const bool is_ip =
        !source.empty() && source.find_first_not_of("0123456789abcdefx") == std::string_view::npos;
    if (is_printk || is_ip) rest.remove_prefix(colon + 2);
  }
  out.message = std::string(rest);
  return out;
}

/// Reads bpf_printk output from tracefs's trace_pipe. Needs root (or read access to tracefs).
class TracePipe {
public:
  /// Opens trace_pipe under /sys/kernel/tracing or /sys/kernel/debug/tracing. Throws Error
  /// (ENOENT) saying how to mount tracefs when it is mounted in neither place.
  TracePipe() : TracePipe(locate()) {}

  /// Opens a specific trace_pipe file (e.g. of a tracefs mounted elsewhere).
  explicit TracePipe(const std::filesystem::path& trace_pipe)
      : path_(trace_pipe), waiter_(fmt::format("trace pipe '{}'", trace_pipe.string())) {
    fd_.reset(::open(trace_pipe.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd_) {
      const int err = errno;
      // Recent kernels let one reader at a time open trace_pipe.
      throw Error(err, fmt::format("open '{}'", trace_pipe.string()),
                  err == EBUSY ? "another process is reading trace_pipe (only one reader at a time "
                                 "on this kernel): stop it, e.g. a `cat trace_pipe` or "
                                 "`bpftool prog tracelog`, or another ebpfpp tool"
                               : detail::hint_for(err));
    }
  }

  /// The parsed lines as they come; blocks (poll) while there are none. Ends on the options'
  /// timeout, stop token or stop fd, or on request_stop(). Throws Error on a read failure.
  ///
  ///     for (auto& l : pipe.lines(ebpfpp::StreamOptions().timeout(5s).stop_fd(signals.fd())))
  Generator<const TraceLine&> lines(StreamOptions options = {}) & {
    const auto deadline = detail::deadline_of(options);
    std::stop_callback on_stop(options.stop(), [this] { request_stop(); });
    std::string pending;
    char buf[16384];
    for (;;) {
      // trace_pipe says nothing about what is buffered short of reading it, so: no spinning,
      // no bounded wake-ups; poll until it is readable.
      const auto why = waiter_.wait(
          fd_.get(), [] { return false; }, [] {}, std::chrono::microseconds(0),
          std::chrono::milliseconds(-1), deadline, options.stop_fd());
      if (why != detail::StreamWaiter::Result::data) break;
      const ssize_t got = ::read(fd_.get(), buf, sizeof buf);
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        throw Error(errno, fmt::format("read '{}'", path_.string()));
      }
      pending.append(buf, static_cast<std::size_t>(got));
      std::size_t start = 0;
      for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string_view text(pending.data() + start, nl - start);
        if (auto line = parse_trace_line(text)) {
          co_yield *line;
        } else if (text.find("[LOST ") != std::string_view::npos) {
          lost_ += parse_lost(text);
        }
      }
      pending.erase(0, start);
    }
    waiter_.clear_stop();
  }

  /// lines() until `timeout` passes (or a stop request).
  Generator<const TraceLine&> lines(std::chrono::milliseconds timeout) & {
    return lines(StreamOptions().timeout(timeout));
  }

  // The sequence reads through the TracePipe: on a temporary it would outlive it.
  Generator<const TraceLine&> lines(StreamOptions = {}) && = delete;
  Generator<const TraceLine&> lines(std::chrono::milliseconds) && = delete;

  /// Ends the running (or next) lines() sequence. Async-signal-safe; callable from any thread.
  void request_stop() const noexcept { waiter_.request_stop(); }

  /// Trace events the kernel reported as lost ("CPU:N [LOST M EVENTS]") so far.
  std::uint64_t lost() const noexcept { return lost_; }
  /// The trace_pipe fd, for your own poll loop.
  int fd() const noexcept { return fd_.get(); }
  const std::filesystem::path& path() const noexcept { return path_; }

  /// Where trace_pipe is; throws the "mount tracefs" Error when it is nowhere.
  static std::filesystem::path locate() {
    if (auto dir = kernel::tracefs()) return *dir / "trace_pipe";
    throw Error(ENOENT, "find trace_pipe (bpf_printk output)",
                "tracefs is not mounted at /sys/kernel/tracing or /sys/kernel/debug/tracing; "
                "mount it as root: mount -t tracefs tracefs /sys/kernel/tracing");
  }

private:
  static std::uint64_t parse_lost(std::string_view text) noexcept {
    std::string_view rest = text.substr(text.find("[LOST ") + 6);
    return static_cast<std::uint64_t>(detail::take_number(rest).value_or(0));
  }

  std::filesystem::path path_;
  detail::UniqueFd fd_;
  detail::StreamWaiter waiter_;
  std::uint64_t lost_ = 0;
};

} // namespace ebpfpp
