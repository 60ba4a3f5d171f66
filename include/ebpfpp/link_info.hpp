#pragma once
/// @file
/// LinkInfo: what the kernel says about a link (BPF_OBJ_GET_INFO_BY_FD): its id, type, program,
/// and, typed by link type, what it is attached to (a tracepoint's name, a uprobe's path and
/// offset, a cgroup's id, an interface's index, ...). Link::info() and all_links() return it.
///
///     const ebpfpp::LinkInfo info = xdp.info();
///     if (const auto x = info.target<ebpfpp::links::Xdp>())  // nullopt: not an XDP link
///       fmt::print("XDP link {} on ifindex {}\n", info.id, x->ifindex);
///     if (info.detached()) ...   // detach() was called, or its interface or cgroup is gone
///
/// Each kernel fills what it knows: links are described since 5.8; perf-event links (tracepoint,
/// kprobe, uprobe, perf event) name their target since 6.6, tcx and netkit links since 6.6/6.7;
/// an older kernel gives no target (has_target() is false), or zeroes, for what it does not
/// describe.

#include "detail/config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "detail/format.hpp"
#include "detail/link_target.hpp"
#include "detail/uapi.hpp"
#include "error.hpp"

namespace ebpfpp {

/// What a link is attached to, one type per link type (the members the kernel reports):
/// LinkInfo::target<T>() gives the one its link has.
namespace links {
/// BPF_LINK_TYPE_RAW_TRACEPOINT: RawTracepoint, tp_btf.
struct RawTracepoint {
  std::string name; ///< "sys_enter"
  std::uint64_t cookie = 0;
};
/// BPF_LINK_TYPE_TRACING: fentry, fexit, fmod_ret, LSM, freplace.
struct Tracing {
  bpf_attach_type attach_type{};
  std::uint32_t target_obj_id = 0; ///< the BTF object (vmlinux, a module, a program)
  std::uint32_t target_btf_id = 0; ///< the function's BTF type id in it
  std::uint64_t cookie = 0;
};
/// BPF_LINK_TYPE_CGROUP. cgroup_id is 0 once detached (or the cgroup is gone).
struct Cgroup {
  std::uint64_t cgroup_id = 0; ///< the cgroup directory's inode number
  bpf_attach_type attach_type{};
};
/// BPF_LINK_TYPE_ITER: a BPF iterator.
struct Iterator {
  std::string target;          ///< "task", "bpf_map_elem", ...
  std::uint32_t map_id = 0;    ///< the map, for map iterators
  std::uint64_t cgroup_id = 0; ///< the cgroup, for cgroup iterators
  std::uint32_t pid = 0;       ///< the process, for task iterators limited to one
};
/// BPF_LINK_TYPE_NETNS: flow dissector, sk_lookup. netns_ino is 0 once detached.
struct Netns {
  std::uint32_t netns_ino = 0; ///< the namespace file's inode (stat /proc/self/ns/net)
  bpf_attach_type attach_type{};
};
/// BPF_LINK_TYPE_XDP. ifindex is 0 once detached (or the interface is gone).
struct Xdp {
  int ifindex = 0;
};
/// BPF_LINK_TYPE_STRUCT_OPS.
struct StructOps {
  std::uint32_t map_id = 0;
};
/// BPF_LINK_TYPE_NETFILTER.
struct Netfilter {
  std::uint32_t protocol_family = 0; ///< NFPROTO_IPV4, NFPROTO_IPV6
  std::uint32_t hook = 0;            ///< NF_INET_LOCAL_IN, ...
  std::int32_t priority = 0;
  std::uint32_t flags = 0;
};
/// BPF_LINK_TYPE_KPROBE_MULTI (6.6+ describes it): the functions' addresses (zero without
/// CAP_SYSLOG or with kptr_restrict).
struct KprobeMulti {
  std::vector<std::uint64_t> addresses;
  bool retprobe = false;
  std::uint64_t missed = 0;
};
/// BPF_LINK_TYPE_UPROBE_MULTI (6.8+ describes it).
struct UprobeMulti {
  std::string path;
  std::uint32_t count = 0; ///< how many offsets
  bool retprobe = false;
  std::uint32_t pid = 0;
};
/// A perf-event link on a tracepoint (6.6+ describes it).
struct Tracepoint {
  std::string name; ///< the event's name, without its category: "sys_enter_execve"
  std::uint64_t cookie = 0;
};
/// A perf-event link on a kprobe or kretprobe (6.6+ describes it).
struct Kprobe {
  std::string function;
  std::uint32_t offset = 0;
  std::uint64_t address = 0; ///< 0 without CAP_SYSLOG or with kptr_restrict
  bool retprobe = false;
  std::uint64_t missed = 0;
  std::uint64_t cookie = 0;
};
/// A perf-event link on a uprobe or uretprobe (6.6+ describes it).
struct Uprobe {
  std::string path;
  std::uint32_t offset = 0; ///< the file offset in `path`
  bool retprobe = false;
  std::uint64_t cookie = 0;
};
/// A perf-event link on a perf event (PerfEvent: a software or hardware counter; 6.6+).
struct PerfEvent {
  /// PERF_TYPE_SOFTWARE, ... as the kernel keeps it, which need not be the type asked for:
  /// measured on 6.18, a cpu-clock event reports type 6 (a PMU of its own), not
  /// PERF_TYPE_SOFTWARE; a context-switches event reports PERF_TYPE_SOFTWARE.
  std::uint32_t type = 0;
  std::uint64_t config = 0;
  std::uint64_t cookie = 0;
};
/// BPF_LINK_TYPE_TCX (6.6+). ifindex is 0 once detached.
struct Tcx {
  int ifindex = 0;
  bpf_attach_type attach_type{}; ///< BPF_TCX_INGRESS (46) or BPF_TCX_EGRESS (47)
  bool ingress() const noexcept {
    return static_cast<int>(attach_type) == detail::uapi::attach_tcx_ingress;
  }
};
/// BPF_LINK_TYPE_NETKIT (6.7+). ifindex is 0 once detached.
struct Netkit {
  int ifindex = 0;
  bpf_attach_type attach_type{}; ///< BPF_NETKIT_PRIMARY (54) or BPF_NETKIT_PEER (55)
  bool peer() const noexcept {
    return static_cast<int>(attach_type) == detail::uapi::attach_netkit_peer;
  }
};
/// BPF_LINK_TYPE_SOCKMAP (6.10+).
struct Sockmap {
  std::uint32_t map_id = 0;
  bpf_attach_type attach_type{};
};
} // namespace links

/// A link as the kernel describes it (kernel 5.8+): Link::info() and all_links() make it.
class LinkInfo {
public:
  std::uint32_t id = 0;
  bpf_link_type type = BPF_LINK_TYPE_UNSPEC;
  /// The program it runs (after Link::update, the new one).
  std::uint32_t program_id = 0;

