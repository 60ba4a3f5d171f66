#pragma once
/// @file
/// SignalFd: receive signals (Ctrl-C, SIGTERM) as a readable fd instead of an async handler, so
/// a tool's read loop can end cleanly and its destructors detach everything.
///
///     ebpfpp::SignalFd signals;                      // SIGINT and SIGTERM
///     for (auto& line : pipe.lines(ebpfpp::StreamOptions().stop_fd(signals.fd()))) ...
///
/// The signals are blocked for the constructing thread (and threads it starts afterwards, so
/// construct it first in main) and unblocked again on destruction. Children started with
/// fork/exec while it lives inherit the block; unblock in the child if they need the signals.

#include "detail/config.hpp"

#include <csignal>
#include <initializer_list>
#include <optional>

#include <signal.h>
#include <sys/signalfd.h>

#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"

namespace ebpfpp {

class SignalFd {
public:
  /// Blocks `signals` and opens a non-blocking signalfd for them. Throws Error.
  explicit SignalFd(std::initializer_list<int> signals = {SIGINT, SIGTERM}) {
    sigemptyset(&set_);
    for (int s : signals) sigaddset(&set_, s);
    if (int err = pthread_sigmask(SIG_BLOCK, &set_, &old_); err != 0)
      detail::fail(err, [] { return std::string("block signals for signalfd"); });
    fd_.reset(::signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd_) {
      const int err = errno;
      pthread_sigmask(SIG_SETMASK, &old_, nullptr);
      detail::fail(err, [] { return std::string("create signalfd"); });
    }
  }
  SignalFd(const SignalFd&) = delete;
  SignalFd& operator=(const SignalFd&) = delete;
  // Signals that arrived while it lived were meant for it: consume them before unblocking, or
  // the pending SIGTERM that ended the loop would kill the process on the way out.
  ~SignalFd() {
    while (take()) {
    }
    fd_.reset();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

  /// Readable when one of the signals is pending.
  int fd() const noexcept { return fd_.get(); }

  /// The next pending signal's number, consuming it; nullopt when none is pending.
  std::optional<int> take() noexcept {
    signalfd_siginfo info{};
    if (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
      return static_cast<int>(info.ssi_signo);
    return std::nullopt;
  }

private:
  sigset_t set_{};
  sigset_t old_{};
  detail::UniqueFd fd_;
};

} // namespace ebpfpp
