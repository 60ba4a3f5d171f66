#pragma once
/// @file
/// OpenOptions: how a BPF object is opened, one type for every way of opening one
/// (Object::open_file, Object::open_memory, Skeleton<T>::open and open_and_load, and a
/// generated typed skeleton's open and open_and_load). What a tool that ships to many machines
/// sets before load:
///
///     auto obj = ebpfpp::Object::open_file("tool.bpf.o", {
///         .btf_custom_path = "/var/lib/tool/5.4.0-42-generic.btf",  // CO-RE without vmlinux BTF
///         .pin_root_path = "/sys/fs/bpf/tool",   // where LIBBPF_PIN_BY_NAME maps are shared
///         .kernel_log_level = 1,                 // the verifier's log, also when it accepts
///         .resize = {ebpfpp::MapResize::max_entries("counts", 65536),
///                    ebpfpp::MapResize::ring_size("events", 16 << 20)},
///         .reuse = {ebpfpp::MapReuse::pinned("config", "/sys/fs/bpf/other/config")},
///         .bpf_token_path = "/run/tool/bpffs",   // in a container: a delegating bpffs
///     });
///     obj.load();
///
/// The fields are set in declaration order (C++ designated initializers), any may be left out.
/// Everything is checked at open, before libbpf creates anything: an unreadable BTF file, a pin
/// root off bpffs, a resize that does not fit the map's kind, a reused map that differs from the
/// object's declaration each throw an Error that names the map or path and says what to do.

#include "detail/config.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "map_ref.hpp"

namespace ebpfpp {

/// A new size for one map of the object, set at open (before load, when libbpf creates the
/// map). Each says what it sizes, and is checked against the map's kind at open: a ring
/// buffer's size is not a number of entries, and only an array's values are bytes the BPF side
/// may size at run time. An Error with a hint otherwise.
struct MapResize {
  enum class What {
    max_entries, ///< the number of entries (every map but ring buffers)
    ring_size,   ///< a ring buffer's data size in bytes
    value_size,  ///< an array's value size in bytes
  };
  std::string map;
  What what = What::max_entries;
  std::uint32_t size = 0;

  /// How many entries map `map` holds (at least 1). Not for ring buffers (ring_size), nor for
  /// global data (.bss, .data, .rodata: one entry, sized by its variables).
  static MapResize max_entries(std::string map, std::uint32_t entries) {
    return {std::move(map), What::max_entries, entries};
  }
  /// The data size of ring buffer `map` (RingBuffer<Event>, UserRingBuffer<Event>): a power of
  /// two and a multiple of the page size, as the kernel requires (libbpf would round it up
  /// silently; ebpfpp refuses it and says which sizes fit).
  static MapResize ring_size(std::string map, std::uint32_t bytes) {
    return {std::move(map), What::ring_size, bytes};
  }
  /// The value size of array `map` (BPF_MAP_TYPE_ARRAY or PERCPU_ARRAY), in bytes: for values
  /// the BPF side treats as a buffer of a size it learns at run time (a .rodata constant). The
  /// kernel then refuses the map's BTF value type (its size differs), so libbpf creates the map
  /// without it (its warning says "Retrying without BTF") and typed views of it check sizes
  /// only.
  static MapResize value_size(std::string map, std::uint32_t bytes) {
    return {std::move(map), What::value_size, bytes};
  }
  /// value_size(map, sizeof(V)): the size an ArrayMap<V> of the map will then check.
  template <class V>
  static MapResize value_type(std::string map) {
    return value_size(std::move(map), static_cast<std::uint32_t>(sizeof(V)));
  }
};

/// A map that exists already, used by the object in place of the one it declares
/// (bpf_map__reuse_fd at open): its programs then read and write that map. It must match the
/// declaration (after any MapResize): the same type, key and value sizes, max_entries, flags,
/// and name (libbpf 1.1 renames the object's map after the map it reuses, so a map of another
/// name would no longer be found by its own). An Error says what differs otherwise.
struct MapReuse {
  std::string map;
  /// Where the map comes from: a pin on bpffs, an fd (the caller keeps it; the object holds a
  /// duplicate), or a map of another Object or Skeleton, loaded.
  std::variant<std::filesystem::path, int, MapRef> source;

