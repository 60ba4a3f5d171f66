#pragma once
/// @file
/// TC programs (SEC("tc"), BPF_PROG_TYPE_SCHED_CLS) on an interface's ingress or egress:
/// `Tcx`, the link-based multi-program hook of kernel 6.6+, with explicit ordering; and
/// `TcClassic`, the clsact qdisc + cls_bpf filter path every kernel since 4.1 has.
///
///     ebpfpp::Tcx in(skel.program("count"), "eth0", ebpfpp::TcDirection::ingress);
///     ebpfpp::Tcx audit(skel.program("audit"), "eth0", ebpfpp::TcDirection::ingress,
///                       ebpfpp::TcxAnchor::before(in));       // runs before `in`
///     ebpfpp::TcClassic old(skel.program("count"), "eth0", ebpfpp::TcDirection::egress);
///
/// With tcx, a program returns TCX_NEXT (-1) to let the next one run, TCX_PASS (0) to end the
/// chain and pass the packet, TCX_DROP (2) to drop it. Tcx is a kernel link: it detaches when
/// its last fd closes, even if this process crashes, and it goes with its interface. TcClassic is
/// not: its filter (and the qdisc, if it made it) stays after a crash until `tc qdisc del dev
/// <if> clsact`; destroy it in the network namespace it was made in. What a vanished interface
/// means for each handle: docs/network.md.

#include "detail/config.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/format.hpp"
#include "detail/tc_classic.hpp"
#include "detail/uapi.hpp"
#include "detail/unique_fd.hpp"
#include "interface.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// Which way the packets go: into the interface (ingress) or out of it (egress).
enum class TcDirection { ingress, egress };

/// "ingress" or "egress".
constexpr std::string_view to_string(TcDirection d) noexcept {
  return d == TcDirection::ingress ? "ingress" : "egress";
}

/// Where a Tcx program goes among the programs already on the hook: last (the default), first,
/// or just before / after a given program or link on the same hook.
class TcxAnchor {
public:
  /// After every program already attached.
  static TcxAnchor last() noexcept { return TcxAnchor(detail::uapi::f_after, 0, "last"); }
  /// Before every program already attached.
  static TcxAnchor first() noexcept { return TcxAnchor(detail::uapi::f_before, 0, "first"); }
  /// Just before `prog` (which must be attached to the same hook).
  static TcxAnchor before(const Program& prog) {
    return TcxAnchor(detail::uapi::f_before, prog.fd(),
                     detail::format("before program '{}'", prog.name()));
  }
  /// Just after `prog` (which must be attached to the same hook).
  static TcxAnchor after(const Program& prog) {
    return TcxAnchor(detail::uapi::f_after, prog.fd(),
                     detail::format("after program '{}'", prog.name()));
  }
  /// Just before the program of `link` (a Tcx on the same hook).
  static TcxAnchor before(const Link& link) {
    return TcxAnchor(detail::uapi::f_before | detail::uapi::f_link, link.fd(),
                     detail::format("before {}", link.description()));
  }
  /// Just after the program of `link` (a Tcx on the same hook).
  static TcxAnchor after(const Link& link) {
    return TcxAnchor(detail::uapi::f_after | detail::uapi::f_link, link.fd(),
                     detail::format("after {}", link.description()));
  }
  /// Attach only if the hook's revision (it grows by one at each change) is still `revision`:
  /// a check that nobody changed the programs since you looked. 0: no check.
  TcxAnchor& expected_revision(std::uint64_t revision) noexcept {
    revision_ = revision;
    return *this;
  }

  std::uint32_t flags() const noexcept { return flags_; }
  int relative_fd() const noexcept { return fd_; }
  std::uint64_t revision() const noexcept { return revision_; }
  const std::string& description() const noexcept { return description_; }

private:
  TcxAnchor(std::uint32_t flags, int fd, std::string description)
      : flags_(flags), fd_(fd), description_(std::move(description)) {}

  std::uint32_t flags_ = 0;
  int fd_ = 0;
  std::uint64_t revision_ = 0;
  std::string description_;
};

/// A TC program on a tcx hook (kernel 6.6+, CONFIG_NET_XGRESS): several programs per hook, in an
/// order you choose, no qdisc. Needs CAP_NET_ADMIN (and CAP_BPF).
///
/// Throws FeatureError (naming 6.6 and TcClassic) on older kernels; Error when the interface does
/// not exist (ENODEV), the anchor is not on the same hook (ENOENT), or the revision moved
/// (ESTALE).
class Tcx : public Link {
public:
  [[nodiscard]] Tcx(const Program& prog, const Interface& iface, TcDirection direction,
                    const TcxAnchor& anchor = TcxAnchor::last())
      : Link(attach(prog, iface, direction, anchor)), ifindex_(iface.index()),
        direction_(direction) {}

