#pragma once
/// @file
/// Netkit: a TC program on a netkit device, the veth replacement made for BPF (kernel 6.7+).
/// A netkit pair is a primary device (in the host's namespace, usually) and its peer (in a
/// container's); programs attached to either run when that device sends, before the packet
/// reaches the other side, with no qdisc or tcx hook on the way. The peer's programs are
/// attached through the primary, so a container cannot remove them from inside.
///
///     ebpfpp::Netkit out(skel.program("count"), "nk0", ebpfpp::NetkitSide::primary);
///     ebpfpp::Netkit in(skel.program("count"), "nk0", ebpfpp::NetkitSide::peer);
///     ebpfpp::Netkit audit(skel.program("audit"), "nk0", ebpfpp::NetkitSide::peer,
///                          ebpfpp::TcxAnchor::before(in));     // runs before `in`
///
/// A program returns NETKIT_NEXT (-1) to let the next one run, NETKIT_PASS (0) to pass the
/// packet, NETKIT_DROP (2) to drop it, NETKIT_REDIRECT (7) after bpf_redirect(); after the last
/// program NETKIT_NEXT means the device's policy (pass, unless it was made with `policy
/// blackhole`). Programs are ordered as on tcx, with TcxAnchor. The link is a kernel link: it
/// detaches when its last fd closes, and it goes with its device.

#include "detail/config.hpp"

#include <cerrno>
#include <string>
#include <string_view>

#include "detail/format.hpp"
#include "detail/uapi.hpp"
#include "error.hpp"
#include "interface.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"
#include "tc.hpp"

namespace ebpfpp {

/// Which device of the pair runs the program: the primary (when it sends to the peer) or the
/// peer (when it sends to the primary).
enum class NetkitSide { primary, peer };

/// "primary" or "peer".
constexpr std::string_view to_string(NetkitSide s) noexcept {
  return s == NetkitSide::primary ? "primary" : "peer";
}

/// A TC program (SEC("tc")) on a netkit pair's primary or peer. Kernel 6.7+ with CONFIG_NETKIT.
/// `primary` names the pair's primary device, in the calling thread's network namespace, for
/// either side. Needs CAP_NET_ADMIN (and CAP_BPF).
///
/// Throws FeatureError below 6.7 or without CONFIG_NETKIT; Error when the interface is not a
/// netkit device (ENXIO) or is the peer rather than the primary (EACCES), the program is not a
/// TC program (EINVAL), the anchor is not on the same side (ENOENT), or the revision moved
/// (ESTALE).
class Netkit : public Link {
public:
  /// (A template over a parameter nobody gives, as attach() below: a file that includes this
  /// header and attaches to no netkit device compiles neither.)
  template <class = void>
  [[nodiscard]] Netkit(const Program& prog, const Interface& primary, NetkitSide side,
                       const TcxAnchor& anchor = TcxAnchor::last())
      : Link(attach(prog, primary, side, anchor)), ifindex_(primary.index()), side_(side) {}

  /// The primary device's index (whichever side the program runs on).
  int ifindex() const noexcept { return ifindex_; }
  NetkitSide side() const noexcept { return side_; }

private:
  template <class = void>
  static Link attach(const Program& prog, const Interface& primary, NetkitSide side,
                     const TcxAnchor& anchor) {
    std::string description =
        detail::format("netkit {} of '{}' (ifindex {}), {}", to_string(side), primary.name(),
                       primary.index(), anchor.description());
    try {
      return detail::attach_link(
          prog, description,
          [&] {
            // libbpf 1.1 (Debian 12) knows no netkit links: the raw BPF_LINK_CREATE, as for tcx.
            return detail::uapi::link_create_netkit(prog.fd(), primary.index(),
                                                    side == NetkitSide::peer, anchor.flags(),
                                                    anchor.relative_fd(), anchor.revision());
          },
          {kernel::Feature::netkit, std::string(detail::hint::no_netkit),
           detail::Op::attach_network});
    } catch (const FeatureError&) {
      throw;
    } catch (const Error& e) {
      // Two refusals only netkit gives, whose usual meaning elsewhere would mislead.
      if (e.errnum() == ENXIO) throw Error(ENXIO, e.action(), std::string(detail::hint::not_netkit));
      if (e.errnum() == EACCES)
        throw Error(EACCES, e.action(), std::string(detail::hint::netkit_peer_named));
      throw;
    }
  }

  int ifindex_ = 0;
  NetkitSide side_ = NetkitSide::primary;
};

} // namespace ebpfpp
