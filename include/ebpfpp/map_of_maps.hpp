#pragma once
/// @file
/// ArrayOfMaps<Inner> and HashOfMaps<K, Inner>: maps whose values are maps
/// (BPF_MAP_TYPE_ARRAY_OF_MAPS / HASH_OF_MAPS, kernel 4.12+), typed by the view of their inner
/// maps. The double-buffer pattern: fill a fresh inner map, then swap it in with one set(),
/// which BPF programs see atomically (a lookup finds the old map or the new one, never a mix).
///
///     ebpfpp::ArrayOfMaps<ebpfpp::Map<u32, u64>> config(skel->maps.config);
///     auto next = config.create_inner("config_next");   // same type, sizes, flags as the slot's
///     next.update(1, 20);
///     config.set(0, next);                                // BPF programs now read `next`
///     if (auto current = config.get(0)) current->lookup(1);

#include "detail/config.hpp"

#include "detail/map_ops.hpp"

namespace ebpfpp {
namespace detail {

/// What both maps of maps do; `K` is the outer key, `Inner` the view of the inner maps.
template <class Self, MapData K, class Inner>
class MapOfMapsOps : public MapBase<Self> {
public:
  /// The view of the inner maps.
  using inner_type = Inner;
  using MapBase<Self>::MapBase;

  /// Puts `inner` at `key`, replacing what was there in one step for BPF programs. The inner
  /// map must match the outer map's template (type, key and value sizes, flags; for arrays
  /// also max_entries, unless the template has BPF_F_INNER_MAP). Throws Error naming both maps.
  void set(const K& key, const Inner& inner) {
    const std::uint32_t fd = static_cast<std::uint32_t>(inner.fd());
    if (bpf_map_update_elem(this->fd_.get(), &key, &fd, BPF_ANY) == 0) return;
    const int err = errno;
    fail(
        err,
        [&] {
          return detail::format("put map '{}' at {} of map of maps '{}'", inner.name(),
                                describe_key(key), this->name_);
        },
        Op::map_access, err == EINVAL ? hint::inner_map_template : std::string_view());
  }

  /// The id of the inner map at `key` (the kernel answers lookups with ids), or nullopt. Throws
  /// Error when the kernel gives no answer (an empty view or a closed fd, ...).
  std::optional<std::uint32_t> inner_id(const K& key) const {
    std::uint32_t id = 0;
    if (!found(bpf_map_lookup_elem(this->fd_.get(), &key, &id), [&] {
          return detail::format("look up {} in map of maps '{}'", describe_key(key), this->name_);
        }))
      return std::nullopt;
    return id;
  }

  /// A view of the inner map at `key` (opened by id: CAP_SYS_ADMIN), checked as Inner; nullopt
  /// when the slot is empty or its map went away meanwhile. Throws Error when it does not fit.
  std::optional<Inner> get(const K& key, TypeCheck check = TypeCheck::btf) const {
    const auto id = inner_id(key);
    if (!id) return std::nullopt;
    try {
      // Every inner map has the outer map's template type: no need to describe it first.
      return Inner(MapSource::id(*id, false), check);
    } catch (const Error& e) {
      if (e.code().value() == ENOENT) return std::nullopt; // replaced and freed meanwhile
      throw;
    }
  }

  /// Empties the slot at `key`; false when it was empty. Throws Error on other failures.
  bool erase(const K& key) {
    if (bpf_map_delete_elem(this->fd_.get(), &key) == 0) return true;
    const int err = errno;
    if (err == ENOENT) return false;
    fail(
        err,
        [&] {
          return detail::format("erase {} from map of maps '{}'", describe_key(key), this->name_);
        },
        Op::map_access);
  }

  /// Creates an inner map that fits this outer map: the type, sizes and flags of a map already
  /// in it, else of Inner::spec() (first accepted type, no flags); `max_entries` 0 means the
  /// existing one's (required when there is none). The kernel does not report an outer map's
  /// template, hence this rule. Throws Error.
  Inner create_inner(std::string_view name, std::uint32_t max_entries = 0) const {
    const ViewSpec spec = Inner::spec();
    MapInfo like{};
    like.type = spec.accepted.front();
    like.key_size = spec.key_size;
    like.value_size = spec.value_size;
    if (auto existing = any_inner()) like = existing->info();
    if (max_entries == 0) max_entries = like.max_entries;
    if (max_entries == 0)
      throw Error(EINVAL, detail::format("create an inner map for map of maps '{}'", this->name_),
                  std::string(hint::no_inner_to_copy));
    return Inner(MapSource::adopt(create_map_fd(like.type, name, like.key_size, like.value_size,
                                                max_entries, like.map_flags),
                                  std::string(name)),
                 TypeCheck::size_only);
  }

protected:
  std::optional<Inner> any_inner() const {
    K key{}, next{};
    const K* prev = nullptr;
    while (bpf_map_get_next_key(this->fd_.get(), prev, &next) == 0) {
      if (auto inner = get(next, TypeCheck::size_only)) return inner;
      key = next;
      prev = &key;
    }
    return std::nullopt;
  }

  // The value is an fd on update and an id on lookup: 4 bytes, no BTF (libbpf drops it).
  static ViewSpec outer_spec(std::string_view kind, std::span<const bpf_map_type> types,
                             bool indexed) {
    auto spec = key_value_spec<K, std::uint32_t>(kind, types, indexed);
    spec.view_name = detail::format("{}<{}>", kind, Inner::spec().view_name);
    return spec;
  }
};

} // namespace detail

/// A typed view of an array of maps (BPF_MAP_TYPE_ARRAY_OF_MAPS, kernel 4.12+): slots
/// 0..max_entries-1, each empty or holding a map seen through `Inner` (Map<K,V>, ArrayMap<V>,
/// ...). See the file comment for the double-buffer pattern.
template <class Inner>
class ArrayOfMaps : public detail::MapOfMapsOps<ArrayOfMaps<Inner>, std::uint32_t, Inner> {
public:
  using detail::MapOfMapsOps<ArrayOfMaps<Inner>, std::uint32_t, Inner>::MapOfMapsOps;

  /// Creates an array of `max_entries` slots for maps like `like` (the template). Throws Error.
  static ArrayOfMaps create(std::uint32_t max_entries, std::string_view name, const Inner& like) {
    return ArrayOfMaps(MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_ARRAY_OF_MAPS, name, 4,
                                                              4, max_entries, 0, 0, like.fd()),
                                        std::string(name)),
                       TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_ARRAY_OF_MAPS};
    return ArrayOfMaps::outer_spec("ArrayOfMaps", types, true);
  }
};

/// A typed view of a hash of maps (BPF_MAP_TYPE_HASH_OF_MAPS, kernel 4.12+): keys K, each
/// holding a map seen through `Inner`. See the file comment for the double-buffer pattern.
template <MapData K, class Inner>
class HashOfMaps : public detail::MapOfMapsOps<HashOfMaps<K, Inner>, K, Inner> {
public:
  using detail::MapOfMapsOps<HashOfMaps<K, Inner>, K, Inner>::MapOfMapsOps;

  /// Creates a hash of up to `max_entries` maps like `like` (the template). Throws Error.
  static HashOfMaps create(std::uint32_t max_entries, std::string_view name, const Inner& like) {
    return HashOfMaps(
        MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_HASH_OF_MAPS, name, sizeof(K), 4,
                                               max_entries, 0, 0, like.fd()),
                         std::string(name)),
        TypeCheck::size_only);
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_HASH_OF_MAPS};
    return HashOfMaps::outer_spec("HashOfMaps", types, false);
  }
};

} // namespace ebpfpp
