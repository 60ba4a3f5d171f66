#pragma once
/// @file
/// SkLookup: an sk_lookup program attached to a network namespace (a Link: destroying it
/// detaches). It runs when the kernel looks for the socket an incoming TCP connection or UDP
/// datagram goes to, and may pick the socket itself (bpf_sk_assign) from a SockMap/SockHash:
/// one socket can then serve many ports or addresses, with nothing listening on them.
///
///     ebpfpp::SkLookup here(skel.program("steer"));                      // this thread's netns
///     ebpfpp::SkLookup there(skel.program("steer"), "/run/netns/blue");  // by path
///     auto by_fd = ebpfpp::SkLookup::from_fd(skel.program("steer"), netns_fd);
///
/// The link is a kernel link: it detaches when its last fd closes, even if this process crashes.
/// Several sk_lookup programs may be attached to one namespace; they run in attach order.

#include "detail/config.hpp"

#include <cerrno>
#include <filesystem>
#include <string>

#include <bpf/libbpf.h>

#include "detail/format.hpp"
#include "detail/netns.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// An sk_lookup program (SEC("sk_lookup"), BPF_PROG_TYPE_SK_LOOKUP) attached to a network
/// namespace. Kernel 5.9+. Loading the program needs CAP_NET_ADMIN (and CAP_BPF); the kernel
/// does not check again at attach.
///
/// Throws Error: the namespace path is missing or not a network namespace (naming it), the
/// program is not an sk_lookup program (EINVAL); FeatureError below 5.9.
class SkLookup : public Link {
public:
  /// In the calling thread's network namespace (/proc/thread-self/ns/net).
  [[nodiscard]] explicit SkLookup(const Program& prog)
      : SkLookup(prog, "/proc/thread-self/ns/net") {}
  /// In the namespace at `netns_path`: /run/netns/<name> (ip netns), /proc/<pid>/ns/net.
  [[nodiscard]] SkLookup(const Program& prog, const std::filesystem::path& netns_path)
      : Link(detail::attach_netns(prog, netns_path, hook)) {}

  /// In the namespace open at `netns_fd` (not taken over: close it when you like).
  [[nodiscard]] static SkLookup from_fd(const Program& prog, int netns_fd) {
    return SkLookup(detail::attach_netns(prog, netns_fd, hook));
  }

private:
  explicit SkLookup(Link link) : Link(std::move(link)) {}

  static constexpr detail::NetnsHook hook{"sk_lookup", "sk_lookup program",
                                          kernel::Feature::sk_lookup};
};

} // namespace ebpfpp
