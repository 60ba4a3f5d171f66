#pragma once
/// @file
/// Fixed-size C string fields as std::string_view. Events and map values that BPF programs fill
/// carry names in char arrays (`char comm[16]` from bpf_get_current_comm, a file name from
/// bpf_probe_read_user_str): NUL-terminated when the text is shorter than the array, but not
/// when it fills it. `to_string_view` reads up to the first NUL or the array's end, never past
/// it, and copies nothing.
///
///     for (const event& e : events.events())
///       fmt::print("{} {}\n", e.pid, ebpfpp::to_string_view(e.comm));

#include "detail/config.hpp"

#include <cstddef>
#include <string_view>

namespace ebpfpp {

/// The text of a fixed-size char array field: its characters up to the first NUL, or all N when
/// it has none (bpf_get_current_comm fills a 16-byte field with no NUL for a 16-character name).
/// A view into `field`: valid as long as the field is (for a stream's event, until the loop moves
/// on). Never throws.
template <std::size_t N>
constexpr std::string_view to_string_view(const char (&field)[N]) noexcept {
  std::size_t n = 0;
  while (n < N && field[n] != '\0') ++n;
  return {field, n};
}

} // namespace ebpfpp
