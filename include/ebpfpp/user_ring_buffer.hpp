#pragma once
/// @file
/// UserRingBuffer<Event>: user space produces typed records that BPF programs drain with
/// bpf_user_ringbuf_drain (BPF_MAP_TYPE_USER_RINGBUF, kernel 6.1+).
///
///     ebpfpp::UserRingBuffer<command> rb(skel, "commands");
///     if (command* c = rb.reserve()) {          // nullptr when the ring is full
///       c->op = 1;
///       rb.submit(c);                           // the BPF side sees it at its next drain
///     }
///     rb.push(command{2});                      // reserve + copy + submit
///     command* c = rb.reserve(100ms);           // waits (poll) for the BPF side to drain
///
/// The ring is mmap'ed and written directly (one producer: reserve/submit are a few loads and
/// stores, no syscall, no lock; libbpf's user_ring_buffer does the same with a function call and
/// an atomic exchange per submit). Records must be submitted or discarded in any order; the BPF
/// side stops at the oldest one still reserved. The BPF side should declare the ring with
/// user_ring_buffer.bpf.h, whose drain counts the records drained and the failed drains
/// (drained(), drain_failures()).

#include "detail/config.hpp"

#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "array_map.hpp"
#include "detail/fd.hpp"
#include "detail/uapi.hpp"
#include "kernel.hpp"
#include "map_base.hpp"

namespace ebpfpp {

/// What a UserRingBuffer carries: a trivially copyable struct, at most 8-byte aligned (records
/// start 8-byte aligned).
template <class T>
concept UserRingEvent = std::is_trivially_copyable_v<T> && alignof(T) <= 8;

/// A typed producer into a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF, kernel 6.1+). `Event`
/// is the struct the BPF side reads. Made from any MapSource; move-only. One producer per ring,
/// as the kernel assumes: one UserRingBuffer per map (it keeps the producer position), used by
/// one thread at a time.
template <UserRingEvent Event>
class UserRingBuffer : public detail::MapBase<UserRingBuffer<Event>> {
  using Base = detail::MapBase<UserRingBuffer<Event>>;
  static constexpr std::uint32_t header = 8; // BPF_RINGBUF_HDR_SZ
  static constexpr std::uint64_t record = (sizeof(Event) + header + 7) / 8 * 8;

public:
  /// An empty producer; assign a real one to use it.
  UserRingBuffer() noexcept = default;
  /// Produces into `map`; `stats` is the `<name>_stats` array user_ring_buffer.bpf.h declares
  /// beside it, if any. Throws FeatureError below 6.1, Error when the map is not a user ring
  /// buffer, an Event cannot fit, or on mmap failure.
  explicit UserRingBuffer(MapSource map, MapSource stats = {})
      : Base((kernel::require(kernel::Feature::user_ring_buffer, "open a user ring buffer"),
              std::move(map)),
             TypeCheck::size_only) {
    if (!stats.empty()) stats_ = ArrayMap<std::uint64_t>(std::move(stats));
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    size_ = this->info_.max_entries;
    if (record > size_)
      throw Error(EINVAL,
                  detail::format("open user ring buffer '{}': a record of {} bytes cannot fit in a "
                                 "ring of {} bytes",
                                 this->name_, sizeof(Event), size_),
                  std::string(detail::hint::ring_too_small));
    // The consumer page is the kernel's (read-only here); the producer page and the data are
    // ours, the data mapped twice back to back so that a record wrapping the end is contiguous.
    consumer_map_ = detail::map_memory(this->fd_.get(), page, PROT_READ, 0,
                                       detail::format("consumer page of '{}'", this->name_));
    producer_map_ =
        detail::map_memory(this->fd_.get(), page + 2 * size_, PROT_READ | PROT_WRITE,
                           static_cast<off_t>(page), detail::format("data of '{}'", this->name_));
    consumer_pos_ = reinterpret_cast<const std::uint64_t*>(consumer_map_.get());
    producer_pos_ = reinterpret_cast<std::uint64_t*>(producer_map_.get());
    data_ = producer_map_.get() + page;
    prod_ = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
    cons_ = __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE);
  }
  /// The map `name` of an Object or Skeleton, with its `<name>_stats` when declared.
  template <MapContainer Container>
  UserRingBuffer(const Container& source, std::string_view name)
      : UserRingBuffer(source.map(name),
                       detail::optional_map(source, detail::format("{}_stats", name))) {}

  UserRingBuffer(UserRingBuffer&&) noexcept = default;
  UserRingBuffer& operator=(UserRingBuffer&&) noexcept = default;

  /// Creates a user ring buffer of `bytes` (a power-of-two multiple of the page size). Throws
  /// FeatureError below 6.1, Error otherwise.
  static UserRingBuffer create(std::uint32_t bytes, std::string_view name) {
    kernel::require(kernel::Feature::user_ring_buffer, "create a user ring buffer");
    return UserRingBuffer(MapSource::adopt(
        detail::create_map_fd(static_cast<bpf_map_type>(detail::uapi::map_type_user_ringbuf), name,
                              0, 0, bytes, 0),
        std::string(name)));
  }

