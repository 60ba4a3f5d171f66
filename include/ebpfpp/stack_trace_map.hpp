#pragma once
/// @file
/// StackTraceMap: the stacks a program recorded with bpf_get_stackid()
/// (BPF_MAP_TYPE_STACK_TRACE, kernel 4.6+), read by stack id as a list of addresses.
///
///     // BPF side: struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __uint(key_size, 4);
///     //                    __uint(value_size, 127 * 8); __uint(max_entries, 16384); } stacks ...;
///     //           u32 id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
///     ebpfpp::StackTraceMap<> stacks(skel->maps.stacks);
///     for (std::uint64_t ip : stacks.lookup(id)) ...
///
/// Symbolize the addresses with symbolizer.hpp.

#include "detail/config.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include "detail/map_kind.hpp"

namespace ebpfpp {

/// The kernel's default maximum stack depth (sysctl kernel.perf_event_max_stack).
inline constexpr std::size_t default_stack_depth = 127;

/// A typed view of a BPF_MAP_TYPE_STACK_TRACE map whose values hold `Depth` addresses
/// (value_size = Depth * 8). Keys are the u32 stack ids bpf_get_stackid() returned. Kernel 4.6+.
template <std::size_t Depth = default_stack_depth>
class StackTraceMap
    : public detail::MapBase<StackTraceMap<Depth>>,
      public detail::MapKind<StackTraceMap<Depth>,
                             detail::Kind<"StackTraceMap", BPF_MAP_TYPE_STACK_TRACE>, std::uint32_t,
                             std::array<std::uint64_t, Depth>, detail::KeyUse::index> {
  using Base = detail::MapBase<StackTraceMap<Depth>>;

public:
  using Base::Base;
  /// A stack as the kernel stores it: the innermost frame first, zero after the last one.
  using Frames = std::array<std::uint64_t, Depth>;

  /// The addresses of stack `stack_id`, the innermost frame first; empty when there is no such
  /// stack, or for the negative ids bpf_get_stackid() returns on failure (-EFAULT: no user
  /// stack, e.g. a kernel thread; -EEXIST: a hash collision with BPF_F_REUSE_STACKID unset).
  /// Throws Error when the kernel gives no answer (an empty view or a closed fd, ...).
  std::vector<std::uint64_t> lookup(std::int64_t stack_id) const {
    std::vector<std::uint64_t> out;
    if (stack_id < 0 || stack_id > UINT32_MAX) return out;
    const auto key = static_cast<std::uint32_t>(stack_id);
    Frames frames{};
    if (!detail::found(bpf_map_lookup_elem(this->fd_.get(), &key, frames.data()), [&] {
          return detail::format("look up stack {} in stack trace map '{}'", key, this->name_);
        }))
      return out;
    for (std::uint64_t ip : frames) {
      if (ip == 0) break;
      out.push_back(ip);
    }
    return out;
  }

  /// Removes stack `stack_id` (so the id can be reused). Returns whether it was there.
  bool erase(std::uint32_t stack_id) noexcept {
    return bpf_map_delete_elem(this->fd_.get(), &stack_id) == 0;
  }

  /// Removes every stack (between two profiling intervals, for example).
  void clear() noexcept {
    std::uint32_t key = 0;
    while (bpf_map_get_next_key(this->fd_.get(), nullptr, &key) == 0)
      if (bpf_map_delete_elem(this->fd_.get(), &key) != 0) break;
  }

  // create(max_entries, name) (detail::MapKind).
};

} // namespace ebpfpp
