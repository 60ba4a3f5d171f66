#pragma once
/// @file
/// PerfCounters: counting perf events (software or hardware counters) put into a
/// BPF_MAP_TYPE_PERF_EVENT_ARRAY, one per CPU, so that a BPF program reads the counter of the
/// CPU it runs on, and user space reads the same counters:
///
///     // struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4);
///     //          __uint(value_size, 4); } faults SEC(".maps");   // max_entries: every CPU
///     // struct bpf_perf_event_value v;
///     // bpf_perf_event_read_value(&faults, BPF_F_CURRENT_CPU, &v, sizeof v);
///     ebpfpp::PerfCounters faults(skel.map("faults"),
///         ebpfpp::PerfEventConfig::software(PERF_COUNT_SW_PAGE_FAULTS, "page-faults"));
///     fmt::print("{} page faults on CPU 0\n", faults.read(0).counter);
///
/// A counter on a CPU counts what every task does there; one following a thread (pid >= 0)
/// counts that thread wherever it runs, and the BPF program can read it only while it runs in
/// that thread (the kernel's bpf_perf_event_read_value refuses other reads with EINVAL). Software
/// counters (page faults, context switches, task clock) work everywhere; hardware ones need a
/// PMU, which most virtual machines lack. The map is the BPF side's; a perf event array used
/// for output (PerfBuffer) is a different use of the same map type. Kernel 4.15+
/// (bpf_perf_event_read_value).

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <bpf/bpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "detail/cpus.hpp"
#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "map_base.hpp"
#include "perf_event.hpp"

namespace ebpfpp {

/// A counter's reading, laid out as the BPF side's struct bpf_perf_event_value: the count, and
/// how long the event was enabled and how long it actually counted (less than enabled when the
/// PMU had to share its counters; scale by enabled / running then). Software counters always run
/// while enabled.
struct CounterValue {
  std::uint64_t counter = 0;
  std::uint64_t enabled = 0; ///< nanoseconds
  std::uint64_t running = 0; ///< nanoseconds
};

/// Counting perf events of one kind (a PerfEventConfig) in the slots of a perf event array, one
/// per online CPU (slot = CPU number), or one following a thread in every online CPU's slot.
/// Owns the events and a duplicate of the map's fd; destroying it empties the slots it filled and
/// closes the events. Move-only. Kernel 4.15+.
class [[nodiscard]] PerfCounters : public detail::MapBase<PerfCounters> {
public:
  PerfCounters() noexcept = default;

  /// Opens a counter of kind `config` on every online CPU (pid -1), or one following thread
  /// `pid` (0: the calling thread), and puts it in the CPU's slot of `map`. Throws Error: a map
  /// that is not a perf event array or has fewer slots than the CPUs' numbers, an event that
  /// cannot be opened (no PMU for a hardware counter: ENOENT; no such thread: ESRCH); whatever was
  /// opened or filled before the failure is undone.
  /// (A template over a parameter nobody gives: as a plain inline function it compiled MapBase's
  /// checks, BTF comparison included, in every file including this header.)
  template <class = void>
  PerfCounters(MapSource map, PerfEventConfig config, pid_t pid = -1)
      : MapBase(std::move(map)), config_(std::move(config)), pid_(pid) {
    const std::vector<int> cpus = detail::online_cpus();
    try {
      if (pid_ >= 0) events_.push_back(open_event(-1));
      for (int cpu : cpus) {
        if (pid_ < 0) events_.push_back(open_event(cpu));
        fill(cpu, events_.back().get());
      }
    } catch (...) {
      reset();
      throw;
    }
  }
  /// The perf event array `name` of an Object or Skeleton.
  template <MapContainer Container>
  PerfCounters(const Container& container, std::string_view name, PerfEventConfig config,
               pid_t pid = -1)
      : PerfCounters(MapSource(container.map(name)), std::move(config), pid) {}

  PerfCounters(PerfCounters&&) noexcept = default;
  PerfCounters& operator=(PerfCounters&& other) noexcept {
    if (this != &other) {
      reset(); // empty now: the swaps leave `other` nothing to undo
      events_.swap(other.events_);
      cpus_.swap(other.cpus_);
      std::swap(config_, other.config_);
      std::swap(pid_, other.pid_);
      MapBase::operator=(std::move(other));
    }
    return *this;
  }
  ~PerfCounters() { reset(); }

