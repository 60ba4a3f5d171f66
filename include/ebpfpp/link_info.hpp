#pragma once
/// @file
/// LinkInfo: what the kernel says about a link (BPF_OBJ_GET_INFO_BY_FD): its id, type, program,
/// and, typed by link type, what it is attached to (a tracepoint's name, a uprobe's path and
/// offset, a cgroup's id, an interface's index, ...). Link::info() and all_links() return it.
///
///     const ebpfpp::LinkInfo info = xdp.info();
///     if (const auto* x = std::get_if<ebpfpp::links::Xdp>(&info.target))
///       fmt::print("XDP link {} on ifindex {}\n", info.id, x->ifindex);
///     if (info.detached()) ...   // detach() was called, or its interface or cgroup is gone
///
/// Each kernel fills what it knows: links are described since 5.8; perf-event links (tracepoint,
/// kprobe, uprobe, perf event) name their target since 6.6, tcx and netkit links since 6.6/6.7;
/// an older kernel gives a target of std::monostate, or zeroes, for what it does not describe.

#include "detail/config.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "detail/format.hpp"
#include "detail/uapi.hpp"
#include "error.hpp"

namespace ebpfpp {

/// What a link is attached to, one type per link type (the members the kernel reports).
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

/// What a link is attached to: std::monostate when the kernel does not say (an older kernel, a
/// perf-event link before 6.6, a link type newer than this library).
using LinkTarget =
    std::variant<std::monostate, links::RawTracepoint, links::Tracing, links::Cgroup,
                 links::Iterator, links::Netns, links::Xdp, links::StructOps, links::Netfilter,
                 links::KprobeMulti, links::UprobeMulti, links::Tracepoint, links::Kprobe,
                 links::Uprobe, links::PerfEvent, links::Tcx, links::Netkit, links::Sockmap>;

/// A link as the kernel describes it (kernel 5.8+).
struct LinkInfo {
  std::uint32_t id = 0;
  bpf_link_type type = BPF_LINK_TYPE_UNSPEC;
  /// The program it runs (after Link::update, the new one).
  std::uint32_t program_id = 0;
  /// What it is attached to, typed by `type`.
  LinkTarget target;
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
  /// namespace or interface went. Other link types do not tell (false).
  bool detached() const noexcept {
    if (const auto* c = std::get_if<links::Cgroup>(&target)) return c->cgroup_id == 0;
    if (const auto* n = std::get_if<links::Netns>(&target)) return n->netns_ino == 0;
    if (const auto* x = std::get_if<links::Xdp>(&target)) return x->ifindex == 0;
    if (const auto* t = std::get_if<links::Tcx>(&target)) return t->ifindex == 0;
    if (const auto* k = std::get_if<links::Netkit>(&target)) return k->ifindex == 0;
    if (const auto* o = std::get_if<links::StructOps>(&target)) return o->map_id == 0;
    if (const auto* m = std::get_if<links::Sockmap>(&target)) return m->map_id == 0;
    return false;
  }
};

namespace detail {

/// Whether the kernel can swap the program of a link of this type (BPF_LINK_UPDATE: the link
/// type has update_prog): cgroup, iterator, netns, XDP, tcx, netkit, sockmap.
constexpr bool link_type_updatable(int type) noexcept {
  return type == BPF_LINK_TYPE_CGROUP || type == BPF_LINK_TYPE_ITER ||
         type == BPF_LINK_TYPE_NETNS || type == BPF_LINK_TYPE_XDP ||
         type == detail::uapi::link_type_tcx || type == detail::uapi::link_type_netkit ||
         type == detail::uapi::link_type_sockmap;
}

/// Reads a link's info, names and paths included, from its fd. Throws Error.
template <class Describe>
LinkInfo describe_link(int fd, Describe&& describe) {
  using detail::uapi::LinkInfoRaw;
  std::string text(4096, '\0'); // a name or a path: PATH_MAX at most
  const auto buffer = reinterpret_cast<std::uint64_t>(text.data());
  const auto size = static_cast<std::uint32_t>(text.size());
  LinkInfoRaw raw{};
  std::uint32_t len = sizeof raw;
  // The first call says the type, the second gives the buffers the type's members need.
  check(bpf_obj_get_info_by_fd(fd, &raw, &len), describe);
  std::vector<std::uint64_t> addrs;
  const std::uint32_t type = raw.type, perf_kind = raw.perf_event.type;
  const std::uint32_t kprobe_count = raw.kprobe_multi.count;
  raw = LinkInfoRaw{};
  switch (static_cast<int>(type)) {
  case BPF_LINK_TYPE_RAW_TRACEPOINT:
    raw.raw_tracepoint.tp_name = buffer, raw.raw_tracepoint.tp_name_len = size;
    break;
  case BPF_LINK_TYPE_ITER:
    raw.iter.target_name = buffer, raw.iter.target_name_len = size;
    break;
  case BPF_LINK_TYPE_KPROBE_MULTI:
    addrs.resize(kprobe_count);
    raw.kprobe_multi.addrs = reinterpret_cast<std::uint64_t>(addrs.data());
    raw.kprobe_multi.count = kprobe_count;
    break;
  case detail::uapi::link_type_uprobe_multi:
    raw.uprobe_multi.path = buffer, raw.uprobe_multi.path_size = size;
    break;
  case BPF_LINK_TYPE_PERF_EVENT:
    // file_name, func_name and tp_name are the same member of each kind.
    raw.perf_event.uprobe.file_name = buffer, raw.perf_event.uprobe.name_len = size;
    break;
  default:
    break;
  }
  len = sizeof raw;
  check(bpf_obj_get_info_by_fd(fd, &raw, &len), describe);
  const std::string str = text.c_str();
  LinkInfo info{raw.id, static_cast<bpf_link_type>(raw.type), raw.prog_id, {}};
  const auto attach = [](std::uint32_t t) { return static_cast<bpf_attach_type>(t); };
  switch (static_cast<int>(type)) {
  case BPF_LINK_TYPE_RAW_TRACEPOINT:
    info.target = links::RawTracepoint{str, raw.raw_tracepoint.cookie};
    break;
  case BPF_LINK_TYPE_TRACING:
    info.target = links::Tracing{attach(raw.tracing.attach_type), raw.tracing.target_obj_id,
                                 raw.tracing.target_btf_id, raw.tracing.cookie};
    break;
  case BPF_LINK_TYPE_CGROUP:
    info.target = links::Cgroup{raw.cgroup.cgroup_id, attach(raw.cgroup.attach_type)};
    break;
  case BPF_LINK_TYPE_ITER:
    // The last member is the cgroup's or the task's, by the target.
    info.target = links::Iterator{str, raw.iter.map_id,
                                  str == "cgroup" ? raw.iter.cgroup.cgroup_id : 0,
                                  str.starts_with("task") ? raw.iter.task.pid : 0};
    break;
  case BPF_LINK_TYPE_NETNS:
    info.target = links::Netns{raw.netns.netns_ino, attach(raw.netns.attach_type)};
    break;
  case BPF_LINK_TYPE_XDP:
    info.target = links::Xdp{static_cast<int>(raw.xdp.ifindex)};
    break;
  case BPF_LINK_TYPE_STRUCT_OPS:
    info.target = links::StructOps{raw.struct_ops.map_id};
    break;
  case detail::uapi::link_type_netfilter:
    info.target = links::Netfilter{raw.netfilter.pf, raw.netfilter.hooknum,
                                   raw.netfilter.priority, raw.netfilter.flags};
    break;
  case BPF_LINK_TYPE_KPROBE_MULTI:
    addrs.resize(std::min(addrs.size(), std::size_t{raw.kprobe_multi.count}));
    info.target = links::KprobeMulti{std::move(addrs), (raw.kprobe_multi.flags & 1u) != 0,
                                     raw.kprobe_multi.missed};
    break;
  case detail::uapi::link_type_uprobe_multi:
    info.target = links::UprobeMulti{str, raw.uprobe_multi.count,
                                     (raw.uprobe_multi.flags & 1u) != 0, raw.uprobe_multi.pid};
    break;
  case BPF_LINK_TYPE_PERF_EVENT: {
    const auto& pe = raw.perf_event;
    switch (perf_kind) {
    case detail::uapi::perf_event_uprobe:
    case detail::uapi::perf_event_uretprobe:
      info.target = links::Uprobe{str, pe.uprobe.offset,
                                  perf_kind == detail::uapi::perf_event_uretprobe,
                                  pe.uprobe.cookie};
      break;
    case detail::uapi::perf_event_kprobe:
    case detail::uapi::perf_event_kretprobe:
      info.target = links::Kprobe{str,
                                  pe.kprobe.offset,
                                  pe.kprobe.addr,
                                  perf_kind == detail::uapi::perf_event_kretprobe,
                                  pe.kprobe.missed,
                                  pe.kprobe.cookie};
      break;
    case detail::uapi::perf_event_tracepoint:
      info.target = links::Tracepoint{str, pe.tracepoint.cookie};
      break;
    case detail::uapi::perf_event_event:
      info.target = links::PerfEvent{pe.event.type, pe.event.config, pe.event.cookie};
      break;
    default:
      break;
    }
    break;
  }
  case detail::uapi::link_type_tcx:
    info.target = links::Tcx{static_cast<int>(raw.tcx.ifindex), attach(raw.tcx.attach_type)};
    break;
  case detail::uapi::link_type_netkit:
    info.target =
        links::Netkit{static_cast<int>(raw.netkit.ifindex), attach(raw.netkit.attach_type)};
    break;
  case detail::uapi::link_type_sockmap:
    info.target = links::Sockmap{raw.sockmap.map_id, attach(raw.sockmap.attach_type)};
    break;
  default:
    break;
  }
  return info;
}

} // namespace detail
} // namespace ebpfpp
