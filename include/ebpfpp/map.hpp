#pragma once
/// @file
/// Typed views of BPF maps: Map<K,V> (hash, LRU hash), ArrayMap<V>, PerCpuHashMap<K,V>,
/// PerCpuArrayMap<V>, QueueMap<V> and StackMap<V>.
///
/// A typed map owns a duplicate of the map's fd, so it stays valid after the Object or Skeleton
/// it came from is gone (the kernel keeps the map while any fd or pin refers to it). Making one
/// checks the map against the C++ types: the map type, sizeof(K) and sizeof(V) against the
/// kernel's key and value sizes, and, where the map carries BTF, what BTF says about the types
/// (integer or struct or array, and integer signedness). A mismatch throws an Error that says
/// exactly what differs, and nothing is leaked.
///
///     auto skel = ebpfpp::Skeleton<hello_map_bpf>::open_and_load();
///     ebpfpp::Map<std::uint32_t, std::uint64_t> counts(skel->maps.counts);
///     if (auto n = counts.lookup(uid)) fmt::print("{}\n", *n);
///     for (auto [uid, n] : counts) fmt::print("ID {}: {}\n", uid, n);
///
/// Lookups return std::optional (absence is not an error) and are noexcept where the value is
/// a plain V; writes throw an Error that names the map and the key.

#include "detail/config.hpp"

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/btf.h>

#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "object.hpp"

namespace ebpfpp {

/// What a map key or value type may be: plain bytes the kernel copies in and out (trivially
/// copyable, default-constructible), and not a pointer (a user-space address means nothing to the
/// kernel) nor a C array (use std::array). Using another type with a map is a compile error.
template <class T>
concept MapData =
    std::is_trivially_copyable_v<T> && std::default_initializable<T> && !std::is_pointer_v<T> &&
    !std::is_array_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>;

/// How update() treats the key's presence: BPF_ANY (insert or overwrite), BPF_NOEXIST (insert
/// only; fails if present), BPF_EXIST (overwrite only; fails if absent).
enum class UpdateFlag : std::uint64_t {
  any = BPF_ANY,
  no_exist = BPF_NOEXIST,
  exist = BPF_EXIST,
};

/// What a typed map checks against the kernel's map when it is made.
enum class TypeCheck {
  /// Map type, sizes, and what the map's BTF says (kind, integer signedness) when it has BTF.
  btf,
  /// Map type and sizes only: for deliberate reinterpretation (e.g. a signed view of a u32 key).
  size_only,
};

/// How keys(), items() and iteration read a whole map.
enum class ReadMethod {
  /// BPF_MAP_LOOKUP_BATCH (kernel 5.6+; arrays 5.7+) where the kernel supports it for the map,
  /// else per_key.
  automatic,
  /// BPF_MAP_LOOKUP_BATCH only; throws an Error where the kernel lacks it.
  batch,
  /// BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM per entry (any kernel; one syscall pair each).
  per_key,
};

/// The values of one key of a per-CPU map: one V per possible CPU, indexed by CPU number.
/// (The kernel keeps a separate copy per CPU so BPF programs update it without atomics.)
template <MapData V>
class PerCpuValues {
public:
  PerCpuValues() = default;
  /// One value per possible CPU, in CPU order.
  explicit PerCpuValues(std::vector<V> values) noexcept : values_(std::move(values)) {}

  /// The value on CPU `cpu` (unchecked, like vector's operator[]).
  const V& operator[](std::size_t cpu) const noexcept { return values_[cpu]; }
  V& operator[](std::size_t cpu) noexcept { return values_[cpu]; }
  /// The number of possible CPUs (libbpf_num_possible_cpus()).
  std::size_t size() const noexcept { return values_.size(); }
  auto begin() const noexcept { return values_.begin(); }
  auto end() const noexcept { return values_.end(); }
  auto begin() noexcept { return values_.begin(); }
  auto end() noexcept { return values_.end(); }
  /// All values, in CPU order.
  const std::vector<V>& values() const noexcept { return values_; }

  /// The sum over all CPUs: the total of a per-CPU counter.
  V sum() const noexcept requires std::is_arithmetic_v<V> {
    V total{};
    for (const V& v : values_) total += v;
    return total;
  }

