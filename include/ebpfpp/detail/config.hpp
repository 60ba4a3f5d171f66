#pragma once
/// @file
/// The requirement every ebpfpp header checks first: C++20 (coroutines, concepts). Without it a
/// consumer gets hundreds of errors starting "the coroutine header requires -fcoroutines";
/// with this check, one #error that says what to set.

// The message stays on the #error line: that line is what the compiler shows.
// clang-format off
#if !defined(__cplusplus) || __cplusplus < 202002L
#error "ebpfpp needs C++20: compile with -std=c++20 (Meson: cpp_std=c++20; CMake: CXX_STANDARD 20, or link ebpfpp::ebpfpp)"
// #error does not stop the compiler, and the headers that follow would add hundreds of errors of
// their own. A missing include is fatal: the #error above stays the only message that matters.
#include <ebpfpp: stopping at the #error above>
#endif
// clang-format on