  int ifindex() const noexcept { return ifindex_; }
  TcDirection direction() const noexcept { return direction_; }

private:
  static Link attach(const Program& prog, const Interface& iface, TcDirection direction,
                     const TcxAnchor& anchor) {
    return detail::attach_link(
        prog,
        detail::format("tcx {} on '{}' (ifindex {}), {}", to_string(direction), iface.name(),
                       iface.index(), anchor.description()),
        [&] {
          return detail::uapi::link_create_tcx(prog.fd(), iface.index(),
                                               direction == TcDirection::egress, anchor.flags(),
                                               anchor.relative_fd(), anchor.revision());
        },
        {kernel::Feature::tcx, std::string(detail::hint::no_tcx), detail::Op::attach_network});
  }

  int ifindex_ = 0;
  TcDirection direction_ = TcDirection::ingress;
};

/// Where a TcClassic filter goes in the clsact qdisc's filter list.
struct TcClassicOptions {
  /// The filter's handle (0: the kernel picks one).
  std::uint32_t handle = 0;
  /// Its priority (lower runs first; 0: the kernel picks one).
  std::uint32_t priority = 0;
};

/// A TC program as a cls_bpf filter (direct action) on the interface's clsact qdisc: the path for
/// kernels before 6.6 (4.1+). Makes the clsact qdisc when there is none. Needs CAP_NET_ADMIN.
///
/// Destroying it removes its own filter and nothing else: not a filter at the same place that
/// is not the one it made (its filter carries a token of its own in its name), and the qdisc
/// only if it made it and no filter of anyone else is left on either direction (a qdisc that
/// was there before is always left). When the interface vanished, or another took its index, or
/// it is destroyed in another network namespace than it was made in, it detaches nothing and
/// says why at LogLevel::debug (see set_log_handler); a detach the kernel refuses is said at
/// LogLevel::warn.
///
/// Throws Error: no such interface (ENODEV), missing capabilities (EPERM, naming them).
class TcClassic : public Link {
public:
  /// (A template over a parameter nobody gives, as attach() below: a file that includes this
  /// header and attaches no classic filter compiles neither, nor the detach they keep in a
  /// std::function.)
  template <class = void>
  [[nodiscard]] TcClassic(const Program& prog, const Interface& iface, TcDirection direction,
                          TcClassicOptions options = {})
      : TcClassic(attach(prog, iface, direction, options), iface.index(), direction) {}

  int ifindex() const noexcept { return ifindex_; }
  TcDirection direction() const noexcept { return direction_; }
  /// Whether this attachment made the clsact qdisc (and so removes it when destroyed, if no other
  /// filter is left on it then).
  bool created_qdisc() const noexcept { return created_qdisc_; }

private:
  struct Attached {
    Link link;
    bool created_qdisc;
  };
  TcClassic(Attached a, int ifindex, TcDirection direction)
      : Link(std::move(a.link)), created_qdisc_(a.created_qdisc), ifindex_(ifindex),
        direction_(direction) {}

  template <class = void>
  static Attached attach(const Program& prog, const Interface& iface, TcDirection direction,
                         TcClassicOptions options) {
    detail::tc::ClassicFilter filter;
    filter.ifindex = iface.index();
    filter.parent = detail::tc::clsact_parent(direction == TcDirection::egress);
    filter.handle = options.handle;
    filter.priority = options.priority;
    filter.what = detail::format("tc {} filter on '{}' (ifindex {}, clsact)", to_string(direction),
                                 iface.name(), iface.index());
    Link link =
        detail::attach_link(prog, filter.what,
                            [&]() -> std::function<void()> {
                              if (!detail::tc::attach_classic(filter, prog.fd(), prog.name()))
                                return nullptr;
                              return [filter]() noexcept { filter.detach(); };
                            },
                            {kernel::Feature::tc, {}, detail::Op::attach_network});
    return {std::move(link), filter.made_qdisc};
  }

  bool created_qdisc_ = false;
  int ifindex_ = 0;
  TcDirection direction_ = TcDirection::ingress;
};

} // namespace ebpfpp