  /// Equal when every CPU's value has the same bytes.
  friend bool operator==(const PerCpuValues& a, const PerCpuValues& b) noexcept {
    return a.values_.size() == b.values_.size() &&
           std::memcmp(a.values_.data(), b.values_.data(), a.values_.size() * sizeof(V)) == 0;
  }

private:
  std::vector<V> values_;
};

namespace detail {

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
  return s ? s : fmt::format("type {}", static_cast<int>(type));
}

/// "key 42" for integer keys, else the key's bytes in hex: "key {2a 00 00 00}".
template <class K>
std::string describe_key(const K& key) {
  if constexpr (std::is_same_v<K, bool>) {
    return fmt::format("key {}", key);
  } else if constexpr (std::is_integral_v<K> && std::is_signed_v<K>) {
    return fmt::format("key {}", static_cast<long long>(key));
  } else if constexpr (std::is_integral_v<K>) {
    return fmt::format("key {}", static_cast<unsigned long long>(key));
  } else {
    const auto* b = reinterpret_cast<const unsigned char*>(&key);
    std::string out = "key {";
    const std::size_t shown = std::min<std::size_t>(sizeof(K), 32);
    for (std::size_t i = 0; i < shown; ++i) out += fmt::format("{}{:02x}", i ? " " : "", b[i]);
    if (shown < sizeof(K)) out += " ...";
    return out + "}";
  }
}

// --- what the kernel says about a map ---------------------------------------------------------

struct MapInfo {
  bpf_map_type type = BPF_MAP_TYPE_UNSPEC;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t map_flags = 0;
  std::uint32_t btf_id = 0;
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  std::string name; // the kernel's copy: at most 15 characters
};

inline MapInfo query_map_info(int fd, std::string_view what) {
  bpf_map_info info{};
  __u32 len = sizeof info;
  check(bpf_obj_get_info_by_fd(fd, &info, &len),
        [&] { return fmt::format("read the kernel's info on map {}", what); });
  MapInfo out;
  out.type = static_cast<bpf_map_type>(info.type);
  out.key_size = info.key_size;
  out.value_size = info.value_size;
  out.max_entries = info.max_entries;
  out.map_flags = info.map_flags;
  out.btf_id = info.btf_id;
  out.btf_key_type_id = info.btf_key_type_id;
  out.btf_value_type_id = info.btf_value_type_id;
  out.name = info.name;
  return out;
}

/// The number of possible CPUs: the length of a per-CPU map's value array. Throws Error.
inline std::size_t possible_cpus() {
  static const int n = libbpf_num_possible_cpus();
  if (n <= 0)
    throw Error(n < 0 ? -n : EINVAL, "count the possible CPUs (/sys/devices/system/cpu/possible)");
  return static_cast<std::size_t>(n);
}

// Kernel versions before 5.6 do not know the batch commands (EINVAL); map types without batch
// operations answer ENOTSUPP (524, a kernel-internal errno that reaches user space here).
inline bool batch_unsupported(int err) noexcept {
  return err == EINVAL || err == 524 || err == EOPNOTSUPP;
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
                         : fmt::format("a{} {}-bit integer", is_signed ? " signed" : "n unsigned",
                                       btf_int_bits(t));
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
  if (!resolved.empty() && resolved != btf_name) btf_name += fmt::format(" = {}", resolved);
  if (btf_name.empty()) btf_name = "(anonymous)";
  return fmt::format("BTF says '{}', {}, but the C++ type '{}' is {}", btf_name, btf_kind, cpp_name,
                     describe_cpp_shape(cpp));
}

/// Which typed view fits a map type, for the hint when the wrong one was used.
inline std::string_view view_for(bpf_map_type type) noexcept {
  switch (type) {
  case BPF_MAP_TYPE_HASH:
  case BPF_MAP_TYPE_LRU_HASH:
    return "Map<K, V>";
  case BPF_MAP_TYPE_PERCPU_HASH:
  case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    return "PerCpuHashMap<K, V>";
  case BPF_MAP_TYPE_ARRAY:
    return "ArrayMap<V>";
  case BPF_MAP_TYPE_PERCPU_ARRAY:
    return "PerCpuArrayMap<V>";
  case BPF_MAP_TYPE_QUEUE:
    return "QueueMap<V>";
  case BPF_MAP_TYPE_STACK:
    return "StackMap<V>";
  case BPF_MAP_TYPE_RINGBUF:
    return "RingBuffer<Event>";
  default:
    return {};
  }
}

/// What a typed view requires of a map.
struct ViewSpec {
  std::string_view view_name;             // "Map<unsigned int, unsigned long>"
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
    return fmt::format("view map '{}' ({}) as ebpfpp::{}", name, map_type_str(info.type),
                       spec.view_name);
  };
  if (std::find(spec.accepted.begin(), spec.accepted.end(), info.type) == spec.accepted.end()) {
    std::string accepted;
    for (auto t : spec.accepted) accepted += (accepted.empty() ? "" : ", ") + map_type_str(t);
    const std::string_view fits = view_for(info.type);
    throw Error(EINVAL, fmt::format("{}: the map type does not fit", action()),
                fmt::format("{} works with maps of type {}; {}", spec.view_name, accepted,
                            fits.empty() ? std::string("ebpfpp has no typed view of this map type "
                                                       "yet: use its fd() with libbpf")
                                         : fmt::format("use ebpfpp::{} for maps of type {}", fits,
                                                       map_type_str(info.type))));
  }
  const auto size_error = [&](std::string_view what, std::uint32_t kernel, std::uint32_t cpp,
                              std::string_view cpp_name) {
    return Error(EINVAL,
                 fmt::format("{}: the {} size is {} bytes in the kernel but sizeof({}) is {}",
                             action(), what, kernel, cpp_name, cpp),
                 fmt::format("declare a C++ {} type with the BPF side's layout (bpftool map show "
                             "name {} and bpftool btf dump show it)",
                             what, name));
  };
  if (info.key_size != spec.key_size)
    throw size_error("key", info.key_size, spec.key_size, spec.key_name);
  if (info.value_size != spec.value_size)
    throw size_error("value", info.value_size, spec.value_size, spec.value_name);

  if (check_level != TypeCheck::btf || info.btf_id == 0) return;
  if (info.btf_key_type_id == 0 && info.btf_value_type_id == 0) return;
  // Reading the map's BTF needs CAP_SYS_ADMIN; without it, the size check is what there is.
  std::unique_ptr<btf, BtfDeleter> b;
  {
    LibbpfLog quiet;
    b.reset(btf__load_from_kernel_by_id(info.btf_id));
  }
  if (!b) return;
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
    throw Error(EINVAL, fmt::format("{}: the {}", action(), diff),
                "use a C++ type that matches the BPF declaration, or pass TypeCheck::size_only "
                "if the reinterpretation is intended");
}

// --- getting an fd ----------------------------------------------------------------------------

inline UniqueFd dup_fd(int fd, std::string_view what) {
  UniqueFd out(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!out) {
    const int err = errno;
    throw Error(err, fmt::format("duplicate the fd of map {}", what), hint_for(err));
  }
  return out;
}

inline UniqueFd fd_of(bpf_map* map) {
  if (!map) throw Error(EINVAL, "make a typed map view: the bpf_map is null");
  const int fd = bpf_map__fd(map);
  if (fd < 0)
    throw Error(
        EBADF,
        fmt::format("make a typed view of map '{}': it is not created yet", bpf_map__name(map)),
        "load() the Object or Skeleton first (maps are created in the kernel by load)");
  return dup_fd(fd, fmt::format("'{}'", bpf_map__name(map)));
}

// bpf_obj_get opens any pinned BPF object; only a map fd has a "map_type:" line in fdinfo, and
// reading map info from a program fd would give garbage, so check first.
inline bool fd_is_map(int fd) {
  std::ifstream in(fmt::format("/proc/self/fdinfo/{}", fd));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("map_type:")) return true;
  return false;
}

inline UniqueFd open_pinned_fd(const std::filesystem::path& path) {
  LibbpfLog log;
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd) {
    const int err = errno;
    std::string hint = hint_for(err);
    if (err == ENOENT)
      hint = "nothing is pinned there: pin the map first (Map::pin, bpftool map pin) and check "
             "that the bpffs mount is the same one";
    else if (err == EINVAL || err == EPERM)
      hint = "the path must be on a bpffs mount (mount -t bpf bpf /sys/fs/bpf)";
    throw Error(err, fmt::format("open pinned map '{}'", path.string()), std::move(hint),
                log.take());
  }
  if (!fd_is_map(fd.get()))
    throw Error(
        EINVAL,
        fmt::format("open pinned map '{}': the object pinned there is not a map", path.string()),
        "it is a program or a link: open it with the matching type (e.g. Link::open_pinned)");
  return fd;
}

inline UniqueFd create_map_fd(bpf_map_type type, std::string_view name, std::uint32_t key_size,
                              std::uint32_t value_size, std::uint32_t max_entries,
                              std::uint32_t map_flags) {
  const std::string kernel_name(name.substr(0, BPF_OBJ_NAME_LEN - 1));
  auto opts = make_opts<bpf_map_create_opts>();
  opts.map_flags = map_flags;
  LibbpfLog log;
  UniqueFd fd(bpf_map_create(type, kernel_name.c_str(), key_size, value_size, max_entries, &opts));
  if (!fd) {
    const int err = errno;
    std::string hint = hint_for(err);
    if (err == EINVAL)
      hint = "check max_entries (> 0), the flags, and the name (letters, digits, '_' and '.' "
             "only); queues and stacks have no key, other maps need one";
    throw Error(err,
                fmt::format("create {} map '{}' (key {} B, value {} B, max_entries {})",
                            map_type_str(type), name, key_size, value_size, max_entries),
                std::move(hint), log.take());
  }
  return fd;
}

// --- the owner all typed maps share -----------------------------------------------------------

