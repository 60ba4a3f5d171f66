#pragma once
/// @file
/// Xdp: an XDP program attached to a network interface (a Link: destroying it detaches).
///
///     ebpfpp::Xdp xdp(skel.program("count"), "eth0");                         // kernel picks
///     ebpfpp::Xdp xdp(skel.program("count"), "veth0", ebpfpp::XdpMode::generic);
///     auto x = ebpfpp::Xdp::replace(skel.program("v2"), "eth0", old_program);  // swap in place
///
/// An Xdp made by the constructor is a kernel link (BPF_LINK_CREATE, kernel 5.9+): it cannot
/// replace or be replaced by another attachment, and the kernel detaches it when its last fd
/// closes, even if this process crashes. Xdp::replace uses the older netlink attachment, which
/// can swap one program for another atomically, checking which one it replaces; it outlives a
/// crashed process (`ip link set dev <if> xdp off` removes it), and must be destroyed in the same
/// network namespace as it was made. Either way, destroying an Xdp detaches only its own program:
/// after its interface vanished (another may have taken the index) it touches nothing, and the
/// replace path says so at LogLevel::debug. See docs/network.md.

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>

#include "detail/enum_table.hpp"
#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "interface.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// Where the XDP program runs.
enum class XdpMode {
  automatic, ///< native when the driver has it, else generic (the kernel's choice)
  native,    ///< in the driver, before any skb exists (XDP_FLAGS_DRV_MODE); fastest
  generic,   ///< after the skb is built (XDP_FLAGS_SKB_MODE); every interface has it
  offload,   ///< on the NIC (XDP_FLAGS_HW_MODE); the program must be loaded for that device
};

/// The mode's name: "native", "generic", ...
constexpr std::string_view to_string(XdpMode mode) noexcept {
  return detail::enum_name(mode, {"automatic", "native", "generic", "offload"});
}

namespace detail {
// Why a netlink XDP detach did nothing. The interface gone (ENODEV) or running another program
// (EEXIST: replaced, or an interface that took this index) is the normal end of a program that
// outlived its attachment: debug. Anything else (EPERM, ...) leaves our program attached: warn.
inline void report_xdp_detach(HeldLibbpfLog& log, int err, const std::string& ifname,
                              int ifindex) noexcept {
  const bool gone = err == ENODEV || err == EEXIST;
  try {
    log.report(gone ? LogLevel::debug : LogLevel::warn,
               detail::format("detach XDP program from '{}' (ifindex {}): {}: {}", ifname, ifindex,
                              std::strerror(err),
                              gone ? "it is no longer attached there, nothing to do"
                                   : "it stays attached"));
  } catch (...) {
    // A detach reports what it can.
  }
}

// In XdpMode's order; automatic sets no mode flag, so the kernel chooses.
constexpr std::uint32_t xdp_flags(XdpMode mode) noexcept {
  return enum_entry<std::uint32_t>(
      mode, {0, XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_HW_MODE}, 0);
}
} // namespace detail

/// An XDP program (SEC("xdp")) attached to an interface. Kernel 4.8+ for XDP, 5.9+ for the
/// link the constructor makes. Needs CAP_NET_ADMIN (and CAP_BPF).
///
/// Throws Error: the interface does not exist (ENODEV, naming it); another XDP program is
/// attached (EBUSY; see replace()); the driver lacks the mode (EOPNOTSUPP, suggesting
/// XdpMode::generic); missing capabilities (EPERM, naming CAP_NET_ADMIN); FeatureError without
/// XDP.
class Xdp : public Link {
public:
  [[nodiscard]] Xdp(const Program& prog, const Interface& iface, XdpMode mode = XdpMode::automatic)
      : Link(attach(prog, iface, mode)), ifindex_(iface.index()), mode_(mode) {
    name_chosen_mode(prog, iface);
  }

  /// Attaches `prog` in place of `expected` (which must be the program attached now, in the same
  /// mode), atomically: no packet sees neither. With an empty `expected` (Program{}), attaches
  /// only if no program is attached. Throws Error (EEXIST) when `expected` is not what is
  /// attached, (EBUSY) when a link holds the interface. Netlink-based: see the file comment.
  /// (A template over a parameter nobody gives: a file that includes this header and replaces
  /// nothing compiles none of the netlink path, nor the detach it keeps in a std::function.)
  template <class = void>
  [[nodiscard]] static Xdp replace(const Program& prog, const Interface& iface,
                                   const Program& expected, XdpMode mode = XdpMode::automatic) {
    return Xdp(replace_attach(prog, iface, expected, mode), iface.index(), mode);
  }

