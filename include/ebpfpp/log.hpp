#pragma once
/// @file
/// set_log_handler: see libbpf's messages (warnings, what the loader did, with LogLevel::debug
/// everything) in your own log, while ebpfpp's Errors still carry the messages of the call that
/// failed.
///
///     ebpfpp::set_log_handler([](ebpfpp::LogLevel level, std::string_view text) {
///       spdlog::log(level == ebpfpp::LogLevel::warn ? spdlog::level::warn : spdlog::level::debug,
///                   "libbpf: {}", text);
///     });
///
/// Without a handler, messages outside ebpfpp's calls go where they would without ebpfpp:
/// libbpf's default (stderr), or the function the application gave libbpf_set_print, before or
/// after ebpfpp's first call. Messages during an ebpfpp call go into its Error instead (and to the
/// handler, if there is one).

#include "detail/config.hpp"

#include "detail/libbpf_log.hpp"

namespace ebpfpp {

/// Sends libbpf's messages up to `max_level` to `handler` (from any thread; not reentrant into
/// ebpfpp). An empty handler restores the default routing described above.
/// (A template over a parameter nobody gives: a file that includes this header and sets no
/// handler does not compile the shared handler's make_shared and assignment.)
template <class = void>
void set_log_handler(LogHandler handler, LogLevel max_level = LogLevel::info) {
  detail::install_libbpf_print_hook();
  auto& state = detail::log_state();
  std::lock_guard lock(state.mutex);
  state.handler = handler ? std::make_shared<const LogHandler>(std::move(handler)) : nullptr;
  state.max_level = max_level;
}

} // namespace ebpfpp
