#pragma once
/// @file
/// What a generated typed skeleton (`<name>.skel.hpp`, made by ebpfpp-skel from the object's BTF)
/// is built on. Each member's type names it, so that wrong use is a compile error whose first
/// line names the member and both types:
/// - SkeletonView: a map as its view (RingBuffer<E>, ProgArray, ArrayOfMaps<Inner>, ...); given
///   where a view of another kind or type is expected (a ring buffer of another event, a prog
///   array as a hash map), or where a program is, it does not compile;
/// - SkeletonMap: a key-value map's view, which besides refuses a key of another type;
/// - SkeletonProgram: a Program, which refuses to be given where a map view is expected.
///
///     auto skel = hello_map::Skeleton::open_and_load();
///     skel.maps.counter_table.lookup(uid);             // uid: std::uint32_t, as BTF says
///     skel.maps.counter_table.lookup(std::uint64_t{}); // error: ... KeyMismatch<
///                                                      //   hello_map::map::counter_table,
///                                                      //   unsigned int, long unsigned int>
///     ebpfpp::ArrayMap<std::uint64_t> m(skel.progs.count_tracepoint);
///         // error: ... ProgramAsMap<hello_map::prog::count_tracepoint, ebpfpp::Program,
///         //   ebpfpp::ArrayMap<long unsigned int> >
///     ebpfpp::Map<std::uint32_t, std::uint32_t> t(std::move(tail.maps.syscall));
///         // error: ... ViewMismatch<hello_tail::map::syscall, ebpfpp::ProgArray,
///         //   ebpfpp::Map<unsigned int, unsigned int> >
///
/// Tools rarely name these types: they use the members of the generated Skeleton, and pass them
/// on as the plain view (a SkeletonMap<Tag, Map<K, V>> is a Map<K, V>, a SkeletonView<Tag,
/// RingBuffer<E>> a RingBuffer<E>, a SkeletonProgram<Tag> a Program). Each program being a type
/// of its own, `cond ? skel.progs.a : skel.progs.b` does not compile: choose into an
/// ebpfpp::Program (`ebpfpp::Program p = skel.progs.a;`).

#include "detail/config.hpp"

#include <concepts>
#include <exception>
#include <type_traits>
#include <utility>

#include "program.hpp" // not object.hpp: a generated skeleton includes that itself

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

/// `key` as the map's key type; or, when it does not fit, the compile error that names the map and
/// both types, with no error before it (the conversion is not even tried).
template <class Tag, class MapKey, class Key>
constexpr MapKey as_key(const Key& key) {
  if constexpr (key_fits<MapKey, Key>) {
    return static_cast<MapKey>(key);
  } else {
    static_assert(sizeof(KeyMismatch<Tag, MapKey, std::remove_cvref_t<Key>>) == 0,
                  "a key of another type than the map's: see the map and both types above");
    return MapKey{};
  }
}

/// Never defined, as KeyMismatch: a program (its tag `<object>::prog::<name>`) given where a map
/// view of type `Wanted` is expected.
template <class Program, class ProgramType, class Wanted>
struct ProgramAsMap;
/// Never defined: a map (its tag and view type) given where a Program is expected.
template <class Map, class MapView, class Wanted>
struct MapAsProgram;
/// Never defined: a map (its tag and view type) given where a view of another kind or of other
/// types is expected.
template <class Map, class MapView, class Wanted>
struct ViewMismatch;

/// A map view of ebpfpp (Map<K,V>, RingBuffer<E>, ProgArray, ...): each says what it needs of a
/// map in a static spec().
template <class T>
concept map_view = std::is_class_v<T> && requires {
  T::spec();
};

} // namespace detail

/// A program of a generated skeleton (`skel.progs.<name>`): a Program, passed on as one, whose
/// type names it (`Tag` is `<object>::prog::<name>`), so that giving it where a map view is
/// expected fails to compile with a first error line that names the program and both types.
template <class Tag>
class SkeletonProgram : public Program {
public:
  /// An empty Program: the generated Skeleton assigns the real one at open().
  SkeletonProgram() noexcept = default;
  /// The program the generated Skeleton found, now known by its tag.
  explicit SkeletonProgram(Program program) noexcept : Program(std::move(program)) {}

