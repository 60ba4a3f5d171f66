#pragma once
/// @file
/// ProgramStream: a BPF program's own stdout or stderr (kernel 6.17+), read as lines.
///
///     ebpfpp::ProgramStream out(skel.program("run"), ebpfpp::ProgramStream::out);
///     skel.program("run").test_run();
///     for (const std::string& line : out.read()) fmt::print("{}\n", line);  // what is there
///     for (const std::string& line : out.lines(5s)) ...                     // and what comes
///
/// Since 6.17 the kernel keeps two text streams per program. The program writes to them with
/// EBPFPP_STREAM_PRINTK(EBPFPP_STDOUT or EBPFPP_STDERR, fmt, args...) from
/// <ebpfpp/ebpfpp.bpf.h> (libbpf 1.7's bpf_stream_printk, for any libbpf); the kernel writes
/// its own reports of the program's faults to stderr (a may_goto loop that ran out of time, a
/// deadlock on a BPF lock, a fault in an arena), each followed by the program's call trace.
/// Unlike bpf_printk and TracePipe, it needs no tracefs, and each program's output is its own:
/// tools never read each other's lines.
///
/// Reading consumes what it reads, like a pipe. The kernel keeps at most about 100 000 unread
/// bytes per stream; a print beyond that fails in the program (-ENOSPC) and is lost. A line is
/// what ends with '\n': a print without one continues on the next print's line, as on a
/// terminal (partial() shows such a tail). The kernel gives a stream no fd to poll, so lines()
/// looks again every poll_interval() (50 ms by default), and EventLoop cannot await it.

#include "detail/config.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/format.hpp"
#include "detail/stream_loop.hpp"
#include "detail/uapi.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "generator.hpp"
#include "kernel.hpp"
#include "program.hpp"
#include "stream.hpp"

namespace ebpfpp {

/// One stream of one BPF program: its stdout or its stderr. Holds a duplicate of the program's
/// fd, so it keeps the program in the kernel and reads it after its Object or Skeleton is gone
/// (a fault report often comes last). Movable, not copyable; one thread reads it at a time
/// (request_stop() may come from any thread).
class ProgramStream {
public:
  /// Which stream: the kernel's BPF_STDOUT (1) or BPF_STDERR (2).
  enum class Id : std::uint32_t {
    out = detail::uapi::stream_stdout, ///< what the program prints to its stdout
    err = detail::uapi::stream_stderr, ///< its stderr, and the kernel's reports of its faults
  };
  using enum Id;

  /// An empty stream (reading it throws Error); assign a real one.
  ProgramStream() noexcept = default;

  /// Stream `id` of the loaded program `prog`. Throws FeatureError on a kernel without BPF
  /// streams (before 6.17), Error when `prog` is empty, not loaded or its Object is gone.
  ProgramStream(const Program& prog, Id id)
      : ProgramStream(checked_fd(prog, id), id, prog.name()) {}

  /// Stream `id` of the program whose fd is `prog_fd` (e.g. one opened by id or from a pin);
  /// `name` names it in errors. The fd is duplicated: close yours when you like. Throws
  /// FeatureError on a kernel without BPF streams, Error (with a hint) when `prog_fd` is not an
  /// open fd (EBADF) or not a BPF program's (EINVAL).
  ProgramStream(int prog_fd, Id id, std::string_view name = {})
      : id_(id), name_(name.empty() ? detail::format("fd {}", prog_fd)
                                    : detail::format("program '{}'", name)) {
    const auto action = [&] { return detail::format("open the {}", what()); };
    kernel::require(kernel::Feature::bpf_streams, action(), detail::hint::no_bpf_streams);
    // A read of 0 bytes asks the kernel whether this is a program's fd without consuming. It
    // comes before any fd of ours is made: a closed prog_fd's number would be taken by it.
    char none = 0;
    if (detail::uapi::prog_stream_read(prog_fd, static_cast<std::uint32_t>(id), &none, 0) < 0)
      detail::fail(errno, action, detail::Op::read_stream);
    fd_.reset(::fcntl(prog_fd, F_DUPFD_CLOEXEC, 0));
    if (!fd_) detail::fail(errno, action, detail::Op::read_stream);
    waiter_ = detail::StreamWaiter(what());
  }

  ProgramStream(ProgramStream&& other) noexcept { *this = std::move(other); }
  ProgramStream& operator=(ProgramStream&& other) noexcept {
    if (this != &other) {
      detail::cut_loop(loop_);
      detail::cut_loop(other.loop_); // its loop's frame points at `other`, not at us
      fd_ = std::move(other.fd_);
      id_ = other.id_;
      name_ = std::move(other.name_);
      waiter_ = std::move(other.waiter_);
      interval_ = other.interval_;
      pending_ = std::move(other.pending_);
      start_ = std::exchange(other.start_, 0);
    }
    return *this;
  }
  ~ProgramStream() { detail::cut_loop(loop_); }

  /// Every complete line the stream holds now, in order, without their '\n'; empty when there
  /// is none. Does not wait. An unterminated tail stays for the next read (see partial()).
  /// Throws Error when the read fails, or on an empty ProgramStream.
  std::vector<std::string> read() {
    std::vector<std::string> lines;
    while (try_next()) lines.push_back(std::move(current_));
    return lines;
  }