  LinkInfo() = default;
  /// From what the kernel said (detail::describe_link reads it).
  explicit LinkInfo(detail::LinkRecord record)
      : id(record.raw.id), type(static_cast<bpf_link_type>(record.raw.type)),
        program_id(record.raw.prog_id), record_(std::move(record)) {}

  /// What it is attached to, as T, the type of links:: that its link type has (links::Xdp for
  /// an XDP link, links::Uprobe for a perf-event link on a uprobe, ...); nullopt for any other
  /// T, and when the kernel does not say (see has_target()).
  template <class T>
  std::optional<T> target() const {
    return detail::link_target<T>(record_);
  }
  /// Whether the kernel described what it is attached to: false on an older kernel, for a
  /// perf-event link before 6.6, or for a link type newer than this library.
  bool has_target() const noexcept { return detail::link_target_known(record_.raw); }

  /// "tracing", "xdp", ... as bpftool spells the type.
  std::string type_name() const {
    const char* s = libbpf_bpf_link_type_str(type);
    if (s) return s;
    switch (static_cast<int>(type)) { // newer than libbpf 1.1's names
    case detail::uapi::link_type_netfilter:
      return "netfilter";
    case detail::uapi::link_type_tcx:
      return "tcx";
    case detail::uapi::link_type_uprobe_multi:
      return "uprobe_multi";
    case detail::uapi::link_type_netkit:
      return "netkit";
    case detail::uapi::link_type_sockmap:
      return "sockmap";
    default:
      return detail::format("type {}", static_cast<int>(type));
    }
  }
  /// Whether the kernel says it is attached to nothing now: a cgroup, netns, XDP, tcx, netkit,
  /// struct_ops or sockmap link after BPF_LINK_DETACH (Link::detach) or after its cgroup,
  /// namespace or interface went (its target's cgroup_id, netns_ino, ifindex or map_id is 0).
  /// Other link types do not tell (false).
  bool detached() const noexcept { return detail::link_detached(record_.raw); }

private:
  detail::LinkRecord record_; // the raw info, read into a target type where asked
};

} // namespace ebpfpp
