#pragma once
/// @file
/// TracePipe: the output of bpf_printk(), read from tracefs as parsed lines.
///
///     ebpfpp::TracePipe pipe;                        // throws if tracefs is not mounted
///     for (const ebpfpp::TraceLine& l : pipe.lines(5s))
///       fmt::print("{} {} {}\n", l.task, l.pid, l.message);
///
/// bpf_printk() writes the trace event `bpf_trace/bpf_trace_printk` (5.9+), which the kernel
/// records in the top-level trace buffer and in every tracefs instance that enables it. The
/// top-level trace_pipe is one system-wide stream: reading consumes it, and recent kernels admit
/// one reader at a time (a second open fails with EBUSY). So by default a TracePipe makes a
/// private tracefs instance (instances/ebpfpp-<pid>-<n>), enables that event there and reads the
/// instance's own trace_pipe: any number of TracePipes and other tools (a `cat trace_pipe`) read
/// side by side, each seeing every line printed after it was constructed. The instance is
/// removed when the TracePipe is destroyed; instances left by killed processes are removed by the
/// next TracePipe. Where instances are unavailable (no tracefs instances directory, mkdir
/// refused, or a kernel before 5.9 without the event), it falls back to the top-level pipe and
/// says so through uses_instance().
///
/// It is a debugging channel; for data, use a map or a ring buffer. The library mounts nothing:
/// when tracefs is not mounted the Error says how to mount it.

#include "detail/config.hpp"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>

#include "detail/format.hpp"
#include "detail/stream_loop.hpp"
#include "detail/trace_files.hpp"
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

