#pragma once
/// @file
/// ProgramInfo: what the kernel says about a loaded program, as `bpftool prog show` tells it, and
/// what its translated ("xlated") instructions show: how many BPF-to-BPF calls and tail-call
/// sites the verifier left in it.
///
///     ebpfpp::ProgramInfo info = skel.program("hello").info();
///     fmt::print("{} id {} tag {}: {} insns, {} BPF-to-BPF calls\n", info.name, info.id,
///                info.tag_string(), info.instruction_count, info.bpf_to_bpf_calls);
///
/// Program::info() (object.hpp) is the usual entry point; program_info(fd) serves fds from
/// elsewhere (bpf_prog_get_fd_by_id, a pinned program).

#include "detail/config.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "detail/format.hpp"
#include "error.hpp"

namespace ebpfpp {

/// A loaded program as the kernel describes it (BPF_OBJ_GET_INFO_BY_FD). Kernel 4.13+; the name
/// and map ids need 4.15+, verified_instructions 5.16+ (0 before).
struct ProgramInfo {
  /// The kernel-wide program id (what bpftool prog show lists).
  std::uint32_t id = 0;
  /// The program's tag: a hash of its instructions before map fds were resolved.
  std::array<std::uint8_t, BPF_TAG_SIZE> tag{};
  bpf_prog_type type = BPF_PROG_TYPE_UNSPEC;
  /// The name the kernel keeps: the function name, cut to 15 characters.
  std::string name;
  /// Size of the instructions after the verifier rewrote them, in bytes.
  std::uint32_t xlated_size = 0;
  /// Size of the JIT's machine code in bytes; 0 when the program runs in the interpreter.
  std::uint32_t jited_size = 0;
  /// xlated_size in instructions (a 16-byte ld_imm64 counts twice, as bpftool does).
  std::size_t instruction_count = 0;
  /// Instructions the verifier processed (5.16+; 0 before).
  std::uint32_t verified_instructions = 0;
  /// Calls from this program into its own subprograms (`__noinline` functions, kernel 4.16+).
  /// Zero when every function was inlined.
  std::size_t bpf_to_bpf_calls = 0;
  /// bpf_tail_call() sites in the instructions. nullopt when the kernel hides helper ids in the
  /// dump (kernel.kptr_restrict, or no CAP_SYSLOG), which makes tail calls indistinguishable
  /// from other helper calls.
  std::optional<std::size_t> tail_call_sites;
  /// Ids of the maps the program uses, in the kernel's order.
  std::vector<std::uint32_t> map_ids;
  /// Runs counted while run-time statistics were on (StatsGuard, system.hpp; kernel 5.1+).
  std::uint64_t run_count = 0;
  /// Time spent in those runs, in nanoseconds (kernel 5.1+).
  std::uint64_t run_time_ns = 0;

  /// "bpftool prog show" spelling of the type: "raw_tracepoint", "kprobe", ...
  std::string_view type_name() const noexcept {
    const char* s = libbpf_bpf_prog_type_str(type);
    return s ? s : "unknown";
  }
  /// The tag as 16 hex digits, as bpftool prints it.
  std::string tag_string() const {
    std::string out;
    for (std::uint8_t b : tag) out += detail::format("{:02x}", b);
    return out;
  }
};

namespace detail {

/// What counting the calls in xlated instructions found.
struct CallCounts {
  std::size_t bpf_to_bpf = 0;
  std::size_t tail_calls = 0;
  /// Helper calls whose id the kernel zeroed in the dump (see ProgramInfo::tail_call_sites).
  std::size_t hidden_helpers = 0;
};

/// Counts calls in a dump of `count` xlated instructions. The kernel dumps a verifier-rewritten
/// tail call as an ordinary call of helper BPF_FUNC_tail_call, and a subprogram call as a call
/// whose src_reg is BPF_PSEUDO_CALL; kfunc calls (BPF_PSEUDO_KFUNC_CALL) are neither.
/// (A pointer and a count, not a std::span: making a span of a new element type costs every
/// file that includes this header about 3 MB of GCC's memory, in iterator concepts.)
inline CallCounts count_calls(const bpf_insn* insns, std::size_t count) noexcept {
  CallCounts out;
  for (std::size_t i = 0; i < count; ++i) {
    const bpf_insn& insn = insns[i];
    // The second half of a 16-byte load carries arbitrary bits in its code field.
    if (insn.code == (BPF_LD | BPF_IMM | BPF_DW)) {
      ++i;
      continue;
    }
    if (insn.code != (BPF_JMP | BPF_CALL)) continue;
    if (insn.src_reg == BPF_PSEUDO_CALL) {
      ++out.bpf_to_bpf;
    } else if (insn.src_reg == 0) {
      if (insn.imm == BPF_FUNC_tail_call) ++out.tail_calls;
      if (insn.imm == 0) ++out.hidden_helpers;
    }
  }
  return out;
}

inline std::string describe_prog_fd(int fd, std::string_view name) {
  return name.empty() ? detail::format("get info of program fd {}", fd)
                      : detail::format("get info of program '{}'", name);
}

} // namespace detail

/// Describes the program behind `fd`. `name` is used in errors only. Throws Error (EBADF for a
/// closed fd, EINVAL for an fd that is not a program). Kernel 4.13+.
inline ProgramInfo program_info(int fd, std::string_view name = {}) {
  // First ask for the sizes, then for the arrays those sizes need.
  bpf_prog_info sizes{};
  __u32 len = sizeof sizes;
  detail::check(bpf_obj_get_info_by_fd(fd, &sizes, &len),
                [&] { return detail::describe_prog_fd(fd, name); });

  std::vector<bpf_insn> insns(sizes.xlated_prog_len / sizeof(bpf_insn));
  std::vector<std::uint32_t> map_ids(sizes.nr_map_ids);
  bpf_prog_info info{};
  len = sizeof info;
  info.xlated_prog_len = static_cast<__u32>(insns.size() * sizeof(bpf_insn));
  info.xlated_prog_insns = reinterpret_cast<std::uintptr_t>(insns.data());
  info.nr_map_ids = static_cast<__u32>(map_ids.size());
  info.map_ids = reinterpret_cast<std::uintptr_t>(map_ids.data());
  detail::check(bpf_obj_get_info_by_fd(fd, &info, &len),
                [&] { return detail::describe_prog_fd(fd, name); });

  ProgramInfo out;
  out.id = info.id;
  std::copy(std::begin(info.tag), std::end(info.tag), out.tag.begin());
  out.type = static_cast<bpf_prog_type>(info.type);
  out.name = info.name;
  out.xlated_size = info.xlated_prog_len;
  out.jited_size = info.jited_prog_len;
  out.instruction_count = insns.size();
  out.verified_instructions = info.verified_insns;
  out.run_count = info.run_cnt;
  out.run_time_ns = info.run_time_ns;
  // Without CAP_BPF the kernel reports no instructions at all; count only what it filled in.
  const std::size_t filled =
      std::min<std::size_t>(insns.size(), info.xlated_prog_len / sizeof(bpf_insn));
  const auto counts = detail::count_calls(insns.data(), filled);
  out.bpf_to_bpf_calls = counts.bpf_to_bpf;
  if (counts.hidden_helpers == 0) out.tail_call_sites = counts.tail_calls;
  map_ids.resize(std::min<std::size_t>(map_ids.size(), info.nr_map_ids));
  out.map_ids = std::move(map_ids);
  return out;
}

} // namespace ebpfpp