/// The part of every typed map that is not about K and V: the fd, the kernel's view of the map,
/// pinning, and the ways to get a view. `Self` is the typed map (CRTP), whose static spec() says
/// what it requires. See Map<K,V>.
template <class Self>
class MapCore {
public:
  /// Views move (the source becomes empty) and do not copy: each owns its fd.
  MapCore(MapCore&&) noexcept = default;
  /// See the move constructor.
  MapCore& operator=(MapCore&&) noexcept = default;
  MapCore(const MapCore&) = delete;
  MapCore& operator=(const MapCore&) = delete;
  ~MapCore() = default;

  /// Opens the map pinned at `path` on bpffs (BPF_OBJ_GET, kernel 4.4+) as a Self. Throws Error
  /// when nothing or no map is pinned there, or when it does not match the C++ types.
  static Self open_pinned(const std::filesystem::path& path, TypeCheck check = TypeCheck::btf) {
    return Self(open_pinned_fd(path), std::string(), check, path.filename().string());
  }

  /// A view of a map fd from elsewhere (your own libbpf code, another process through
  /// SCM_RIGHTS); the view owns a duplicate, the caller keeps `fd`. Throws Error as above.
  static Self from_fd(int fd, std::string_view name, TypeCheck check = TypeCheck::btf) {
    return Self(dup_fd(fd, fmt::format("'{}'", name)), std::string(name), check, {});
  }

  /// The map fd (owned by this view); -1 when empty (default-constructed or moved-from).
  int fd() const noexcept { return fd_.get(); }
  /// The map's name: the ELF name for maps from an object, the name given to create(), or the
  /// kernel's (at most 15 characters) for pinned maps.
  const std::string& name() const noexcept { return name_; }
  /// BPF_MAP_TYPE_*.
  bpf_map_type type() const noexcept { return info_.type; }
  /// "hash", "array", ... as bpftool spells it.
  std::string type_name() const { return map_type_str(info_.type); }
  /// The kernel's key size in bytes (== sizeof(K); 0 for queues and stacks).
  std::uint32_t key_size() const noexcept { return info_.key_size; }
  /// The kernel's value size in bytes (== sizeof(V), also for per-CPU maps).
  std::uint32_t value_size() const noexcept { return info_.value_size; }
  /// The capacity set when the map was created.
  std::uint32_t max_entries() const noexcept { return info_.max_entries; }
  /// The BPF_F_* flags the map was created with.
  std::uint32_t map_flags() const noexcept { return info_.map_flags; }
  /// False for an empty view.
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

  /// Pins the map at `path` on a bpffs mount: it then outlives this process until unpinned, and
  /// open_pinned(path) reaches it from any process. Throws Error (EEXIST if the path exists;
  /// EPERM/EINVAL/ENOENT when it is not on bpffs or its directory is missing). Kernel 4.4+.
  void pin(const std::filesystem::path& path) {
    LibbpfLog log;
    if (bpf_obj_pin(fd_.get(), path.c_str()) != 0) {
      const int err = errno;
      std::string hint = hint_for(err);
      if (err == EEXIST)
        hint = "something is already pinned there: unpin it or choose another path";
      else if (err == EPERM || err == EINVAL || err == ENOENT)
        hint = "the path must be on a bpffs mount (mount -t bpf bpf /sys/fs/bpf) and its "
               "directory must exist";
      throw Error(err, fmt::format("pin map '{}' at '{}'", name_, path.string()), std::move(hint),
                  log.take());
    }
    pin_path_ = path;
  }

  /// Removes the pin made by pin(); the map itself goes when its last fd and pin are gone.
  /// Throws Error when this view made no pin or it cannot be removed.
  void unpin() {
    if (pin_path_.empty())
      throw Error(ENOENT, fmt::format("unpin map '{}'", name_),
                  "it was not pinned through this view; remove another pin with "
                  "std::filesystem::remove(path)");
    std::error_code ec;
    if (!std::filesystem::remove(pin_path_, ec) || ec)
      throw Error(ec ? ec.value() : ENOENT,
                  fmt::format("unpin map '{}' from '{}'", name_, pin_path_.string()));
    pin_path_.clear();
  }

  /// Where pin() pinned the map; empty when not pinned through this view.
  const std::filesystem::path& pin_path() const noexcept { return pin_path_; }

protected:
  MapCore() = default;
  // Takes a map fd, asks the kernel about the map and validates it against Self::spec(). If that
  // throws, the fd member closes on the way out.
  MapCore(UniqueFd fd, std::string name, TypeCheck check, std::string fallback_name)
      : fd_(std::move(fd)), name_(std::move(name)) {
    info_ = query_map_info(fd_.get(), name_.empty() ? fallback_name : fmt::format("'{}'", name_));
    if (name_.empty()) name_ = info_.name.empty() ? std::move(fallback_name) : info_.name;
    validate(info_, name_, Self::spec(), check);
  }
  MapCore(bpf_map* map, TypeCheck check)
      : MapCore(fd_of(map), std::string(map ? bpf_map__name(map) : ""), check, {}) {}

  UniqueFd fd_;
  std::string name_;
  MapInfo info_;
  std::filesystem::path pin_path_;
};

// --- how values travel ------------------------------------------------------------------------

// A plain value: the kernel copies value_size bytes, which is sizeof(V).
template <MapData V>
struct PlainValue {
  using value_type = V;
  static constexpr bool plain = true;
  static std::size_t stride() noexcept { return sizeof(V); }
  static V decode(const std::byte* p) noexcept {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
  static void encode(const V& v, std::byte* p) noexcept { std::memcpy(p, &v, sizeof(V)); }
  static bool check_value(const V&) noexcept { return true; }
};

// A per-CPU value: the kernel copies one slot per possible CPU, each rounded up to 8 bytes.
template <MapData V>
struct PerCpuValue {
  using value_type = PerCpuValues<V>;
  static constexpr bool plain = false;
  static constexpr std::size_t slot = (sizeof(V) + 7) / 8 * 8;
  static std::size_t stride() { return slot * possible_cpus(); }
  static PerCpuValues<V> decode(const std::byte* p) {
    std::vector<V> out(possible_cpus());
    for (std::size_t cpu = 0; cpu < out.size(); ++cpu)
      std::memcpy(&out[cpu], p + cpu * slot, sizeof(V));
    return PerCpuValues<V>(std::move(out));
  }
  static void encode(const PerCpuValues<V>& v, std::byte* p) {
    for (std::size_t cpu = 0; cpu < v.size(); ++cpu) {
      std::memset(p + cpu * slot, 0, slot);
      std::memcpy(p + cpu * slot, &v[cpu], sizeof(V));
    }
  }
  static bool check_value(const PerCpuValues<V>& v) { return v.size() == possible_cpus(); }
};

template <class Codec>
void require_value_shape(const typename Codec::value_type& v, std::string_view map_name) {
  if constexpr (!Codec::plain) {
    if (!Codec::check_value(v))
      throw Error(EINVAL,
                  fmt::format("write per-CPU map '{}': {} values given, one per possible CPU is "
                              "{}",
                              map_name, v.size(), possible_cpus()),
                  "make the values with PerCpuValues(std::vector<V>(possible CPUs, v)) or use "
                  "the update overload that takes one V for every CPU");
  }
}

// Byte storage with the alignment of the widest type a map value can hold.
class AlignedBytes {
public:
  AlignedBytes() = default;
  explicit AlignedBytes(std::size_t n) : words_((n + 7) / 8), size_(n) {}
  void resize(std::size_t n) {
    words_.assign((n + 7) / 8, 0);
    size_ = n;
  }
  std::byte* data() noexcept { return reinterpret_cast<std::byte*>(words_.data()); }
  const std::byte* data() const noexcept {
    return reinterpret_cast<const std::byte*>(words_.data());
  }
  std::size_t size() const noexcept { return size_; }

private:
  std::vector<std::uint64_t> words_;
  std::size_t size_ = 0;
};

// --- reading a whole map ------------------------------------------------------------------------

/// Reads a map chunk by chunk: with BPF_MAP_LOOKUP_BATCH, or with get_next_key + lookup.
///
/// Batch reads go bucket by bucket (hash maps) or index by index (arrays) and never restart, so
/// with entries erased meanwhile every key is still read at most once. The per-key walk restarts
/// from the first key when the key it stands on was erased (the kernel's rule for
/// get_next_key), so it remembers the keys it has yielded and skips them.
template <MapData K, class Codec>
class ChunkReader {
public:
  static constexpr std::uint32_t default_chunk = 1024;

