#pragma once
/// @file
/// PerfEvent: a BPF program run by a perf event (a sampling timer or a hardware counter) on
/// every online CPU, or on one thread. The base of sampling profilers:
///
///     // SEC("perf_event") int on_sample(struct bpf_perf_event_data *ctx) { ... }
///     ebpfpp::PerfEvent sampler(skel.program("on_sample"), ebpfpp::PerfEventConfig::cpu_clock(),
///                               ebpfpp::Sampling::frequency(99));
///
/// One object owns every per-CPU perf event and its link; destroying it stops the sampling.
/// Kernel 4.9+ (BPF_PROG_TYPE_PERF_EVENT); links through BPF_LINK_CREATE on 5.15+, older
/// kernels through PERF_EVENT_IOC_SET_BPF (libbpf picks).

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "detail/cpus.hpp"
#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// Which perf event runs the program: a perf_event_attr type and config, with a name for errors.
struct PerfEventConfig {
  std::uint32_t type = PERF_TYPE_SOFTWARE;        ///< PERF_TYPE_SOFTWARE, PERF_TYPE_HARDWARE, ...
  std::uint64_t config = PERF_COUNT_SW_CPU_CLOCK; ///< PERF_COUNT_SW_*, PERF_COUNT_HW_*, ...
  std::string name = "cpu-clock";                 ///< as perf(1) spells it, for messages

  /// A software event (PERF_COUNT_SW_*): works everywhere, virtual machines included.
  static PerfEventConfig software(std::uint64_t config, std::string name) {
    return {PERF_TYPE_SOFTWARE, config, std::move(name)};
  }
  /// A hardware event (PERF_COUNT_HW_*): needs a PMU that counts it. Attaching one where there is
  /// none (most virtual machines) throws an Error saying so.
  static PerfEventConfig hardware(std::uint64_t config, std::string name) {
    return {PERF_TYPE_HARDWARE, config, std::move(name)};
  }
  /// The CPU clock timer (PERF_COUNT_SW_CPU_CLOCK): what profilers sample on.
  static PerfEventConfig cpu_clock() { return software(PERF_COUNT_SW_CPU_CLOCK, "cpu-clock"); }
  /// CPU cycles (PERF_COUNT_HW_CPU_CYCLES), a hardware event.
  static PerfEventConfig cpu_cycles() { return hardware(PERF_COUNT_HW_CPU_CYCLES, "cycles"); }
  /// Retired instructions (PERF_COUNT_HW_INSTRUCTIONS), a hardware event.
  static PerfEventConfig instructions() {
    return hardware(PERF_COUNT_HW_INSTRUCTIONS, "instructions");
  }
};

/// How often the program runs: `frequency` times a second (the kernel adjusts the period), or
/// once every `period` events (nanoseconds for cpu-clock, cycles for cycles, ...).
struct Sampling {
  std::uint64_t value = 99;
  bool is_frequency = true;

  /// `hz` samples a second per CPU (at most kernel.perf_event_max_sample_rate).
  static Sampling frequency(std::uint64_t hz) noexcept { return {hz, true}; }
  /// One sample every `events` events.
  static Sampling period(std::uint64_t events) noexcept { return {events, false}; }
};

namespace detail {
/// perf_event_open(2) of `attr` for `pid` (-1: every process) on `cpu` (-1: any), close-on-exec;
/// a failure throws an Error described by `describe()`, with perf_event_open's hints.
template <class Describe>
UniqueFd open_perf_event(perf_event_attr& attr, pid_t pid, int cpu, Describe&& describe) {
  const long fd = ::syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) fail(errno, std::forward<Describe>(describe), Op::perf_event_open);
  return UniqueFd(static_cast<int>(fd));
}
} // namespace detail

