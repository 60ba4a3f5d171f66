#pragma once
/// @file
/// Variable<T>: a typed view of a BPF program's global variable (.bss, .data, .rodata and their
/// named variants), without a skeleton.
///
///     auto obj = ebpfpp::Object::open_file("counter.bpf.o");
///     obj.variable<std::uint32_t>("multiplier").set(3);   // any section, before load
///     obj.load();
///     auto hits = obj.variable<std::uint64_t>("hits");    // .bss
///     fmt::print("{}\n", hits.get());                     // what the BPF side wrote
///     obj.variable<std::uint32_t>("step").set(5);         // .data: the BPF side sees it now
///
/// Finding one checks the C++ type against the object's BTF: the size, and member by member the
/// offsets, kinds (integer, struct, ...), sizes and integer signedness, as typed maps do. Before load, reads and writes go to
/// the section's initial image; after load, to the kernel's map through an mmap of it (kernel
/// 5.5+, BPF_F_MMAPABLE; on older kernels through map lookups and updates). .rodata is
/// frozen at load: writing it afterwards throws an Error.

#include "detail/config.hpp"

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "detail/fd.hpp"
#include "detail/format.hpp"
#include "detail/map_check.hpp"
#include "error.hpp"
#include "map_data.hpp"
#include "object.hpp"

namespace ebpfpp {

/// A typed view of one global variable of an Object (see the file comment). Valid while the
/// Object lives; copyable (copies share one mapping of the kernel's map). Reads and writes are
/// plain copies: a value the BPF side updates concurrently may be read torn unless it is naturally
/// aligned and at most 8 B.
template <MapData T>
class Variable {
public:
  Variable(bpf_map* map, std::size_t offset, std::string name) noexcept
      : map_(map), offset_(offset), name_(std::move(name)) {}

  /// The variable's name.
  const std::string& name() const noexcept { return name_; }
  /// Its section: ".bss", ".data", ".rodata", ".data.<x>", ...
  std::string section() const { return detail::data_section(map_); }
  /// Whether BPF programs cannot write it (.rodata): then set() works only before load.
  bool read_only() const noexcept { return bpf_map__map_flags(map_) & BPF_F_RDONLY_PROG; }

  /// Its value: the initial value before load, the kernel's after. Throws Error when the
  /// kernel's map cannot be read.
  T get() const {
    T out;
    if (std::byte* p = direct()) {
      std::memcpy(&out, p + offset_, sizeof(T));
      return out;
    }
    const auto image = read_map();
    std::memcpy(&out, image.data() + offset_, sizeof(T));
    return out;
  }

  /// Writes it: into the initial image before load, into the kernel's map after (.bss, .data).
  /// Throws Error for .rodata after load (frozen), or when the kernel's map cannot be written.
  void set(const T& value) {
    if (loaded() && read_only())
      throw Error(EPERM, detail::format("write global '{}' ({}) after load", name_, section()),
                  std::string(detail::hint::rodata_frozen));
    if (std::byte* p = direct()) {
      std::memcpy(p + offset_, &value, sizeof(T));
      return;
    }
    auto image = read_map();
    std::memcpy(image.data() + offset_, &value, sizeof(T));
    const std::uint32_t zero = 0;
    detail::check(
        bpf_map_update_elem(bpf_map__fd(map_), &zero, image.data(), BPF_ANY),
        [&] { return detail::format("write global '{}' ({})", name_, section()); },
        detail::Op::map_access);
  }

  /// get().
  operator T() const { return get(); }
  /// set(value).
  Variable& operator=(const T& value) {
    set(value);
    return *this;
  }

private:
  bool loaded() const noexcept { return bpf_map__fd(map_) >= 0; }

  // The bytes to read and write in place: libbpf's image before load; after load, our own
  // mmap of the map (libbpf 1.1 maps the kernel's only for skeletons), made on first use;
  // nullptr when only syscalls reach the map (no BPF_F_MMAPABLE: kernels before 5.5).
  std::byte* direct() const {
    if (!loaded()) {
      std::size_t size = 0;
      return static_cast<std::byte*>(const_cast<void*>(bpf_map__initial_value(map_, &size)));
    }
    if (!(bpf_map__map_flags(map_) & BPF_F_MMAPABLE)) return nullptr;
    if (!live_) {
      const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
      const std::size_t len = (bpf_map__value_size(map_) + page - 1) / page * page;
      live_ = std::make_shared<detail::Mapping>(detail::map_memory(
          bpf_map__fd(map_), len, read_only() ? PROT_READ : PROT_READ | PROT_WRITE, 0,
          detail::format("global '{}' ({})", name_, section())));
    }
    return live_->get();
  }
  std::vector<std::byte> read_map() const {
    std::vector<std::byte> image(bpf_map__value_size(map_));
    const std::uint32_t zero = 0;
    // Index 0 of a data section always exists: even ENOENT is a failure here.
    detail::check(
        bpf_map_lookup_elem(bpf_map__fd(map_), &zero, image.data()),
        [&] { return detail::format("read global '{}' ({})", name_, section()); },
        detail::Op::map_access);
    return image;
  }

  bpf_map* map_;
  std::size_t offset_;
  std::string name_;
  mutable std::shared_ptr<detail::Mapping> live_; // shared by copies of this view
};

template <MapData T>
Variable<T> Object::variable(std::string_view name) const {
  require_open("find a global in");
  const detail::GlobalSlot slot = detail::find_global<T>(handle_, name);
  return Variable<T>(slot.map, slot.offset, std::string(name));
}

} // namespace ebpfpp
