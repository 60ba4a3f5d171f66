#pragma once
/// @file
/// TestRun and TestRunResult: run a loaded program once (or `repeat` times) on input you give it,
/// without attaching it anywhere (BPF_PROG_TEST_RUN, bpf_prog_test_run_opts).
///
///     std::array<std::uint64_t, 2> args{0, SYS_getpid};   // a raw_tp sys_enter context
///     auto r = skel.program("hello").test_run(ebpfpp::TestRun().ctx_in(args));
///     fmt::print("returned {}\n", r.return_value);
///
/// TestRun is built with chained setters rather than a struct of fields: g++ 12 with -Wextra
/// warns on designated initializers that leave members out, and a run needs only one or two.
/// Inputs are copied into the TestRun, outputs come back in the result: no buffer has to outlive
/// the call.
///
/// Which program types support test runs, and with what, is the kernel's choice: socket filter
/// and tc (skb; 4.12+), xdp (4.12+), flow dissector (5.0+), raw_tracepoint (ctx_in only; 5.10+),
/// fentry/fexit (5.10+), sk_lookup (5.14+), syscall (5.14+). Others (kprobe, tracepoint, ...)
/// fail with an Error that says so.

#include "detail/config.hpp"

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "detail/format.hpp"
#include "error.hpp"

namespace ebpfpp {

namespace detail {
template <class T>
inline constexpr bool is_span_v = false;
template <class T, std::size_t N>
inline constexpr bool is_span_v<std::span<T, N>> = true;

/// A value whose bytes can be handed to the kernel as they are.
template <class T>
concept PlainBytes = std::is_trivially_copyable_v<T> && !is_span_v<T>;
} // namespace detail

/// The input of one test run: packet data, a context, how often, on which CPU. Every part is
/// optional; what a program type accepts is the kernel's choice (see the file comment).
class TestRun {
public:
  /// Packet data the program sees (skb, xdp, flow dissector). Copied.
  TestRun& data_in(std::span<const std::byte> bytes) { return set(data_in_, bytes); }
  /// Packet data from a plain value (a header struct, a std::array). Copied.
  template <detail::PlainBytes T>
  TestRun& data_in(const T& value) {
    return set(data_in_, std::as_bytes(std::span(&value, 1)));
  }
  /// The program's context: for raw_tracepoint, its u64 arguments (args[0], args[1], ...); for
  /// skb, a struct __sk_buff (5.2+). Copied.
  TestRun& ctx_in(std::span<const std::byte> bytes) { return set(ctx_in_, bytes); }
  /// The context from a plain value, e.g. std::array<std::uint64_t, 2>{0, SYS_getpid}. Copied.
  template <detail::PlainBytes T>
  TestRun& ctx_in(const T& value) {
    return set(ctx_in_, std::as_bytes(std::span(&value, 1)));
  }
  /// Asks for the packet data after the run, up to `capacity` bytes.
  TestRun& data_out(std::size_t capacity) { return set(data_out_capacity_, capacity); }
  /// Asks for the context after the run (skb, xdp; 5.2+), up to `capacity` bytes.
  TestRun& ctx_out(std::size_t capacity) { return set(ctx_out_capacity_, capacity); }
  /// Runs the program `times` times and reports the average duration (skb, xdp, flow
  /// dissector; not raw_tracepoint). 0 and 1 both mean once.
  TestRun& repeat(std::uint32_t times) { return set(repeat_, times); }
  /// Runs the program on this CPU (raw_tracepoint only; 5.10+); by default, on the caller's.
  TestRun& cpu(std::uint32_t cpu) { return set(cpu_, cpu); }

  std::span<const std::byte> data_in() const noexcept { return data_in_; }
  std::span<const std::byte> ctx_in() const noexcept { return ctx_in_; }
  std::size_t data_out_capacity() const noexcept { return data_out_capacity_; }
  std::size_t ctx_out_capacity() const noexcept { return ctx_out_capacity_; }
  std::uint32_t repeat() const noexcept { return repeat_; }
  std::optional<std::uint32_t> cpu() const noexcept { return cpu_; }

private:
  // Every setter's body: stores `value` (bytes are copied in, so that no buffer has to outlive
  // the call) and returns *this, for the next setter of the chain.
  template <class M, class V>
  TestRun& set(M& member, const V& value) {
    if constexpr (std::is_same_v<M, std::vector<std::byte>>)
      member.assign(value.begin(), value.end());
    else
      member = value;
    return *this;
  }