  ChunkReader(int fd, std::string_view map_name, std::uint32_t max_entries, ReadMethod method,
              std::uint32_t chunk = default_chunk)
      : fd_(fd), map_name_(map_name), max_entries_(max_entries),
        chunk_(
            std::max<std::uint32_t>(1, std::min(chunk, std::max<std::uint32_t>(max_entries, 1)))),
        stride_(Codec::stride()),
        method_(method == ReadMethod::per_key ? ReadMethod::per_key : ReadMethod::batch),
        strict_batch_(method == ReadMethod::batch) {
    // Batch tokens: a u32 bucket index for hash maps, a key for arrays and the generic code.
    token_in_.resize(std::max<std::size_t>(sizeof(K), 8));
    token_out_.resize(std::max<std::size_t>(sizeof(K), 8));
  }

  /// Reads the next chunk into keys()/value_at(); false at the end of the map.
  bool next() {
    keys_.clear();
    while (!done_ && keys_.empty()) {
      if (method_ == ReadMethod::batch)
        read_batch();
      else
        read_per_key();
    }
    return !keys_.empty();
  }

  const std::vector<K>& keys() const noexcept { return keys_; }
  const std::byte* value_at(std::size_t i) const noexcept { return values_.data() + i * stride_; }

private:
  void read_batch() {
    keys_.resize(chunk_);
    values_.resize(static_cast<std::size_t>(chunk_) * stride_);
    auto opts = make_opts<bpf_map_batch_opts>();
    for (;;) {
      __u32 count = chunk_;
      const int ret =
          bpf_map_lookup_batch(fd_, started_ ? token_in_.data() : nullptr, token_out_.data(),
                               keys_.data(), values_.data(), &count, &opts);
      const int err = ret < 0 ? errno : 0;
      if (ret < 0 && err == ENOSPC && count == 0 && chunk_ < (1u << 24)) {
        // One hash bucket holds more entries than the chunk: grow until the bucket fits.
        chunk_ *= 2;
        keys_.resize(chunk_);
        values_.resize(static_cast<std::size_t>(chunk_) * stride_);
        continue;
      }
      if (ret < 0 && err != ENOENT) {
        if (!started_ && !strict_batch_ && batch_unsupported(err)) {
          method_ = ReadMethod::per_key;
          keys_.clear();
          return;
        }
        keys_.clear();
        throw Error(err, fmt::format("read map '{}' with BPF_MAP_LOOKUP_BATCH", map_name_),
                    batch_unsupported(err)
                        ? "this kernel has no batch lookup for this map type (5.6+ for hash "
                          "maps, 5.7+ for arrays): use ReadMethod::per_key or automatic"
                        : hint_for(err));
      }
      // The last call answers ENOENT and still fills `count` entries.
      keys_.resize(count);
      std::swap(token_in_, token_out_);
      started_ = true;
      if (ret < 0) done_ = true;
      return;
    }
  }

  void read_per_key() {
    values_.resize(static_cast<std::size_t>(chunk_) * stride_);
    const auto step_limit = 4ull * max_entries_ + 1024;
    while (keys_.size() < chunk_) {
      K next;
      if (++steps_ > step_limit) {
        // Erasures keep sending the walk back to the start: stop rather than spin.
        done_ = true;
        return;
      }
      if (bpf_map_get_next_key(fd_, have_key_ ? &last_ : nullptr, &next) != 0) {
        const int err = errno;
        if (err == ENOENT) {
          done_ = true;
          return;
        }
        throw Error(err, fmt::format("walk map '{}' (BPF_MAP_GET_NEXT_KEY)", map_name_),
                    hint_for(err));
      }
      last_ = next;
      have_key_ = true;
      const std::string bytes(reinterpret_cast<const char*>(&next), sizeof(K));
      if (!seen_.insert(bytes).second) continue;
      std::byte* slot = values_.data() + keys_.size() * stride_;
      if (bpf_map_lookup_elem(fd_, &next, slot) != 0) continue; // erased since: not there
      keys_.push_back(next);
    }
  }

  int fd_;
  std::string map_name_;
  std::uint32_t max_entries_;
  std::uint32_t chunk_;
  std::size_t stride_;
  ReadMethod method_;
  bool strict_batch_;
  bool started_ = false;
  bool done_ = false;
  AlignedBytes token_in_, token_out_;
  std::vector<K> keys_;
  AlignedBytes values_;
  // per-key walk
  K last_{};
  bool have_key_ = false;
  unsigned long long steps_ = 0;
  std::unordered_set<std::string> seen_;
};

/// The range-for iterator of a typed map: yields (key, value) pairs read a chunk at a time.
template <MapData K, class Codec>
class MapIterator {
public:
  /// (key, value), by value: the entry as read with its chunk.
  using value_type = std::pair<K, typename Codec::value_type>;
  /// Required of iterators; never used.
  using difference_type = std::ptrdiff_t;

  /// The end state.
  MapIterator() = default;
  /// Starts reading with `reader`.
  explicit MapIterator(std::unique_ptr<ChunkReader<K, Codec>> reader) : reader_(std::move(reader)) {
    if (!reader_->next()) reader_.reset();
  }
  /// Move-only: it owns the chunk it reads from.
  MapIterator(MapIterator&&) noexcept = default;
  /// See the move constructor.
  MapIterator& operator=(MapIterator&&) noexcept = default;

