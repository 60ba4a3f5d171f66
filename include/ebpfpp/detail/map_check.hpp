#pragma once
// Checking a typed view against the kernel's map: the map type, the key and value sizes, and what
// the map's BTF says about the types (kind, integer signedness). Also how errors name C++ types
// and keys.

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>
#include <unistd.h>

#include "../error.hpp"
#include "../map_data.hpp"
#include "../map_info.hpp"
#include "format.hpp"

namespace ebpfpp::detail {

// --- naming things in errors ------------------------------------------------------------------

/// The spelling of T as the compiler prints it ("unsigned int"), for error messages.
template <class T>
constexpr std::string_view type_name() noexcept {
  // g++: "... type_name() [with T = unsigned int; std::string_view = ...]"
  // clang: "... type_name() [T = unsigned int]"
  constexpr std::string_view p = __PRETTY_FUNCTION__;
  constexpr auto start = p.find("T = ") + 4;
  constexpr auto end = p.find_first_of(";]", start);
  return p.substr(start, end - start);
}

inline std::string map_type_str(bpf_map_type type) {
  const char* s = libbpf_bpf_map_type_str(type);
  return s ? s : detail::format("type {}", static_cast<int>(type));
}

/// "key 42" for integer keys, else the key's bytes in hex: "key {2a 00 00 00}".
template <class K>
std::string describe_key(const K& key) {
  if constexpr (std::is_same_v<K, bool>) {
    return detail::format("key {}", key);
  } else if constexpr (std::is_integral_v<K> && std::is_signed_v<K>) {
    return detail::format("key {}", static_cast<long long>(key));
  } else if constexpr (std::is_integral_v<K>) {
    return detail::format("key {}", static_cast<unsigned long long>(key));
  } else {
    const auto* b = reinterpret_cast<const unsigned char*>(&key);
    std::string out = "key {";
    const std::size_t shown = std::min<std::size_t>(sizeof(K), 32);
    for (std::size_t i = 0; i < shown; ++i) out += detail::format("{}{:02x}", i ? " " : "", b[i]);
    if (shown < sizeof(K)) out += " ...";
    return out + "}";
  }
}

// --- checking C++ types against the map -------------------------------------------------------

/// What a C++ type looks like to the BTF check.
struct CppShape {
  enum Kind { integer, floating, record } kind = record;
  bool is_signed = false;
  bool is_bool = false;
};

template <class T>
constexpr CppShape cpp_shape() noexcept {
  if constexpr (std::is_same_v<T, bool>) {
    return {CppShape::integer, false, true};
  } else if constexpr (std::is_integral_v<T>) {
    return {CppShape::integer, std::is_signed_v<T>, false};
  } else if constexpr (std::is_enum_v<T>) {
    return {CppShape::integer, std::is_signed_v<std::underlying_type_t<T>>, false};
  } else if constexpr (std::is_floating_point_v<T>) {
    return {CppShape::floating, false, false};
  } else {
    return {CppShape::record, false, false};
  }
}

inline std::string describe_cpp_shape(const CppShape& s) {
  switch (s.kind) {
  case CppShape::integer:
    return s.is_bool ? "a bool" : s.is_signed ? "a signed integer" : "an unsigned integer";
  case CppShape::floating:
    return "a floating-point type";
  case CppShape::record:
    return "a struct/class type";
  }
  return "?";
}

struct BtfDeleter {
  void operator()(btf* b) const noexcept { btf__free(b); }
};

// Compares one BTF type (a map's key or value) with a C++ type; returns what differs, or "".
inline std::string btf_mismatch(const btf* b, std::uint32_t type_id, const CppShape& cpp,
                                std::string_view cpp_name, bool check_sign) {
  const btf_type* t = btf__type_by_id(b, type_id);
  if (!t) return {};
  const char* declared = btf__name_by_offset(b, t->name_off);
  std::string shown = declared && *declared ? declared : "";
  // Typedefs and qualifiers (__u32, const) say nothing about the layout: look through them.
  for (int depth = 0; t && (btf_is_mod(t) || btf_is_typedef(t)) && depth < 32; ++depth)
    t = btf__type_by_id(b, t->type);
  if (!t) return {};
  const char* resolved_name = btf__name_by_offset(b, t->name_off);
  const std::string resolved = resolved_name && *resolved_name ? resolved_name : "";

  std::string btf_kind;
  bool compatible = true;
  if (btf_is_int(t)) {
    const auto enc = btf_int_encoding(t);
    const bool is_bool = enc & BTF_INT_BOOL;
    const bool is_char = enc & BTF_INT_CHAR;
    const bool is_signed = enc & BTF_INT_SIGNED;
    btf_kind = is_bool   ? "a bool"
               : is_char ? "a char"
                         : detail::format("a{} {}-bit integer",
                                          is_signed ? " signed" : "n unsigned", btf_int_bits(t));
    if (cpp.kind != CppShape::integer) {
      compatible = false;
    } else if (check_sign && !is_bool && !is_char && !cpp.is_bool && is_signed != cpp.is_signed) {
      compatible = false;
    }
  } else if (btf_is_any_enum(t)) {
    // Enum signedness is recorded only since kernel 6.0 (kflag), so only the kind is checked.
    btf_kind = "an enum";
    compatible = cpp.kind == CppShape::integer;
  } else if (btf_is_ptr(t)) {
    btf_kind = "a pointer";
    compatible = cpp.kind == CppShape::integer;
  } else if (btf_is_composite(t)) {
    btf_kind = btf_is_struct(t) ? "a struct" : "a union";
    compatible = cpp.kind == CppShape::record;
  } else if (btf_is_array(t)) {
    btf_kind = "an array";
    compatible = cpp.kind == CppShape::record; // std::array or a struct around one
  } else if (btf_is_float(t)) {
    btf_kind = "a floating-point type";
    compatible = cpp.kind == CppShape::floating;
  } else {
    return {};
  }
  if (compatible) return {};
  std::string btf_name = shown.empty() ? resolved : shown;
  if (!resolved.empty() && resolved != btf_name) btf_name += detail::format(" = {}", resolved);
  if (btf_name.empty()) btf_name = "(anonymous)";
  return detail::format("BTF says '{}', {}, but the C++ type '{}' is {}", btf_name, btf_kind,
                        cpp_name, describe_cpp_shape(cpp));
}

/// The BTF object with this id, parsed; null when it cannot be read. From the kernel by id
/// (BPF_BTF_GET_FD_BY_ID, which needs CAP_SYS_ADMIN), else from a BTF fd this process already
/// holds with that id: libbpf keeps one for each Object or Skeleton it loaded, so maps of those
/// are checked without CAP_SYS_ADMIN. Reading a held fd's BTF (BPF_OBJ_GET_INFO_BY_FD) needs no
/// capability beyond being allowed the bpf() call.
inline std::unique_ptr<btf, BtfDeleter> map_btf(std::uint32_t btf_id) {
  LibbpfLog quiet; // an EPERM here is expected without CAP_SYS_ADMIN, not news
  if (btf* b = btf__load_from_kernel_by_id(btf_id)) return std::unique_ptr<btf, BtfDeleter>(b);
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    int fd = -1;
    const std::string name = it->path().filename().string();
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc{}) continue;
    std::array<char, 32> target{};
    const ssize_t n = ::readlink(it->path().c_str(), target.data(), target.size() - 1);
    if (n <= 0 || std::string_view(target.data(), static_cast<std::size_t>(n)) != "anon_inode:btf")
      continue;
    bpf_btf_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.id != btf_id) continue;
    // Again with a buffer for the raw BTF, now that its size is known.
    std::vector<std::uint8_t> data(info.btf_size);
    const __u32 size = info.btf_size;
    info = bpf_btf_info{};
    info.btf = reinterpret_cast<std::uintptr_t>(data.data());
    info.btf_size = size;
    len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.btf_size != size) continue;
    if (btf* b = btf__new(data.data(), size); !libbpf_get_error(b))
      return std::unique_ptr<btf, BtfDeleter>(b);
  }
  return nullptr;
}

