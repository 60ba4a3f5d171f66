#pragma once
// OpenOptions (open_options.hpp) at work: checked before libbpf parses the object, handed to
// libbpf's bpf_object_open_opts, and the map resizes and reuses applied to the object libbpf
// opened, before anything of it is in the kernel.

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include "../error.hpp"
#include "../open_options.hpp"
#include "enum_table.hpp"
#include "fd.hpp"
#include "format.hpp"
#include "uapi.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

/// Checks the options that name things outside the object: the BTF file must be readable, the
/// pin root on bpffs (or a directory libbpf may create there), the log level one the kernel
/// knows. `action` names the open. Throws Error.
template <class Action>
void check_open_options(const OpenOptions& o, const Action& action) {
  if (!o.btf_custom_path.empty()) {
    const auto what = [&] {
      return detail::format("{}: read BTF file '{}' (OpenOptions::btf_custom_path)", action(),
                            o.btf_custom_path.string());
    };
    require_no_nul(o.btf_custom_path.native(), what);
    if (FileProblem file = file_problem(o.btf_custom_path); file.err)
      fail(file.err, what, Op::open_object, file.hint);
  }
  if (!o.pin_root_path.empty()) {
    const auto what = [&] {
      return detail::format("{}: pin maps under '{}' (OpenOptions::pin_root_path)", action(),
                            o.pin_root_path.string());
    };
    require_no_nul(o.pin_root_path.native(), what);
    if (!on_bpffs(o.pin_root_path))
      fail(EINVAL, what, Op::pin, static_cast<LibbpfLog*>(nullptr), o.pin_root_path.native());
  }
  if ((o.kernel_log_level & ~std::uint32_t{1 | 2 | 4}) != 0)
    throw Error(EINVAL,
                detail::format("{}: kernel log level {} (OpenOptions::kernel_log_level)", action(),
                               o.kernel_log_level),
                std::string(hint::kernel_log_level));
}

/// libbpf's open options for `o`, zeroed first (tail padding too: libbpf refuses nonzero bytes
/// past the fields it knows). The paths stay `o`'s: `o` must outlive the open call.
inline void to_libbpf(const OpenOptions& o, bpf_object_open_opts& opts) noexcept {
  init_opts(opts);
  if (!o.btf_custom_path.empty()) opts.btf_custom_path = o.btf_custom_path.c_str();
  if (!o.pin_root_path.empty()) opts.pin_root_path = o.pin_root_path.c_str();
  opts.kernel_log_level = o.kernel_log_level;
#if LIBBPF_MAJOR_VERSION > 1 || (LIBBPF_MAJOR_VERSION == 1 && LIBBPF_MINOR_VERSION >= 4)
  if (!o.bpf_token_path.empty()) opts.bpf_token_path = o.bpf_token_path.c_str();
#endif
}


/// The map `name` of `obj`; an Error listing the object's maps when there is none.
template <class Action>
bpf_map* map_to_change(bpf_object* obj, const std::string& name, const Action& action) {
  if (bpf_map* m = bpf_object__find_map_by_name(obj, name.c_str())) return m;
  std::string names;
  bpf_map* m = nullptr;
  while ((m = bpf_object__next_map(obj, m)))
    names += detail::format("{}'{}'", names.empty() ? "" : ", ", bpf_map__name(m));
  throw Error(ENOENT, detail::format("{}: the object has no such map", action()),
              detail::format("the object's maps are: {}", names.empty() ? "none" : names));
}

inline bool is_ring_buffer(bpf_map_type type) noexcept {
  return type == BPF_MAP_TYPE_RINGBUF ||
         type == static_cast<bpf_map_type>(uapi::map_type_user_ringbuf);
}

inline std::string_view what_name(MapResize::What what) noexcept {
  return enum_name(what, {"max_entries", "ring_size", "value_size"});
}

/// Sets one size, after checking that it fits the map's kind. Throws Error (EINVAL, ENOENT).
template <class = void>
void apply_resize(bpf_object* obj, const MapResize& r) {
  const auto action = [&] {
    return detail::format("resize map '{}' of BPF object '{}': {} {}", r.map,
                          bpf_object__name(obj), what_name(r.what), r.size);
  };
  bpf_map* m = map_to_change(obj, r.map, action);
  const bpf_map_type type = bpf_map__type(m);
  const char* type_str = libbpf_bpf_map_type_str(type);
  const std::string kind = type_str ? type_str : detail::format("type {}", static_cast<int>(type));
  const auto refuse = [&](std::string why, std::string hint) {
    throw Error(EINVAL, detail::format("{}: {}", action(), why), std::move(hint));
  };
  if (bpf_map__is_internal(m))
    refuse("it is global data, one entry sized by its variables", std::string(hint::resize_data));
  if (r.size == 0 && !(r.what == MapResize::What::max_entries && type == BPF_MAP_TYPE_PERF_EVENT_ARRAY))
    refuse("a size of 0", std::string(hint::resize_zero));
  int ret = 0;
  switch (r.what) {
  case MapResize::What::max_entries:
    if (is_ring_buffer(type))
      refuse("a ring buffer's max_entries is its size in bytes", std::string(hint::ring_not_entries));
    ret = bpf_map__set_max_entries(m, r.size);
    break;
  case MapResize::What::ring_size: {
    if (!is_ring_buffer(type))
      refuse(detail::format("it is a {} map, not a ring buffer", kind), hint::not_a_ring(kind));
    const auto page = static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE));
    if (r.size % page != 0 || !std::has_single_bit(r.size))
      refuse("not a power-of-two multiple of the page size", hint::ring_size_rule(r.size, page));
    ret = bpf_map__set_max_entries(m, r.size);
    break;
  }
  case MapResize::What::value_size:
    if (type != BPF_MAP_TYPE_ARRAY && type != BPF_MAP_TYPE_PERCPU_ARRAY)
      refuse(detail::format("it is a {} map, not an array", kind), hint::value_size_kind(kind));
    ret = bpf_map__set_value_size(m, r.size);
    break;
  }
  // EBUSY: the object is loaded, or the map reused (an fd of its own already).
  check(ret, action);
}

