#pragma once
/// @file
/// ebpfpp::Error, the one exception type of the library, and the helpers every libbpf call
/// result passes through.
///
/// An Error says what was attempted and on which name ("attach tracepoint
/// syscalls/sys_enter_execvee"), the errno and its text, and, when one helps, what to try. Load
/// failures also carry the verifier log, whole; other failures carry what libbpf printed while
/// the call ran (libbpf's messages go into the Error instead of stderr).

#include "detail/config.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <unistd.h>

namespace ebpfpp {

/// An operation on the kernel or libbpf failed.
///
/// `code()` is the errno (generic category); `what()` is one readable paragraph: the action, the
/// errno text, the hint, and the tail of the log when there is one.
class Error : public std::system_error {
public:
  /// @param errnum positive errno value
  /// @param action what was attempted, naming the object: "load program 'hello'"
  /// @param hint what to try, or empty
  /// @param log the verifier log or libbpf's messages during the call, or empty
  Error(int errnum, std::string action, std::string hint = {}, std::string log = {})
      : std::system_error(errnum, std::generic_category()), action_(std::move(action)),
        hint_(std::move(hint)), log_(std::move(log)) {
    message_ = fmt::format("{}: {} (errno {})", action_, std::strerror(errnum), errnum);
    if (!hint_.empty()) message_ += fmt::format("\n  hint: {}", hint_);
    if (!log_.empty()) message_ += format_log_tail(log_);
  }

  const char* what() const noexcept override { return message_.c_str(); }
  /// The errno value.
  int errnum() const noexcept { return code().value(); }
  /// What was attempted, e.g. "attach kprobe '__x64_sys_execve'".
  const std::string& action() const noexcept { return action_; }
  /// What to try, or empty.
  const std::string& hint() const noexcept { return hint_; }
  /// The whole verifier log (load failures) or what libbpf printed during the call; may be empty.
  const std::string& log() const noexcept { return log_; }

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
      out += fmt::format("    {}\n", tail.substr(pos, end - pos));
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

/// The kernel lacks a feature the operation needs (kprobes, fentry, ring buffers...).
///
/// Thrown instead of a bare Error when a run-time probe (kernel.hpp) confirms the absence, so
/// callers can fall back: `catch (const ebpfpp::FeatureError&) { use a tracepoint }`.
class FeatureError : public Error {
public:
  FeatureError(int errnum, std::string feature, std::string action, std::string hint,
               std::string log = {})
      : Error(errnum, std::move(action), std::move(hint), std::move(log)),
        feature_(std::move(feature)) {}
  /// The missing feature's name: "kprobes", "fentry", ...
  const std::string& feature() const noexcept { return feature_; }

private:
  std::string feature_;
};

namespace detail {

// --- libbpf's messages ------------------------------------------------------------------------
//
// libbpf reports details (the verifier log, why an attach failed) only through its print
// callback. While an ebpfpp call runs, a LibbpfLog on the stack collects them for the Error; at
// other times they go to the callback that was installed before ours (libbpf's default prints
// warnings to stderr).

inline thread_local std::string* libbpf_log_sink = nullptr;

inline libbpf_print_fn_t& previous_libbpf_print() {
  static libbpf_print_fn_t fn = nullptr;
  return fn;
}

inline int libbpf_print_hook(enum libbpf_print_level level, const char* format, va_list args) {
  if (std::string* sink = libbpf_log_sink) {
    if (level == LIBBPF_DEBUG) return 0;
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n > 0) {
      const std::size_t old = sink->size();
      sink->resize(old + static_cast<std::size_t>(n) + 1);
      std::vsnprintf(sink->data() + old, static_cast<std::size_t>(n) + 1, format, args);
      sink->resize(old + static_cast<std::size_t>(n));
    }
    return n;
  }
  if (auto prev = previous_libbpf_print()) return prev(level, format, args);
  return 0;
}

inline void install_libbpf_print_hook() {
  static const bool installed = [] {
    previous_libbpf_print() = libbpf_set_print(&libbpf_print_hook);
    return true;
  }();
  (void)installed;
}

/// Collects libbpf's messages on this thread for as long as it lives.
class LibbpfLog {
public:
  LibbpfLog() : outer_(libbpf_log_sink) {
    install_libbpf_print_hook();
    libbpf_log_sink = &text_;
  }
  ~LibbpfLog() { libbpf_log_sink = outer_; }
  LibbpfLog(const LibbpfLog&) = delete;
  LibbpfLog& operator=(const LibbpfLog&) = delete;

  std::string take() { return std::exchange(text_, {}); }
  const std::string& text() const noexcept { return text_; }

private:
  std::string text_;
  std::string* outer_;
};

// --- hints ------------------------------------------------------------------------------------

/// What to try for an errno that has a usual cause; empty when there is none.
inline std::string hint_for(int errnum) {
  switch (errnum) {
  case EPERM:
  case EACCES:
    if (::geteuid() != 0)
      return "BPF needs root, or CAP_BPF + CAP_PERFMON (CAP_NET_ADMIN too for network programs; "
             "CAP_SYS_ADMIN on kernels before 5.8): run with sudo or grant them, e.g. "
             "setcap cap_bpf,cap_perfmon+ep <binary>";
    return "running as root, so no capability is missing: the kernel refused for another reason "
           "(kernel lockdown, an LSM such as SELinux or AppArmor, or this program type is not "
           "permitted by this kernel's configuration); see dmesg";
  case ENOMEM:
    return "the kernel could not allocate memory for the object; before 5.11 BPF memory is "
           "charged to RLIMIT_MEMLOCK: raise it (ulimit -l unlimited, or setrlimit)";
  case E2BIG:
    return "the object is larger than the kernel allows (map size, program size, or a newer "
           "struct than this kernel knows)";
  default:
    return {};
  }
}

/// A zeroed libbpf options struct with its size set. (LIBBPF_OPTS is a C compound literal,
/// which ISO C++ lacks.)
template <class Opts>
Opts make_opts() noexcept {
  Opts o{};
  o.sz = sizeof(Opts);
  return o;
}

// --- the two helpers every libbpf result passes through ------------------------------------

/// For libbpf calls that return a negative errno: throws an Error made by `describe()` (a string
/// action, or an Error) when `ret < 0`, else returns ret.
template <class Describe>
int check(int ret, Describe&& describe, LibbpfLog* log = nullptr) {
  if (ret >= 0) return ret;
  const int err = -ret;
  throw Error(err, std::forward<Describe>(describe)(), hint_for(err),
              log ? log->take() : std::string{});
}

/// For libbpf calls that return NULL and set errno: throws when `p` is null, else returns p.
template <class T, class Describe>
T* check_ptr(T* p, Describe&& describe, LibbpfLog* log = nullptr) {
  if (p) return p;
  const int err = errno ? errno : EINVAL;
  throw Error(err, std::forward<Describe>(describe)(), hint_for(err),
              log ? log->take() : std::string{});
}

} // namespace detail
} // namespace ebpfpp
