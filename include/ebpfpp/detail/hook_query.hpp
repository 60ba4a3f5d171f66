#pragma once
// How attached.hpp finds the programs on a hook: BPF_PROG_QUERY on a cgroup, a network namespace
// or (tcx) an interface, grown until every program fits; each program named by opening its id
// (the XDP link that holds an interface's program is found by id_walk.hpp's xdp_link_of).
// attached.hpp includes this after the types it fills in (AttachedProgram, HookPrograms).

#include "config.hpp"

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>

#include "../error.hpp"
#include "format.hpp"
#include "id_walk.hpp"
#include "uapi.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

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

} // namespace ebpfpp::detail