/// Which typed view fits a map type, for the hint when the wrong one was used: the one list a new
/// kind adds a line to.
inline std::string_view view_for(bpf_map_type type) noexcept {
  switch (type) {
  case BPF_MAP_TYPE_HASH:
  case BPF_MAP_TYPE_LRU_HASH:
    return "Map<K, V>";
  case BPF_MAP_TYPE_PERCPU_HASH:
  case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    return "PerCpuHashMap<K, V>";
  case BPF_MAP_TYPE_BLOOM_FILTER:
    return "BloomFilterMap<V>";
  case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    return "ArrayOfMaps<Inner>";
  case BPF_MAP_TYPE_HASH_OF_MAPS:
    return "HashOfMaps<K, Inner>";
  case BPF_MAP_TYPE_TASK_STORAGE:
    return "TaskStorageMap<V>";
  case BPF_MAP_TYPE_SK_STORAGE:
    return "SocketStorageMap<V>";
  case BPF_MAP_TYPE_ARRAY:
    return "ArrayMap<V>";
  case BPF_MAP_TYPE_PERCPU_ARRAY:
    return "PerCpuArrayMap<V>";
  case BPF_MAP_TYPE_QUEUE:
    return "QueueMap<V>";
  case BPF_MAP_TYPE_STACK:
    return "StackMap<V>";
  case BPF_MAP_TYPE_STACK_TRACE:
    return "StackTraceMap<Depth>";
  case BPF_MAP_TYPE_PROG_ARRAY:
    return "ProgArray";
  case BPF_MAP_TYPE_RINGBUF:
    return "RingBuffer<Event>";
  case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
    return "PerfBuffer<Event>";
  case static_cast<bpf_map_type>(31): // BPF_MAP_TYPE_USER_RINGBUF, newer than some uapi headers
    return "UserRingBuffer<Event>";
  case BPF_MAP_TYPE_LPM_TRIE:
    return "LpmTrieMap<Key, V>";
  case BPF_MAP_TYPE_DEVMAP:
    return "DevMap<V>";
  case BPF_MAP_TYPE_DEVMAP_HASH:
    return "DevMapHash<V>";
  case BPF_MAP_TYPE_SOCKMAP:
    return "SockMap<V>";
  case BPF_MAP_TYPE_SOCKHASH:
    return "SockHash<K, V>";
  default:
    return {};
  }
}

