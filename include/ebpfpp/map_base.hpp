#pragma once
/// @file
/// MapSource and MapBase: how every typed map and stream (Map<K,V>, ArrayMap, RingBuffer,
/// PerfBuffer, ProgArray, ...) gets hold of its kernel map, and the part of each that is not about
/// its kind: the owned fd, the kernel's description, pinning.
///
/// Every such type is made the same ways, and owns a duplicate of the map's fd, so it stays valid
/// after the Object or Skeleton it came from is gone (the kernel keeps a map while any fd or pin
/// refers to it):
///
///     ebpfpp::Map<u32, u64> a(skel->maps.counts);               // a skeleton's bpf_map*
///     ebpfpp::Map<u32, u64> b(obj.map("counts"));               // a MapRef
///     ebpfpp::Map<u32, u64> c(skel, "counts");                  // an Object or Skeleton + name
///     auto d = ebpfpp::Map<u32, u64>::open_pinned("/sys/fs/bpf/counts");
///     auto e = ebpfpp::Map<u32, u64>::from_fd(fd, "counts");    // an fd from elsewhere (dup'ed)
///     auto f = ebpfpp::Map<u32, u64>::from_id(42);              // by id (bpftool map show)
///
/// Making one checks the map against the view (Self::spec()): the map type, the key and value
/// sizes, and what the map's BTF says. A mismatch throws an Error naming the map and what
/// differs, and nothing is leaked.
///
/// A new map kind is a small class over MapBase (or one of the *Ops bases in detail/map_ops.hpp)
/// with a static spec(); see hash_map.hpp for the pattern.

#include "detail/config.hpp"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/fd.hpp"
#include "detail/format.hpp"
#include "detail/map_check.hpp"
#include "detail/map_iter.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "map_data.hpp"
#include "map_info.hpp"
#include "map_ref.hpp"

namespace ebpfpp {

/// Where a typed map or stream finds its kernel map. It converts implicitly from a skeleton's
/// `bpf_map*` and from a MapRef; the static functions name the other sources. Opening happens
/// when the typed view is made.
class MapSource {
public:
  /// No map: making a view from it throws an Error.
  MapSource() noexcept = default;
  /// A map of an Object or Skeleton (skel->maps.counts); it must be loaded by then.
  MapSource(bpf_map* map) noexcept : kind_(Kind::object), map_(map) {}
  /// A map of an Object or Skeleton (obj.map("counts")); it must be loaded by then, and the
  /// Object or Skeleton still alive.
  MapSource(const MapRef& map) {
    if (map.expired()) {
      kind_ = Kind::gone;
      name_ = std::string(map.name());
    } else {
      kind_ = Kind::object;
      map_ = map.get();
    }
  }
  /// The map pinned at `path` on bpffs (BPF_OBJ_GET, kernel 4.4+).
  static MapSource pinned(std::filesystem::path path) {
    MapSource s;
    s.kind_ = Kind::pinned;
    s.path_ = std::move(path);
    return s;
  }
  /// A map fd from elsewhere (your own libbpf code, another process through SCM_RIGHTS). The
  /// view owns a duplicate; the caller keeps `fd`. `name` names it in errors (default: the
  /// kernel's name).
  static MapSource fd(int fd, std::string name = {}) {
    MapSource s;
    s.kind_ = Kind::borrowed;
    s.fd_ = fd;
    s.name_ = std::move(name);
    return s;
  }
  /// The map with this id (BPF_MAP_GET_FD_BY_ID, kernel 4.13+; needs CAP_SYS_ADMIN). With
  /// `check_first`, the view checks the map's type and sizes from the kernel's description
  /// before it opens it (kernel 5.8+), so a map of another type is never opened (see
  /// system.hpp for why that matters); false saves that walk of every map where the type is
  /// known (a map of maps' inner maps have its template's).
  static MapSource id(std::uint32_t id, bool check_first = true) {
    MapSource s;
    s.kind_ = Kind::id;
    s.id_ = id;
    s.check_first_ = check_first;
    return s;
  }
  /// A map fd the view takes over (what create() functions use).
  static MapSource adopt(detail::UniqueFd fd, std::string name) {
    MapSource s;
    s.kind_ = Kind::owned;
    s.owned_ = std::move(fd);
    s.name_ = std::move(name);
    return s;
  }

