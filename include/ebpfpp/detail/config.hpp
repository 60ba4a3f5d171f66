#pragma once
/// @file
/// The requirement every ebpfpp header checks first: C++20 (coroutines, concepts). Without it a
/// consumer gets hundreds of errors starting "the coroutine header requires -fcoroutines";
/// with this check, one #error that says what to set. Also, since every header includes this one
/// first, the one tool of the rule that rarely used code compiles only where it is used:
/// detail::Dependent.

// The message stays on the #error line: that line is what the compiler shows.
// clang-format off
#if !defined(__cplusplus) || __cplusplus < 202002L
#error "ebpfpp needs C++20: compile with -std=c++20 (Meson: cpp_std=c++20; CMake: CXX_STANDARD 20, or link ebpfpp::ebpfpp)"
// #error does not stop the compiler, and the headers that follow would add hundreds of errors of
// their own. A missing include is fatal: the #error above stays the only message that matters.
#include <ebpfpp: stopping at the #error above>
#endif
// clang-format on

namespace ebpfpp::detail {

template <class X, class T>
struct DependentType {
  using type = X;
};
/// X, named as a type that depends on T. GCC instantiates a standard template over a type that a
/// template's member or body names without the template's parameters where the template is
/// defined, in every file that includes it, whether or not anything uses it; named through the
/// parameter (std::vector<Dependent<const char*, T>>), it is instantiated where the template is.
template <class X, class T>
using Dependent = typename DependentType<X, T>::type;

} // namespace ebpfpp::detail
