#pragma once
/// @file
/// QueueMap<V> and StackMap<V>: typed queues (BPF_MAP_TYPE_QUEUE, kernel 4.20+: first in, first
/// out) and stacks (BPF_MAP_TYPE_STACK, 4.20+: last in, first out) of values without keys.

#include "detail/config.hpp"

#include "detail/map_kind.hpp"

namespace ebpfpp {

/// A typed view of a queue or a stack, as `Kind` says: push(), pop(), peek(), clear(); pop()
/// and peek() take from the front of a queue and from the top of a stack.
template <MapData V, class Kind>
class PushPopMap
    : public detail::QueueOps<PushPopMap<V, Kind>, V>,
      public detail::MapKind<PushPopMap<V, Kind>, Kind, void, V, detail::KeyUse::none> {
public:
  using detail::QueueOps<PushPopMap<V, Kind>, V>::QueueOps;
  // create(max_entries, name) (detail::MapKind).
};

/// A typed view of a queue (BPF_MAP_TYPE_QUEUE): first in, first out.
template <MapData V>
using QueueMap = PushPopMap<V, detail::Kind<"QueueMap", BPF_MAP_TYPE_QUEUE>>;

/// A typed view of a stack (BPF_MAP_TYPE_STACK): last in, first out.
template <MapData V>
using StackMap = PushPopMap<V, detail::Kind<"StackMap", BPF_MAP_TYPE_STACK>>;

} // namespace ebpfpp
