#pragma once
// The one attach helper, attach_link, and what it checks before and after: the program is
// loaded, the kernel has the feature the hook needs, and a refusal becomes an Error with the
// hint for the hook's Op (or a FeatureError). Every attach type in link.hpp and its family
// attaches through it, the socket options (socket_filter.hpp, sk_reuseport.hpp) included.

#include "config.hpp"

#include <cerrno>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <bpf/libbpf.h>
#include <sys/socket.h>

#include "../error.hpp"
#include "../kernel.hpp"
#include "../program.hpp"
#include "format.hpp"
#include "unique_fd.hpp"

namespace ebpfpp {
class Link;
} // namespace ebpfpp

namespace ebpfpp::detail {

// Throws Error unless `prog` is a loaded program: `what` says what needed it.
inline void require_loaded(const Program& prog, std::string_view what) {
  if (prog && prog.fd() >= 0) return;
  if (prog.expired())
    throw Error(
        EBADF,
        detail::format("{}: program '{}': the Object or Skeleton is gone", what, prog.name()),
        std::string(hint::view_outlived));
  throw Error(prog ? EINVAL : EBADF,
              prog ? detail::format("{}: program '{}' is not loaded", what, prog.name())
                   : detail::format("{}: the Program is empty", what),
              std::string(prog ? hint::not_loaded : hint::empty_view));
}

/// What an attach needs beyond a loaded program: the kernel feature (FeatureError when the
/// table says it is missing) and the Op that picks the hint when the kernel says no.
struct AttachNeeds {
  std::optional<kernel::Feature> feature;
  std::string feature_hint; // what to use instead when the feature is missing
  Op op = Op::attach_tracing;
  bool cookie = false; // a non-zero BPF cookie is asked for: needs bpf_cookie (5.15)
};

/// The checks before an attach (the program is loaded, the kernel has what it needs): throws
/// Error or FeatureError, else returns the action ("attach ... (program '...')") for messages.
inline std::string attach_checked(const Program& prog, std::string_view description,
                                  const AttachNeeds& needs) {
  std::string action = detail::format("attach {} (program '{}')", description,
                                      prog.name().empty() ? "<empty>" : prog.name());
  require_loaded(prog, action);
  if (needs.feature && !kernel::has(*needs.feature))
    throw kernel::missing(*needs.feature, action, needs.feature_hint);
  if (needs.cookie && !kernel::has(kernel::Feature::bpf_cookie))
    throw kernel::missing(kernel::Feature::bpf_cookie, action, std::string(hint::no_cookie));
  return action;
}

/// The Error of a refused attach (errno `err`), with what libbpf printed meanwhile.
[[noreturn]] inline void attach_failed(int err, const Program& prog, const std::string& action,
                                       const AttachNeeds& needs, LibbpfLog& log) {
  std::string why; // what the table cannot know: tracefs's mount, the program's type
  if (err == ENOENT && needs.op == Op::attach_tracefs && !kernel::tracefs())
    why = hint::tracefs_unmounted;
  else if (err == EINVAL && hint_for(err, needs.op).empty())
    why = hint::program_type_mismatch(prog.type_name());
  fail(
      err, [&] { return action; }, needs.op, why, log.take());
}

/// The one attach helper: runs `attach()` (a libbpf call returning bpf_link* or NULL + errno, or
/// a raw attach returning a link's UniqueFd or a detacher, empty + errno on failure) and wraps the
/// result in a Link described by `description`. On failure it throws a FeatureError when the
/// feature is missing, else an Error with libbpf's explanation and the hint for `needs.op`.
/// (L is always Link: a parameter so that this header needs only Link's declaration.)
/// It is instantiated once per attach site (each lambda is a type), so all but the call and the
/// wrapping is in the two functions above, compiled once.
template <class AttachFn, class L = Link>
L attach_link(const Program& prog, std::string description, AttachFn&& attach,
              const AttachNeeds& needs = {}) {
  const std::string action = attach_checked(prog, description, needs);
  LibbpfLog log;
  errno = 0;
  // decltype of the call, not std::invoke_result_t: the trait's machinery, instantiated per
  // attach site, was 2 MB of the umbrella.
  if constexpr (std::is_same_v<decltype(std::forward<AttachFn>(attach)()), bpf_link*>) {
    if (bpf_link* l = std::forward<AttachFn>(attach)()) return L(l, std::move(description));
  } else {
    // A raw attach: a link fd (UniqueFd) or the detacher of a non-link attachment
    // (std::function<void()>); empty with errno set on failure.
    if (auto r = std::forward<AttachFn>(attach)()) return L(std::move(r), std::move(description));
  }
  attach_failed(errno ? errno : EINVAL, prog, action, needs, log);
}

/// An fentry or fexit program (`kind`), through the BPF trampoline.
template <class L = Link>
L attach_trace(const Program& prog, std::string_view kind) {
  const auto attach = [&] { return bpf_program__attach_trace(prog.get()); };
  return attach_link<decltype(attach)&, L>(
      prog, detail::format("{} program '{}'", kind, prog.name()), attach,
      {kernel::Feature::fentry, std::string(hint::no_fentry)});
}

/// The socket's cookie (SO_COOKIE, 4.12+): a number the kernel gives no other socket while this
/// one lives. nullopt when `fd` is not a socket.
inline std::optional<std::uint64_t> socket_cookie(int fd) noexcept {
  std::uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) return std::nullopt;
  return cookie;
}

/// Attaches `prog` to the socket open at `socket_fd` with setsockopt(SOL_SOCKET, `attach_opt`)
/// and returns the Link that undoes it with setsockopt(SOL_SOCKET, `detach_opt`), if the fd
/// still names that socket then. For the socket options that take a program fd: SO_ATTACH_BPF,
/// SO_ATTACH_REUSEPORT_EBPF. (L is always Link, as for attach_link.)
template <class L = Link>
L attach_to_socket(const Program& prog, int socket_fd, int attach_opt, int detach_opt,
                   std::string description, AttachNeeds needs) {
  const auto attach = [&]() -> std::function<void()> {
    const auto cookie = socket_cookie(socket_fd);
    if (!cookie) return nullptr; // errno: EBADF, ENOTSOCK
    const int prog_fd = prog.fd();
    if (::setsockopt(socket_fd, SOL_SOCKET, attach_opt, &prog_fd, sizeof prog_fd) != 0)
      return nullptr;
    return [socket_fd, detach_opt, cookie = *cookie]() noexcept {
      if (socket_cookie(socket_fd) != cookie) return;
      const int unused = 0;
      ::setsockopt(socket_fd, SOL_SOCKET, detach_opt, &unused, sizeof unused);
    };
  };
  return attach_link<decltype(attach)&, L>(prog, std::move(description), attach,
                                           std::move(needs));
}

} // namespace ebpfpp::detail