/// The object's map `m` uses the map `source` names from now on (bpf_map__reuse_fd), after
/// checking that it matches the declaration. Throws Error.
template <class = void>
void apply_reuse(bpf_object* obj, const MapReuse& r) {
  const std::string object = bpf_object__name(obj);
  std::string from;
  UniqueFd pinned;
  int fd = -1;
  if (const auto* path = std::get_if<std::filesystem::path>(&r.source)) {
    from = detail::format("the map pinned at '{}'", path->string());
    pinned = open_pinned(*path, FdKind::map, [&] {
      return detail::format("reuse {} as map '{}' of BPF object '{}'", from, r.map, object);
    });
    fd = pinned.get();
  } else if (const auto* given = std::get_if<int>(&r.source)) {
    from = detail::format("map fd {}", *given);
    fd = *given;
  } else {
    const MapRef& other = std::get<MapRef>(r.source);
    from = detail::format("map '{}' of another object", other.name());
    fd = other.fd();
    if (fd < 0)
      throw Error(EBADF,
                  detail::format("reuse {} as map '{}' of BPF object '{}': it is not loaded", from,
                                 r.map, object),
                  std::string(other.expired() ? hint::view_outlived : hint::reuse_not_loaded));
  }
  const auto action = [&] {
    return detail::format("reuse {} as map '{}' of BPF object '{}'", from, r.map, object);
  };
  bpf_map* m = map_to_change(obj, r.map, action);
  if (const FdKind kind = fd_kind(fd); kind != FdKind::map)
    throw Error(EINVAL, detail::format("{}: the fd is {}", action(), fd_kind_name(kind)),
                std::string(hint::reuse_differs));
  bpf_map_info info{};
  __u32 len = sizeof info;
  check(bpf_obj_get_info_by_fd(fd, &info, &len), action);
  // What libbpf checks of a pinned map it reuses (map_is_reuse_compat), and the name: libbpf 1.1
  // renames the object's map after the kernel's name of the map it reuses.
  const std::uint32_t declared_entries = bpf_map__max_entries(m);
  const bool any_entries =
      bpf_map__type(m) == BPF_MAP_TYPE_PERF_EVENT_ARRAY && declared_entries == 0; // one per CPU
  std::string kernel_name = bpf_map__name(m);
  kernel_name.resize(std::min<std::size_t>(kernel_name.size(), BPF_OBJ_NAME_LEN - 1));
  const auto describe = [](std::uint32_t type, std::uint32_t key, std::uint32_t value,
                           std::uint32_t entries, std::uint32_t flags, std::string_view name) {
    const char* t = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(type));
    return detail::format("{} '{}' (key {} B, value {} B, max_entries {}, flags {:#x})",
                          t ? t : "unknown", name, key, value, entries, flags);
  };
  if (info.type != static_cast<std::uint32_t>(bpf_map__type(m)) ||
      info.key_size != bpf_map__key_size(m) || info.value_size != bpf_map__value_size(m) ||
      (!any_entries && info.max_entries != declared_entries) ||
      info.map_flags != bpf_map__map_flags(m) || info.map_extra != bpf_map__map_extra(m) ||
      kernel_name != info.name)
    throw Error(EINVAL,
                detail::format("{}: it is {}, the object declares {}", action(),
                               describe(info.type, info.key_size, info.value_size,
                                        info.max_entries, info.map_flags, info.name),
                               describe(bpf_map__type(m), bpf_map__key_size(m),
                                        bpf_map__value_size(m), declared_entries,
                                        bpf_map__map_flags(m), kernel_name)),
                std::string(hint::reuse_differs));
  check(bpf_map__reuse_fd(m, fd), action);
}

/// Applies the resizes, then the reuses, to an object just opened. Throws Error (the caller
/// closes the object). A template as the two above (only an open compiles them; an inline
/// function calling them compiled them in every file that includes object.hpp).
template <class = void>
void apply_map_options(bpf_object* obj, const OpenOptions& o) {
  for (const MapResize& r : o.resize) apply_resize(obj, r);
  for (const MapReuse& r : o.reuse) apply_reuse(obj, r);
}

} // namespace ebpfpp::detail
