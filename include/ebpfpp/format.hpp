#pragma once
/// @file
/// fmt formatters for ebpfpp's types, so tools print them without writing field lists:
///
///     fmt::print("{}\n", skel.program("hello").info());  // id 42 tracepoint 'hello' 12 insns ...
///     fmt::print("{}\n", counts.info());                 // id 7 hash 'counts' key 4 B value 8 B
///     ... fmt::print("{}\n", ebpfpp::kernel::features());    // the feature table, one line each
///     catch (const ebpfpp::Error& e) { fmt::print(stderr, "{}\n", e); }
///
/// Opt-in, to keep the umbrella cheap to compile: #include <ebpfpp/format.hpp>.
/// Error prints what() (action, errno text, hint, log tail); the others print one line.
///
/// Each format() is a template, compiled only where a type is formatted: including this header
/// costs what fmt costs, not every formatter's format strings.

#include "detail/config.hpp"

#include <span>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "error.hpp"
#include "kernel.hpp"
#include "kernel_version.hpp"
#include "map_info.hpp"
#include "program_info.hpp"

namespace ebpfpp {
struct TraceLine; // trace_pipe.hpp: a file that formats one has it
} // namespace ebpfpp

namespace ebpfpp::detail {
/// A formatter with no format spec of its own: "{}" only.
struct PlainFormatter {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
};
} // namespace ebpfpp::detail

/// "6.6" or "5.10.3".
template <>
struct fmt::formatter<ebpfpp::KernelVersion> : ebpfpp::detail::PlainFormatter {
  template <class Context>
  auto format(const ebpfpp::KernelVersion& v, Context& ctx) const {
    return fmt::format_to(ctx.out(), "{}", v.str());
  }
};

/// An Error (or FeatureError) as what() says it: action, errno text, hint, log tail.
template <class E>
requires std::is_base_of_v<ebpfpp::Error, E>
struct fmt::formatter<E> : ebpfpp::detail::PlainFormatter {
  template <class Context>
  auto format(const E& e, Context& ctx) const {
    return fmt::format_to(ctx.out(), "{}", e.what());
  }
};

/// "id 42 raw_tracepoint 'hello' 12 insns, jited 88 B, 1 bpf-to-bpf call, 0 tail-call sites,
/// maps [3, 4]".
template <>
struct fmt::formatter<ebpfpp::ProgramInfo> : ebpfpp::detail::PlainFormatter {
  template <class Context>
  auto format(const ebpfpp::ProgramInfo& p, Context& ctx) const {
    auto out = fmt::format_to(ctx.out(), "id {} {} '{}' {} insns, jited {} B, {} bpf-to-bpf call{}",
                              p.id, p.type_name(), p.name, p.instruction_count, p.jited_size,
                              p.bpf_to_bpf_calls, p.bpf_to_bpf_calls == 1 ? "" : "s");
    if (p.tail_call_sites)
      out = fmt::format_to(out, ", {} tail-call site{}", *p.tail_call_sites,
                           *p.tail_call_sites == 1 ? "" : "s");
    out = fmt::format_to(out, ", maps [");
    for (std::size_t i = 0; i < p.map_ids.size(); ++i)
      out = fmt::format_to(out, "{}{}", i ? ", " : "", p.map_ids[i]);
    return fmt::format_to(out, "]");
  }
};

/// "id 7 hash 'counts' key 4 B value 8 B max_entries 10240 flags 0x0".
template <>
struct fmt::formatter<ebpfpp::MapInfo> : ebpfpp::detail::PlainFormatter {
  template <class Context>
  auto format(const ebpfpp::MapInfo& m, Context& ctx) const {
    return fmt::format_to(ctx.out(), "id {} {} '{}' key {} B value {} B max_entries {} flags {:#x}",
                          m.id, m.type_name(), m.name, m.key_size, m.value_size, m.max_entries,
                          m.map_flags);
  }
};

/// A trace_pipe line as the kernel printed it: "task-pid [cpu] flags timestamp: message".
template <>
struct fmt::formatter<ebpfpp::TraceLine> : ebpfpp::detail::PlainFormatter {
  template <class Line, class Context> // Line: TraceLine, complete where it is formatted
  auto format(const Line& l, Context& ctx) const {
    const auto ns = l.timestamp.count();
    return fmt::format_to(ctx.out(), "{}-{} [{:03}] {} {}.{:06}: {}", l.task, l.pid, l.cpu, l.flags,
                          ns / 1'000'000'000, (ns / 1'000) % 1'000'000, l.message);
  }
};

/// One feature-table line: "tcx  6.6  yes" or "kprobes  4.1  no  CONFIG_KPROBES is not set".
/// The probe runs (once) when the feature is formatted.
template <>
struct fmt::formatter<ebpfpp::kernel::FeatureInfo> : ebpfpp::detail::PlainFormatter {
  template <class Context>
  auto format(const ebpfpp::kernel::FeatureInfo& f, Context& ctx) const {
    const ebpfpp::kernel::FeatureStatus& s = ebpfpp::kernel::probe(f.id);
    auto out = fmt::format_to(ctx.out(), "{:<18} {:<6} {:<3}", f.name, f.min_kernel.str(),
                              s.available ? "yes" : "no");
    if (!s.available)
      out = fmt::format_to(out, "  {}", s.explained_by.empty() ? s.reason : s.explained_by);
    return out;
  }
};

/// The whole feature table (kernel::features()), one feature per line.
template <>
struct fmt::formatter<std::span<const ebpfpp::kernel::FeatureInfo>>
    : ebpfpp::detail::PlainFormatter {
  template <class Context>
  auto format(std::span<const ebpfpp::kernel::FeatureInfo> table, Context& ctx) const {
    auto out = ctx.out();
    for (std::size_t i = 0; i < table.size(); ++i)
      out = fmt::format_to(out, "{}{}", i ? "\n" : "", table[i]);
    return out;
  }
};