/// Parses one trace_pipe line (no trailing newline); nullopt for lines that are not records
/// (e.g. "CPU:1 [LOST 3 EVENTS]"). Handles the format of kernels 5.9+
/// ("bash-42 [001] d..31 5.123456: bpf_trace_printk: msg") and of older ones, where the message
/// follows an address ("... 5.123456: 0: msg").
///
/// (A template over a parameter nobody gives, as TracePipe is: see there.)
template <class = void>
std::optional<TraceLine> parse_trace_line(std::string_view line) {
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

/// Reads bpf_printk output from tracefs: a private tracefs instance by default, the system-wide
/// trace_pipe on request or as the fallback. Needs root (tracefs is mode 0700), or read and
/// write access to tracefs. Movable, not copyable; one thread reads a TracePipe at a time
/// (request_stop() may come from any thread).
///
/// (TracePipe is BasicTracePipe<>, a template over a parameter nobody gives, and
/// parse_trace_line() a function template: a file that includes this header and reads no trace
/// pipe compiles neither, nor the loop's coroutine.)
template <class = void>
class BasicTracePipe {
public:
  /// Which trace_pipe to read.
  enum class Source {
    /// A private tracefs instance (5.9+: the bpf_trace_printk event), else the top-level pipe.
    private_instance,
    /// The system-wide trace_pipe: one reader at a time on recent kernels, and it also shows
    /// trace_printk() and every other event enabled at the top level.
    top_level,
  };

  /// Reads a private tracefs instance made for this TracePipe (see the file comment), or the
  /// top-level trace_pipe where instances are unavailable (uses_instance() says which). Removes
  /// stale instances of dead ebpfpp processes first. Throws Error: ENOENT saying how to mount
  /// tracefs when it is mounted neither at /sys/kernel/tracing nor /sys/kernel/debug/tracing;
  /// EACCES/EPERM without access to tracefs; EBUSY only when it fell back to the top-level pipe
  /// and another process reads that.
  BasicTracePipe() : BasicTracePipe(Source::private_instance) {}

  /// Reads the given source; Source::top_level opens the system-wide trace_pipe only (Error
  /// EBUSY when another process reads it).
  explicit BasicTracePipe(Source source) : BasicTracePipe(open_source(source)) {}

  /// Opens a specific trace_pipe file (e.g. of a tracefs mounted elsewhere, or an instance you
  /// manage yourself). Throws Error when it cannot be opened.
  explicit BasicTracePipe(const std::filesystem::path& trace_pipe)
      : path_(trace_pipe), waiter_(detail::format("trace pipe '{}'", trace_pipe.string())) {
    fd_.reset(::open(trace_pipe.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd_)
      detail::fail(
          errno, [&] { return detail::format("open '{}'", trace_pipe.string()); },
          detail::Op::open_trace_pipe);
  }

  BasicTracePipe(BasicTracePipe&& other) noexcept { *this = std::move(other); }
  BasicTracePipe& operator=(BasicTracePipe&& other) noexcept {
    if (this != &other) {
      detail::cut_loop(loop_);
      detail::cut_loop(other.loop_); // its loop's frame points at `other`, not at us
      fd_.reset(); // before the instance goes: the kernel keeps an instance whose pipe is open
      instance_ = std::move(other.instance_);
      fd_ = std::move(other.fd_);
      path_ = std::move(other.path_);
      waiter_ = std::move(other.waiter_);
      lost_ = other.lost_;
      pending_ = std::move(other.pending_);
      start_ = other.start_;
    }
    return *this;
  }
  ~BasicTracePipe() {
    detail::cut_loop(loop_); // a loop still suspended in lines() is cut off (see lines())
    fd_.reset();             // then instance_ (declared first) removes the instance
  }

  /// The parsed lines as they come; blocks (poll) while there are none. Ends on the options'
  /// timeout, stop token or stop fd, or on request_stop(). Throws Error on a read failure.
  ///
  ///     for (auto& l : pipe.lines(ebpfpp::StreamOptions().timeout(5s).stop_fd(signals.fd())))
  ///
  /// Lifetime: the generator reads through this TracePipe: keep it alive and in place until the
  /// loop ends. If it is destroyed or moved first, the loop's next step throws Error and
  /// destroying the generator is harmless. One loop at a time (another throws EBUSY).
  Generator<const TraceLine&> lines(StreamOptions options = {}) & {
    if (!fd_) {
      throw Error(EBADF, "read trace_pipe", std::string(detail::hint::empty_view));
    }
    return detail::stream_loop<const TraceLine&>(detail::BatchedLines<BasicTracePipe>{this},
                                                 waiter_, std::move(options));
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

  /// The next line if one is ready, else nullptr, without waiting: what lines() and
  /// EventLoop::next (co_await loop.next(pipe)) read through. The line is valid until the next
  /// call. Throws Error when the read fails, or on an empty (moved-from) TracePipe.
  const TraceLine* try_next() {
    if (!fd_) throw Error(EBADF, "read trace_pipe", std::string(detail::hint::empty_view));
    for (;;) {
      for (std::size_t nl; (nl = pending_.find('\n', start_)) != std::string::npos;) {
        const std::string_view text(pending_.data() + start_, nl - start_);
        start_ = nl + 1;
        if (auto line = parse_trace_line(text)) {
          current_ = std::move(*line);
          return &current_;
        }
        if (text.find("[LOST ") != std::string_view::npos) lost_ += parse_lost(text);
      }
      pending_.erase(0, start_);
      start_ = 0;
      char buf[16384];
      const ssize_t got = ::read(fd_.get(), buf, sizeof buf);
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) return nullptr;
        detail::fail(errno, [&] { return detail::format("read '{}'", path_.string()); });
      }
      if (got == 0) return nullptr;
      pending_.append(buf, static_cast<std::size_t>(got));
    }
  }
  /// For EventLoop: how long it may sleep on fd() before looking again (no bound: the pipe polls
  /// readable when lines come).
  std::chrono::milliseconds wait_bound() const noexcept { return std::chrono::milliseconds(-1); }

  /// Trace events the kernel reported as lost ("CPU:N [LOST M EVENTS]") so far.
  std::uint64_t lost() const noexcept { return lost_; }
  /// The trace_pipe fd, for your own poll loop.
  int fd() const noexcept { return fd_.get(); }
  /// The trace_pipe file read: the private instance's (…/instances/ebpfpp-<pid>-<n>/trace_pipe)
  /// or the top-level one.
  const std::filesystem::path& path() const noexcept { return path_; }
  /// True when this TracePipe reads a private tracefs instance; false when it reads the
  /// top-level trace_pipe (asked for, the fallback, or a path given to the constructor).
  bool uses_instance() const noexcept { return static_cast<bool>(instance_); }
  /// The private instance's directory; empty when uses_instance() is false.
  const std::filesystem::path& instance_dir() const noexcept { return instance_.dir(); }

  /// Where the top-level trace_pipe is; throws the "mount tracefs" Error when it is nowhere.
  static std::filesystem::path locate() { return tracefs_dir() / "trace_pipe"; }

private:
  // The stream loop's side (detail::BatchedLines; try_next() and wait_bound() are public).
  // trace_pipe says nothing of what is buffered short of reading it, so the loop polls its fd
  // until readable, with no bounded wake-ups.
  friend detail::BatchedLines<BasicTracePipe>;
  detail::LoopTether*& loop_slot() noexcept { return loop_; }
  std::string what() const { return detail::format("trace pipe '{}'", path_.string()); }
  int wait_fd() const noexcept { return fd_.get(); }

  using Opened = detail::OpenedTrace;

  // On a throw from the open, `opened` (the caller's temporary) still owns and removes the
  // instance.
  explicit BasicTracePipe(Opened&& opened) : BasicTracePipe(opened.path) {
    instance_ = std::move(opened.instance);
  }

  static std::filesystem::path tracefs_dir() {
    if (auto dir = kernel::tracefs()) return *dir;
    detail::fail(
        ENOENT, [] { return std::string("find trace_pipe (bpf_printk output)"); },
        detail::Op::generic, detail::hint::tracefs_unmounted);
  }

  // Makes the private instance; without one (asked for, or unavailable) the top-level pipe.
  static Opened open_source(Source source) {
    return detail::open_trace_instance(tracefs_dir(), source == Source::top_level);
  }

  static std::uint64_t parse_lost(std::string_view text) noexcept {
    std::string_view rest = text.substr(text.find("[LOST ") + 6);
    return static_cast<std::uint64_t>(detail::take_number(rest).value_or(0));
  }

  // Declared before fd_: destroyed after it, since the kernel keeps an instance with an open pipe.
  detail::TraceInstance instance_;
  std::filesystem::path path_;
  detail::UniqueFd fd_;
  detail::StreamWaiter waiter_;
  std::uint64_t lost_ = 0;
  std::string pending_; // read from the pipe, not yet parsed from start_ on
  std::size_t start_ = 0;
  TraceLine current_;                  // try_next()'s line
  detail::LoopTether* loop_ = nullptr; // the lines() loop reading us, if one runs
};
/// The TracePipe (see BasicTracePipe: a template only to be compiled where it is used).
using TracePipe = BasicTracePipe<>;

} // namespace ebpfpp
