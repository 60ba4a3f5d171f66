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

#include "detail/format.hpp"
#include "detail/hints.hpp"
#include "detail/libbpf_log.hpp"
#include "kernel_version.hpp"

namespace ebpfpp {

namespace detail {

/// libbpf's own error codes (LIBBPF_ERRNO__*, 4000 and up: "BPF object format invalid"), which
/// std::generic_category() would print as "Unknown error 4001". They compare equal to no
/// std::errc condition.
class LibbpfCategory : public std::error_category {
public:
  const char* name() const noexcept override { return "libbpf"; }
  std::string message(int ev) const override {
    char buf[128];
    libbpf_strerror(ev, buf, sizeof buf);
    return buf;
  }
};

inline const std::error_category& libbpf_category() noexcept {
  static const LibbpfCategory category;
  return category;
}

/// The category of an errno: libbpf's for its own codes, else the generic (POSIX) one.
inline const std::error_category& category_of(int errnum) noexcept {
  return errnum >= __LIBBPF_ERRNO__START && errnum < __LIBBPF_ERRNO__END ? libbpf_category()
                                                                         : std::generic_category();
}

} // namespace detail

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

namespace detail {

/// The verifier's reason in a rejection's log: its last line that is not one of the statistics
/// it prints after ("processed N insns", "verification time", "stack depth"); empty if none.
inline std::string verifier_reason(std::string_view log) {
  std::size_t end = log.size();
  while (end > 0) {
    const std::size_t start = log.rfind('\n', end - 1);
    const std::size_t from = start == std::string_view::npos ? 0 : start + 1;
    std::string_view line = log.substr(from, end - from);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (!line.empty() && !line.starts_with("processed ") &&
        !line.starts_with("verification time") && !line.starts_with("stack depth") &&
        !line.starts_with("-- END"))
      return std::string(line);
    if (from == 0) break;
    end = from - 1;
  }
  return {};
}

/// Zeroes a libbpf options struct in place, padding included, and sets its size: what LIBBPF_OPTS
/// does (a C compound literal, which ISO C++ lacks). libbpf refuses opts whose bytes past the
/// fields it knows are not zero (OPTS_VALID), tail padding included (bpf_xdp_attach_opts has
/// some). In place because a struct returned by value need not carry its padding: the copy may
/// leave those bytes as they were (GCC -O2 does), so no make_opts() returning one.
template <class Opts>
void init_opts(Opts& o) noexcept {
  std::memset(static_cast<void*>(&o), 0, sizeof o);
  o.sz = sizeof(Opts);
}

// --- the helpers every libbpf and system call result passes through --------------------------

/// The errno of a failed call: libbpf returns -errno (and sets errno); system calls return -1 and
/// set errno. A -1 from libbpf is -EPERM, and errno says EPERM too, so both read the same way.
inline int errno_of(long ret) noexcept {
  return ret == -1 ? (errno ? errno : EPERM) : static_cast<int>(-ret);
}

/// Throws an Error for a failed `op`: `describe()` says what was attempted, the hint table what
/// to try, `log` what libbpf printed meanwhile.
template <class Describe>
[[noreturn]] void fail(int err, Describe&& describe, Op op = Op::generic, LibbpfLog* log = nullptr,
                       std::string_view subject = {}) {
  throw Error(err, std::forward<Describe>(describe)(), hint_for(err, op, subject),
              log ? log->take() : std::string{});
}

/// As above, for a site that knows the cause better than the errno and Op say: `hint` (a
/// hint:: constant, or one made for this cause) replaces the table's unless empty, and `log` is
/// what was printed meanwhile, already taken (a load's verifier log).
template <class Describe>
[[noreturn]] void fail(int err, Describe&& describe, Op op, std::string_view hint,
                       std::string log = {}) {
  throw Error(err, std::forward<Describe>(describe)(),
              hint.empty() ? hint_for(err, op) : std::string(hint), std::move(log));
}

/// For calls that return a negative value on failure (libbpf's -errno, a system call's -1 with
/// errno): throws as fail() does when `ret < 0`, else returns ret.
template <class Describe>
long check(long ret, Describe&& describe, Op op = Op::generic, LibbpfLog* log = nullptr,
           std::string_view subject = {}) {
  if (ret >= 0) return ret;
  fail(errno_of(ret), std::forward<Describe>(describe), op, log, subject);
}

/// For calls that return NULL and set errno (libbpf's constructors): throws when `p` is null,
/// else returns p.
template <class T, class Describe>
T* check_ptr(T* p, Describe&& describe, Op op = Op::generic, LibbpfLog* log = nullptr) {
  if (p) return p;
  fail(errno ? errno : EINVAL, std::forward<Describe>(describe), op, log);
}

/// Throws EINVAL when `path` has a NUL byte: the kernel and libc read a path up to its first NUL,
/// so the call would pin at, or open, a truncated name. `describe()` says what was attempted; its
/// NULs are shown as \0.
template <class Describe>
void require_no_nul(std::string_view path, Describe&& describe) {
  if (path.find('\0') == std::string_view::npos) return;
  std::string shown;
  for (const char c : std::forward<Describe>(describe)()) {
    if (c == '\0')
      shown += "\\0";
    else
      shown += c;
  }
  throw Error(EINVAL, std::move(shown), std::string(hint::nul_in_path));
}

} // namespace detail
} // namespace ebpfpp
