#pragma once
/// @file
/// QueueMap<V>: a typed queue (BPF_MAP_TYPE_QUEUE, kernel 4.20+): first in, first out; no keys.

#include "detail/config.hpp"

#include "detail/map_ops.hpp"

namespace ebpfpp {

/// A typed view of a queue (BPF_MAP_TYPE_QUEUE, kernel 4.20+): first in, first out; no keys.
/// push(), pop(), peek(), clear().
template <MapData V>
class QueueMap : public detail::QueueOps<QueueMap<V>, V> {
public:
  using detail::QueueOps<QueueMap<V>, V>::QueueOps;

  /// Creates a new BPF_MAP_TYPE_QUEUE holding up to `max_entries` values. Throws Error.
  static QueueMap create(std::uint32_t max_entries, std::string_view name) {
    return QueueMap(MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_QUEUE, name, 0, sizeof(V),
                                                           max_entries, 0),
                                     std::string(name)),
                    TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_QUEUE};
    return detail::keyless_spec<V>("QueueMap", types);
  }
};

} // namespace ebpfpp
