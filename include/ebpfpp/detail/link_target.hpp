#pragma once
// How LinkInfo (link_info.hpp) keeps what the kernel said about a link and makes its typed
// targets (the types of links::) from it: the raw struct bpf_link_info, with the name or path
// and kprobe.multi's addresses read beside it, turned into one target type at a time where
// LinkInfo::target<T>() is called. Why not a std::variant of the seventeen target types, made
// when the link is read: its constructors, assignments and visits were instantiated in every file
// that includes a link header (a fifth of clang's time for the umbrella), used or not; a template
// over the one type asked for costs nothing until it is called.

#include "config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <linux/bpf.h>

#include "uapi.hpp"

namespace ebpfpp::links { // defined in link_info.hpp
struct RawTracepoint;
struct Tracing;
struct Cgroup;
struct Iterator;
struct Netns;
struct Xdp;
struct StructOps;
struct Netfilter;
struct KprobeMulti;
struct UprobeMulti;
struct Tracepoint;
struct Kprobe;
struct Uprobe;
struct PerfEvent;
struct Tcx;
struct Netkit;
struct Sockmap;
} // namespace ebpfpp::links

namespace ebpfpp::detail {

/// What the kernel said about a link (BPF_OBJ_GET_INFO_BY_FD), as describe_link read it.
struct LinkRecord {
  uapi::LinkInfoRaw raw{}; // its pointers (to the buffers below, as they were) are not used
  std::string text;        // the name or path the link type has, "" for none
  std::vector<std::uint64_t> addresses; // kprobe.multi's functions
};

/// Whether the kernel described the link's target: a link type this library knows and, for a
/// perf-event link, a kind it names (6.6+ says which; before, the kind reads 0).
constexpr bool link_target_known(const uapi::LinkInfoRaw& raw) noexcept {
  if (raw.type == BPF_LINK_TYPE_PERF_EVENT)
    return raw.perf_event.type >= uapi::perf_event_uprobe &&
           raw.perf_event.type <= uapi::perf_event_event;
  return raw.type > BPF_LINK_TYPE_UNSPEC && static_cast<int>(raw.type) <= uapi::link_type_sockmap;
}

/// Whether the kernel says the link is attached to nothing now (LinkInfo::detached): the link
/// types whose hook the kernel forgets on BPF_LINK_DETACH or when the hook goes.
constexpr bool link_detached(const uapi::LinkInfoRaw& raw) noexcept {
  switch (static_cast<int>(raw.type)) {
  case BPF_LINK_TYPE_CGROUP:
    return raw.cgroup.cgroup_id == 0;
  case BPF_LINK_TYPE_NETNS:
    return raw.netns.netns_ino == 0;
  case BPF_LINK_TYPE_XDP:
    return raw.xdp.ifindex == 0;
  case uapi::link_type_tcx:
    return raw.tcx.ifindex == 0;
  case uapi::link_type_netkit:
    return raw.netkit.ifindex == 0;
  case BPF_LINK_TYPE_STRUCT_OPS:
    return raw.struct_ops.map_id == 0;
  case uapi::link_type_sockmap:
    return raw.sockmap.map_id == 0;
  default:
    return false;
  }
}

constexpr bpf_attach_type attach_type_of(std::uint32_t t) noexcept {
  return static_cast<bpf_attach_type>(t);
}
// A perf-event link of one of these kinds (raw.perf_event.type).
constexpr bool perf_link_of(const uapi::LinkInfoRaw& raw, std::uint32_t kind,
                            std::uint32_t return_kind) noexcept {
  return raw.type == BPF_LINK_TYPE_PERF_EVENT &&
         (raw.perf_event.type == kind || raw.perf_event.type == return_kind);
}

template <class T>
inline constexpr bool not_a_link_target = false;

/// The link's target as T when T is its link type's (and kind's) target type, else nullopt.
template <class T>
std::optional<T> link_target(const LinkRecord& r) {
  const uapi::LinkInfoRaw& raw = r.raw;
  const int type = static_cast<int>(raw.type);
  const auto& pe = raw.perf_event;
  if constexpr (std::is_same_v<T, links::RawTracepoint>) {
    if (type == BPF_LINK_TYPE_RAW_TRACEPOINT) return T{r.text, raw.raw_tracepoint.cookie};
  } else if constexpr (std::is_same_v<T, links::Tracing>) {
    if (type == BPF_LINK_TYPE_TRACING)
      return T{attach_type_of(raw.tracing.attach_type), raw.tracing.target_obj_id,
               raw.tracing.target_btf_id, raw.tracing.cookie};
  } else if constexpr (std::is_same_v<T, links::Cgroup>) {
    if (type == BPF_LINK_TYPE_CGROUP)
      return T{raw.cgroup.cgroup_id, attach_type_of(raw.cgroup.attach_type)};
  } else if constexpr (std::is_same_v<T, links::Iterator>) {
    // The last member is the cgroup's or the task's, by the target.
    if (type == BPF_LINK_TYPE_ITER)
      return T{r.text, raw.iter.map_id, r.text == "cgroup" ? raw.iter.cgroup.cgroup_id : 0,
               r.text.starts_with("task") ? raw.iter.task.pid : 0};
  } else if constexpr (std::is_same_v<T, links::Netns>) {
    if (type == BPF_LINK_TYPE_NETNS)
      return T{raw.netns.netns_ino, attach_type_of(raw.netns.attach_type)};
  } else if constexpr (std::is_same_v<T, links::Xdp>) {
    if (type == BPF_LINK_TYPE_XDP) return T{static_cast<int>(raw.xdp.ifindex)};
  } else if constexpr (std::is_same_v<T, links::StructOps>) {
    if (type == BPF_LINK_TYPE_STRUCT_OPS) return T{raw.struct_ops.map_id};
  } else if constexpr (std::is_same_v<T, links::Netfilter>) {
    if (type == uapi::link_type_netfilter)
      return T{raw.netfilter.pf, raw.netfilter.hooknum, raw.netfilter.priority,
               raw.netfilter.flags};
  } else if constexpr (std::is_same_v<T, links::KprobeMulti>) {
    if (type == BPF_LINK_TYPE_KPROBE_MULTI)
      return T{r.addresses, (raw.kprobe_multi.flags & 1u) != 0, raw.kprobe_multi.missed};
  } else if constexpr (std::is_same_v<T, links::UprobeMulti>) {
    if (type == uapi::link_type_uprobe_multi)
      return T{r.text, raw.uprobe_multi.count, (raw.uprobe_multi.flags & 1u) != 0,
               raw.uprobe_multi.pid};
  } else if constexpr (std::is_same_v<T, links::Uprobe>) {
    if (perf_link_of(raw, uapi::perf_event_uprobe, uapi::perf_event_uretprobe))
      return T{r.text, pe.uprobe.offset, pe.type == uapi::perf_event_uretprobe, pe.uprobe.cookie};
  } else if constexpr (std::is_same_v<T, links::Kprobe>) {
    if (perf_link_of(raw, uapi::perf_event_kprobe, uapi::perf_event_kretprobe))
      return T{r.text,           pe.kprobe.offset,
               pe.kprobe.addr,   pe.type == uapi::perf_event_kretprobe,
               pe.kprobe.missed, pe.kprobe.cookie};
  } else if constexpr (std::is_same_v<T, links::Tracepoint>) {
    if (perf_link_of(raw, uapi::perf_event_tracepoint, uapi::perf_event_tracepoint))
      return T{r.text, pe.tracepoint.cookie};
  } else if constexpr (std::is_same_v<T, links::PerfEvent>) {
    if (perf_link_of(raw, uapi::perf_event_event, uapi::perf_event_event))
      return T{pe.event.type, pe.event.config, pe.event.cookie};
  } else if constexpr (std::is_same_v<T, links::Tcx>) {
    if (type == uapi::link_type_tcx)
      return T{static_cast<int>(raw.tcx.ifindex), attach_type_of(raw.tcx.attach_type)};
  } else if constexpr (std::is_same_v<T, links::Netkit>) {
    if (type == uapi::link_type_netkit)
      return T{static_cast<int>(raw.netkit.ifindex), attach_type_of(raw.netkit.attach_type)};
  } else if constexpr (std::is_same_v<T, links::Sockmap>) {
    if (type == uapi::link_type_sockmap)
      return T{raw.sockmap.map_id, attach_type_of(raw.sockmap.attach_type)};
  } else {
    static_assert(not_a_link_target<T>, "LinkInfo::target<T>: T is one of ebpfpp::links::");
  }
  return std::nullopt;
}

} // namespace ebpfpp::detail