  /// An owned fd for the map and its name; `view` ("Map<u32, u64>") names the view in errors.
  /// With `spec`, a map named by id is first checked against it without being opened (see
  /// system.hpp: opening other processes' maps by id is a hazard), so a map of another type is
  /// refused unopened. Throws Error: an empty source, a map not created yet, nothing or no map
  /// pinned at the path, a bad fd or id, a map by id that does not fit `spec`.
  /// (A template over a parameter nobody gives: its check of a map by id compiles the BTF type
  /// comparison, which a file that makes no typed view should not pay for.)
  template <class = void>
  std::pair<detail::UniqueFd, std::string> open(std::string_view view,
                                                const detail::ViewSpec* spec = nullptr,
                                                TypeCheck check = TypeCheck::btf) && {
    const auto action = [&](std::string_view what) {
      return detail::format("make ebpfpp::{} of {}", view, what);
    };
    switch (kind_) {
    case Kind::object: {
      if (!map_)
        throw Error(EINVAL, action("a null bpf_map*"), std::string(detail::hint::null_map));
      const std::string name = bpf_map__name(map_);
      const int fd = bpf_map__fd(map_);
      if (fd < 0)
        throw Error(
            EBADF,
            detail::format("make a typed view of map '{}' (ebpfpp::{}): it is not created yet",
                           name, view),
            std::string(detail::hint::not_loaded));
      return {detail::dup_fd(fd, detail::format("map '{}'", name)), name};
    }
    case Kind::pinned: {
      auto fd = detail::open_pinned(path_, detail::FdKind::map, [&] {
        return detail::format("open pinned map '{}' as ebpfpp::{}", path_.string(), view);
      });
      return {std::move(fd), std::string()};
    }
    case Kind::borrowed: {
      auto fd = detail::dup_fd(fd_, detail::format("map fd {}", fd_));
      if (detail::fd_kind(fd.get()) != detail::FdKind::map)
        throw Error(
            EINVAL, action(detail::format("fd {}: it is not a map", fd_)),
            detail::format("fd {} is {}", fd_, detail::fd_kind_name(detail::fd_kind(fd.get()))));
      return {std::move(fd), std::move(name_)};
    }
    case Kind::id: {
      if (spec && check_first_) detail::check_unopened(id_, *spec, check);
      detail::UniqueFd fd(bpf_map_get_fd_by_id(id_));
      if (!fd)
        detail::fail(
            errno, [&] { return action(detail::format("map id {}", id_)); },
            detail::Op::open_by_id);
      return {std::move(fd), std::string()};
    }
    case Kind::owned:
      return {std::move(owned_), std::move(name_)};
    case Kind::gone:
      throw Error(
          EBADF,
          action(detail::format("map '{}': the Object or Skeleton it came from is gone", name_)),
          std::string(detail::hint::view_outlived));
    case Kind::none:
      break;
    }
    throw Error(EINVAL, action("an empty map source"), std::string(detail::hint::empty_map_source));
  }

  /// Whether no map is named (default-constructed).
  bool empty() const noexcept { return kind_ == Kind::none; }

  /// Where it came from, for messages: "/sys/fs/bpf/x" for a pinned map, else "".
  std::string path() const {
    return kind_ == Kind::pinned ? path_.string() : std::string();
  }

private:
  // One of these, and the members it uses (a tagged struct, not a std::variant: the variant's
  // visits were a tenth of what including a map header cost to compile).
  enum class Kind : std::uint8_t {
    none,
    object,   // map_ (a skeleton's bpf_map*, or a MapRef's)
    pinned,   // path_
    borrowed, // fd_, name_
    id,       // id_, check_first_
    owned,    // owned_, name_
    gone,     // name_: a MapRef whose Object or Skeleton was destroyed (its bpf_map is freed)
  };
  Kind kind_ = Kind::none;
  bpf_map* map_ = nullptr;
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint32_t id_ = 0;
  bool check_first_ = true;
  detail::UniqueFd owned_;
  std::string name_;
};

/// An Object or Skeleton: anything that finds its maps by name.
template <class T>
concept MapContainer = requires(const T& t, std::string_view name) {
  { t.map(name) } -> std::same_as<MapRef>;
  { t.maps() } -> std::same_as<std::vector<MapRef>>;
};

namespace detail {

/// The map called `name` of `source`, or no map (an empty MapSource) when it has none: for a
/// stream's companion maps (a ring's `<name>_drops`), which an object may leave out.
template <MapContainer Container>
MapSource optional_map(const Container& source, const std::string& name) {
  for (const MapRef& m : source.maps())
    if (m.name() == name) return m;
  return {};
}

/// What a stream (RingBuffer, PerfBuffer) requires of its map: one of `types`, with keys and
/// values of `size` bytes (0: none), named `key`/`value` in messages. Its records are checked by
/// the stream as they come, not against the map's BTF.
inline ViewSpec stream_spec(std::string view_name, std::span<const bpf_map_type> types,
                            std::uint32_t size, std::string_view key, std::string_view value) {
  return {std::move(view_name), types, size, size, key, value, {}, {}, false};
}

/// The part of every typed map and stream that is not about its kind: the owned fd, the
/// kernel's view of the map, pinning, and the ways to make one. `Self` (CRTP) says with its
/// static spec() what it requires of a map. Move-only.
///
/// Threads (docs/threads.md): every lookup, update, erase and read of a view is one or a few
/// bpf() syscalls on its fd, so one view may be used from several threads at once; pin(),
/// unpin(), moving and assigning must not race with other use.
template <class Self>
class MapBase {
public:
  /// An empty view (fd() == -1): assign a real one to use it.
  MapBase() noexcept = default;
  /// A view of the map `source` names, checked against Self::spec() (see TypeCheck). Throws
  /// Error when it cannot be opened or does not fit.
  explicit MapBase(MapSource source, TypeCheck check = TypeCheck::btf) {
    const ViewSpec spec = Self::spec();
    const std::string pinned = source.path();
    auto [fd, name] = std::move(source).open(spec.view_name, &spec, check);
    fd_ = std::move(fd);
    info_ = query_map_info(fd_.get(), name.empty() ? detail::format("'{}'", pinned)
                                                   : detail::format("'{}'", name));
    if (!name.empty())
      name_ = std::move(name);
    else
      name_ = !info_.name.empty() ? info_.name : pinned;
    validate(info_, name_, spec, check);
  }
  /// The map `name` of an Object or Skeleton: Map<u32, u64>(skel, "counts"). Throws Error
  /// listing the maps that exist when there is none of that name, or as above.
  template <MapContainer Container>
  MapBase(const Container& container, std::string_view name, TypeCheck check = TypeCheck::btf)
      : MapBase(MapSource(container.map(name)), check) {}

