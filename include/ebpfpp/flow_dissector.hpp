#pragma once
/// @file
/// FlowDissector: a flow dissector program attached to a network namespace (a Link: destroying
/// it detaches). The kernel asks it, instead of its own C dissector, for the flow keys of the
/// namespace's packets (addresses, ports, protocol, header offsets) wherever it needs them:
/// the hash of RPS and of packet fanout, fq/fq_codel classification, tc flower, GRO of some
/// tunnels. A program that understands a protocol the kernel does not (an in-house
/// encapsulation) spreads such traffic by its inner flows.
///
///     ebpfpp::FlowDissector here(skel.program("dissect"));                  // this thread's netns
///     ebpfpp::FlowDissector there(skel.program("dissect"), "/run/netns/blue");
///
/// The program (SEC("flow_dissector"), BPF_PROG_TYPE_FLOW_DISSECTOR) fills skb->flow_keys
/// from the packet at flow_keys->nhoff and returns BPF_OK, or BPF_DROP for a packet it cannot
/// dissect (the kernel then has no keys for it). Try one with Program::test_run on a packet
/// first: the run returns the keys it filled (TestRun().data_out(sizeof(bpf_flow_keys))).
///
/// One flow dissector per namespace; one in the initial namespace serves every namespace, and
/// then no other namespace may have its own. A kernel link: it detaches when its last fd closes.

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

/// A flow dissector program attached to a network namespace. Kernel 5.8+ (as a link; the
/// program type is 4.20's). Needs CAP_NET_ADMIN (and CAP_BPF) at load.
///
/// Throws Error: the namespace path is missing or not a network namespace (naming it); the
/// program is not a flow dissector program (EINVAL); the namespace has a flow dissector already
/// (E2BIG), or the initial one has (EEXIST); FeatureError below 5.8.
class FlowDissector : public Link {
public:
  /// In the calling thread's network namespace (/proc/thread-self/ns/net).
  [[nodiscard]] explicit FlowDissector(const Program& prog)
      : FlowDissector(prog, "/proc/thread-self/ns/net") {}
  /// In the namespace at `netns_path`: /run/netns/<name> (ip netns), /proc/<pid>/ns/net.
  [[nodiscard]] FlowDissector(const Program& prog, const std::filesystem::path& netns_path)
      : Link(detail::attach_netns(prog, netns_path, hook)) {}

  /// In the namespace open at `netns_fd` (not taken over: close it when you like).
  [[nodiscard]] static FlowDissector from_fd(const Program& prog, int netns_fd) {
    return FlowDissector(detail::attach_netns(prog, netns_fd, hook));
  }

private:
  explicit FlowDissector(Link link) : Link(std::move(link)) {}

  // One per namespace: the table's hints for E2BIG and EEXIST are about other hooks.
  static constexpr detail::NetnsHook hook{"flow dissector", "flow dissector",
                                          kernel::Feature::flow_dissector,
                                          detail::hint::flow_dissector_taken};
};

} // namespace ebpfpp