  /// The interface's index.
  int ifindex() const noexcept { return ifindex_; }
  /// The mode asked for.
  XdpMode mode() const noexcept { return mode_; }
  /// The mode the program runs in, as the kernel says now (with XdpMode::automatic, the one it
  /// chose: native where the driver has XDP, else generic); nullopt when it cannot tell (the
  /// interface is gone, or our program is no longer attached). description() says it too:
  /// "XDP (native, chosen by the kernel) on 'eth0' (ifindex 2)".
  std::optional<XdpMode> attached_mode() const { return query_mode(ifindex_, running_prog_id()); }

private:
  Xdp(Link link, int ifindex, XdpMode mode)
      : Link(std::move(link)), ifindex_(ifindex), mode_(mode) {}

  // Asks the kernel which mode it chose and says it in the description.
  void name_chosen_mode(const Program& prog, const Interface& iface) {
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog.fd(), &info, &len) == 0) prog_id_ = info.id;
    if (mode_ != XdpMode::automatic) return;
    if (auto chosen = attached_mode())
      set_description(detail::format("XDP ({}, chosen by the kernel) on '{}' (ifindex {})",
                                     to_string(*chosen), iface.name(), iface.index()));
  }

  // The program attached by us now: a link's may have been swapped by update().
  std::uint32_t running_prog_id() const {
    if (fd() < 0) return prog_id_;
    try {
      return detail::link_info_raw(fd(), [] { return std::string("describe a link"); }).prog_id;
    } catch (const Error&) {
      return 0;
    }
  }

  static std::optional<XdpMode> query_mode(int ifindex, std::uint32_t prog_id) {
    bpf_xdp_query_opts opts;
    detail::init_opts(opts); // tail padding: libbpf refuses it unless zero
    if (prog_id == 0 || bpf_xdp_query(ifindex, 0, &opts) != 0) return std::nullopt;
    // With programs in several modes (XDP_ATTACHED_MULTI), ours is the one with our id.
    if (opts.drv_prog_id == prog_id) return XdpMode::native;
    if (opts.skb_prog_id == prog_id) return XdpMode::generic;
    if (opts.hw_prog_id == prog_id) return XdpMode::offload;
    return std::nullopt;
  }

  static std::string describe(const Interface& iface, XdpMode mode) {
    return detail::format("XDP ({}) on '{}' (ifindex {})", to_string(mode), iface.name(),
                          iface.index());
  }

  static Link attach(const Program& prog, const Interface& iface, XdpMode mode) {
    return detail::attach_link(prog, describe(iface, mode),
                               [&] {
                                 bpf_link_create_opts opts;
                                 detail::init_opts(opts);
                                 opts.flags = detail::xdp_flags(mode);
                                 return detail::UniqueFd(
                                     bpf_link_create(prog.fd(), iface.index(), BPF_XDP, &opts));
                               },
                               {kernel::Feature::xdp, {}, detail::Op::attach_network});
  }

  template <class = void> // see replace()
  static Link replace_attach(const Program& prog, const Interface& iface, const Program& expected,
                             XdpMode mode) {
    if (expected && expected.fd() < 0) detail::require_loaded(expected, "replace XDP program");
    const int ifindex = iface.index();
    const std::uint32_t mode_flags = detail::xdp_flags(mode);
    return detail::attach_link(
        prog,
        detail::format("{} replacing {}", describe(iface, mode),
                       expected ? detail::format("program '{}'", expected.name())
                                : std::string("nothing")),
        [&]() -> std::function<void()> {
          bpf_xdp_attach_opts opts;
          detail::init_opts(opts);
          std::uint32_t flags = mode_flags;
          if (expected) {
            flags |= XDP_FLAGS_REPLACE;
            opts.old_prog_fd = expected.fd();
          } else {
            flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
          }
          // Our own reference to the program: the detach below checks that
          // it is still the one attached, even after the Object that loaded
          // it is gone.
          auto mine = std::make_shared<detail::UniqueFd>(::fcntl(prog.fd(), F_DUPFD_CLOEXEC, 3));
          if (!*mine) return nullptr;
          const int r = bpf_xdp_attach(ifindex, prog.fd(), flags, &opts);
          if (r < 0) {
            errno = -r;
            return nullptr;
          }
          return [ifindex, mode_flags, mine, name = iface.name()]() noexcept {
            // Detach only our program: a later replace by someone else, or
            // another interface that took this index, is left alone.
            detail::HeldLibbpfLog log;
            bpf_xdp_attach_opts detach;
            detail::init_opts(detach);
            detach.old_prog_fd = mine->get();
            const int r = bpf_xdp_detach(ifindex, mode_flags | XDP_FLAGS_REPLACE, &detach);
            if (r < 0) detail::report_xdp_detach(log, -r, name, ifindex);
          };
        },
        {kernel::Feature::xdp, {}, detail::Op::attach_network});
  }

  int ifindex_ = 0;
  XdpMode mode_ = XdpMode::automatic;
  std::uint32_t prog_id_ = 0;
};

} // namespace ebpfpp