  /// The current entry.
  value_type operator*() const {
    return {reader_->keys()[pos_], Codec::decode(reader_->value_at(pos_))};
  }
  /// Moves to the next entry, reading the next chunk when this one is used up. Throws Error.
  MapIterator& operator++() {
    if (++pos_ >= reader_->keys().size()) {
      pos_ = 0;
      if (!reader_->next()) reader_.reset();
    }
    return *this;
  }
  /// As ++it.
  void operator++(int) { ++*this; }
  /// True at the end of the map.
  friend bool operator==(const MapIterator& it, std::default_sentinel_t) noexcept {
    return !it.reader_;
  }

private:
  std::unique_ptr<ChunkReader<K, Codec>> reader_;
  std::size_t pos_ = 0;
};

// --- the key/value operations hash and array maps share ------------------------------------------

/// Operations on a map with keys: lookup, update, iteration, batch reads and writes. The public
/// typed maps add the ones that fit their kind.
template <class Self, MapData K, class Codec>
class KeyValueOps : public MapCore<Self> {
public:
  /// The key type.
  using key_type = K;
  /// V, or PerCpuValues<V> for per-CPU maps.
  using value_type = typename Codec::value_type;
  /// Whether values are a plain V (not per-CPU), which makes lookup noexcept.
  static constexpr bool plain = Codec::plain;

  /// The value at `key`, or nullopt when the key is absent (or the view is empty).
  /// BPF_MAP_LOOKUP_ELEM. noexcept for plain values.
  std::optional<value_type> lookup(const K& key) const noexcept(plain) {
    if constexpr (plain) {
      value_type v;
      if (bpf_map_lookup_elem(this->fd_.get(), &key, &v) != 0) return std::nullopt;
      return v;
    } else {
      AlignedBytes buf(Codec::stride());
      if (bpf_map_lookup_elem(this->fd_.get(), &key, buf.data()) != 0) return std::nullopt;
      return Codec::decode(buf.data());
    }
  }

  /// Whether `key` is present. noexcept for plain values.
  bool contains(const K& key) const noexcept(plain) { return lookup(key).has_value(); }

  /// Writes `value` at `key` (BPF_MAP_UPDATE_ELEM) as `flag` says. Throws Error: the key is
  /// already there (no_exist), is not there (exist), or "map 'x' is full (max_entries N)".
  void update(const K& key, const value_type& value, UpdateFlag flag = UpdateFlag::any) {
    int ret = 0;
    if constexpr (plain) {
      ret = bpf_map_update_elem(this->fd_.get(), &key, &value, static_cast<__u64>(flag));
    } else {
      require_value_shape<Codec>(value, this->name_);
      AlignedBytes buf(Codec::stride());
      Codec::encode(value, buf.data());
      ret = bpf_map_update_elem(this->fd_.get(), &key, buf.data(), static_cast<__u64>(flag));
    }
    if (ret != 0) throw_update_error(errno, describe_key(key), flag);
  }

  /// Every entry as (key, value) pairs: a snapshot read with BPF_MAP_LOOKUP_BATCH, or entry by
  /// entry where the kernel lacks it (see ReadMethod). Each key appears at most once, also when
  /// entries are erased meanwhile. Throws Error.
  std::vector<std::pair<K, value_type>> items(ReadMethod method = ReadMethod::automatic) const {
    std::vector<std::pair<K, value_type>> out;
    ChunkReader<K, Codec> reader(this->fd_.get(), this->name_, this->info_.max_entries, method);
    while (reader.next()) {
      const auto& keys = reader.keys();
      for (std::size_t i = 0; i < keys.size(); ++i)
        out.emplace_back(keys[i], Codec::decode(reader.value_at(i)));
    }
    return out;
  }

  /// Every key, read like items(). Throws Error.
  std::vector<K> keys(ReadMethod method = ReadMethod::automatic) const {
    std::vector<K> out;
    ChunkReader<K, Codec> reader(this->fd_.get(), this->name_, this->info_.max_entries, method);
    while (reader.next()) out.insert(out.end(), reader.keys().begin(), reader.keys().end());
    return out;
  }

  /// Range-for over (key, value) pairs, read 1024 entries at a time with BPF_MAP_LOOKUP_BATCH
  /// (per key where the kernel lacks it). Entries erased during the loop, by the loop body or by
  /// anyone else, never make a key come twice nor end the loop early: an entry erased before its
  /// chunk is read is not yielded, one erased after is yielded with the value it had when read.
  /// Entries inserted during the loop may or may not be yielded. Throws Error.
  MapIterator<K, Codec> begin() const {
    return MapIterator<K, Codec>(std::make_unique<ChunkReader<K, Codec>>(
        this->fd_.get(), this->name_, this->info_.max_entries, ReadMethod::automatic));
  }
  /// The end of a range-for.
  std::default_sentinel_t end() const noexcept { return {}; }

  /// Writes keys[i] -> values[i] for every i with BPF_MAP_UPDATE_BATCH (kernel 5.6+; entry by
  /// entry where the kernel lacks it, and for UpdateFlag::no_exist/exist, which the kernel's
  /// batch call does not take). Throws Error like update(), saying how many entries were
  /// written before the one that failed.
  void update_batch(std::span<const K> keys, std::span<const value_type> values,
                    UpdateFlag flag = UpdateFlag::any) {
    if (keys.size() != values.size())
      throw Error(EINVAL,
                  fmt::format("batch update of map '{}': {} keys but {} values", this->name_,
                              keys.size(), values.size()),
                  "pass one value per key");
    if (keys.empty()) return;
    const std::byte* bytes = reinterpret_cast<const std::byte*>(values.data());
    AlignedBytes staged;
    if constexpr (!plain) {
      // The kernel wants each CPU's slot padded to 8 bytes, all values back to back.
      staged.resize(values.size() * Codec::stride());
      for (std::size_t i = 0; i < values.size(); ++i) {
        require_value_shape<Codec>(values[i], this->name_);
        Codec::encode(values[i], staged.data() + i * Codec::stride());
      }
      bytes = staged.data();
    }
    // The kernel's batch update takes no BPF_NOEXIST/BPF_EXIST (only BPF_F_LOCK in elem_flags):
    // those go entry by entry, which also names the key that exists or is missing.
    if (flag != UpdateFlag::any) {
      for (std::size_t i = 0; i < keys.size(); ++i) update(keys[i], values[i], flag);
      return;
    }
    auto opts = make_opts<bpf_map_batch_opts>();
    __u32 count = static_cast<__u32>(keys.size());
    if (bpf_map_update_batch(this->fd_.get(), keys.data(), bytes, &count, &opts) == 0) return;
    const int err = errno;
    if (batch_unsupported(err)) {
      // No batch support here, or the kernel refused the batch as a whole before writing
      // `count`: start over entry by entry (overwriting is idempotent), which either works or
      // says exactly which key failed and why.
      for (std::size_t i = 0; i < keys.size(); ++i) update(keys[i], values[i], flag);
      return;
    }
    const std::size_t done = std::min<std::size_t>(count, keys.size());
    throw_update_error(err, describe_key(keys[std::min(done, keys.size() - 1)]), flag,
                       fmt::format(" (batch of {}, {} written before it)", keys.size(), done));
  }

protected:
  using MapCore<Self>::MapCore;
  KeyValueOps() = default;

