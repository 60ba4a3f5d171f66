#pragma once
/// @file
/// ebpfpp::Error, the one exception type of the library, FeatureError for a kernel that lacks
/// what an operation needs, and the helpers every libbpf and system call result passes through.
///
/// An Error says what was attempted and on which name ("attach tracepoint
/// syscalls/sys_enter_execvee"), the errno and its text, and, when one helps, what to try. Load
/// failures also carry the verifier log, whole; other failures carry what libbpf printed while
/// the call ran (libbpf's messages go into the Error instead of stderr; see log.hpp).

#include "detail/config.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <bpf/libbpf.h>
#include <unistd.h>

#include "detail/error_text.hpp"
#include "detail/format.hpp"
#include "detail/hints.hpp"
#include "detail/libbpf_log.hpp"
#include "kernel_version.hpp"

namespace ebpfpp {

/// An operation on the kernel or libbpf failed.
///
/// `code()` is the errno: in the generic category (compare it with std::errc values), or, for
/// libbpf's own codes (LIBBPF_ERRNO__*, 4000 and up), in a "libbpf" category whose message()
/// is libbpf's text. `what()` is one readable paragraph: the action, the errno text, the hint,
/// and the tail of the log when there is one.
class Error : public std::system_error {
public:
  /// @param errnum positive errno value, or a LIBBPF_ERRNO__* code
  /// @param action what was attempted, naming the object: "load program 'hello'"
  /// @param hint what to try, or empty
  /// @param log the verifier log or libbpf's messages during the call, or empty
  Error(int errnum, std::string action, std::string hint = {}, std::string log = {})
      : std::system_error(errnum, detail::category_of(errnum)), action_(std::move(action)),
        hint_(std::move(hint)), log_(std::move(log)) {
    message_ = detail::format("{}: {} (errno {})", action_, error_text(errnum), errnum);
    if (!hint_.empty()) message_ += detail::format("\n  hint: {}", hint_);
    if (!log_.empty()) message_ += format_log_tail(log_);
  }

  const char* what() const noexcept override { return message_.c_str(); }

protected:
  /// For a failure whose cause is better said than by the errno's text (VerifierError): the
  /// first line is "ACTION: REASON (errno N: TEXT)".
  Error(int errnum, std::string action, std::string_view reason, std::string hint,
        std::string log)
      : Error(errnum, std::move(action), std::move(hint), std::move(log)) {
    const auto first_line_end = message_.find('\n');
    message_.replace(0, first_line_end,
                     detail::format("{}: {} (errno {}: {})", action_, reason, errnum,
                                    error_text(errnum)));
  }

public:
  /// The errno value.
  int errnum() const noexcept { return code().value(); }
  /// What was attempted, e.g. "attach kprobe '__x64_sys_execve'".
  const std::string& action() const noexcept { return action_; }
  /// What to try, or empty.
  const std::string& hint() const noexcept { return hint_; }
  /// The whole verifier log (load failures) or what libbpf printed during the call; may be empty.
  const std::string& log() const noexcept { return log_; }

  /// The text of an errno, including libbpf's own codes (4000 and up: "Relocation failed").
  static std::string error_text(int errnum) { return detail::category_of(errnum).message(errnum); }

private:
  // what() stays readable on a terminal: the last lines of the log are where the verifier says
  // why; the rest is one call away in log().
  static std::string format_log_tail(std::string_view log) {
    constexpr int max_lines = 30;
    std::size_t start = log.size();
    int lines = 0;
    while (start > 0 && lines <= max_lines) {
      start = log.rfind('\n', start - 1);
      if (start == std::string_view::npos) {
        start = 0;
        break;
      }
      ++lines;
    }
    std::string_view tail = log.substr(start);
    while (!tail.empty() && tail.front() == '\n') tail.remove_prefix(1);
    while (!tail.empty() && tail.back() == '\n') tail.remove_suffix(1);
    std::string out = start == 0 ? "\n  log:\n" : "\n  log (last lines; Error::log() has all):\n";
    for (std::size_t pos = 0; pos <= tail.size();) {
      auto end = tail.find('\n', pos);
      if (end == std::string_view::npos) end = tail.size();
      out += detail::format("    {}\n", tail.substr(pos, end - pos));
      pos = end + 1;
    }
    out.pop_back();
    return out;
  }

  std::string action_;
  std::string hint_;
  std::string log_;
  std::string message_;
};

/// The kernel lacks a feature the operation needs (kprobes, fentry, tcx...).
///
/// Thrown instead of a bare Error when a run-time probe (kernel.hpp's feature table) confirms the
/// absence, so callers can fall back: `catch (const ebpfpp::FeatureError&) { use a tracepoint }`.
/// It names the feature, the first upstream kernel that has it and, where one explains the
/// absence, the kernel configuration option that is off.
class FeatureError : public Error {
public:
  FeatureError(int errnum, std::string feature, KernelVersion min_kernel, std::string action,
               std::string hint, std::string log = {})
      : Error(errnum, std::move(action), std::move(hint), std::move(log)),
        feature_(std::move(feature)), min_kernel_(min_kernel) {}
  /// The missing feature's name, as in the feature table: "kprobes", "fentry", "tcx", ...
  const std::string& feature() const noexcept { return feature_; }
  /// The first upstream kernel with the feature ({0, 0, 0} when not known).
  KernelVersion min_kernel() const noexcept { return min_kernel_; }

private:
  std::string feature_;
  KernelVersion min_kernel_;
};

/// The verifier rejected a program. Its first line says the verifier's own reason, the last
/// line of its log that is not a statistic, e.g. "load program 'count' of BPF object 'x':
/// rejected by the verifier: R0 invalid mem access 'map_value_or_null' (errno 13: Permission
/// denied)"; log() is the whole log, the lines before show where.
class VerifierError : public Error {
public:
  VerifierError(int errnum, std::string action, std::string reason, std::string hint,
                std::string log)
      : Error(errnum, std::move(action), detail::format("rejected by the verifier: {}", reason),
              std::move(hint), std::move(log)),
        reason_(std::move(reason)) {}
  /// The verifier's reason: "R0 invalid mem access 'map_value_or_null'".
  const std::string& reason() const noexcept { return reason_; }

private:
  std::string reason_;
};

} // namespace ebpfpp

// The helpers every libbpf and system call result passes through (detail::fail, check, check_ptr),
// which make these Errors, and the options structs those calls take.
#include "detail/calls.hpp"
