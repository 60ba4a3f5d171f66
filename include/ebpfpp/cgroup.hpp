#pragma once
/// @file
/// Cgroup: a cgroup program attached to a cgroup v2 directory (a Link: destroying it detaches).
/// It runs for every process in that cgroup and its descendants.
///
///     ebpfpp::Cgroup fw(skel.program("block_connect4"), "/sys/fs/cgroup/my.slice");
///     ebpfpp::Cgroup dev(skel.program("devices"), cgroup_fd, BPF_CGROUP_DEVICE);
///
/// The attach type (BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET_EGRESS, BPF_CGROUP_DEVICE, ...)
/// comes from the program's section (SEC("cgroup/connect4"), SEC("cgroup_skb/egress"), ...)
/// unless given. The link is a kernel link (5.7+): the program detaches when its last fd closes,
/// and several programs may be attached to one cgroup (BPF_F_ALLOW_MULTI semantics).

#include "detail/config.hpp"

#include <cerrno>
#include <filesystem>
#include <optional>
#include <string>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/statfs.h>

#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// A cgroup program (cgroup_skb, cgroup/sock, cgroup/connect4, cgroup/sockopt, cgroup/sysctl,
/// cgroup/dev, ...) attached to a cgroup v2 directory. Kernel 4.10+ for cgroup programs, 5.7+ for
/// the link. Needs CAP_NET_ADMIN (and CAP_BPF) for the network hooks.
///
/// Throws Error: the path is missing or not a cgroup v2 directory (naming it), the program's
/// section gives no cgroup attach type and none was given (EINVAL); FeatureError without cgroup
/// programs.
class Cgroup : public Link {
public:
  /// On the cgroup at `path` (a directory of the cgroup2 mount, e.g. /sys/fs/cgroup/foo).
  [[nodiscard]] Cgroup(const Program& prog, const std::filesystem::path& path,
                       std::optional<bpf_attach_type> type = std::nullopt)
      : Link(attach(prog, open_cgroup(path, prog).get(), path.string(), type)) {}

  /// On the cgroup open at `cgroup_fd` (not taken over: close it when you like).
  [[nodiscard]] static Cgroup from_fd(const Program& prog, int cgroup_fd,
                                      std::optional<bpf_attach_type> type = std::nullopt) {
    return Cgroup(attach(prog, cgroup_fd, detail::format("fd {}", cgroup_fd), type));
  }

private:
  explicit Cgroup(Link link) : Link(std::move(link)) {}

  static detail::UniqueFd open_cgroup(const std::filesystem::path& path, const Program& prog) {
    const auto action = [&] {
      return detail::format("open cgroup '{}' to attach program '{}'", path.string(),
                            prog ? prog.name() : "<empty>");
    };
    detail::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) detail::fail(errno, action, detail::Op::open_cgroup);
    constexpr long cgroup2_magic = 0x63677270; // CGROUP2_SUPER_MAGIC
    struct statfs st {};
    if (::fstatfs(fd.get(), &st) != 0 || st.f_type != cgroup2_magic)
      throw Error(ENOTDIR, action(), std::string(detail::hint::not_cgroup2));
    return fd;
  }

  static Link attach(const Program& prog, int cgroup_fd, const std::string& where,
                     std::optional<bpf_attach_type> type) {
    const bpf_attach_type t =
        type ? *type
             : (prog ? bpf_program__expected_attach_type(prog.get()) : BPF_CGROUP_INET_INGRESS);
    const char* name = libbpf_bpf_attach_type_str(t);
    return detail::attach_link(
        prog, detail::format("cgroup {} on '{}'", name ? name : "?", where),
        [&] { return detail::UniqueFd(bpf_link_create(prog.fd(), cgroup_fd, t, nullptr)); },
        {kernel::Feature::cgroup, {}, detail::Op::attach_network});
  }
};

} // namespace ebpfpp
