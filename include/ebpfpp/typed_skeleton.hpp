#pragma once
/// @file
/// What a generated typed skeleton (`<name>.skel.hpp`, made by ebpfpp-skel from the object's BTF)
/// is built on: SkeletonMap, a map view that knows which map of which object it is, so that a key
/// of another type than the map's is a compile error naming the map and both types.
///
///     auto skel = hello_map::Skeleton::open_and_load();
///     skel.maps.counter_table.lookup(uid);             // uid: std::uint32_t, as BTF says
///     skel.maps.counter_table.lookup(std::uint64_t{}); // error: ... KeyMismatch<
///                                                      //   hello_map::map::counter_table,
///                                                      //   unsigned int, long unsigned int>
///
/// Tools rarely name these types: they use the members of the generated Skeleton, and pass them
/// on as the plain view (a SkeletonMap<Tag, Map<K, V>> is a Map<K, V>).

#include "detail/config.hpp"

#include <concepts>
#include <type_traits>
#include <utility>

namespace ebpfpp {

namespace detail {

/// Never defined: naming it in a failed check makes the compiler print, in one line, the map (its
/// generated tag, `<object>::map::<name>`), the map's key type and the key type given.
template <class Map, class MapKey, class GivenKey>
struct KeyMismatch;

/// A key fits a map when it is the map's key type, or an integer that converts to the map's
/// integer key without losing bits: `lookup(0)` on a u32 key is fine, a u64 (cut to 32 bits) or
/// another struct (converted, or not at all) is not.
template <class MapKey, class Key>
inline constexpr bool
    key_fits = std::same_as<std::remove_cvref_t<Key>, MapKey> ||
               (std::is_integral_v<MapKey> && std::is_integral_v<std::remove_cvref_t<Key>> &&
                !std::same_as<std::remove_cvref_t<Key>, bool> && sizeof(Key) <= sizeof(MapKey));

template <class Tag, class MapKey, class Key>
constexpr void check_key() {
  if constexpr (!key_fits<MapKey, Key>)
    static_assert(sizeof(KeyMismatch<Tag, MapKey, std::remove_cvref_t<Key>>) == 0,
                  "a key of another type than the map's: see the map and both types above");
}

} // namespace detail

/// A typed map view (Map<K,V>, ArrayMap<V>, PerCpuHashMap<K,V>, ...) as a member of a generated
/// skeleton. `Tag` names the map (`hello_map::map::counter_table`); the key-taking operations
/// accept only the map's key type (or a narrower integer) and refuse anything else at compile
/// time. Everything else is View's: a SkeletonMap is a View, passed on as one.
template <class Tag, class View>
class SkeletonMap : public View {
public:
  using key_type = typename View::key_type;
  using value_type = typename View::value_type;

  /// An empty view: the generated Skeleton assigns the real one at load().
  SkeletonMap() noexcept = default;
  /// The view the generated Skeleton made, now known by its tag.
  explicit SkeletonMap(View&& view) noexcept : View(std::move(view)) {}

  template <class Key>
  auto lookup(const Key& key) const
      noexcept(noexcept(std::declval<const View&>().lookup(std::declval<const key_type&>()))) {
    detail::check_key<Tag, key_type, Key>();
    return View::lookup(static_cast<key_type>(key));
  }
  template <class Key>
  bool contains(const Key& key) const
      noexcept(noexcept(std::declval<const View&>().contains(std::declval<const key_type&>()))) {
    detail::check_key<Tag, key_type, Key>();
    return View::contains(static_cast<key_type>(key));
  }
  template <class Key, class... Rest>
  void update(const Key& key, const Rest&... rest) requires requires(View& v, const key_type& k) {
    v.update(k, rest...);
  }
  {
    detail::check_key<Tag, key_type, Key>();
    View::update(static_cast<key_type>(key), rest...);
  }
  template <class Key>
  bool erase(const Key& key) requires requires(View& v, const key_type& k) {
    v.erase(k);
  }
  {
    detail::check_key<Tag, key_type, Key>();
    return View::erase(static_cast<key_type>(key));
  }
  template <class Key>
  auto lookup_and_erase(const Key& key) requires requires(View& v, const key_type& k) {
    v.lookup_and_erase(k);
  }
  {
    detail::check_key<Tag, key_type, Key>();
    return View::lookup_and_erase(static_cast<key_type>(key));
  }
};

} // namespace ebpfpp