  [[noreturn]] void throw_update_error(int err, const std::string& key, UpdateFlag flag,
                                       std::string_view extra = {}) const {
    const std::string& name = this->name_;
    switch (err) {
    case E2BIG:
      throw Error(err,
                  fmt::format("add {}{}: map '{}' is full (max_entries {})", key, extra, name,
                              this->info_.max_entries),
                  "erase entries first, raise max_entries before load "
                  "(bpf_map__set_max_entries), or use an LRU hash map, which evicts");
    case EEXIST:
      throw Error(err, fmt::format("add {} to map '{}'{}: it is already there", key, name, extra),
                  flag == UpdateFlag::no_exist
                      ? "UpdateFlag::no_exist only inserts; use UpdateFlag::any to overwrite"
                      : "");
    case ENOENT:
      throw Error(err, fmt::format("update {} in map '{}'{}: it is not there", key, name, extra),
                  flag == UpdateFlag::exist
                      ? "UpdateFlag::exist only overwrites; use UpdateFlag::any to insert"
                      : "");
    default:
      throw Error(err,
                  fmt::format("update {} in map '{}' ({}){}", key, name, this->type_name(), extra),
                  hint_for(err));
    }
  }
};

/// Hash maps add erasing to KeyValueOps.
template <class Self, MapData K, class Codec>
class HashOps : public KeyValueOps<Self, K, Codec> {
  using Base = KeyValueOps<Self, K, Codec>;

public:
  using typename Base::value_type;

  /// Removes `key` (BPF_MAP_DELETE_ELEM); false when it was not there. Throws Error on other
  /// failures.
  bool erase(const K& key) {
    if (bpf_map_delete_elem(this->fd_.get(), &key) == 0) return true;
    const int err = errno;
    if (err == ENOENT) return false;
    throw Error(err, fmt::format("erase {} from map '{}'", describe_key(key), this->name_),
                hint_for(err));
  }

  /// Removes `key` and returns the value it had, or nullopt when it was not there.
  /// BPF_MAP_LOOKUP_AND_DELETE_ELEM: atomic on kernels 5.14+; on older ones a lookup then an
  /// erase, between which a concurrent update is lost. Throws Error on other failures.
  std::optional<value_type> lookup_and_erase(const K& key) {
    AlignedBytes buf(Codec::stride());
    if (bpf_map_lookup_and_delete_elem(this->fd_.get(), &key, buf.data()) == 0)
      return Codec::decode(buf.data());
    const int err = errno;
    if (err == ENOENT) return std::nullopt;
    if (!batch_unsupported(err))
      throw Error(err,
                  fmt::format("lookup and erase {} in map '{}'", describe_key(key), this->name_),
                  hint_for(err));
    auto v = this->lookup(key);
    if (!v || !erase(key)) return std::nullopt;
    return v;
  }

  /// Removes each key of `keys` that is present (BPF_MAP_DELETE_BATCH, kernel 5.6+; one by one
  /// where the kernel lacks it); returns how many were removed. Throws Error.
  std::size_t erase_batch(std::span<const K> keys) {
    std::size_t erased = 0;
    std::size_t pos = 0;
    auto opts = make_opts<bpf_map_batch_opts>();
    while (pos < keys.size()) {
      __u32 count = static_cast<__u32>(keys.size() - pos);
      if (bpf_map_delete_batch(this->fd_.get(), keys.data() + pos, &count, &opts) == 0)
        return erased + count;
      const int err = errno;
      if (batch_unsupported(err)) {
        // Refused as a whole, `count` not written: the rest one by one.
        for (; pos < keys.size(); ++pos) erased += erase(keys[pos]) ? 1 : 0;
        return erased;
      }
      erased += count;
      pos += count;
      if (err == ENOENT) {
        ++pos; // the kernel stops at a key that is not there: step over it
        continue;
      }
      throw Error(err,
                  fmt::format("batch erase from map '{}' ({} of {} keys erased before the "
                              "failure)",
                              this->name_, erased, keys.size()),
                  hint_for(err));
    }
    return erased;
  }

  /// Removes every entry: reads the keys, then erases them in batches. Entries inserted
  /// meanwhile may survive. Throws Error.
  void clear() {
    const std::vector<K> all = this->keys();
    erase_batch(all);
  }

protected:
  using Base::Base;
  HashOps() = default;
};

/// Array maps: every index 0..max_entries-1 exists from creation (zeroed), none can be erased.
/// Indexes are bounds-checked here so that the error names the bound.
template <class Self, MapData V, class Codec>
class ArrayOps : public KeyValueOps<Self, std::uint32_t, Codec> {
  using Base = KeyValueOps<Self, std::uint32_t, Codec>;

public:
  using typename Base::value_type;

  /// The number of elements (max_entries).
  std::uint32_t size() const noexcept { return this->info_.max_entries; }

  /// The value at `index`; throws Error (ERANGE) when index >= size().
  value_type get(std::uint32_t index) const {
    check_index(index, "read");
    errno = 0;
    if (auto v = this->lookup(index)) return std::move(*v);
    const int err = errno ? errno : EIO;
    throw Error(err, fmt::format("read index {} of array map '{}'", index, this->name_),
                hint_for(err));
  }

  /// Writes `value` at `index`; throws Error (ERANGE) when index >= size(), or like update().
  /// UpdateFlag::no_exist always fails on an array: every index exists.
  void set(std::uint32_t index, const value_type& value, UpdateFlag flag = UpdateFlag::any) {
    check_index(index, "write");
    this->update(index, value, flag);
  }

  /// Sets every element to zero bytes (BPF_MAP_UPDATE_BATCH where the kernel has it). Throws
  /// Error.
  void clear() {
    std::vector<std::uint32_t> indexes(size());
    for (std::uint32_t i = 0; i < size(); ++i) indexes[i] = i;
    AlignedBytes zero(Codec::stride());
    const std::vector<value_type> values(size(), Codec::decode(zero.data()));
    this->update_batch(indexes, values);
  }

protected:
  using Base::Base;
  ArrayOps() = default;

  void check_index(std::uint32_t index, std::string_view what) const {
    if (index >= size())
      throw Error(ERANGE,
                  fmt::format("{} index {} of array map '{}': out of bounds (max_entries {})", what,
                              index, this->name_, size()),
                  size() == 0 ? std::string("the map has no elements")
                              : fmt::format("valid indexes are 0..{}", size() - 1));
  }
};

/// Queues and stacks: values without keys (kernel 4.20+). push is BPF_MAP_UPDATE_ELEM with a
/// NULL key, peek BPF_MAP_LOOKUP_ELEM, pop BPF_MAP_LOOKUP_AND_DELETE_ELEM.
template <class Self, MapData V>
class QueueOps : public MapCore<Self> {
public:
  /// The element type.
  using value_type = V;

  /// Adds `value`. When the map is full: throws Error ("queue 'x' is full (max_entries N)"), or
  /// with `overwrite` drops the element that would be popped last (BPF_EXIST) to make room.
  void push(const V& value, bool overwrite = false) {
    if (bpf_map_update_elem(this->fd_.get(), nullptr, &value, overwrite ? BPF_EXIST : BPF_ANY) == 0)
      return;
    const int err = errno;
    if (err == E2BIG)
      throw Error(err,
                  fmt::format("push to {0} '{1}': {0} '{1}' is full (max_entries {2})", kind(),
                              this->name_, this->info_.max_entries),
                  "pop elements first, or push with overwrite = true to drop one");
    throw Error(err, fmt::format("push to {} '{}'", kind(), this->name_), hint_for(err));
  }

