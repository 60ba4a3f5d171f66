#pragma once
/// @file
/// Link (owns a bpf_link: an attached program) and the attach types built on it.
///
/// Every attach type *is* a Link: constructing one attaches, destroying it detaches.
///
///     ebpfpp::Tracepoint tp(skel.program("hello"), "syscalls", "sys_enter_execve");
///     ebpfpp::SyscallKprobe kp(skel.program("hello_kprobe"), "execve");
///
/// They are [[nodiscard]]: a Link that is not kept detaches at once, which is never what you
/// meant. On a kernel without the hook's mechanism (no kprobes, no fentry) attaching throws a
/// FeatureError naming what is missing and what to use instead.

#include "detail/config.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/types.h>

#include "detail/attach.hpp"
#include "detail/fd.hpp"
#include "detail/link_ops.hpp"
#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_info.hpp"
#include "program.hpp"
#include "syscall_symbol.hpp"

namespace ebpfpp {

/// Owns a bpf_link. Move-only; an empty Link (default-constructed or moved-from) owns nothing.
class [[nodiscard]] Link {
public:
  Link() noexcept = default;
  /// Takes ownership of `link`; `description` ("tracepoint syscalls/sys_enter_execve") is used
  /// in errors.
  Link(bpf_link* link, std::string description) noexcept
      : link_(link), description_(std::move(description)) {}
  /// Takes ownership of a kernel link made without libbpf (a raw BPF_LINK_CREATE, for attach
  /// types or options this libbpf lacks: tcx, XDP modes). Closing the fd detaches.
  Link(detail::UniqueFd link_fd, std::string description) noexcept
      : raw_fd_(std::move(link_fd)), description_(std::move(description)) {}
  /// Takes ownership of an attachment that is not a kernel link (a netlink XDP program, a clsact
  /// filter): `detach` undoes it and must not throw. `fd` is -1 (no fd to pin or query).
  Link(std::function<void()> detach, std::string description) noexcept
      : detach_(std::move(detach)), description_(std::move(description)) {}
  // An empty Link's reset() does nothing, so a move is the assignment into an empty one.
  Link(Link&& other) noexcept { *this = std::move(other); }
  Link& operator=(Link&& other) noexcept {
    if (this != &other) {
      reset();
      link_ = std::exchange(other.link_, nullptr);
      raw_fd_ = std::move(other.raw_fd_);
      detach_ = std::exchange(other.detach_, nullptr);
      pin_path_ = std::move(other.pin_path_);
      description_ = std::move(other.description_);
      detached_ = std::exchange(other.detached_, false);
    }
    return *this;
  }
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  ~Link() { reset(); }

  /// Opens a link pinned in bpffs (it stays attached after this process exits until unpinned).
  /// Throws Error when nothing, or something other than a link, is pinned there.
  [[nodiscard]] static Link open_pinned(const std::filesystem::path& path) {
    const auto action = [&] { return detail::format("open pinned link '{}'", path.string()); };
    detail::require_pinned_kind(path, detail::FdKind::link, action);
    detail::LibbpfLog log;
    bpf_link* l =
        detail::check_ptr(bpf_link__open(path.c_str()), action, detail::Op::open_pinned, &log);
    return Link(l, detail::format("pinned link '{}'", path.string()));
  }

  /// Pins the link at `path` (on a bpffs mount, e.g. /sys/fs/bpf/...): it then survives this
  /// process, and destroying this Link only drops our reference.
  /// Throws Error: an empty Link, a path not on bpffs, a path already taken (EEXIST), a link
  /// already pinned (EBUSY).
  void pin(const std::filesystem::path& path) {
    const auto action = [&] { return detail::format("pin {} at '{}'", what(), path.string()); };
    require_not_empty(action);
    require_kernel_link(action);
    detail::require_no_nul(path.native(), action);
    detail::LibbpfLog log;
    if (link_) {
      detail::check(bpf_link__pin(link_, path.c_str()), action, detail::Op::pin, &log,
                    path.native());
      return;
    }
    // Pinned already through this Link: the kernel's answer for a pinned libbpf link.
    if (!pin_path_.empty()) detail::fail(EBUSY, action, detail::Op::pin);
    detail::check(bpf_obj_pin(raw_fd_.get(), path.c_str()), action, detail::Op::pin, &log,
                  path.native());
    pin_path_ = path;
  }
  /// Removes the pin; the link detaches when the last reference goes. Throws Error on an empty
  /// Link.
  void unpin() {
    const auto action = [&] { return detail::format("unpin {}", what()); };
    require_not_empty(action);
    require_kernel_link(action);
    detail::LibbpfLog log;
    if (link_) {
      detail::check(bpf_link__unpin(link_), action, detail::Op::pin, &log);
      return;
    }
    if (pin_path_.empty()) throw Error(ENOENT, action(), std::string(detail::hint::not_pinned));
    std::error_code ec;
    if (!std::filesystem::remove(pin_path_, ec) && ec)
      detail::fail(ec.value(), action, detail::Op::pin);
    pin_path_.clear();
  }

