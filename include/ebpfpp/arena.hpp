#pragma once
/// @file
/// Arena: a BPF arena (BPF_MAP_TYPE_ARENA, kernel 6.9+), memory that BPF programs and this
/// process share at the same addresses. A BPF program allocates pages in it
/// (bpf_arena_alloc_pages) and builds data structures whose pointers are user-space addresses;
/// mapped here at the address the kernel expects, those pointers are valid C++ pointers.
///
///     auto arena = ebpfpp::Arena::create(16, "arena");          // 16 pages, placed here
///     auto skel = my_tool::Skeleton::open({.reuse = {ebpfpp::MapReuse::from_fd("arena",
///                                                                   arena.fd())}});
///     skel.load();                                              // programs use this arena
///     ... run a program that builds a list ...
///     for (const node* n = arena.pointer<node>(skel->bss->head); n; n = n->next) use(*n);
///
/// Where the arena is: the kernel maps it at one user address in every process (its
/// user_vm_start), either the map's map_extra or, when that is 0, wherever the first mmap of the
/// arena put it. A program that uses the arena only loads once that address is known. libbpf
/// 1.4+ maps an object's arena itself at load; libbpf 1.1 does not, and reads map_extra as 32
/// bits only. So with libbpf 1.1, create the arena here (create() maps it at once, which places
/// it) and let the object reuse it (MapReuse::from_fd), or declare map_extra. A view of an
/// arena that exists (a pin, an fd) maps it at its map_extra.
///
/// How BPF sees it: pointers into the arena are user addresses; the kernel runs BPF accesses
/// through them at its own mapping of the same pages (a cast instruction turns a user address
/// into a pointer the verifier lets a program dereference: clang 18+ emits it for pointers in
/// __attribute__((address_space(1)))). Pages that neither side allocated are zero-filled when
/// user space first touches them.
///
/// The view of a BPF_F_MMAPABLE array as memory is MmapArray<V> (mmap_array.hpp).

#include "detail/config.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include "detail/fd.hpp"
#include "detail/hints.hpp"
#include "detail/map_ops.hpp"
#include "detail/uapi.hpp"
#include "map_base.hpp"

namespace ebpfpp {

/// A BPF arena (BPF_MAP_TYPE_ARENA, kernel 6.9+, a 64-bit kernel whose JIT supports arenas:
/// x86-64 6.9, arm64 6.10) mapped into this process at the address the kernel expects. Made
/// like any map view (from a MapRef, a pin, an fd) or by create(); the mapping goes with the
/// view. Throws Error: the map is no arena, its address is taken here (EEXIST), or another
/// process placed it where this one cannot know (EINVAL), with what to do.
class Arena : public detail::MapBase<Arena> {
public:
  /// An empty view: assign a real one to use it.
  Arena() noexcept = default;
  /// A view of the arena `source` names, mapped. Throws Error.
  /// (It and create() are templates over a parameter nobody gives: as plain inline functions they
  /// compiled MapBase's checks, BTF comparison included, in every file including this header.)
  template <class = void>
  explicit Arena(MapSource source, TypeCheck check = TypeCheck::btf)
      : MapBase(std::move(source), check) {
    map_pages();
  }

  /// Creates an arena of `pages` pages (at most 4 GiB) and maps it: at `address` (page-aligned,
  /// its range within one 4 GiB-aligned block) when given, else where the kernel picks. From
  /// then on programs that use it load. Throws Error.
  template <class = void>
  static Arena create(std::uint32_t pages, std::string_view name, std::uintptr_t address = 0) {
    return Arena(MapSource::adopt(
                     detail::create_map_fd(static_cast<bpf_map_type>(detail::uapi::map_type_arena),
                                           name, 0, 0, pages, BPF_F_MMAPABLE, address),
                     std::string(name)),
                 TypeCheck::size_only);
  }

  /// Where the arena starts in this process, and for BPF programs (the kernel's user_vm_start).
  std::uintptr_t address() const noexcept {
    return reinterpret_cast<std::uintptr_t>(memory_.get());
  }
  /// The whole arena: max_entries() pages. Touching a page no one allocated allocates it.
  std::span<std::byte> bytes() const noexcept { return {memory_.get(), memory_.size()}; }
  /// Whether the `size` bytes at `p` lie in the arena.
  bool contains(const void* p, std::size_t size = 1) const noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    return at >= address() && size <= memory_.size() && at - address() <= memory_.size() - size;
  }

  /// The T at `bpf_address`, a pointer a BPF program stored or returned: a user address, or its
  /// low 32 bits (what a BPF program holds after casting it for access), completed as the kernel
  /// does (addr_space_cast to user space: the arena's upper 32 bits). nullptr for 0. Throws Error
  /// (ERANGE) when the T there would not lie in the arena.
  template <class T>
  T* pointer(std::uint64_t bpf_address) const {
    if (bpf_address == 0) return nullptr;
    const std::uint64_t full =
        (std::uint64_t{address()} & ~std::uint64_t{0xffffffff}) | (bpf_address & 0xffffffff);
    if (full < address() || sizeof(T) > memory_.size() ||
        full - address() > memory_.size() - sizeof(T))
      throw Error(ERANGE,
                  detail::format("read a {}-byte object at {:#x} in arena '{}' ({:#x}, {} bytes)",
                                 sizeof(T), bpf_address, name(), address(), memory_.size()),
                  std::string(detail::hint::arena_outside));
    return reinterpret_cast<T*>(memory_.get() + (full - address()));
  }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {
        static_cast<bpf_map_type>(detail::uapi::map_type_arena)};
    return {"Arena", types, 0, 0, "(none)", "(none)", nullptr, nullptr, false};
  }

private:
  void map_pages() {
    bpf_map_info raw{};
    __u32 len = sizeof raw;
    const auto action = [&] {
      return detail::format("map arena '{}' into memory at {:#x}", name(), raw.map_extra);
    };
    detail::check(bpf_obj_get_info_by_fd(fd(), &raw, &len), action);
    const std::size_t size =
        std::size_t{max_entries()} * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    // At map_extra when the map has one (never over a mapping of ours: NOREPLACE), else where
    // the kernel's placement for arenas puts it (within one 4 GiB block).
    const int placed = raw.map_extra != 0 ? MAP_FIXED_NOREPLACE : 0;
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the address the kernel holds for the arena
    void* at = reinterpret_cast<void*>(static_cast<std::uintptr_t>(raw.map_extra));
    void* p = ::mmap(at, size, PROT_READ | PROT_WRITE, MAP_SHARED | placed, fd(), 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      throw Error(err, action(),
                  std::string(err == EEXIST ? detail::hint::arena_taken
                                            : detail::hint::arena_placed_elsewhere));
    }
    memory_ = detail::Mapping(p, size);
  }

  detail::Mapping memory_;
};

} // namespace ebpfpp