  /// The lines as they come, waiting (looking again every poll_interval()) while there are none.
  /// Ends on the options' timeout, stop token or stop fd, or on request_stop(). Throws Error on
  /// a read failure.
  ///
  ///     for (auto& l : err.lines(ebpfpp::StreamOptions().timeout(5s).stop_fd(signals.fd())))
  ///
  /// Lifetime: the generator reads through this ProgramStream: keep it alive and in place until
  /// the loop ends. If it is destroyed or moved first, the loop's next step throws Error and
  /// destroying the generator is harmless. One loop at a time (another throws EBUSY).
  ///
  /// (It and lines(timeout) are templates over a parameter nobody gives: a file that includes
  /// this header and reads no lines compiles none of the loop's coroutine.)
  template <class = void>
  Generator<const std::string&> lines(StreamOptions options = {}) & {
    require_open();
    return detail::stream_loop<const std::string&>(detail::BatchedLines<ProgramStream>{this},
                                                   waiter_, std::move(options));
  }
  /// lines() until `timeout` passes (or a stop request).
  template <class = void> // see lines(StreamOptions)
  Generator<const std::string&> lines(std::chrono::milliseconds timeout) & {
    return lines(StreamOptions().timeout(timeout));
  }
  // The sequence reads through the ProgramStream: on a temporary it would outlive it.
  Generator<const std::string&> lines(StreamOptions = {}) && = delete;
  Generator<const std::string&> lines(std::chrono::milliseconds) && = delete;

  /// The next complete line if there is one, else nullptr, without waiting (one read from the
  /// kernel when none is held). The line is valid until the next call. Throws Error when the
  /// read fails, or on an empty ProgramStream.
  const std::string* try_next() {
    require_open();
    for (;;) {
      if (const auto nl = pending_.find('\n', start_); nl != std::string::npos) {
        current_.assign(pending_, start_, nl - start_);
        start_ = nl + 1;
        return &current_;
      }
      pending_.erase(0, std::exchange(start_, 0));
      char buf[4096];
      const long got = detail::uapi::prog_stream_read(fd_.get(), static_cast<std::uint32_t>(id_),
                                                      buf, static_cast<std::uint32_t>(sizeof buf));
      if (got < 0) {
        if (errno == EINTR) continue;
        detail::fail(
            errno, [&] { return detail::format("read the {}", what()); }, detail::Op::read_stream);
      }
      if (got == 0) return nullptr;
      pending_.append(buf, static_cast<std::size_t>(got));
    }
  }

  /// What was read after the last complete line: a print that has not ended its line (yet).
  std::string_view partial() const noexcept {
    return std::string_view(pending_).substr(std::min(start_, pending_.size()));
  }

  /// Ends the running (or next) lines() sequence. Async-signal-safe; callable from any thread.
  void request_stop() const noexcept { waiter_.request_stop(); }

  /// How long lines() sleeps between looks when the stream is empty (default 50 ms): the
  /// latency of a line, against a syscall per look.
  ProgramStream& poll_interval(std::chrono::milliseconds d) noexcept {
    interval_ = d;
    return *this;
  }
  std::chrono::milliseconds poll_interval() const noexcept { return interval_; }

  /// Which stream this is.
  Id id() const noexcept { return id_; }
  /// "stdout of program 'run'": how errors name it.
  std::string what() const {
    return detail::format("{} of {}", id_ == Id::err ? "stderr" : "stdout", name_);
  }
  /// This stream's duplicate of the program fd (-1 when empty).
  int program_fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

private:
  // The stream loop's side (detail::BatchedLines). No fd says when lines come: the loop sleeps
  // for the interval (in poll, on its stop fds alone) and looks again.
  friend detail::BatchedLines<ProgramStream>;
  detail::LoopTether*& loop_slot() noexcept { return loop_; }
  int wait_fd() const noexcept { return -1; } // poll(2) skips it
  std::chrono::milliseconds wait_bound() const noexcept { return interval_; }

  // The program's fd, once `prog` is known to be loaded (Program::fd() is -1 before load).
  static int checked_fd(const Program& prog, Id id) {
    const auto action = [&] {
      return detail::format("open the {} of program '{}'", id == Id::err ? "stderr" : "stdout",
                            prog.name());
    };
    if (prog.expired())
      throw Error(EBADF, detail::format("{}: its Object or Skeleton is gone", action()),
                  std::string(detail::hint::view_outlived));
    if (!prog.get()) throw Error(EBADF, action(), std::string(detail::hint::empty_view));
    if (prog.fd() < 0)
      throw Error(EINVAL, detail::format("{}: it is not loaded", action()),
                  std::string(detail::hint::not_loaded));
    return prog.fd();
  }

  void require_open() const {
    if (!fd_) throw Error(EBADF, "read a program stream", std::string(detail::hint::empty_view));
  }

  detail::UniqueFd fd_;
  Id id_ = Id::out;
  std::string name_;
  detail::StreamWaiter waiter_;
  std::chrono::milliseconds interval_{50};
  std::string pending_; // read from the kernel, not yet handed out from start_ on
  std::size_t start_ = 0;
  std::string current_;                // try_next()'s line
  detail::LoopTether* loop_ = nullptr; // the lines() loop reading us, if one runs
};

} // namespace ebpfpp