  /// Detaches now (and destroys the link). Safe on an empty Link.
  void reset() noexcept {
    if (link_) bpf_link__destroy(link_);
    link_ = nullptr;
    raw_fd_.reset();
    if (detach_) std::exchange(detach_, nullptr)();
    pin_path_.clear();
    detached_ = false;
  }

  // --- the life of an attached link (defined below; kernel links only) ---------------------------

  /// Swaps the program the link runs for `prog`, atomically (BPF_LINK_UPDATE, kernel 5.7+): each
  /// event or packet meets the old program or the new one, never neither, and the link keeps its
  /// fd, id and pin. The kernel does it for cgroup, XDP, tcx, netkit, netns (sk_lookup), iterator
  /// and sockmap links. Throws Error: an empty Link or not a kernel link (EOPNOTSUPP); a link
  /// kind that cannot be updated, e.g. a tracepoint's (EINVAL, naming the kinds that can); a
  /// program of another type (EINVAL); a detached link (ENOLINK).
  void update(const Program& prog) { update_to(prog, nullptr); }
  /// As update(prog), only if the link runs `expected` now (BPF_F_REPLACE): an upgrade that lost
  /// a race with another updater fails (EPERM, saying so) instead of undoing the other's swap.
  void update(const Program& prog, const Program& expected) { update_to(prog, &expected); }
  /// Detaches the program from its hook now (BPF_LINK_DETACH, kernel 5.9+), keeping the link's
  /// fd (and pin): info() and detached() then say it is detached. The kernel does it for cgroup,
  /// netns, XDP, tcx, netkit, netfilter, struct_ops and sockmap links. Throws Error: an empty
  /// Link, not a kernel link, or a kind the kernel does not detach (EOPNOTSUPP, naming those it
  /// does).
  void detach();
  /// Whether the link is attached to nothing: detach() was called, or the kernel says its hook
  /// is gone (its interface, cgroup or namespace; see LinkInfo::detached). Throws Error on an
  /// empty Link.
  template <class = void> // a template: a file that never asks does not compile LinkInfo's reading
  bool detached() const;
  /// What the kernel says about this link (kernel 5.8+): id, type, program and, typed by link
  /// type, its target (link_info.hpp). Throws Error: an empty Link, not a kernel link.
  template <class = void> // (as detached())
  LinkInfo info() const;
  /// The link's fd (for bpf_link_get_info_by_fd etc.); -1 when empty, and for an attachment
  /// that is not a kernel link.
  int fd() const noexcept { return link_ ? bpf_link__fd(link_) : raw_fd_.get(); }
  /// What this link attached, as used in errors: "tracepoint syscalls/sys_enter_execve".
  const std::string& description() const noexcept { return description_; }
  bpf_link* get() const noexcept { return link_; }
  /// Gives up ownership of a libbpf link; the caller must bpf_link__destroy() it. nullptr (and
  /// nothing given up) for a link made without libbpf.
  bpf_link* release() noexcept { return std::exchange(link_, nullptr); }
  explicit operator bool() const noexcept { return link_ != nullptr || raw_fd_ || detach_; }

protected:
  /// For a link kind that learns more after attaching (the XDP mode the kernel chose).
  void set_description(std::string description) { description_ = std::move(description); }

private:
  void update_to(const Program& prog, const Program* expected);
  std::string what() const { return description_.empty() ? std::string("link") : description_; }
  template <class Action>
  void require_not_empty(const Action& action) const {
    if (!*this) throw Error(EBADF, action(), std::string(detail::hint::empty_view));
  }
  template <class Action>
  void require_kernel_link(const Action& action) const {
    if (!link_ && !raw_fd_)
      throw Error(EOPNOTSUPP, action(), std::string(detail::hint::not_a_kernel_link));
  }

