#pragma once
/// @file
/// Netfilter: a netfilter program (BPF_PROG_TYPE_NETFILTER) on a netfilter hook of the calling
/// thread's network namespace, beside iptables/nftables rules (a Link: destroying it detaches).
///
///     ebpfpp::Netfilter::prepare(skel.program("drop_udp"));   // before load, with libbpf 1.1
///     skel.load();
///     ebpfpp::Netfilter nf(skel.program("drop_udp"), ebpfpp::NetfilterFamily::ipv4,
///                          ebpfpp::NetfilterHook::local_in, -128);
///
/// The program returns NF_ACCEPT (1) or NF_DROP (0). Its context (struct bpf_nf_ctx) holds the
/// hook state and the sk_buff. The link is a kernel link (BPF_LINK_CREATE with BPF_NETFILTER):
/// it detaches when its last fd closes, even if this process crashes.

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <string_view>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/enum_table.hpp"
#include "detail/format.hpp"
#include "detail/uapi.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// The protocol family whose hook runs the program (NFPROTO_*).
enum class NetfilterFamily : std::uint32_t {
  ipv4 = 2,  ///< NFPROTO_IPV4
  ipv6 = 10, ///< NFPROTO_IPV6
};

/// Where in the packet's path the program runs (NF_INET_*).
enum class NetfilterHook : std::uint32_t {
  pre_routing = 0,  ///< every packet arriving, before the routing decision
  local_in = 1,     ///< packets for this host, after routing
  forward = 2,      ///< packets routed through this host
  local_out = 3,    ///< packets this host sends, before routing
  post_routing = 4, ///< every packet leaving, after routing
};

/// "ipv4" or "ipv6".
constexpr std::string_view to_string(NetfilterFamily f) noexcept {
  return f == NetfilterFamily::ipv4 ? "ipv4" : f == NetfilterFamily::ipv6 ? "ipv6" : "?";
}

/// "pre_routing", "local_in", ...
constexpr std::string_view to_string(NetfilterHook h) noexcept {
  return detail::enum_name(h, {"pre_routing", "local_in", "forward", "local_out", "post_routing"});
}

/// A netfilter program on a hook of the calling thread's network namespace. Kernel 6.4+
/// (CONFIG_NETFILTER_BPF_LINK); `defrag` (reassemble IP fragments before the program sees them)
/// 6.6+. Loading the program needs CAP_NET_ADMIN (and CAP_BPF); the kernel does not check again
/// at attach.
///
/// `priority` orders it among the hook's other functions (iptables/nftables chains, conntrack):
/// lower runs first; NF_IP_PRI_FIRST and NF_IP_PRI_LAST (INT_MIN, INT_MAX) are refused. Several
/// programs may share one hook at different priorities.
///
/// Throws FeatureError below 6.4; Error when the program is not a netfilter program, the family
/// or hook does not exist (EINVAL), or the priority is reserved (ERANGE).
class Netfilter : public Link {
public:
  [[nodiscard]] Netfilter(const Program& prog, NetfilterFamily family, NetfilterHook hook,
                          std::int32_t priority, bool defrag = false)
      : Link(attach(prog, family, hook, priority, defrag)), family_(family), hook_(hook),
        priority_(priority) {}

  /// Marks `prog` a netfilter program (type BPF_PROG_TYPE_NETFILTER, expected attach type
  /// BPF_NETFILTER), before load. libbpf 1.2+ does this itself for SEC("netfilter"); libbpf 1.1
  /// does not know that section and would load the program with no type. Harmless when not
  /// needed. Throws Error on an empty Program or after load.
  static void prepare(const Program& prog) {
    const auto action = [&] {
      return detail::format("make program '{}' a netfilter program",
                            prog ? prog.name() : "<empty>");
    };
    if (!prog) throw Error(EBADF, action(), std::string(detail::hint::empty_view));
    detail::check(bpf_program__set_type(
                      prog.get(), static_cast<bpf_prog_type>(detail::uapi::prog_type_netfilter)),
                  action);
    detail::check(bpf_program__set_expected_attach_type(
                      prog.get(), static_cast<bpf_attach_type>(detail::uapi::attach_netfilter)),
                  action);
  }

  NetfilterFamily family() const noexcept { return family_; }
  NetfilterHook hook() const noexcept { return hook_; }
  std::int32_t priority() const noexcept { return priority_; }

private:
  static Link attach(const Program& prog, NetfilterFamily family, NetfilterHook hook,
                     std::int32_t priority, bool defrag) {
    return detail::attach_link(
        prog,
        detail::format("netfilter {} {} priority {}{}", to_string(family), to_string(hook),
                       priority, defrag ? " (defrag)" : ""),
        [&] {
          // libbpf 1.1 (Debian 12) can neither attach netfilter programs nor fill
          // bpf_link_create_opts for them: the raw BPF_LINK_CREATE, as for tcx.
          return detail::uapi::link_create_netfilter(
              prog.fd(), static_cast<std::uint32_t>(family), static_cast<std::uint32_t>(hook),
              priority, defrag ? detail::uapi::netfilter_ip_defrag : 0);
        },
        {kernel::Feature::netfilter, std::string(detail::hint::no_netfilter),
         detail::Op::attach_network});
  }

  NetfilterFamily family_;
  NetfilterHook hook_;
  std::int32_t priority_;
};

} // namespace ebpfpp
