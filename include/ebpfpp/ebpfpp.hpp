#pragma once
/// @file
/// ebpfpp: a header-only C++20 library over libbpf. This umbrella includes every header; include
/// the single ones to compile less.

#include "cgroup.hpp"         // IWYU pragma: export
#include "error.hpp"          // IWYU pragma: export
#include "event_loop.hpp"     // IWYU pragma: export
#include "generator.hpp"      // IWYU pragma: export
#include "interface.hpp"      // IWYU pragma: export
#include "kernel.hpp"         // IWYU pragma: export
#include "kernel_version.hpp" // IWYU pragma: export
#include "link.hpp"           // IWYU pragma: export
#include "log.hpp"            // IWYU pragma: export
#include "map.hpp"            // IWYU pragma: export
#include "object.hpp"         // IWYU pragma: export
#include "perf_buffer.hpp"    // IWYU pragma: export
#include "prog_array.hpp"     // IWYU pragma: export
#include "program_info.hpp"   // IWYU pragma: export
#include "ring_buffer.hpp"    // IWYU pragma: export
#include "signal.hpp"         // IWYU pragma: export
#include "stream.hpp"         // IWYU pragma: export
#include "task.hpp"           // IWYU pragma: export
#include "tc.hpp"             // IWYU pragma: export
#include "test_run.hpp"       // IWYU pragma: export
#include "trace_pipe.hpp"     // IWYU pragma: export
#include "xdp.hpp"            // IWYU pragma: export
