#pragma once
/// @file
/// BloomFilterMap<V>: a typed bloom filter (BPF_MAP_TYPE_BLOOM_FILTER, kernel 5.16+): a set that
/// answers "maybe there" or "surely not", in constant memory, with no keys and no erase.

#include "detail/config.hpp"

#include "detail/map_kind.hpp"
#include "kernel.hpp"

namespace ebpfpp {

/// A typed view of a bloom filter (BPF_MAP_TYPE_BLOOM_FILTER, kernel 5.16+). push() adds a value;
/// contains() is false only for values never pushed, and may be true for others (the rate of
/// such false positives grows with the count pushed beyond max_entries, which only sizes the bit
/// array, and falls with the number of hash functions). Values cannot be removed. Otherwise as
/// Map<K,V>: made from any MapSource, checked (size and BTF) at construction, pinnable, move-only.
template <MapData V>
class BloomFilterMap
    : public detail::MapBase<BloomFilterMap<V>>,
      public detail::MapKind<BloomFilterMap<V>,
                             detail::Kind<"BloomFilterMap", BPF_MAP_TYPE_BLOOM_FILTER>, void, V,
                             detail::KeyUse::none> {
public:
  using detail::MapBase<BloomFilterMap<V>>::MapBase;
  /// The element type.
  using value_type = V;

  /// Adds `value` (BPF_MAP_UPDATE_ELEM with no key); never full. Throws Error (an empty view).
  void push(const V& value) {
    if (bpf_map_update_elem(this->fd_.get(), nullptr, &value, BPF_ANY) == 0) return;
    detail::fail(
        errno, [&] { return detail::format("push to bloom filter '{}'", this->name_); },
        detail::Op::map_access);
  }

  /// False when `value` was surely never pushed; true when it may have been (BPF_MAP_LOOKUP_ELEM
  /// answers 0 or ENOENT). Throws Error for any other answer (an empty view or a closed fd, an fd
  /// that may not read the map).
  bool contains(const V& value) const {
    V copy = value; // the kernel's lookup takes a writable buffer
    return detail::found(bpf_map_lookup_elem(this->fd_.get(), nullptr, &copy), [&] {
      return detail::format("look up a value in bloom filter '{}'", this->name_);
    });
  }

  /// Creates a bloom filter sized for `max_entries` values, with `hashes` hash functions (1-15;
  /// 0 means the kernel's default, 5). Throws FeatureError below 5.16, Error otherwise.
  static BloomFilterMap create(std::uint32_t max_entries, std::string_view name,
                               std::uint32_t hashes = 0, std::uint32_t map_flags = 0) {
    kernel::require(kernel::Feature::bloom_filter,
                    detail::format("create bloom filter '{}'", name));
    return BloomFilterMap::create_as(BPF_MAP_TYPE_BLOOM_FILTER, max_entries, name, map_flags,
                                     hashes & 0xf);
  }
};

} // namespace ebpfpp
