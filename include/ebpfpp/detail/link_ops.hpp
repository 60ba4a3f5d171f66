#pragma once
// The kernel side of a link's life after attach, for link.hpp's Link and system.hpp: reading a
// link's info into a LinkInfo (link_info.hpp, typed by detail/link_target.hpp), BPF_LINK_UPDATE
// and BPF_LINK_DETACH on a link fd, with the hint that says which link kinds can do what when the
// kernel says no.

#include "config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "../error.hpp"
#include "../link_info.hpp"
#include "uapi.hpp"

namespace ebpfpp::detail {

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
  const std::uint32_t type = raw.type;
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
  // LinkInfo::target<T>() makes the typed target from these where it is asked for.
  addrs.resize(std::min(addrs.size(), std::size_t{raw.kprobe_multi.count}));
  return LinkInfo(LinkRecord{raw, text.c_str(), std::move(addrs)});
}

/// The fixed part of the link's info (type, id, program; no names or paths), without the
/// LinkInfo that describe_link builds. Throws Error.
template <class Describe>
uapi::LinkInfoRaw link_info_raw(int link_fd, Describe&& describe) {
  uapi::LinkInfoRaw raw{};
  std::uint32_t len = sizeof raw;
  check(bpf_obj_get_info_by_fd(link_fd, &raw, &len), describe);
  return raw;
}

/// Swaps the program of the link at `link_fd` for `prog_fd`; with `expected_fd` >= 0, only if the
/// link runs that program now (BPF_F_REPLACE). Throws Error, `describe()` saying what was
/// attempted.
template <class Describe>
void update_link(int link_fd, int prog_fd, int expected_fd, Describe&& describe) {
  bpf_link_update_opts opts;
  init_opts(opts);
  if (expected_fd >= 0) {
    opts.flags = BPF_F_REPLACE;
    opts.old_prog_fd = static_cast<std::uint32_t>(expected_fd);
  }
  LibbpfLog log;
  const int r = bpf_link_update(link_fd, prog_fd, &opts);
  if (r >= 0) return;
  const int err = errno_of(r);
  if (expected_fd >= 0 && err == EPERM)
    throw Error(err, describe(), std::string(hint::link_not_expected), log.take());
  if (err == EINVAL || err == EOPNOTSUPP) {
    // The kernel says EINVAL both for a link kind without update and for a program that does not
    // fit the link: the link's type tells which.
    bool updatable = false;
    try {
      updatable = link_type_updatable(static_cast<int>(link_info_raw(link_fd, describe).type));
    } catch (const Error&) {
      // Not a link the kernel describes (a perf event fd of an older kernel): not updatable.
    }
    throw Error(err, describe(),
                std::string(updatable ? hint::link_update_mismatch : hint::link_not_updatable),
                log.take());
  }
  fail(err, describe, Op::link_update, &log);
}

/// Detaches the link at `link_fd` from its hook, keeping the fd (BPF_LINK_DETACH). Throws Error.
template <class Describe>
void detach_link(int link_fd, Describe&& describe) {
  LibbpfLog log;
  const int r = bpf_link_detach(link_fd);
  if (r >= 0) return;
  const int err = errno_of(r);
  if (err == EOPNOTSUPP || err == EINVAL)
    throw Error(err, describe(), std::string(hint::link_not_detachable), log.take());
  fail(err, describe, Op::link_detach, &log);
}

} // namespace ebpfpp::detail
