#pragma once
/// @file
/// MapRef: a non-owning, untyped view of one BPF map of an Object or Skeleton (object.hpp),
/// what every typed map view is built from. In a header of its own so that a map view does not
/// pay, in compile time, for Object and everything that opens an object.

#include "detail/config.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/libbpf.h>

#include "detail/lifetime.hpp"

namespace ebpfpp {

/// A non-owning, untyped view of a BPF map inside an Object or Skeleton. The typed views of
/// map.hpp, ring_buffer.hpp, ... are built from it (and own the map's fd, so they outlive the
/// Object). It is valid while the Object or Skeleton lives; one that outlives it keeps its
/// name() and otherwise reads as an empty MapRef (expired() says so).
class MapRef {
public:
  MapRef() noexcept = default;
  /// A view of a skeleton's `skel->maps.x`: not tracked, valid while the skeleton is.
  explicit MapRef(bpf_map* map) : MapRef(map, {}) {}
  /// A view that knows when its Object or Skeleton is gone (what their map() returns).
  MapRef(bpf_map* map, detail::LifeWatch watch)
      : map_(map), name_(map ? bpf_map__name(map) : ""), watch_(std::move(watch)) {}

  /// "" for an empty MapRef. It stays after the Object or Skeleton is gone.
  std::string_view name() const noexcept { return name_; }
  /// The map fd; -1 before load (and for an empty MapRef).
  int fd() const noexcept { return get() ? bpf_map__fd(get()) : -1; }
  /// BPF_MAP_TYPE_*; BPF_MAP_TYPE_UNSPEC for an empty MapRef.
  bpf_map_type type() const noexcept { return get() ? bpf_map__type(get()) : BPF_MAP_TYPE_UNSPEC; }
  /// "hash", "ringbuf", ... as bpftool spells it.
  std::string_view type_name() const noexcept {
    const char* s = libbpf_bpf_map_type_str(type());
    return s ? s : "unknown";
  }
  std::uint32_t key_size() const noexcept { return get() ? bpf_map__key_size(get()) : 0; }
  std::uint32_t value_size() const noexcept { return get() ? bpf_map__value_size(get()) : 0; }
  std::uint32_t max_entries() const noexcept { return get() ? bpf_map__max_entries(get()) : 0; }

  /// The libbpf map; nullptr for an empty MapRef and once its Object or Skeleton is gone.
  bpf_map* get() const noexcept { return watch_.expired() ? nullptr : map_; }
  explicit operator bool() const noexcept { return get() != nullptr; }
  /// Whether the Object or Skeleton it came from is gone (false for an untracked view).
  bool expired() const noexcept { return watch_.expired(); }

private:
  bpf_map* map_ = nullptr;
  std::string name_;
  detail::LifeWatch watch_;
};

} // namespace ebpfpp
