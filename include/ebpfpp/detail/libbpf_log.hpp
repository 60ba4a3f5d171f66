#pragma once
// libbpf's messages: collected into the Error of the ebpfpp call that was running, and handed to
// the application's log handler (log.hpp) or to the print function it gave libbpf itself.
//
// libbpf reports details (the verifier log, why an attach failed) only through one global print
// callback. ebpfpp needs it during its own calls, and an application may install its own with
// libbpf_set_print before or after ebpfpp's first call. So ebpfpp (re)installs its hook at the
// start of each call that captures (LibbpfLog), remembering any other function it displaced as
// the "outer" one: messages outside ebpfpp's calls still reach it, whatever the order.

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/libbpf.h>

namespace ebpfpp {

/// The level of a libbpf message.
enum class LogLevel { warn = LIBBPF_WARN, info = LIBBPF_INFO, debug = LIBBPF_DEBUG };

/// Receives libbpf's messages (one call per message, text without the final newline). Called on
/// the thread libbpf logs from; must not throw (an exception is swallowed).
using LogHandler = std::function<void(LogLevel, std::string_view)>;

namespace detail {

struct LogState {
  std::mutex mutex;
  std::shared_ptr<const LogHandler> handler; // set_log_handler's, or none
  LogLevel max_level = LogLevel::info;
  std::atomic<libbpf_print_fn_t> outer{nullptr}; // the function our hook displaced