  MapBase(MapBase&&) noexcept = default;
  MapBase& operator=(MapBase&&) noexcept = default;
  MapBase(const MapBase&) = delete;
  MapBase& operator=(const MapBase&) = delete;
  ~MapBase() = default;

  /// The map pinned at `path` on bpffs (kernel 4.4+), as a Self; `args` are Self's other
  /// constructor arguments. Throws Error when nothing, or no map, is pinned there, or it does
  /// not fit.
  template <class... Args>
  static Self open_pinned(const std::filesystem::path& path, Args&&... args) {
    return Self(MapSource::pinned(path), std::forward<Args>(args)...);
  }
  /// A view of a map fd from elsewhere; the view owns a duplicate, the caller keeps `fd`.
  template <class... Args>
  static Self from_fd(int fd, std::string name, Args&&... args) {
    return Self(MapSource::fd(fd, std::move(name)), std::forward<Args>(args)...);
  }
  /// A view of the map with this id (kernel 4.13+, CAP_SYS_ADMIN).
  template <class... Args>
  static Self from_id(std::uint32_t id, Args&&... args) {
    return Self(MapSource::id(id), std::forward<Args>(args)...);
  }

  /// The map fd (owned by this view); -1 when empty (default-constructed or moved-from).
  int fd() const noexcept { return fd_.get(); }
  /// The map's name: the ELF name for maps from an object, the name given to create(), the pin
  /// path for pinned maps, else the kernel's (at most 15 characters).
  const std::string& name() const noexcept { return name_; }
  /// What the kernel says about the map (as read when the view was made).
  const MapInfo& info() const noexcept { return info_; }
  /// BPF_MAP_TYPE_*.
  bpf_map_type type() const noexcept { return info_.type; }
  /// "hash", "array", ... as bpftool spells it.
  std::string type_name() const { return info_.type_name(); }
  /// The kernel's key size in bytes.
  std::uint32_t key_size() const noexcept { return info_.key_size; }
  /// The kernel's value size in bytes (per CPU for per-CPU maps).
  std::uint32_t value_size() const noexcept { return info_.value_size; }
  /// The capacity set when the map was created.
  std::uint32_t max_entries() const noexcept { return info_.max_entries; }
  /// The BPF_F_* flags the map was created with.
  std::uint32_t map_flags() const noexcept { return info_.map_flags; }
  /// False for an empty view.
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  /// Pins the map at `path` on a bpffs mount: it then outlives this process until unpinned, and
  /// open_pinned(path) reaches it from any process. Throws Error (EEXIST if the path exists;
  /// a path not on bpffs or a missing directory; an empty view). Kernel 4.4+.
  void pin(const std::filesystem::path& path) {
    const auto action = [&] {
      return detail::format("pin map '{}' at '{}'", name_, path.string());
    };
    require_not_empty(action);
    require_no_nul(path.native(), action);
    LibbpfLog log;
    check(bpf_obj_pin(fd_.get(), path.c_str()), action, Op::pin, &log, path.native());
    pin_path_ = path;
  }

  /// Removes the pin made by pin(); the map itself goes when its last fd and pin are gone.
  /// Throws Error when this view made no pin or it cannot be removed.
  void unpin() {
    if (pin_path_.empty())
      throw Error(ENOENT, detail::format("unpin map '{}'", name_),
                  std::string(hint::unpin_foreign));
    std::error_code ec;
    if (!std::filesystem::remove(pin_path_, ec) || ec)
      fail(
          ec ? ec.value() : ENOENT,
          [&] { return detail::format("unpin map '{}' from '{}'", name_, pin_path_.string()); },
          Op::generic);
    pin_path_.clear();
  }

  /// Where pin() pinned the map; empty when not pinned through this view.
  const std::filesystem::path& pin_path() const noexcept { return pin_path_; }

protected:
  template <class Action>
  void require_not_empty(const Action& action) const {
    if (!fd_) throw Error(EBADF, action(), std::string(hint::empty_view));
  }

  UniqueFd fd_;
  std::string name_;
  MapInfo info_;
  std::filesystem::path pin_path_;
};

} // namespace detail
} // namespace ebpfpp
