#pragma once
/// @file
/// MmapArray<V>: an array map created with BPF_F_MMAPABLE (kernel 5.5+), seen as memory: its
/// values mapped into this process, read and written in place with no system call, while BPF
/// programs read and write the same pages.
///
///     ebpfpp::MmapArray<Slot> slots(skel.maps.slots);   // a BPF_F_MMAPABLE array of Slot
///     slots.values()[2].limit = 100;                    // the BPF side sees it at its next run
///     for (const Slot& s : slots.values()) total += s.hits;
///
/// The kernel lays the elements out every round_up(sizeof(V), 8) bytes: values() is a span of V
/// when that is sizeof(V) (a V of a multiple of 8 bytes), and operator[] reaches any V. A value
/// the BPF side changes while it is read here is read without a lock, as a BPF program reads it:
/// read counters it adds to with std::atomic_ref (its __sync_fetch_and_add is atomic). It is
/// also an ArrayMap: get(), set() and iteration go through the bpf() system call, as there.
///
/// On the BPF side, the map is an ordinary array with `__uint(map_flags, BPF_F_MMAPABLE)`.

#include "detail/config.hpp"

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

#include "detail/fd.hpp"
#include "detail/hints.hpp"
#include "detail/map_ops.hpp"

namespace ebpfpp {

/// A BPF_F_MMAPABLE array map (BPF_MAP_TYPE_ARRAY, kernel 5.5+) mapped into this process. Made
/// like any map view (from a skeleton's map, a MapRef, a pin, an fd, create()); the mapping goes
/// with the view. Throws Error: the array was not created with BPF_F_MMAPABLE (EINVAL, with what
/// to change), the mmap fails (its errno), or as ArrayMap does on a map that does not fit.
template <MapData V>
class MmapArray : public detail::ArrayOps<MmapArray<V>, V, detail::PlainValue<V>> {
  using Base = detail::ArrayOps<MmapArray<V>, V, detail::PlainValue<V>>;

public:
  /// The distance between two elements in the mapping, as the kernel lays them out.
  static constexpr std::size_t stride = (sizeof(V) + 7) / 8 * 8;

  /// An empty view: assign a real one to use it.
  MmapArray() noexcept = default;
  /// A view of the map `args` name (as for ArrayMap), mapped. Throws Error.
  template <class... Args>
    requires(std::constructible_from<Base, Args...> &&
             !(std::is_same_v<std::remove_cvref_t<Args>, MmapArray> || ...))
  explicit MmapArray(Args&&... args) : Base(std::forward<Args>(args)...) {
    map_values();
  }

  /// Creates a new BPF_F_MMAPABLE array of `size` zeroed elements, mapped. Throws Error.
  static MmapArray create(std::uint32_t size, std::string_view name) {
    return MmapArray(MapSource::adopt(detail::create_map_fd(BPF_MAP_TYPE_ARRAY, name,
                                                            sizeof(std::uint32_t), sizeof(V),
                                                            size, BPF_F_MMAPABLE),
                                      std::string(name)),
                     TypeCheck::size_only);
  }

  /// The values, in place: a span of size() elements. Only where elements lie sizeof(V) apart
  /// (sizeof(V) a multiple of 8); use operator[] otherwise.
  std::span<V> values() const noexcept
    requires(stride == sizeof(V))
  {
    return {reinterpret_cast<V*>(memory_.get()), this->size()};
  }
  /// The value at `index`, in place. No bounds check: index < size().
  V& operator[](std::uint32_t index) const noexcept {
    return *reinterpret_cast<V*>(memory_.get() + std::size_t{index} * stride);
  }
  /// The whole mapping, size() * stride bytes and the rest of the last page.
  std::span<std::byte> bytes() const noexcept { return {memory_.get(), memory_.size()}; }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_ARRAY};
    return detail::key_value_spec<std::uint32_t, V>("MmapArray", types, true);
  }

private:
  void map_values() {
    const auto action = [&] { return detail::format("map array '{}' into memory", this->name()); };
    if ((this->info().map_flags & BPF_F_MMAPABLE) == 0)
      throw Error(EINVAL, action(), std::string(detail::hint::not_mmapable));
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t len = (std::size_t{this->size()} * stride + page - 1) / page * page;
    memory_ = detail::map_memory(this->fd(), len, PROT_READ | PROT_WRITE, 0,
                                 detail::format("array '{}'", this->name()));
  }

  detail::Mapping memory_;
};

} // namespace ebpfpp
