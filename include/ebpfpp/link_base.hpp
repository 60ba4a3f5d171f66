#pragma once
/// @file
/// Link: owns a bpf_link (an attached program), or an attachment that is not a kernel link.
///
/// Every attach type *is* a Link: constructing one attaches, destroying it detaches. This header
/// holds Link alone, so that an attach type's header (xdp.hpp, tc.hpp, cgroup.hpp, ...) pays for
/// Link and not for the tracing attach types, which are in link.hpp (it includes this one).

#include "detail/config.hpp"

#include <cerrno>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <utility>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/attach.hpp"
#include "detail/fd.hpp"
#include "detail/format.hpp"
#include "detail/link_ops.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "link_info.hpp"
#include "program.hpp"

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
    return detail::format(
        "update {} to program '{}'{}", what(), prog.name().empty() ? "<empty>" : prog.name(),
        expected ? detail::format(" (replacing program '{}')", expected->name()) : std::string());
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

} // namespace ebpfpp
