#pragma once
/// @file
/// MapInfo: what the kernel says about a map (BPF_OBJ_GET_INFO_BY_FD): its type, sizes, flags,
/// id, name and BTF ids. Every typed map and stream has one (`info()`).

#include "detail/config.hpp"

#include <cstdint>
#include <string>
#include <string_view>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/format.hpp"
#include "error.hpp"

namespace ebpfpp {

/// The kernel's description of a map.
struct MapInfo {
  /// BPF_MAP_TYPE_*.
  bpf_map_type type = BPF_MAP_TYPE_UNSPEC;
  /// The map's id, unique on the machine while the map exists (bpftool map show id N).
  std::uint32_t id = 0;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  /// BPF_F_* flags it was created with.
  std::uint32_t map_flags = 0;
  /// The BTF object describing its key and value (0: none), and their type ids in it.
  std::uint32_t btf_id = 0;
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  /// The kernel's copy of the name: at most 15 characters.
  std::string name;

  /// "hash", "ringbuf", ... as bpftool spells the type.
  std::string type_name() const {
    const char* s = libbpf_bpf_map_type_str(type);
    return s ? s : detail::format("type {}", static_cast<int>(type));
  }
};

namespace detail {

/// Asks the kernel about the map behind `fd`; `what` names it in the Error.
inline MapInfo query_map_info(int fd, std::string_view what) {
  bpf_map_info info{};
  __u32 len = sizeof info;
  check(bpf_obj_get_info_by_fd(fd, &info, &len),
        [&] { return detail::format("read the kernel's info on map {}", what); });
  MapInfo out;
  out.type = static_cast<bpf_map_type>(info.type);
  out.id = info.id;
  out.key_size = info.key_size;
  out.value_size = info.value_size;
  out.max_entries = info.max_entries;
  out.map_flags = info.map_flags;
  out.btf_id = info.btf_id;
  out.btf_key_type_id = info.btf_key_type_id;
  out.btf_value_type_id = info.btf_value_type_id;
  out.name = info.name;
  return out;
}

} // namespace detail
} // namespace ebpfpp
