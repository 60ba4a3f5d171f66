#pragma once
/// @file
/// The vocabulary every typed map shares: what a key or value may be (MapData), how update()
/// treats presence (UpdateFlag), how strictly a view is checked against the kernel's map
/// (TypeCheck), and how a whole map is read (ReadMethod).

#include "detail/config.hpp"

#include <concepts>
#include <cstdint>
#include <type_traits>

#include <linux/bpf.h>

namespace ebpfpp {

/// What a map key or value type may be: plain bytes the kernel copies in and out (trivially
/// copyable, default-constructible), and not a pointer (a user-space address means nothing to the
/// kernel) nor a C array (use std::array). Using another type with a map is a compile error.
template <class T>
concept MapData =
    std::is_trivially_copyable_v<T> && std::default_initializable<T> && !std::is_pointer_v<T> &&
    !std::is_array_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>;

/// How update() treats the key's presence: BPF_ANY (insert or overwrite), BPF_NOEXIST (insert
/// only; fails if present), BPF_EXIST (overwrite only; fails if absent).
enum class UpdateFlag : std::uint64_t {
  any = BPF_ANY,
  no_exist = BPF_NOEXIST,
  exist = BPF_EXIST,
};

/// What a typed map checks against the kernel's map when it is made.
enum class TypeCheck {
  /// Map type, sizes, and what the map's BTF says when it has BTF: member by member, as far as
  /// C++ can tell, the offsets, kinds (integer, enum, float, pointer, array, struct, union),
  /// sizes and integer signedness (structs with a base class, a union member or more than 24
  /// members, or that are not aggregates: their kind and size only).
  btf,
  /// Map type and sizes only: for deliberate reinterpretation (e.g. a signed view of a u32 key).
  size_only,
};

/// How keys(), items() and iteration read a whole map.
enum class ReadMethod {
  /// BPF_MAP_LOOKUP_BATCH (kernel 5.6+; arrays 5.7+) where the kernel supports it for the map,
  /// else per_key.
  automatic,
  /// BPF_MAP_LOOKUP_BATCH only; throws an Error where the kernel lacks it.
  batch,
  /// BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM per entry (any kernel; one syscall pair each).
  per_key,
};

} // namespace ebpfpp
