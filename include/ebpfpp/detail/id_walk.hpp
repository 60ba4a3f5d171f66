#pragma once
// Walking the kernel's BPF objects by id (BPF_*_GET_NEXT_ID, then *_GET_FD_BY_ID): the id and
// info lists of system.hpp, and the searches that find one object by what it holds, which only
// error paths and queries pay for (a few syscalls per loaded object): the program that uses a
// prog array (prog_array.hpp), the XDP link that holds an interface's program (attached.hpp).
// Opening by id takes a reference: system.hpp says when that matters for maps.

#include "config.hpp"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "../error.hpp"
#include "../program_info.hpp"
#include "format.hpp"
#include "uapi.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

// Walks the ids with BPF_*_GET_NEXT_ID.
template <class Next>
std::vector<std::uint32_t> ids_of(Next next, std::string_view what) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t id = 0;;) {
    if (next(id, &id) != 0) {
      if (errno == ENOENT) return out;
      fail(
          errno, [&] { return detail::format("list the loaded {} (next id after {})", what, id); },
          Op::open_by_id);
    }
    out.push_back(id);
  }
}

// Opens the object with this id (BPF_*_GET_FD_BY_ID). Throws Error (ENOENT: no such id).
template <class Open>
UniqueFd open_id(Open open, std::uint32_t id, std::string_view what) {
  UniqueFd fd(open(id));
  if (!fd)
    fail(
        errno, [&] { return detail::format("open {} id {}", what, id); }, Op::open_by_id);
  return fd;
}

// Opens each id and describes it; ids gone meanwhile (ENOENT) are skipped.
template <class Info, class Open, class Describe>
std::vector<Info> infos_of(const std::vector<std::uint32_t>& ids, Open open, Describe describe,
                           std::string_view what) {
  std::vector<Info> out;
  for (std::uint32_t id : ids) {
    UniqueFd fd(open(id));
    if (!fd) {
      if (errno == ENOENT) continue;
      fail(
          errno, [&] { return detail::format("open {} id {}", what, id); }, Op::open_by_id);
    }
    out.push_back(describe(fd.get()));
  }
  return out;
}

/// A program that uses a prog array, and so fixed the type of programs it accepts.
struct ProgArrayOwner {
  std::uint32_t id = 0;
  std::string name;
  bpf_prog_type type = BPF_PROG_TYPE_UNSPEC;
};

/// Finds a loaded program that uses the map with id `map_id` by walking the kernel's programs.
/// Only error paths call it: it costs a few syscalls per loaded program.
inline std::optional<ProgArrayOwner> find_prog_array_user(std::uint32_t map_id) {
  for (std::uint32_t id = 0; bpf_prog_get_next_id(id, &id) == 0;) {
    UniqueFd fd(bpf_prog_get_fd_by_id(id));
    if (!fd) continue; // unloaded meanwhile
    try {
      const ProgramInfo info = program_info(fd.get());
      for (std::uint32_t m : info.map_ids)
        if (m == map_id) return ProgArrayOwner{info.id, info.name, info.type};
    } catch (const Error&) {
      // A program we may not inspect is not the one we are looking for.
    }
  }
  return std::nullopt;
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

} // namespace ebpfpp::detail