/// What a typed view requires of a map.
struct ViewSpec {
  std::string view_name;                  // "Map<unsigned int, unsigned long>"
  std::span<const bpf_map_type> accepted; // map types it works with
  std::uint32_t key_size;                 // sizeof(K), 0 for queues and stacks
  std::uint32_t value_size;               // sizeof(V)
  std::string_view key_name, value_name;  // the C++ type names
  CppShape key_shape, value_shape;
  bool key_sign_matters; // false for array indexes (BPF code often uses int)
};

// Checks a map against a view: type, sizes, then BTF. Throws Error (EINVAL) naming the map and
// what differs.
inline void validate(const MapInfo& info, std::string_view name, const ViewSpec& spec,
                     TypeCheck check_level) {
  const auto action = [&] {
    return detail::format("view map '{}' ({}) as ebpfpp::{}", name, map_type_str(info.type),
                          spec.view_name);
  };
  if (std::find(spec.accepted.begin(), spec.accepted.end(), info.type) == spec.accepted.end()) {
    std::string accepted;
    for (auto t : spec.accepted) accepted += (accepted.empty() ? "" : ", ") + map_type_str(t);
    const std::string_view fits = view_for(info.type);
    throw Error(EINVAL, detail::format("{}: the map type does not fit", action()),
                detail::format("{} works with maps of type {}; {}", spec.view_name, accepted,
                               fits.empty()
                                   ? std::string("ebpfpp has no typed view of this map type "
                                                 "yet: use its fd() with libbpf")
                                   : detail::format("use ebpfpp::{} for maps of type {}", fits,
                                                    map_type_str(info.type))));
  }
  const auto size_error = [&](std::string_view what, std::uint32_t kernel, std::uint32_t cpp,
                              std::string_view cpp_name) {
    return Error(
        EINVAL,
        detail::format("{}: the {} size is {} bytes in the kernel but sizeof({}) is {}", action(),
                       what, kernel, cpp_name, cpp),
        detail::format("declare a C++ {} type with the BPF side's layout (bpftool map show "
                       "name {} and bpftool btf dump show it)",
                       what, name));
  };
  if (info.key_size != spec.key_size)
    throw size_error("key", info.key_size, spec.key_size, spec.key_name);
  if (info.value_size != spec.value_size)
    throw size_error("value", info.value_size, spec.value_size, spec.value_name);

  if (check_level != TypeCheck::btf || info.btf_id == 0) return;
  if (info.btf_key_type_id == 0 && info.btf_value_type_id == 0) return;
  const std::unique_ptr<btf, BtfDeleter> b = map_btf(info.btf_id);
  if (!b) {
    // Said once per process: a tool that makes many views would otherwise repeat it.
    static std::atomic<bool> said{false};
    if (!said.exchange(true))
      log_message(LogLevel::warn,
                  detail::format("the BTF type check of map '{}' ({}) is skipped, only its key and "
                                 "value sizes are checked: its BTF (id {}) is not held by this "
                                 "process, and reading it by id needs CAP_SYS_ADMIN (maps of an "
                                 "Object or Skeleton this process loaded are always checked); said "
                                 "once",
                                 name, spec.view_name, info.btf_id));
    return;
  }
  std::string diff;
  if (info.btf_key_type_id != 0 && spec.key_size != 0) {
    diff = btf_mismatch(b.get(), info.btf_key_type_id, spec.key_shape, spec.key_name,
                        spec.key_sign_matters);
    if (!diff.empty()) diff = "key: " + diff;
  }
  if (diff.empty() && info.btf_value_type_id != 0) {
    diff = btf_mismatch(b.get(), info.btf_value_type_id, spec.value_shape, spec.value_name, true);
    if (!diff.empty()) diff = "value: " + diff;
  }
  if (!diff.empty())
    throw Error(EINVAL, detail::format("{}: the {}", action(), diff),
                "use a C++ type that matches the BPF declaration, or pass TypeCheck::size_only "
                "if the reinterpretation is intended");
}

} // namespace ebpfpp::detail