  /// Space for one record, to fill and then submit() or discard(); nullptr when the ring is
  /// full (counted in reserve_failures()).
  Event* reserve() noexcept {
    Event* e = try_reserve();
    if (!e) ++reserve_failures_;
    return e;
  }

  /// As reserve(), waiting up to `timeout` for the BPF side to drain (poll for POLLOUT on the
  /// map fd). nullptr on timeout. Throws Error when poll fails.
  Event* reserve(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (Event* e = try_reserve()) return e;
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ++reserve_failures_;
        return nullptr;
      }
      pollfd p{this->fd_.get(), POLLOUT, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno != EINTR)
        detail::fail(errno, [&] {
          return detail::format("wait for space in user ring buffer '{}'", this->name_);
        });
      // POLLOUT means some space, maybe less than a record: don't spin on it.
      if (n > 0 && !has_room()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  /// Hands a reserved record to the BPF side.
  void submit(Event* e) noexcept {
    commit(e, 0);
    ++submitted_;
  }
  /// Gives a reserved record back unread (the BPF side skips it).
  void discard(Event* e) noexcept {
    commit(e, BPF_RINGBUF_DISCARD_BIT);
    ++discarded_;
  }
  /// reserve() + copy + submit(); false when the ring is full.
  bool push(const Event& value) noexcept {
    Event* e = reserve();
    if (!e) return false;
    std::memcpy(static_cast<void*>(e), &value, sizeof(Event));
    submit(e);
    return true;
  }

  /// Records submitted through this producer.
  std::uint64_t submitted() const noexcept { return submitted_; }
  /// Records discarded through this producer.
  std::uint64_t discarded() const noexcept { return discarded_; }
  /// reserve() calls that found the ring full (and timed-out blocking ones).
  std::uint64_t reserve_failures() const noexcept { return reserve_failures_; }
  /// Bytes free for records now (each takes sizeof(Event) + 8, rounded up to 8).
  std::uint64_t free_bytes() const noexcept {
    return size_ - (prod_ - __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE));
  }
  /// Records the BPF side drained, counted by user_ring_buffer.bpf.h; nullopt without its
  /// `<name>_stats` map.
  std::optional<std::uint64_t> drained() const { return stat(0); }
  /// Drains that failed (bpf_user_ringbuf_drain < 0: a bad record, another drain running),
  /// counted by user_ring_buffer.bpf.h; nullopt without its `<name>_stats` map.
  std::optional<std::uint64_t> drain_failures() const { return stat(1); }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {
        static_cast<bpf_map_type>(detail::uapi::map_type_user_ringbuf)};
    auto s = detail::keyless_spec<Event>("UserRingBuffer", types);
    s.value_size = 0; // the kernel's record size is free: records are checked here instead
    return s;
  }

private:
  bool has_room() noexcept {
    if (size_ - (prod_ - cons_) >= record) return true;
    cons_ = __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE); // the kernel's drain moved it
    return size_ - (prod_ - cons_) >= record;
  }
  Event* try_reserve() noexcept {
    if (!this->fd_ || !has_room()) return nullptr;
    auto* hdr = reinterpret_cast<std::uint32_t*>(data_ + (prod_ & (size_ - 1)));
    hdr[0] = static_cast<std::uint32_t>(sizeof(Event)) | BPF_RINGBUF_BUSY_BIT;
    hdr[1] = 0;
    prod_ += record;
    // Single producer: the position is ours, so a release store (no read-modify-write)
    // publishes the busy header before the kernel can see the record.
    __atomic_store_n(producer_pos_, prod_, __ATOMIC_RELEASE);
    return reinterpret_cast<Event*>(hdr + 2);
  }
  static void commit(Event* e, std::uint32_t flag) noexcept {
    auto* hdr = reinterpret_cast<std::uint32_t*>(e) - 2;
    // Release: the record's bytes are visible before the busy bit clears.
    __atomic_store_n(hdr, static_cast<std::uint32_t>(sizeof(Event)) | flag, __ATOMIC_RELEASE);
  }
  std::optional<std::uint64_t> stat(std::uint32_t i) const {
    if (!stats_) return std::nullopt;
    return stats_.get(i);
  }

  ArrayMap<std::uint64_t> stats_;
  detail::Mapping consumer_map_, producer_map_;
  const std::uint64_t* consumer_pos_ = nullptr;
  std::uint64_t* producer_pos_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t size_ = 0, prod_ = 0, cons_ = 0;
  std::uint64_t submitted_ = 0, discarded_ = 0, reserve_failures_ = 0;
};

} // namespace ebpfpp
