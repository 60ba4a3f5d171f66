#pragma once
/// @file
/// StackMap<V>: a typed stack (BPF_MAP_TYPE_STACK, kernel 4.20+): last in, first out; no keys.

#include "detail/config.hpp"

#include "detail/map_ops.hpp"

namespace ebpfpp {

/// A typed view of a stack (BPF_MAP_TYPE_STACK, kernel 4.20+): last in, first out; no keys.
/// push(), pop(), peek(), clear().
template <MapData V>
class StackMap : public detail::QueueOps<StackMap<V>, V> {
public:
  using detail::QueueOps<StackMap<V>, V>::QueueOps;

  /// Creates a new BPF_MAP_TYPE_STACK holding up to `max_entries` values. Throws Error.
  static StackMap create(std::uint32_t max_entries, std::string_view name) {
    return StackMap(MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_STACK, name, 0, sizeof(V),
                                                           max_entries, 0),
                                     std::string(name)),
                    TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_STACK};
    return detail::keyless_spec<V>("StackMap", types);
  }
};

} // namespace ebpfpp
