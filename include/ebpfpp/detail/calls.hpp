#pragma once
// How the library calls libbpf and the kernel: the options structs it passes in, and the helpers
// every result passes through (fail, check, check_ptr: the errno, what was attempted, the hint
// table's hint and what libbpf printed, made into one Error). error.hpp includes this after Error,
// so that every header that includes error.hpp has them.

#include "config.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "../error.hpp"
#include "hints.hpp"
#include "libbpf_log.hpp"

namespace ebpfpp::detail {

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

// fail() is instantiated for each `describe` (a lambda per call site): it only calls it, and the
// Error is made and thrown once, in these two.
template <class = void>
[[noreturn]] void throw_failure(int err, std::string action, Op op, LibbpfLog* log,
                                std::string_view subject) {
  throw Error(err, std::move(action), hint_for(err, op, subject),
              log ? log->take() : std::string{});
}
template <class = void>
[[noreturn]] void throw_failure(int err, std::string action, Op op, std::string_view hint,
                                std::string log) {
  throw Error(err, std::move(action), hint.empty() ? hint_for(err, op) : std::string(hint),
              std::move(log));
}

/// Throws an Error for a failed `op`: `describe()` says what was attempted, the hint table what
/// to try, `log` what libbpf printed meanwhile.
template <class Describe>
[[noreturn]] void fail(int err, Describe&& describe, Op op = Op::generic, LibbpfLog* log = nullptr,
                       std::string_view subject = {}) {
  throw_failure(err, std::forward<Describe>(describe)(), op, log, subject);
}

/// As above, for a site that knows the cause better than the errno and Op say: `hint` (a
/// hint:: constant, or one made for this cause) replaces the table's unless empty, and `log` is
/// what was printed meanwhile, already taken (a load's verifier log).
template <class Describe>
[[noreturn]] void fail(int err, Describe&& describe, Op op, std::string_view hint,
                       std::string log = {}) {
  throw_failure(err, std::forward<Describe>(describe)(), op, hint, std::move(log));
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
} // namespace ebpfpp::detail