  /// The handler and its level, read together under the lock.
  std::pair<std::shared_ptr<const LogHandler>, LogLevel> current() {
    std::lock_guard lock(mutex);
    return {handler, max_level};
  }
};

inline LogState& log_state() {
  static LogState state;
  return state;
}

inline thread_local std::string* libbpf_log_sink = nullptr;
// Set by HeldLibbpfLog: libbpf's warnings and infos go only to the sink, not to the handler.
inline thread_local bool libbpf_log_held = false;
// Set by VerifierLogSink during a load: the verifier logs of accepted programs go here.
inline thread_local std::string* verifier_log_sink = nullptr;

inline std::string format_message(const char* format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string out;
  if (n > 0) {
    out.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out.data(), out.size(), format, args);
    out.resize(static_cast<std::size_t>(n));
  }
  return out;
}

inline int libbpf_print_hook(enum libbpf_print_level level, const char* format, va_list args) {
  // With a kernel log level set, libbpf prints an accepted program's verifier log as a debug
  // message of this format: the load that asked for it hands it on (see VerifierLogSink).
  if (level == LIBBPF_DEBUG && verifier_log_sink &&
      std::string_view(format).find("-- BEGIN PROG LOAD LOG --") != std::string_view::npos) {
    std::string text = format_message(format, args);
    *verifier_log_sink += text;
    return static_cast<int>(text.size());
  }
  LogState& state = log_state();
  const auto [handler, max_level] = state.current();
  std::string* sink = libbpf_log_sink;
  const bool to_sink = sink && level != LIBBPF_DEBUG; // an Error wants the why, not the how
  const bool to_handler = handler && static_cast<int>(level) <= static_cast<int>(max_level) &&
                          !(libbpf_log_held && level != LIBBPF_DEBUG);
  if (!to_sink && !to_handler) {
    // Outside ebpfpp's calls, with no handler: as if ebpfpp were not there.
    if (auto outer = state.outer.load(std::memory_order_acquire); outer && !sink)
      return outer(level, format, args);
    return 0;
  }
  std::string text = format_message(format, args);
  if (to_sink) *sink += text;
  if (to_handler) {
    std::string_view shown = text;
    while (!shown.empty() && shown.back() == '\n') shown.remove_suffix(1);
    try {
      (*handler)(static_cast<LogLevel>(level), shown);
    } catch (...) {
      // libbpf is C: nothing may unwind through it.
    }
  }
  return static_cast<int>(text.size());
}

/// Makes sure ebpfpp's hook is libbpf's print function; remembers what it displaced.
inline void install_libbpf_print_hook() noexcept {
  const libbpf_print_fn_t previous = libbpf_set_print(&libbpf_print_hook);
  if (previous != &libbpf_print_hook) log_state().outer.store(previous, std::memory_order_release);
}

/// Collects libbpf's messages on this thread for as long as it lives.
class LibbpfLog {
public:
  LibbpfLog() noexcept : outer_(libbpf_log_sink) {
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

/// Collects, for as long as it lives, the verifier logs libbpf prints of the programs the kernel
/// accepted (OpenOptions::kernel_log_level) on this thread, instead of their going to the
/// handler as libbpf's debug messages: the load hands them on as messages of their own.
class VerifierLogSink {
public:
  explicit VerifierLogSink(std::string& logs) noexcept : outer_(verifier_log_sink) {
    install_libbpf_print_hook();
    verifier_log_sink = &logs;
  }
  ~VerifierLogSink() { verifier_log_sink = outer_; }
  VerifierLogSink(const VerifierLogSink&) = delete;
  VerifierLogSink& operator=(const VerifierLogSink&) = delete;

private:
  std::string* outer_;
};

/// Adds a line to the log of the ebpfpp call running on this thread, the one its Error carries:
/// for what the kernel explained to a request ebpfpp made itself, not through libbpf (netlink).
inline void log_to_call(std::string_view text) {
  if (!libbpf_log_sink) return;
  *libbpf_log_sink += text;
  *libbpf_log_sink += '\n';
}

// Calls a libbpf print function with a va_list, as libbpf does.
inline int call_print_fn(libbpf_print_fn_t fn, enum libbpf_print_level level, const char* format,
                         ...) {
  va_list args;
  va_start(args, format);
  const int n = fn(level, format, args);
  va_end(args);
  return n;
}

/// A message of ebpfpp's own (not libbpf's), for something worth knowing that is not an error:
/// it goes to the log handler (set_log_handler) when there is one, else where libbpf's messages
/// go without a handler (libbpf's default prints to stderr), prefixed "ebpfpp: ". Never into an
/// Error's log.
inline void log_message(LogLevel level, std::string_view text) noexcept {
  try {
    install_libbpf_print_hook();
    LogState& state = log_state();
    const auto [handler, max_level] = state.current();
    if (handler) {
      if (static_cast<int>(level) <= static_cast<int>(max_level)) (*handler)(level, text);
      return;
    }
    if (auto outer = state.outer.load(std::memory_order_acquire))
      call_print_fn(outer, static_cast<libbpf_print_level>(level), "ebpfpp: %.*s\n",
                    static_cast<int>(text.size()), text.data());
  } catch (...) {
    // A log message is not worth an exception (and the handler must not throw).
  }
}

/// For a noexcept detach, which has no Error to carry libbpf's messages: holds them (libbpf's
/// warnings would otherwise reach stderr, e.g. "Kernel error message: ..." when the interface is
/// already gone) until report() says them once, with what was being undone, at the level the
/// outcome deserves. An ebpfpp call the detach runs within (an Error being built) gets none.
class HeldLibbpfLog {
public:
  HeldLibbpfLog() noexcept : outer_sink_(libbpf_log_sink), outer_held_(libbpf_log_held) {
    install_libbpf_print_hook();
    libbpf_log_sink = &text_;
    libbpf_log_held = true;
  }
  ~HeldLibbpfLog() {
    libbpf_log_sink = outer_sink_;
    libbpf_log_held = outer_held_;
  }
  HeldLibbpfLog(const HeldLibbpfLog&) = delete;
  HeldLibbpfLog& operator=(const HeldLibbpfLog&) = delete;

  /// Says `what`, then the messages held so far on the same line ("...; libbpf: ..."), through
  /// log_message().
  void report(LogLevel level, std::string_view what) noexcept {
    try {
      std::string text(what);
      std::string_view held = text_;
      while (!held.empty()) {
        const auto eol = held.find('\n');
        if (const auto line = held.substr(0, eol); !line.empty()) (text += "; ") += line;
        held.remove_prefix(eol == std::string_view::npos ? held.size() : eol + 1);
      }
      log_message(level, text);
    } catch (...) {
      // Not worth an exception in a detach.
    }
  }

private:
  std::string text_;
  std::string* outer_sink_;
  bool outer_held_;
};

} // namespace detail
} // namespace ebpfpp