  std::vector<std::byte> data_in_;
  std::vector<std::byte> ctx_in_;
  std::size_t data_out_capacity_ = 0;
  std::size_t ctx_out_capacity_ = 0;
  std::uint32_t repeat_ = 0;
  std::optional<std::uint32_t> cpu_;
};

/// What one test run gave back.
struct TestRunResult {
  /// The program's return value (for a tail call, the return value of the program jumped to).
  std::uint32_t return_value = 0;
  /// Average time per run as the kernel measured it; zero for types that do not time runs.
  std::chrono::nanoseconds duration{0};
  /// The packet data after the run, when TestRun::data_out asked for it.
  std::vector<std::byte> data_out;
  /// The context after the run, when TestRun::ctx_out asked for it.
  std::vector<std::byte> ctx_out;

  /// The context after the run as a T. Throws Error (EMSGSIZE) when the kernel gave back fewer
  /// than sizeof(T) bytes.
  template <detail::PlainBytes T>
  T ctx_out_as() const {
    if (ctx_out.size() < sizeof(T))
      throw Error(EMSGSIZE,
                  detail::format("read the test run's ctx_out as a {}-byte type: the kernel gave "
                                 "back {} bytes",
                                 sizeof(T), ctx_out.size()),
                  std::string(detail::hint::ctx_out_size));
    T value;
    std::memcpy(&value, ctx_out.data(), sizeof(T));
    return value;
  }
};

/// Runs the program behind `fd` once (or run.repeat() times) on run's input. `name` is used in
/// errors. Throws Error: unsupported program type (errno 524, ENOTSUPP), input the type does not
/// take (EINVAL), output larger than asked for (ENOSPC). Kernel 4.12+; see the file comment.
inline TestRunResult test_run(int fd, const TestRun& run, std::string_view name = {}) {
  TestRunResult result;
  result.data_out.resize(run.data_out_capacity());
  result.ctx_out.resize(run.ctx_out_capacity());

  bpf_test_run_opts opts;
  detail::init_opts(opts);
  // Each buffer the run has goes to the kernel as a pointer and a size; one it lacks, as none.
  const auto pass = [](auto& pointer, __u32& size, auto&& bytes) {
    if (bytes.empty()) return;
    pointer = bytes.data();
    size = static_cast<__u32>(bytes.size());
  };
  pass(opts.data_in, opts.data_size_in, run.data_in());
  pass(opts.data_out, opts.data_size_out, result.data_out);
  pass(opts.ctx_in, opts.ctx_size_in, run.ctx_in());
  pass(opts.ctx_out, opts.ctx_size_out, result.ctx_out);
  opts.repeat = static_cast<int>(run.repeat());
  if (run.cpu()) {
    opts.flags = BPF_F_TEST_RUN_ON_CPU;
    opts.cpu = *run.cpu();
  }

  const int ret = bpf_prog_test_run_opts(fd, &opts);
  if (ret < 0) {
    const int err = -ret;
    bpf_prog_info info{};
    __u32 len = sizeof info;
    const auto type = bpf_obj_get_info_by_fd(fd, &info, &len) == 0
                          ? static_cast<bpf_prog_type>(info.type)
                          : BPF_PROG_TYPE_UNSPEC;
    detail::fail(
        err,
        [&] {
          return name.empty() ? detail::format("test-run program fd {}", fd)
                              : detail::format("test-run program '{}'", name);
        },
        detail::Op::generic, detail::hint::test_run(err, type, run.cpu(), opts.data_size_out));
  }
  result.return_value = opts.retval;
  result.duration = std::chrono::nanoseconds(opts.duration);
  result.data_out.resize(std::min<std::size_t>(result.data_out.size(), opts.data_size_out));
  result.ctx_out.resize(std::min<std::size_t>(result.ctx_out.size(), opts.ctx_size_out));
  return result;
}

} // namespace ebpfpp
