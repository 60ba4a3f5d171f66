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

} // namespace ebpfpp
