#pragma once
/// @file
/// What is attached on a hook, whoever attached it: the XDP programs of an interface, the tcx
/// programs of an interface's ingress or egress in the order they run, the programs of a
/// cgroup's attach type, of a network namespace's hook (like `bpftool net` and `bpftool cgroup
/// tree`). Each program comes with its id and name; Map/Program views and LinkInfo take it from
/// there.
///
///     for (const auto& p : ebpfpp::attached_tcx("eth0", ebpfpp::TcDirection::ingress).programs)
///       fmt::print("{} {} (link {})\n", p.program_id, p.name, p.link_id);
///     auto fw = ebpfpp::attached_cgroup("/sys/fs/cgroup/app", BPF_CGROUP_INET4_CONNECT);
///
/// Needs CAP_SYS_ADMIN or CAP_NET_ADMIN as the hook does (the kernel's BPF_PROG_QUERY rule), and
/// CAP_SYS_ADMIN to open programs by id for their names (a name is "" without it).

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>

#include "detail/format.hpp"
#include "detail/uapi.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "interface.hpp"
#include "link_info.hpp"
#include "tc.hpp"
#include "xdp.hpp"

namespace ebpfpp {

/// A program on a hook.
struct AttachedProgram {
  std::uint32_t program_id = 0;
  /// The kernel's name for it (the function name, cut to 15 characters); "" if it went meanwhile.
  std::string name;
  bpf_prog_type type = BPF_PROG_TYPE_UNSPEC;
  /// The link that holds it (tcx, XDP); 0 for an attachment that is not a link, or when the
  /// kernel does not say.
  std::uint32_t link_id = 0;
  /// The flags it was attached with (cgroup: BPF_F_ALLOW_MULTI, BPF_F_ALLOW_OVERRIDE; tcx).
  std::uint32_t attach_flags = 0;
};

/// The programs on a hook, in the order they run.
struct HookPrograms {
  std::vector<AttachedProgram> programs;
  /// tcx: the hook's revision, which grows by one at each change (TcxAnchor::expected_revision
  /// attaches only if nothing changed since this query); 0 for other hooks.
  std::uint64_t revision = 0;
};

/// An XDP program on an interface, with the mode it runs in (an interface may have one per mode).
struct AttachedXdp : AttachedProgram {
  XdpMode mode = XdpMode::automatic;
};

namespace detail {

// Names the program with this id (and its type); leaves them empty when it cannot be opened.
inline void name_program(AttachedProgram& p) {
  UniqueFd fd(bpf_prog_get_fd_by_id(p.program_id));
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return;
  p.name = info.name;
  p.type = static_cast<bpf_prog_type>(info.type);
}

// BPF_PROG_QUERY on `target` (an fd, or an ifindex for tcx), grown until every program fits
// (programs may be attached between the calls).
template <class Describe>
HookPrograms query_hook(std::uint32_t target, std::uint32_t attach_type, std::uint32_t flags,
                        Describe&& describe) {
  const bool effective = (flags & BPF_F_QUERY_EFFECTIVE) != 0;
  std::vector<std::uint32_t> ids(8), attach_flags(8), link_ids(8), link_flags(8);
  for (;;) {
    detail::uapi::ProgQueryAttr attr{};
    attr.target = target;
    attr.attach_type = attach_type;
    attr.query_flags = flags;
    attr.count = static_cast<std::uint32_t>(ids.size());
    attr.prog_ids = reinterpret_cast<std::uint64_t>(ids.data());
    // An effective (inherited) cgroup query has no per-program flags: the kernel refuses them.
    if (!effective) attr.prog_attach_flags = reinterpret_cast<std::uint64_t>(attach_flags.data());
    attr.link_ids = reinterpret_cast<std::uint64_t>(link_ids.data());
    attr.link_attach_flags = reinterpret_cast<std::uint64_t>(link_flags.data());
    if (detail::uapi::sys_bpf(BPF_PROG_QUERY, &attr, sizeof attr) != 0) {
      if (errno == ENOSPC && attr.count > ids.size()) {
        for (auto* v : {&ids, &attach_flags, &link_ids, &link_flags}) v->resize(attr.count + 8);
        continue;
      }
      fail(errno, describe, Op::query_hook);
    }
    HookPrograms out;
    out.revision = attr.revision;
    for (std::uint32_t i = 0; i < attr.count && i < ids.size(); ++i) {
      AttachedProgram p;
      p.program_id = ids[i];
      p.link_id = link_ids[i];
      p.attach_flags = effective ? 0 : attach_flags[i];
      name_program(p);
      out.programs.push_back(std::move(p));
    }
    return out;
  }
}

// Opens a directory or namespace file to query, naming it when it cannot.
template <class Describe>
UniqueFd open_hook(const std::filesystem::path& path, int flags, Op op, Describe&& describe) {
  UniqueFd fd(::open(path.c_str(), flags | O_RDONLY | O_CLOEXEC));
  if (!fd) fail(errno, describe, op);
  return fd;
}

// The XDP link on `ifindex` that runs `prog_id`, or 0 (a netlink attachment has none).
inline std::uint32_t xdp_link_of(int ifindex, std::uint32_t prog_id) {
  for (std::uint32_t id = 0; bpf_link_get_next_id(id, &id) == 0;) {
    UniqueFd fd(bpf_link_get_fd_by_id(id));
    if (!fd) continue;
    // Only the fixed part of the link's info: the type, program and interface (no LinkInfo).
    uapi::LinkInfoRaw raw{};
    std::uint32_t len = sizeof raw;
    if (bpf_obj_get_info_by_fd(fd.get(), &raw, &len) != 0) continue; // a link gone meanwhile
    if (raw.type == BPF_LINK_TYPE_XDP && static_cast<int>(raw.xdp.ifindex) == ifindex &&
        raw.prog_id == prog_id)
      return id;
  }
  return 0;
}

} // namespace detail

/// The XDP programs on `iface`: one per mode at most (generic, native, offload), each with the
/// link that holds it (0 for a netlink attachment). Kernel 4.8+ (netlink query). Throws Error.
inline std::vector<AttachedXdp> attached_xdp(const Interface& iface) {
  bpf_xdp_query_opts opts;
  detail::init_opts(opts); // tail padding: libbpf refuses it unless zero
  detail::check(bpf_xdp_query(iface.index(), 0, &opts), [&] {
    return detail::format("query the XDP programs on '{}' (ifindex {})", iface.name(),
                          iface.index());
  }, detail::Op::query_hook);
  std::vector<AttachedXdp> out;
  const std::pair<std::uint32_t, XdpMode> modes[] = {
      {opts.skb_prog_id, XdpMode::generic},
      {opts.drv_prog_id, XdpMode::native},
      {opts.hw_prog_id, XdpMode::offload}};
  for (const auto& [id, mode] : modes) {
    if (id == 0) continue;
    AttachedXdp p;
    p.program_id = id;
    p.mode = mode;
    detail::name_program(p);
    p.link_id = detail::xdp_link_of(iface.index(), id);
    out.push_back(std::move(p));
  }
  return out;
}

/// The tcx programs on `iface`'s ingress or egress, in the order they run, each with its link,
/// and the hook's revision. Kernel 6.6+. Throws FeatureError before 6.6, Error otherwise.
inline HookPrograms attached_tcx(const Interface& iface, TcDirection direction) {
  const auto action = [&] {
    return detail::format("query the tcx {} programs on '{}' (ifindex {})", to_string(direction),
                          iface.name(), iface.index());
  };
  if (!kernel::has(kernel::Feature::tcx)) throw kernel::missing(kernel::Feature::tcx, action(), {});
  return detail::query_hook(
      static_cast<std::uint32_t>(iface.index()),
      static_cast<std::uint32_t>(detail::uapi::attach_tcx_ingress +
                                 (direction == TcDirection::egress)),
      0, action);
}

/// The programs of attach type `type` on the cgroup at `path` (a cgroup v2 directory), in the
/// order they run; with `effective`, those inherited from its ancestors too (the ones that run).
/// Kernel 4.10+. Throws Error: the directory is missing (naming it), the type is not a cgroup one.
inline HookPrograms attached_cgroup(const std::filesystem::path& path, bpf_attach_type type,
                                    bool effective = false) {
  const auto action = [&] {
    const char* name = libbpf_bpf_attach_type_str(type);
    return detail::format("query the {}{} programs of cgroup '{}'", effective ? "effective " : "",
                          name ? name : "?", path.string());
  };
  const detail::UniqueFd fd = detail::open_hook(path, O_DIRECTORY, detail::Op::generic, action);
  return detail::query_hook(static_cast<std::uint32_t>(fd.get()), type,
                            effective ? BPF_F_QUERY_EFFECTIVE : 0, action);
}

/// The programs of attach type `type` (BPF_SK_LOOKUP, BPF_FLOW_DISSECTOR) on the network
/// namespace at `netns_path` (/run/netns/<name>, /proc/<pid>/ns/net), in the order they run.
/// Kernel 5.8+ (sk_lookup 5.9+). Throws Error: the namespace is missing (naming it).
inline HookPrograms attached_netns(const std::filesystem::path& netns_path, bpf_attach_type type) {
  const auto action = [&] {
    const char* name = libbpf_bpf_attach_type_str(type);
    return detail::format("query the {} programs of network namespace '{}'", name ? name : "?",
                          netns_path.string());
  };
  const detail::UniqueFd fd = detail::open_hook(netns_path, 0, detail::Op::open_netns, action);
  return detail::query_hook(static_cast<std::uint32_t>(fd.get()), type, 0, action);
}

} // namespace ebpfpp