  /// What this view requires of a map: a BPF_MAP_TYPE_PERF_EVENT_ARRAY (keys CPU numbers,
  /// values perf event fds, both 4 bytes).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_PERF_EVENT_ARRAY};
    return {"PerfCounters", types, 4, 4, "(cpu)", "(perf event fd)", {}, {}, false};
  }

  /// The counter in CPU `cpu`'s slot, read now with read(2) (for a thread's counter: the
  /// thread's count, whichever CPU is named). Throws Error: no counter for that CPU (ENOENT),
  /// the read failing.
  CounterValue read(int cpu) const {
    const auto action = [&] { return detail::format("read {} of CPU {}", what(), cpu); };
    return read_event(event_fd(cpu, action), action);
  }

  /// The sum over every counter: what the event counted on all CPUs (or the thread's count).
  CounterValue total() const {
    CounterValue sum;
    const auto action = [&] { return detail::format("read {}", what()); };
    for (const detail::UniqueFd& event : events_) {
      const CounterValue v = read_event(event.get(), action);
      sum.counter += v.counter;
      sum.enabled += v.enabled;
      sum.running += v.running;
    }
    return sum;
  }

  /// The CPUs whose slots hold a counter.
  const std::vector<int>& cpus() const noexcept { return cpus_; }
  const PerfEventConfig& config() const noexcept { return config_; }
  /// The thread followed, or -1 for a counter per CPU.
  pid_t pid() const noexcept { return pid_; }

  /// Empties the slots this view filled and closes the counters now (the map stays).
  void reset() noexcept {
    for (int cpu : cpus_) {
      const auto key = static_cast<std::uint32_t>(cpu);
      (void)bpf_map_delete_elem(fd(), &key);
    }
    cpus_.clear();
    events_.clear();
  }

private:
  std::string what() const {
    return pid_ >= 0 ? detail::format("counter {} of thread {} in map '{}'", config_.name, pid_,
                                      name())
                     : detail::format("counter {} in map '{}'", config_.name, name());
  }

  detail::UniqueFd open_event(int cpu) const {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = config_.type;
    attr.config = config_.config;
    // Counting, not sampling; read(2) returns {count, enabled, running} like the BPF helper.
    // No inherit: the kernel refuses inherited events in a perf event array (EOPNOTSUPP).
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    return detail::open_perf_event(attr, pid_, cpu, [&] {
      return pid_ >= 0 ? detail::format("open {}", what())
                       : detail::format("open {} on CPU {}", what(), cpu);
    });
  }

  void fill(int cpu, int event_fd) {
    const auto action = [&] {
      return detail::format("put {} into the slot of CPU {}", what(), cpu);
    };
    if (static_cast<std::uint32_t>(cpu) >= max_entries())
      throw Error(E2BIG, action(), detail::hint::too_few_cpu_slots(max_entries(), cpu));
    const auto key = static_cast<std::uint32_t>(cpu);
    const auto value = static_cast<std::uint32_t>(event_fd);
    detail::check(bpf_map_update_elem(fd(), &key, &value, BPF_ANY), action,
                  detail::Op::map_access);
    cpus_.push_back(cpu);
  }

  template <class Action>
  int event_fd(int cpu, const Action& action) const {
    for (std::size_t i = 0; i < cpus_.size(); ++i)
      if (cpus_[i] == cpu) return events_[pid_ >= 0 ? 0 : i].get();
    std::string list;
    for (int c : cpus_) list += detail::format("{}{}", list.empty() ? "" : ",", c);
    throw Error(ENOENT, action(),
                detail::format("there are counters for CPUs {} only (those online when they were "
                               "opened)",
                               list));
  }

  template <class Action>
  static CounterValue read_event(int fd, const Action& action) {
    CounterValue v;
    for (;;) {
      const ssize_t n = ::read(fd, &v, sizeof v);
      if (n == static_cast<ssize_t>(sizeof v)) return v;
      if (n < 0 && errno == EINTR) continue;
      detail::fail(n < 0 ? errno : EIO, action);
    }
  }

  std::vector<detail::UniqueFd> events_; // one per CPU, or the thread's one
  std::vector<int> cpus_;                // the slots filled, in order
  PerfEventConfig config_;
  pid_t pid_ = -1;
};

} // namespace ebpfpp