/// A program (SEC("perf_event")) attached to one perf event per online CPU (pid -1), or to one
/// event following thread `pid` on whatever CPU it runs (a thread id: a process's other threads
/// are not followed; filter on the tgid in the program to profile a whole process across CPUs).
/// Move-only; destroying it detaches every link and closes every perf event. Kernel 4.9+.
class [[nodiscard]] PerfEvent {
public:
  PerfEvent() noexcept = default;

  /// Opens the events and attaches `prog` to each. Throws FeatureError when the kernel has no
  /// perf_event programs, Error when an event cannot be opened (no PMU for a hardware event, a
  /// frequency above kernel.perf_event_max_sample_rate, no such thread: the hint says which) or
  /// the program cannot be attached; whatever was opened before the failure is closed.
  /// (A template over a parameter nobody gives: a file that includes this header and attaches
  /// no perf event compiles none of it, nor the vector of links it fills.)
  template <class = void>
  [[nodiscard]] PerfEvent(const Program& prog, PerfEventConfig config, Sampling sampling = {},
                          pid_t pid = -1)
      : config_(std::move(config)), sampling_(sampling), pid_(pid) {
    const auto what = [&](int cpu) {
      return pid_ >= 0 ? detail::format("perf event {} on thread {}", config_.name, pid_)
                       : detail::format("perf event {} on CPU {}", config_.name, cpu);
    };
    detail::require_loaded(prog, detail::format("attach {}", what(0)));
    kernel::require(kernel::Feature::perf_event, detail::format("attach {}", what(0)));
    if (sampling_.value == 0)
      throw Error(EINVAL,
                  detail::format("open {}: a {} of 0", what(0),
                                 sampling_.is_frequency ? "frequency" : "period"),
                  std::string(detail::hint::zero_sampling));
    const std::vector<int> cpus = pid_ >= 0 ? std::vector<int>{-1} : detail::online_cpus();
    for (int cpu : cpus) {
      detail::UniqueFd fd = open_event(cpu, what);
      Link link =
          detail::attach_link(prog, what(cpu),
                              [&] {
                                bpf_link* l = bpf_program__attach_perf_event(prog.get(), fd.get());
                                // libbpf's perf link owns the event fd from here on and closes it
                                // on destroy.
                                if (l) (void)fd.release();
                                return l;
                              },
                              {kernel::Feature::perf_event, {}, detail::Op::attach_tracing});
      links_.push_back(std::move(link));
      cpus_.push_back(cpu);
    }
  }

  PerfEvent(PerfEvent&&) noexcept = default;
  PerfEvent& operator=(PerfEvent&&) noexcept = default;

  /// The links, one per CPU (one in all for a thread).
  const std::vector<Link>& links() const noexcept { return links_; }
  /// The CPU of each link (-1 for a thread's event).
  const std::vector<int>& cpus() const noexcept { return cpus_; }
  /// How many events are attached.
  std::size_t size() const noexcept { return links_.size(); }
  const PerfEventConfig& config() const noexcept { return config_; }
  Sampling sampling() const noexcept { return sampling_; }
  /// The thread followed, or -1 for every CPU.
  pid_t pid() const noexcept { return pid_; }
  /// Detaches everything now.
  void reset() noexcept {
    links_.clear();
    cpus_.clear();
  }
  explicit operator bool() const noexcept { return !links_.empty(); }

private:
  template <class What>
  detail::UniqueFd open_event(int cpu, const What& what) const {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = config_.type;
    attr.config = config_.config;
    attr.freq = sampling_.is_frequency ? 1 : 0;
    if (sampling_.is_frequency)
      attr.sample_freq = sampling_.value;
    else
      attr.sample_period = sampling_.value;
    return detail::open_perf_event(attr, pid_, cpu, [&] {
      return detail::format("open {} ({} {})", what(cpu),
                            sampling_.is_frequency ? "frequency" : "period", sampling_.value);
    });
  }

  std::vector<Link> links_;
  std::vector<int> cpus_;
  PerfEventConfig config_;
  Sampling sampling_;
  pid_t pid_ = -1;
};

} // namespace ebpfpp