  /// Never usable: a program is no map. It exists so that the compiler says which program was
  /// given for which map view, instead of listing every constructor the view has.
  template <detail::map_view Wanted>
  [[noreturn]] operator Wanted() const {
    static_assert(sizeof(detail::ProgramAsMap<Tag, Program, Wanted>) == 0,
                  "a program given where a map is expected: see the program and both types above");
    std::terminate();
  }
};

/// A map of a generated skeleton (`skel.maps.<name>`) as its view, View: passed on as one, and
/// moved out as one (`ebpfpp::RingBuffer<E> events = std::move(skel.maps.events);`). `Tag` names
/// the map (`test_skel::map::events`), so that giving it where a program, or a view of another
/// kind or type, is expected fails to compile with a first error line that names the map and both
/// types, instead of a list of every constructor the other view has.
template <class Tag, class View>
class SkeletonView : public View {
public:
  /// An empty view: the generated Skeleton assigns the real one at load().
  SkeletonView() noexcept = default;
  /// The view the generated Skeleton made, now known by its tag.
  explicit SkeletonView(View&& view) noexcept : View(std::move(view)) {}

  /// Never usable: a map is no program (see SkeletonProgram's conversion, the other way round).
  template <std::same_as<Program> Wanted>
  [[noreturn]] operator Wanted() const {
    static_assert(sizeof(detail::MapAsProgram<Tag, View, Wanted>) == 0,
                  "a map given where a program is expected: see the map and both types above");
    std::terminate();
  }

  /// Never usable: a view of another kind, or of other key, value or event types, than the map's.
  template <detail::map_view Wanted>
  requires(!std::derived_from<View, Wanted>) [[noreturn]] operator Wanted() const {
    static_assert(sizeof(detail::ViewMismatch<Tag, View, Wanted>) == 0,
                  "a map given where another view is expected: see the map and both types above");
    std::terminate();
  }
};

/// A typed key-value map view (Map<K,V>, ArrayMap<V>, PerCpuHashMap<K,V>, ...) as a member of a
/// generated skeleton: a SkeletonView whose key-taking operations accept only the map's key type
/// (or a narrower integer) and refuse anything else at compile time.
template <class Tag, class View>
class SkeletonMap : public SkeletonView<Tag, View> {
public:
  using key_type = typename View::key_type;
  using value_type = typename View::value_type;

  /// An empty view: the generated Skeleton assigns the real one at load().
  SkeletonMap() noexcept = default;
  /// The view the generated Skeleton made, now known by its tag.
  explicit SkeletonMap(View&& view) noexcept : SkeletonView<Tag, View>(std::move(view)) {}

  template <class Key>
  auto lookup(const Key& key) const
      noexcept(noexcept(std::declval<const View&>().lookup(std::declval<const key_type&>()))) {
    return View::lookup(detail::as_key<Tag, key_type>(key));
  }
  template <class Key>
  bool contains(const Key& key) const
      noexcept(noexcept(std::declval<const View&>().contains(std::declval<const key_type&>()))) {
    return View::contains(detail::as_key<Tag, key_type>(key));
  }
  template <class Key, class... Rest>
  void update(const Key& key, const Rest&... rest) requires requires(View& v, const key_type& k) {
    v.update(k, rest...);
  }
  { View::update(detail::as_key<Tag, key_type>(key), rest...); }
  template <class Key>
  bool erase(const Key& key) requires requires(View& v, const key_type& k) {
    v.erase(k);
  }
  { return View::erase(detail::as_key<Tag, key_type>(key)); }
  template <class Key>
  auto lookup_and_erase(const Key& key) requires requires(View& v, const key_type& k) {
    v.lookup_and_erase(k);
  }
  { return View::lookup_and_erase(detail::as_key<Tag, key_type>(key)); }
};

} // namespace ebpfpp
