#pragma once
// One CPU's ring of a PerfBuffer: the perf event (PERF_COUNT_SW_BPF_OUTPUT) whose memory the
// BPF side's bpf_perf_event_output writes into, mapped here and stored in the map's slot for
// that CPU; and which PerfBuffer of the process owns each slot.

#include "config.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

#include <bpf/bpf.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../error.hpp"
#include "fd.hpp"
#include "format.hpp"
#include "hints.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

// Which PerfBuffer of this process last stored its ring in each (map id, CPU) slot. Only that
// one clears the slot when it closes: a buffer replaced by a newer one on the same map (say
// `pb = PerfBuffer(skel, "events")`) must not take the newer one's rings out of the map.
inline std::mutex& perf_slot_mutex() {
  static std::mutex m;
  return m;
}
template <class = void>
std::map<std::pair<std::uint32_t, int>, std::uint64_t>& perf_slot_owners() {
  static std::map<std::pair<std::uint32_t, int>, std::uint64_t> owners;
  return owners;
}
inline std::uint64_t new_perf_buffer_id() noexcept {
  static std::atomic<std::uint64_t> next{0};
  return ++next;
}

struct PerfRing {
  int cpu = -1;
  UniqueFd fd;
  Mapping map;
  std::uint64_t tail = 0;      // our read position
  std::uint64_t published = 0; // what the kernel last saw in data_tail
  std::uint64_t lost = 0;
  perf_event_mmap_page* meta() const noexcept {
    return reinterpret_cast<perf_event_mmap_page*>(map.get());
  }
};

// The head the kernel has written up to. Acquire: the records below it are read after the
// kernel wrote them.
inline std::uint64_t load_head(const PerfRing& r) noexcept {
  return __atomic_load_n(&r.meta()->data_head, __ATOMIC_ACQUIRE);
}

// Copies n bytes at ring offset off of a ring of data_size bytes (a record may run past the
// end: perf maps the data once, so it goes on at the start).
inline void copy_out(const std::byte* data, std::size_t data_size, std::size_t off, void* dst,
                     std::size_t n) noexcept {
  off &= data_size - 1;
  const std::size_t first = std::min(n, data_size - off);
  std::memcpy(dst, data + off, first);
  std::memcpy(static_cast<std::byte*>(dst) + first, data, n - first);
}

template <class = void>
[[noreturn]] void throw_perf_size_mismatch(std::string_view name, std::uint32_t raw_size,
                                           std::size_t event_size, std::uint32_t expected) {
  throw Error(EMSGSIZE,
              format("read perf buffer '{}': a sample of {} bytes (padded) is not an event of "
                     "{} bytes (sizeof(Event), {} padded)",
                     name, raw_size, event_size, expected),
              "the BPF program and the user side disagree on the event struct: share one "
              "header between them");
}

// Opens CPU `cpu`'s ring of `data_size` bytes (after the metadata page of `page` bytes), stores
// it in the perf event array `map_fd` (id `map_id`) for the PerfBuffer `owner`. (Templates
// here and below only so that a file that includes PerfBuffer but opens none compiles none.)
template <class = void>
PerfRing open_perf_ring(int map_fd, std::uint32_t map_id, std::uint64_t owner, int cpu,
                        std::size_t page, std::size_t data_size, std::uint32_t wakeup_events,
                        std::string_view name) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_BPF_OUTPUT;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.sample_period = 1;
  attr.wakeup_events = wakeup_events;
  PerfRing ring;
  ring.cpu = cpu;
  ring.fd.reset(
      static_cast<int>(::syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC)));
  if (!ring.fd) {
    const int err = errno;
    throw Error(err, format("open the perf event of perf buffer '{}' on CPU {}", name, cpu),
                hint_for(err));
  }
  void* p = ::mmap(nullptr, page + data_size, PROT_READ | PROT_WRITE, MAP_SHARED, ring.fd.get(), 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    throw Error(
        err,
        format("mmap the {} KiB ring of perf buffer '{}' on CPU {}", data_size / 1024, name, cpu),
        err == EPERM ? "perf rings beyond /proc/sys/kernel/perf_event_mlock_kb need "
                       "CAP_IPC_LOCK: use fewer pages, or raise the limit"
                     : hint_for(err));
  }
  ring.map = Mapping(p, page + data_size);
  ring.tail = ring.published = ring.meta()->data_tail;
  if (::ioctl(ring.fd.get(), PERF_EVENT_IOC_ENABLE, 0) != 0)
    throw Error(errno, format("enable the perf event of '{}' on CPU {}", name, cpu));
  const std::uint32_t key = static_cast<std::uint32_t>(cpu);
  const int value = ring.fd.get();
  {
    std::lock_guard lock(perf_slot_mutex());
    if (bpf_map_update_elem(map_fd, &key, &value, BPF_ANY) != 0) {
      const int err = errno;
      throw Error(err, format("store the CPU {} ring in perf event array '{}'", cpu, name),
                  hint_for(err));
    }
    perf_slot_owners()[{map_id, cpu}] = owner;
  }
  return ring;
}

// A closed perf event stays in the map until the map goes: take it out now, so the BPF side
// stops writing into a ring no one reads (and the memory is freed), unless a newer PerfBuffer
// has put its own ring there since.
template <class = void>
void release_perf_slot(int map_fd, std::uint32_t map_id, std::uint64_t owner, int cpu) noexcept {
  std::lock_guard lock(perf_slot_mutex());
  auto& owners = perf_slot_owners();
  const auto it = owners.find({map_id, cpu});
  if (it == owners.end() || it->second != owner) return;
  owners.erase(it);
  const auto key = static_cast<std::uint32_t>(cpu);
  if (map_fd >= 0) bpf_map_delete_elem(map_fd, &key);
}

} // namespace ebpfpp::detail
