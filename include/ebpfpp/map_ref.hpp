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
/// name() and otherwise reads as an empty MapRef (expired() says so). Its constructors, name(),
/// get(), expired() and operator bool are those of every view (detail::WatchedView).
class MapRef : public detail::WatchedView<bpf_map, bpf_map__name> {
public:
  using WatchedView::WatchedView;

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
};

} // namespace ebpfpp
