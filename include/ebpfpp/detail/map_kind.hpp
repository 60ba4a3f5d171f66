#pragma once
// What a map kind declares, and what follows from it. A kind names its view and the map types it
// accepts, Kind<"Map", BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH>; MapKind derives from that and
// from the view's key and value its spec() (what the checks require of a map) and its create()
// (a new map owned by the view alone): create(max_entries, name, flags) for a kind of one map
// type, create(type, max_entries, name, flags) for a kind of several.

#include "config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include <bpf/libbpf.h>

#include "map_ops.hpp"

namespace ebpfpp::detail {

// A kind's name as a template argument ("Map", "QueueMap").
template <std::size_t N>
struct KindName {
  char text[N]{};
  constexpr KindName(const char (&s)[N]) noexcept { std::copy_n(s, N, text); } // NOLINT
  constexpr std::string_view view() const noexcept { return {text, N - 1}; }
};

/// A map kind: the view's name in messages and the map types it accepts, the first the one
/// create() makes when the kind has only one.
template <KindName Name, bpf_map_type... Types>
struct Kind {
  static constexpr std::string_view name = Name.view();
  static constexpr bpf_map_type map_types[] = {Types...};
};

/// How a view's key is checked: a key (its sign matters), an index (u32 or int: BPF code often
/// declares an index as int, so its sign does not), or no key at all (queues, bloom filters).
enum class KeyUse { key, index, none };

/// spec() and create() of `View`, a view of kind `K` over keys `Key` and values `V`.
template <class View, class K, class Key, class V, KeyUse Use = KeyUse::key>
struct MapKind {
  /// What this view requires of a map (used by the checks).
  static ViewSpec spec() {
    if constexpr (Use == KeyUse::none)
      return keyless_spec<V>(K::name, K::map_types);
    else
      return key_value_spec<Key, V>(K::name, K::map_types, Use == KeyUse::index);
  }

  /// Creates a new map of the kind's one map type, holding up to `max_entries` elements (an
  /// array: exactly that many, zeroed), owned by this view alone: for user-space use, tests, or
  /// to hand to an object before load (bpf_map__reuse_fd). The kernel keeps the first 15
  /// characters of `name`. Throws Error.
  static View create(std::uint32_t max_entries, std::string_view name,
                     std::uint32_t map_flags = 0) requires(std::size(K::map_types) == 1) {
    return create_as(K::map_types[0], max_entries, name, map_flags);
  }
  /// As above, for a kind of several map types: `type` is one of them. Throws Error.
  static View create(bpf_map_type type, std::uint32_t max_entries, std::string_view name,
                     std::uint32_t map_flags = 0) requires(std::size(K::map_types) > 1) {
    return create_as(type, max_entries, name, map_flags);
  }

protected:
  static View create_as(bpf_map_type type, std::uint32_t max_entries, std::string_view name,
                        std::uint32_t map_flags, std::uint64_t map_extra = 0) {
    std::uint32_t key_size = 0;
    if constexpr (Use != KeyUse::none) key_size = sizeof(Key);
    return View(MapSource::adopt(create_map_fd(type, name, key_size, sizeof(V), max_entries,
                                               map_flags, map_extra),
                                 std::string(name)),
                TypeCheck::size_only);
  }
};

/// A slot-indexed array of XDP redirect targets (CpuMap, DevMap), kind `K`: V is the short form
/// of the kernel's value (a __u32) or the long one (8 bytes: it adds a program to run).
template <class View, class V, class K>
class RedirectArray : public ArrayOps<View, V, PlainValue<V>>,
                      public MapKind<View, K, std::uint32_t, V, KeyUse::index> {
  static_assert(sizeof(V) == 4 || sizeof(V) == 8,
                "a cpumap or devmap value is a __u32 or a CpuMapValue/DevMapValue");

public:
  using ArrayOps<View, V, PlainValue<V>>::ArrayOps;
};

} // namespace ebpfpp::detail
