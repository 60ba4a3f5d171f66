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

} // namespace ebpfpp

// How the programs on a hook are found (BPF_PROG_QUERY, grown until all fit; each program named
// by id), over the types above.
#include "detail/hook_query.hpp"

namespace ebpfpp {

// The queries are templates over a parameter nobody gives, called as plain functions: a file
// that includes this header (the umbrella does) but queries no hook does not compile them.

/// The XDP programs on `iface`: one per mode at most (generic, native, offload), each with the
/// link that holds it (0 for a netlink attachment). Kernel 4.8+ (netlink query). Throws Error.
template <class = void>
std::vector<AttachedXdp> attached_xdp(const Interface& iface) {
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
template <class = void>
HookPrograms attached_tcx(const Interface& iface, TcDirection direction) {
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
template <class = void>
HookPrograms attached_cgroup(const std::filesystem::path& path, bpf_attach_type type,
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
template <class = void>
HookPrograms attached_netns(const std::filesystem::path& netns_path, bpf_attach_type type) {
  const auto action = [&] {
    const char* name = libbpf_bpf_attach_type_str(type);
    return detail::format("query the {} programs of network namespace '{}'", name ? name : "?",
                          netns_path.string());
  };
  const detail::UniqueFd fd = detail::open_hook(netns_path, 0, detail::Op::open_netns, action);
  return detail::query_hook(static_cast<std::uint32_t>(fd.get()), type, 0, action);
}

} // namespace ebpfpp