  /// Removes and returns the next element (the oldest for a queue, the newest for a stack);
  /// nullopt when empty.
  std::optional<V> pop() noexcept {
    V v;
    if (bpf_map_lookup_and_delete_elem(this->fd_.get(), nullptr, &v) != 0) return std::nullopt;
    return v;
  }

  /// The element pop() would return, without removing it; nullopt when empty.
  std::optional<V> peek() const noexcept {
    V v;
    if (bpf_map_lookup_elem(this->fd_.get(), nullptr, &v) != 0) return std::nullopt;
    return v;
  }

  /// Pops every element.
  void clear() noexcept {
    while (pop()) {
    }
  }

protected:
  using MapCore<Self>::MapCore;
  QueueOps() = default;
  std::string_view kind() const noexcept {
    return this->info_.type == BPF_MAP_TYPE_STACK ? "stack" : "queue";
  }
};

inline constexpr bpf_map_type hash_types[] = {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH};
inline constexpr bpf_map_type percpu_hash_types[] = {BPF_MAP_TYPE_PERCPU_HASH,
                                                     BPF_MAP_TYPE_LRU_PERCPU_HASH};
inline constexpr bpf_map_type array_types[] = {BPF_MAP_TYPE_ARRAY};
inline constexpr bpf_map_type percpu_array_types[] = {BPF_MAP_TYPE_PERCPU_ARRAY};
inline constexpr bpf_map_type queue_types[] = {BPF_MAP_TYPE_QUEUE};
inline constexpr bpf_map_type stack_types[] = {BPF_MAP_TYPE_STACK};

template <MapData K, MapData V>
ViewSpec key_value_spec(const std::string& view_name, std::span<const bpf_map_type> types,
                        bool key_sign_matters) {
  return {view_name,      types,          sizeof(K),      sizeof(V),       type_name<K>(),
          type_name<V>(), cpp_shape<K>(), cpp_shape<V>(), key_sign_matters};
}

template <MapData V>
ViewSpec keyless_spec(const std::string& view_name, std::span<const bpf_map_type> types) {
  return {view_name,  types,          0,    sizeof(V), "(none)", type_name<V>(),
          CppShape{}, cpp_shape<V>(), false};
}

} // namespace detail

/// A typed view of a hash map (BPF_MAP_TYPE_HASH, kernel 3.19+) or an LRU hash map
/// (BPF_MAP_TYPE_LRU_HASH, 4.10+, which evicts the least recently used entry instead of
/// failing when full). K and V must have the BPF side's layout: construction checks the sizes
/// and, with BTF, the kinds and integer signedness (see TypeCheck), and throws an Error naming
/// the map and what differs.
///
/// Move-only; owns a duplicate of the map's fd, so it outlives the Object it came from.
template <MapData K, MapData V>
class Map : public detail::HashOps<Map<K, V>, K, detail::PlainValue<V>> {
  using Base = detail::HashOps<Map<K, V>, K, detail::PlainValue<V>>;
  friend detail::MapCore<Map>;

public:
  /// An empty view (fd() == -1); assign a real one to use it.
  Map() = default;
  /// A view of a loaded object's map, e.g. Map(skel->maps.counts). Throws Error when the map is
  /// not loaded yet or does not fit K and V.
  explicit Map(bpf_map* map, TypeCheck check = TypeCheck::btf) : Base(map, check) {}
  /// A view of a loaded object's map, e.g. Map(obj.map("counts")). Throws Error as above.
  explicit Map(MapRef map, TypeCheck check = TypeCheck::btf) : Base(map.get(), check) {}

  /// Creates a new map in the kernel, owned by this view alone: for user-space use, tests, or to
  /// hand to an object before load (bpf_map__reuse_fd). `type` is BPF_MAP_TYPE_HASH or
  /// BPF_MAP_TYPE_LRU_HASH; the kernel keeps the first 15 characters of `name`. Throws Error.
  static Map create(bpf_map_type type, std::uint32_t max_entries, std::string_view name,
                    std::uint32_t map_flags = 0) {
    return Map(detail::create_map_fd(type, name, sizeof(K), sizeof(V), max_entries, map_flags),
               std::string(name), TypeCheck::size_only, {});
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static const std::string n =
        fmt::format("Map<{}, {}>", detail::type_name<K>(), detail::type_name<V>());
    return detail::key_value_spec<K, V>(n, detail::hash_types, true);
  }

private:
  Map(detail::UniqueFd fd, std::string name, TypeCheck check, std::string fallback)
      : Base(std::move(fd), std::move(name), check, std::move(fallback)) {}
};

/// A typed view of a per-CPU hash map (BPF_MAP_TYPE_PERCPU_HASH, kernel 4.6+, or
/// BPF_MAP_TYPE_LRU_PERCPU_HASH, 4.10+): each key has one V per possible CPU, which BPF programs
/// update without atomics. Values come back as PerCpuValues<V> (with sum()); update() takes one
/// V per CPU or one V for every CPU. Otherwise as Map<K,V>.
template <MapData K, MapData V>
class PerCpuHashMap : public detail::HashOps<PerCpuHashMap<K, V>, K, detail::PerCpuValue<V>> {
  using Base = detail::HashOps<PerCpuHashMap<K, V>, K, detail::PerCpuValue<V>>;
  friend detail::MapCore<PerCpuHashMap>;

public:
  /// An empty view (fd() == -1).
  PerCpuHashMap() = default;
  /// A view of a loaded object's map. Throws Error when not loaded or not fitting K and V.
  explicit PerCpuHashMap(bpf_map* map, TypeCheck check = TypeCheck::btf) : Base(map, check) {}
  /// A view of a loaded object's map. Throws Error as above.
  explicit PerCpuHashMap(MapRef map, TypeCheck check = TypeCheck::btf) : Base(map.get(), check) {}

  using Base::update;
  /// Writes `value` on every CPU at `key`. Throws Error like update().
  void update(const K& key, const V& value, UpdateFlag flag = UpdateFlag::any) {
    Base::update(key, PerCpuValues<V>(std::vector<V>(detail::possible_cpus(), value)), flag);
  }

  /// Creates a new BPF_MAP_TYPE_PERCPU_HASH or BPF_MAP_TYPE_LRU_PERCPU_HASH. Throws Error.
  static PerCpuHashMap create(bpf_map_type type, std::uint32_t max_entries, std::string_view name,
                              std::uint32_t map_flags = 0) {
    return PerCpuHashMap(
        detail::create_map_fd(type, name, sizeof(K), sizeof(V), max_entries, map_flags),
        std::string(name), TypeCheck::size_only, {});
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static const std::string n =
        fmt::format("PerCpuHashMap<{}, {}>", detail::type_name<K>(), detail::type_name<V>());
    return detail::key_value_spec<K, V>(n, detail::percpu_hash_types, true);
  }

private:
  PerCpuHashMap(detail::UniqueFd fd, std::string name, TypeCheck check, std::string fallback)
      : Base(std::move(fd), std::move(name), check, std::move(fallback)) {}
};

