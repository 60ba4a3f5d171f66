#pragma once
/// @file
/// PerCpuValues<V>: the values of one key of a per-CPU map (PerCpuHashMap, PerCpuArrayMap), one
/// V per possible CPU, with sum().

#include "detail/config.hpp"

#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "map_data.hpp"

namespace ebpfpp {

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

} // namespace ebpfpp
