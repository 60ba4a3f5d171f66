#pragma once
/// @file
/// detail::enum_entry and detail::enum_name: an enum numbered 0, 1, 2, ... turned into a name or
/// a kernel value by a table in the enum's order, one line where a switch took a dozen.

#include "config.hpp"

#include <cstddef>
#include <string_view>

namespace ebpfpp::detail {

/// The entry of `table` for `e` (an enum whose values are 0, 1, 2, ... in the table's order);
/// `otherwise` for a value past the table's end.
template <class T, class E, std::size_t N>
constexpr T enum_entry(E e, const T (&table)[N], T otherwise) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? table[i] : otherwise;
}

/// The name of `e` from `names`, in the enum's order; "?" for a value past the end.
template <class E, std::size_t N>
constexpr std::string_view enum_name(E e, const std::string_view (&names)[N]) noexcept {
  return enum_entry(e, names, std::string_view("?"));
}

} // namespace ebpfpp::detail