  bpf_link* link_ = nullptr;
  detail::UniqueFd raw_fd_;        // a link made with a raw BPF_LINK_CREATE
  std::function<void()> detach_;   // an attachment that is not a kernel link
  std::filesystem::path pin_path_; // where raw_fd_ is pinned, for unpin()
  std::string description_;
  bool detached_ = false; // detach() succeeded
};

inline void Link::update_to(const Program& prog, const Program* expected) {
  const auto action = [&] {
    return detail::format("update {} to program '{}'{}", what(),
                          prog.name().empty() ? "<empty>" : prog.name(),
                          expected ? detail::format(" (replacing program '{}')", expected->name())
                                   : std::string());
  };
  require_not_empty(action);
  require_kernel_link(action);
  detail::require_loaded(prog, action());
  if (expected) detail::require_loaded(*expected, action());
  detail::update_link(fd(), prog.fd(), expected ? expected->fd() : -1, action);
}

inline void Link::detach() {
  const auto action = [&] { return detail::format("detach {}", what()); };
  require_not_empty(action);
  require_kernel_link(action);
  detail::detach_link(fd(), action);
  detached_ = true;
}

template <class>
bool Link::detached() const {
  require_not_empty([&] { return detail::format("ask whether {} is detached", what()); });
  if (detached_) return true;
  if (!link_ && !raw_fd_) return false; // not a kernel link: attached until destroyed
  return info().detached();
}

template <class>
LinkInfo Link::info() const {
  const auto action = [&] { return detail::format("describe {}", what()); };
  require_not_empty(action);
  require_kernel_link(action);
  return detail::describe_link(fd(), action);
}

/// Attaches a program the way its SEC() says ("tracepoint/syscalls/sys_enter_execve",
/// "kprobe/do_unlinkat", ...), as the skeleton's attach() does for all programs.
[[nodiscard]] inline Link attach(const Program& prog) {
  return detail::attach_link(prog, detail::format("program by its section '{}'", prog.section()),
                             [&] { return bpf_program__attach(prog.get()); });
}

/// A kprobe: runs the program at a kernel function's entry (plus `offset`). Needs kprobes
/// (CONFIG_KPROBES); the program must be SEC("kprobe/...") or SEC("kprobe"). Kernel 4.1+.
class Kprobe : public Link {
public:
  [[nodiscard]] Kprobe(const Program& prog, std::string_view function, std::uint64_t offset = 0,
                       std::uint64_t cookie = 0)
      : Kprobe(prog, function, offset, cookie, false) {}

protected:
  Kprobe(const Program& prog, std::string_view function, std::uint64_t offset, std::uint64_t cookie,
         bool retprobe)
      : Link(make(prog, std::string(function), offset, cookie, retprobe)) {}

private:
  static Link make(const Program& prog, const std::string& function, std::uint64_t offset,
                   std::uint64_t cookie, bool retprobe) {
    bpf_kprobe_opts opts;
    detail::init_opts(opts);
    opts.offset = offset;
    opts.bpf_cookie = cookie;
    opts.retprobe = retprobe;
    return detail::attach_link(
        prog, detail::format("{} '{}'", retprobe ? "kretprobe" : "kprobe", function),
        [&] { return bpf_program__attach_kprobe_opts(prog.get(), function.c_str(), &opts); },
        {kernel::Feature::kprobes, detail::hint::no_kprobes({}), detail::Op::attach_tracing,
         cookie != 0});
  }
};

/// A kretprobe: runs the program when a kernel function returns. Needs kprobes. Kernel 4.1+.
class Kretprobe : public Kprobe {
public:
  [[nodiscard]] Kretprobe(const Program& prog, std::string_view function, std::uint64_t cookie = 0)
      : Kprobe(prog, function, 0, cookie, true) {}
};

/// A kprobe on a syscall's entry (or its return with `retprobe`), named as in C: "execve".
/// The arch's wrapper symbol (__x64_sys_execve) is found for you, as libbpf's SEC("ksyscall")
/// does; write the program with BPF_KSYSCALL to read the arguments portably. Needs kprobes.
class SyscallKprobe : public Link {
public:
  [[nodiscard]] SyscallKprobe(const Program& prog, std::string_view syscall, bool retprobe = false,
                              std::uint64_t cookie = 0)
      : Link(make(prog, std::string(syscall), retprobe, cookie)) {}

private:
  static Link make(const Program& prog, const std::string& syscall, bool retprobe,
                   std::uint64_t cookie) {
    bpf_ksyscall_opts opts;
    detail::init_opts(opts);
    opts.retprobe = retprobe;
    opts.bpf_cookie = cookie;
    return detail::attach_link(
        prog,
        detail::format("{} '{}' ({})", retprobe ? "syscall kretprobe" : "syscall kprobe", syscall,
                       syscall_symbol_for(syscall, compiled_arch())),
        [&] { return bpf_program__attach_ksyscall(prog.get(), syscall.c_str(), &opts); },
        {kernel::Feature::kprobes, detail::hint::no_kprobes(syscall), detail::Op::attach_tracing,
         cookie != 0});
  }
};

/// A static tracepoint, e.g. Tracepoint(prog, "syscalls", "sys_enter_execve"). The list is in
/// /sys/kernel/tracing/available_events. Program: SEC("tracepoint/..."). Kernel 4.7+.
class Tracepoint : public Link {
public:
  [[nodiscard]] Tracepoint(const Program& prog, std::string_view category, std::string_view name)
      : Link(make(prog, std::string(category), std::string(name))) {}

private:
  static Link make(const Program& prog, const std::string& category, const std::string& name) {
    return detail::attach_link(
        prog, detail::format("tracepoint {}/{}", category, name),
        [&] { return bpf_program__attach_tracepoint(prog.get(), category.c_str(), name.c_str()); },
        {std::nullopt, {}, detail::Op::attach_tracefs});
  }
};

/// A raw tracepoint, e.g. RawTracepoint(prog, "sys_enter"): the tracepoint's raw arguments,
/// no perf-event overhead. Program: SEC("raw_tp/...") or SEC("raw_tracepoint/..."). Kernel 4.17+.
class RawTracepoint : public Link {
public:
  [[nodiscard]] RawTracepoint(const Program& prog, std::string_view name)
      : Link(make(prog, std::string(name))) {}

private:
  static Link make(const Program& prog, const std::string& name) {
    return detail::attach_link(prog, detail::format("raw tracepoint {}", name), [&] {
      return bpf_program__attach_raw_tracepoint(prog.get(), name.c_str());
    });
  }
};

/// A uprobe: runs the program at a user-space function's entry, in `binary` (an executable or
/// a shared library), for process `pid` (-1: every process, 0: this one). Program:
/// SEC("uprobe") or SEC("uprobe/..."). Kernel 4.17+ (perf-based), older via tracefs.
class Uprobe : public Link {
public:
  /// At a symbol ("malloc", or "malloc@GLIBC_2.2.5" for a versioned one).
  [[nodiscard]] Uprobe(const Program& prog, const std::filesystem::path& binary,
                       std::string_view symbol, pid_t pid = -1)
      : Uprobe(prog, binary, std::string(symbol), 0, pid, false) {}
  /// At a file offset in the binary.
  [[nodiscard]] Uprobe(const Program& prog, const std::filesystem::path& binary, std::size_t offset,
                       pid_t pid = -1)
      : Uprobe(prog, binary, std::string(), offset, pid, false) {}

protected:
  Uprobe(const Program& prog, const std::filesystem::path& binary, const std::string& symbol,
         std::size_t offset, pid_t pid, bool retprobe)
      : Link(make(prog, binary, symbol, offset, pid, retprobe)) {}

private:
  static Link make(const Program& prog, const std::filesystem::path& binary,
                   const std::string& symbol, std::size_t offset, pid_t pid, bool retprobe) {
    bpf_uprobe_opts opts;
    detail::init_opts(opts);
    opts.retprobe = retprobe;
    opts.func_name = symbol.empty() ? nullptr : symbol.c_str();
    std::string where =
        symbol.empty() ? detail::format("offset {:#x}", offset) : detail::format("'{}'", symbol);
    return detail::attach_link(
        prog,
        detail::format("{} {} in '{}'", retprobe ? "uretprobe" : "uprobe", where, binary.string()),
        [&] {
          return bpf_program__attach_uprobe_opts(prog.get(), pid, binary.c_str(), offset, &opts);
        },
        {kernel::Feature::uprobes, {}, detail::Op::attach_uprobe});
  }
};

/// A uretprobe: runs the program when a user-space function returns. See Uprobe.
class Uretprobe : public Uprobe {
public:
  [[nodiscard]] Uretprobe(const Program& prog, const std::filesystem::path& binary,
                          std::string_view symbol, pid_t pid = -1)
      : Uprobe(prog, binary, std::string(symbol), 0, pid, true) {}
  [[nodiscard]] Uretprobe(const Program& prog, const std::filesystem::path& binary,
                          std::size_t offset, pid_t pid = -1)
      : Uprobe(prog, binary, std::string(), offset, pid, true) {}
};

/// An fentry program (BPF trampoline at a kernel function's entry; cheaper than a kprobe and
/// with typed arguments). The target is in SEC("fentry/<function>") or set with
/// bpf_program__set_attach_target before load. Needs BTF; kernel 5.5+ (x86-64), 6.0+ (arm64).
class Fentry : public Link {
public:
  [[nodiscard]] explicit Fentry(const Program& prog) : Link(detail::attach_trace(prog, "fentry")) {}
};

/// An fexit program: like Fentry, at the function's return, with its arguments and return value.
class Fexit : public Link {
public:
  [[nodiscard]] explicit Fexit(const Program& prog) : Link(detail::attach_trace(prog, "fexit")) {}
};

} // namespace ebpfpp