  // (The makers are templates over a parameter nobody gives, called as plain functions: a file
  // that includes this but reuses no map does not compile the variant's constructors.)
  /// The map pinned at `path` (BPF_OBJ_GET).
  template <class = void>
  static MapReuse pinned(std::string map, std::filesystem::path path) {
    return {std::move(map), std::move(path)};
  }
  /// The map of `fd`, e.g. a typed view's `fd()` or one received from another process.
  template <class = void>
  static MapReuse from_fd(std::string map, int fd) {
    return {std::move(map), fd};
  }
  /// A loaded map of another Object or Skeleton (`other.map("counts")`), which need not live on
  /// after this open: the object holds its own fd of the map.
  template <class = void>
  static MapReuse from_map(std::string map, MapRef other) {
    return {std::move(map), std::move(other)};
  }
};

/// How an object is opened (see the file comment). Every field has a default that does what
/// libbpf does without options.
struct OpenOptions {
  /// The largest global data accepted (open_file and open_memory only: a skeleton's object is
  /// built in), in bytes: each of .data, .rodata, .bss (and their .name variants) and each
  /// variable of the BTF's data sections (.kconfig externs too). Each becomes a map of its size,
  /// mapped into this process at open and created in the kernel at load; a larger one is an
  /// Error (E2BIG) before libbpf sees it. 64 MiB.
  std::uint64_t max_data_size = std::uint64_t{64} << 20;
  /// A BTF file to resolve CO-RE relocations against instead of the running kernel's
  /// (/sys/kernel/btf/vmlinux): for a kernel built without CONFIG_DEBUG_INFO_BTF, with the file
  /// BTFHub has for it. Raw BTF or an ELF file with a .BTF section. Empty: the kernel's.
  std::filesystem::path btf_custom_path{};
  /// The bpffs directory under which maps declared `__uint(pinning, LIBBPF_PIN_BY_NAME)` are
  /// pinned at load, as <pin_root_path>/<map name>; a map already pinned there is reused (when it
  /// matches the declaration), so every object opened with the same root shares it. Pins stay
  /// after the object is gone: remove them when the tool is uninstalled. Empty: /sys/fs/bpf.
  std::filesystem::path pin_root_path{};
  /// The verifier's log level for every program: 1 the path that failed, and for a program it
  /// accepts its statistics (instructions processed, states); 2 every instruction with the
  /// registers' state at it (large); 4 statistics only; 0 none (a failure's log is taken anyway).
  /// A log of a program the verifier accepts goes to the log handler (set_log_handler, level
  /// info; without one, where libbpf's messages go), one message per program; a rejection's log
  /// is in the Error, as always.
  std::uint32_t kernel_log_level = 0;
  /// Map sizes to set before load, in order.
  std::vector<MapResize> resize{};
  /// Maps to use in place of the object's own, set after the resizes.
  std::vector<MapReuse> reuse{};
  /// A bpffs mounted with delegation options (6.9+), for a process in a user namespace without
  /// CAP_BPF where it counts (a container): at open, a BPF token is made from it, and the load
  /// creates maps, loads BTF and loads programs with that token. The host's root mounts it for
  /// the namespace with what to delegate: delegate_cmds (map_create, prog_load, btf_load),
  /// delegate_maps (array, hash, ...), delegate_progs (socket_filter, xdp, ...) and
  /// delegate_attachs (attach types; a program that names none has 0, cgroup_inet_ingress).
  /// libbpf 1.1 also loads a trivial socket filter before anything (delegate socket_filter), and
  /// without btf_load it loads the object without BTF. A load the token does not cover throws an
  /// Error whose hint names the option and value to add. With libbpf older than 1.4 (Debian 12's
  /// 1.1), one .cpp file of the program must include <ebpfpp/token_shim.hpp>. Empty: no token.
  std::filesystem::path bpf_token_path{};
};

} // namespace ebpfpp