/// A typed view of an array map (BPF_MAP_TYPE_ARRAY, kernel 3.19+): size() values of type V at
/// u32 indexes, all present from creation (zeroed), none erasable. lookup() returns nullopt out
/// of bounds; get() and set() throw an Error naming the bound. Iteration yields (index, value).
/// The BTF check accepts a signed index type, since BPF code often declares the key as int.
template <MapData V>
class ArrayMap : public detail::ArrayOps<ArrayMap<V>, V, detail::PlainValue<V>> {
  using Base = detail::ArrayOps<ArrayMap<V>, V, detail::PlainValue<V>>;
  friend detail::MapCore<ArrayMap>;

public:
  /// An empty view (fd() == -1).
  ArrayMap() = default;
  /// A view of a loaded object's map. Throws Error when not loaded or not fitting V.
  explicit ArrayMap(bpf_map* map, TypeCheck check = TypeCheck::btf) : Base(map, check) {}
  /// A view of a loaded object's map. Throws Error as above.
  explicit ArrayMap(MapRef map, TypeCheck check = TypeCheck::btf) : Base(map.get(), check) {}

  /// Creates a new BPF_MAP_TYPE_ARRAY of `size` zeroed elements. Throws Error.
  static ArrayMap create(std::uint32_t size, std::string_view name, std::uint32_t map_flags = 0) {
    return ArrayMap(detail::create_map_fd(BPF_MAP_TYPE_ARRAY, name, sizeof(std::uint32_t),
                                          sizeof(V), size, map_flags),
                    std::string(name), TypeCheck::size_only, {});
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static const std::string n = fmt::format("ArrayMap<{}>", detail::type_name<V>());
    return detail::key_value_spec<std::uint32_t, V>(n, detail::array_types, false);
  }

private:
  ArrayMap(detail::UniqueFd fd, std::string name, TypeCheck check, std::string fallback)
      : Base(std::move(fd), std::move(name), check, std::move(fallback)) {}
};

/// A typed view of a per-CPU array map (BPF_MAP_TYPE_PERCPU_ARRAY, kernel 4.6+): as ArrayMap,
/// with one V per possible CPU at each index (PerCpuValues<V>, with sum()).
template <MapData V>
class PerCpuArrayMap : public detail::ArrayOps<PerCpuArrayMap<V>, V, detail::PerCpuValue<V>> {
  using Base = detail::ArrayOps<PerCpuArrayMap<V>, V, detail::PerCpuValue<V>>;
  friend detail::MapCore<PerCpuArrayMap>;

public:
  /// An empty view (fd() == -1).
  PerCpuArrayMap() = default;
  /// A view of a loaded object's map. Throws Error when not loaded or not fitting V.
  explicit PerCpuArrayMap(bpf_map* map, TypeCheck check = TypeCheck::btf) : Base(map, check) {}
  /// A view of a loaded object's map. Throws Error as above.
  explicit PerCpuArrayMap(MapRef map, TypeCheck check = TypeCheck::btf) : Base(map.get(), check) {}

  using Base::set;
  /// Writes `value` on every CPU at `index`. Throws Error like set().
  void set(std::uint32_t index, const V& value, UpdateFlag flag = UpdateFlag::any) {
    Base::set(index, PerCpuValues<V>(std::vector<V>(detail::possible_cpus(), value)), flag);
  }

  /// Creates a new BPF_MAP_TYPE_PERCPU_ARRAY of `size` zeroed elements. Throws Error.
  static PerCpuArrayMap create(std::uint32_t size, std::string_view name,
                               std::uint32_t map_flags = 0) {
    return PerCpuArrayMap(detail::create_map_fd(BPF_MAP_TYPE_PERCPU_ARRAY, name,
                                                sizeof(std::uint32_t), sizeof(V), size, map_flags),
                          std::string(name), TypeCheck::size_only, {});
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static const std::string n = fmt::format("PerCpuArrayMap<{}>", detail::type_name<V>());
    return detail::key_value_spec<std::uint32_t, V>(n, detail::percpu_array_types, false);
  }

private:
  PerCpuArrayMap(detail::UniqueFd fd, std::string name, TypeCheck check, std::string fallback)
      : Base(std::move(fd), std::move(name), check, std::move(fallback)) {}
};

/// A typed view of a queue (BPF_MAP_TYPE_QUEUE, kernel 4.20+): first in, first out; no keys.
template <MapData V>
class QueueMap : public detail::QueueOps<QueueMap<V>, V> {
  using Base = detail::QueueOps<QueueMap<V>, V>;
  friend detail::MapCore<QueueMap>;

public:
  /// An empty view (fd() == -1).
  QueueMap() = default;
  /// A view of a loaded object's map. Throws Error when not loaded or not fitting V.
  explicit QueueMap(bpf_map* map, TypeCheck check = TypeCheck::btf) : Base(map, check) {}
  /// A view of a loaded object's map. Throws Error as above.
  explicit QueueMap(MapRef map, TypeCheck check = TypeCheck::btf) : Base(map.get(), check) {}

  /// Creates a new BPF_MAP_TYPE_QUEUE holding up to `max_entries` values. Throws Error.
  static QueueMap create(std::uint32_t max_entries, std::string_view name) {
    return QueueMap(detail::create_map_fd(BPF_MAP_TYPE_QUEUE, name, 0, sizeof(V), max_entries, 0),
                    std::string(name), TypeCheck::size_only, {});
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static const std::string n = fmt::format("QueueMap<{}>", detail::type_name<V>());
    return detail::keyless_spec<V>(n, detail::queue_types);
  }

private:
  QueueMap(detail::UniqueFd fd, std::string name, TypeCheck check, std::string fallback)
      : Base(std::move(fd), std::move(name), check, std::move(fallback)) {}
};

/// A typed view of a stack (BPF_MAP_TYPE_STACK, kernel 4.20+): last in, first out; no keys.
template <MapData V>
class StackMap : public detail::QueueOps<StackMap<V>, V> {
  using Base = detail::QueueOps<StackMap<V>, V>;
  friend detail::MapCore<StackMap>;

public:
  /// An empty view (fd() == -1).
  StackMap() = default;
  /// A view of a loaded object's map. Throws Error when not loaded or not fitting V.
  explicit StackMap(bpf_map* map, TypeCheck check = TypeCheck::btf) : Base(map, check) {}
  /// A view of a loaded object's map. Throws Error as above.
  explicit StackMap(MapRef map, TypeCheck check = TypeCheck::btf) : Base(map.get(), check) {}

  /// Creates a new BPF_MAP_TYPE_STACK holding up to `max_entries` values. Throws Error.
  static StackMap create(std::uint32_t max_entries, std::string_view name) {
    return StackMap(detail::create_map_fd(BPF_MAP_TYPE_STACK, name, 0, sizeof(V), max_entries, 0),
                    std::string(name), TypeCheck::size_only, {});
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static const std::string n = fmt::format("StackMap<{}>", detail::type_name<V>());
    return detail::keyless_spec<V>(n, detail::stack_types);
  }

private:
  StackMap(detail::UniqueFd fd, std::string name, TypeCheck check, std::string fallback)
      : Base(std::move(fd), std::move(name), check, std::move(fallback)) {}
};

} // namespace ebpfpp
