#pragma once
// The operations typed maps are made of, over MapBase: how values travel (plain or one per CPU),
// reading a whole map chunk by chunk, and the key/value, hash, array, queue, map-of-maps and
// local-storage operations. A typed map (hash_map.hpp, array_map.hpp, ...) picks one of the *Ops
// bases and adds its kind.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../error.hpp"
#include "../map_base.hpp"
#include "../per_cpu_values.hpp"
#include "format.hpp"
#include "libbpf_log.hpp"
#include "map_check.hpp"

namespace ebpfpp::detail {

/// The number of possible CPUs: the length of a per-CPU map's value array. Throws Error.
inline std::size_t possible_cpus() {
  static const int n = libbpf_num_possible_cpus();
  check(n == 0 ? -EINVAL : n,
        [] { return std::string("count the possible CPUs (/sys/devices/system/cpu/possible)"); });
  return static_cast<std::size_t>(n);
}

/// Creates a map in the kernel for a view's create(). `map_extra` is the kind's extra (a bloom
/// filter's hash count); `inner_map_fd` the template of a map of maps (-1: none). Throws Error.
inline UniqueFd create_map_fd(bpf_map_type type, std::string_view name, std::uint32_t key_size,
                              std::uint32_t value_size, std::uint32_t max_entries,
                              std::uint32_t map_flags, std::uint64_t map_extra = 0,
                              int inner_map_fd = -1) {
  const std::string kernel_name(name.substr(0, BPF_OBJ_NAME_LEN - 1));
  bpf_map_create_opts opts;
  init_opts(opts);
  opts.map_flags = map_flags;
  opts.map_extra = map_extra;
  if (inner_map_fd >= 0) opts.inner_map_fd = static_cast<__u32>(inner_map_fd);
  LibbpfLog log;
  UniqueFd fd(bpf_map_create(type, kernel_name.c_str(), key_size, value_size, max_entries, &opts));
  if (!fd)
    fail(
        errno,
        [&] {
          return detail::format("create {} map '{}' (key {} B, value {} B, max_entries {})",
                                map_type_str(type), name, key_size, value_size, max_entries);
        },
        map_create_op_for(type, errno), &log);
  return fd;
}

/// The outcome of a call that reads one element (BPF_MAP_LOOKUP_ELEM and its variants), which
/// returned `ret`: true when read, false when absent (ENOENT: no such key, an empty queue or
/// stack, a value not in a bloom filter). Anything else is no answer about the element, so it
/// throws an Error described by `describe()`: an empty view or a closed fd (EBADF), an fd that
/// may not read (EPERM), ...
template <class Describe>
bool found(int ret, Describe&& describe) {
  if (ret == 0) return true;
  const int err = errno;
  if (err == ENOENT) return false;
  fail(err, std::forward<Describe>(describe), Op::map_access);
}

// Kernel versions before 5.6 do not know the batch commands (EINVAL); map types without batch
// operations answer ENOTSUPP (524, a kernel-internal errno that reaches user space here).
inline bool batch_unsupported(int err) noexcept {
  return err == EINVAL || err == uapi::enotsupp || err == EOPNOTSUPP;
}
// --- how values travel ------------------------------------------------------------------------

// A plain value: the kernel copies value_size bytes, which is sizeof(V).
template <MapData V>
struct PlainValue {
  using value_type = V;
  static constexpr bool plain = true;
  static std::size_t stride() noexcept { return sizeof(V); }
  static V decode(const std::byte* p) noexcept {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
  static void encode(const V& v, std::byte* p) noexcept { std::memcpy(p, &v, sizeof(V)); }
  static bool check_value(const V&) noexcept { return true; }
};

// A per-CPU value: the kernel copies one slot per possible CPU, each rounded up to 8 bytes.
template <MapData V>
struct PerCpuValue {
  using value_type = PerCpuValues<V>;
  static constexpr bool plain = false;
  static constexpr std::size_t slot = (sizeof(V) + 7) / 8 * 8;
  static std::size_t stride() { return slot * possible_cpus(); }
  static PerCpuValues<V> decode(const std::byte* p) {
    std::vector<V> out(possible_cpus());
    for (std::size_t cpu = 0; cpu < out.size(); ++cpu)
      std::memcpy(&out[cpu], p + cpu * slot, sizeof(V));
    return PerCpuValues<V>(std::move(out));
  }
  static void encode(const PerCpuValues<V>& v, std::byte* p) {
    for (std::size_t cpu = 0; cpu < v.size(); ++cpu) {
      std::memset(p + cpu * slot, 0, slot);
      std::memcpy(p + cpu * slot, &v[cpu], sizeof(V));
    }
  }
  static bool check_value(const PerCpuValues<V>& v) { return v.size() == possible_cpus(); }
};

template <class Codec>
void require_value_shape(const typename Codec::value_type& v, std::string_view map_name) {
  if constexpr (!Codec::plain) {
    if (!Codec::check_value(v))
      throw Error(EINVAL,
                  detail::format("write per-CPU map '{}': {} values given, one per possible CPU is "
                                 "{}",
                                 map_name, v.size(), possible_cpus()),
                  std::string(hint::one_value_per_cpu));
  }
}

// Byte storage with the alignment of the widest type a map value can hold.
class AlignedBytes {
public:
  AlignedBytes() = default;
  explicit AlignedBytes(std::size_t n) : words_((n + 7) / 8), size_(n) {}
  void resize(std::size_t n) {
    words_.assign((n + 7) / 8, 0);
    size_ = n;
  }
  std::byte* data() noexcept { return reinterpret_cast<std::byte*>(words_.data()); }
  const std::byte* data() const noexcept {
    return reinterpret_cast<const std::byte*>(words_.data());
  }
  std::size_t size() const noexcept { return size_; }

private:
  std::vector<std::uint64_t> words_;
  std::size_t size_ = 0;
};

// --- reading a whole map ------------------------------------------------------------------------

/// Reads a map chunk by chunk: with BPF_MAP_LOOKUP_BATCH, or with get_next_key + lookup.
///
/// Batch reads go bucket by bucket (hash maps) or index by index (arrays) and never restart, so
/// with entries erased meanwhile every key is still read at most once. The per-key walk restarts
/// from the first key when the key it stands on was erased (the kernel's rule for
/// get_next_key), so it remembers the keys it has yielded and skips them.
template <MapData K, class Codec>
class ChunkReader {
public:
  static constexpr std::uint32_t default_chunk = 1024;

  ChunkReader(int fd, std::string_view map_name, std::uint32_t max_entries, ReadMethod method,
              std::uint32_t chunk = default_chunk)
      : fd_(fd), map_name_(map_name), max_entries_(max_entries),
        chunk_(
            std::max<std::uint32_t>(1, std::min(chunk, std::max<std::uint32_t>(max_entries, 1)))),
        stride_(Codec::stride()),
        method_(method == ReadMethod::per_key ? ReadMethod::per_key : ReadMethod::batch),
        strict_batch_(method == ReadMethod::batch) {
    // Batch tokens: a u32 bucket index for hash maps, a key for arrays and the generic code.
    token_in_.resize(std::max<std::size_t>(sizeof(K), 8));
    token_out_.resize(std::max<std::size_t>(sizeof(K), 8));
  }

  /// Reads the next chunk into keys()/value_at(); false at the end of the map.
  bool next() {
    keys_.clear();
    while (!done_ && keys_.empty()) {
      if (method_ == ReadMethod::batch)
        read_batch();
      else
        read_per_key();
    }
    return !keys_.empty();
  }

  const std::vector<K>& keys() const noexcept { return keys_; }
  const std::byte* value_at(std::size_t i) const noexcept { return values_.data() + i * stride_; }

private:
  void read_batch() {
    keys_.resize(chunk_);
    values_.resize(static_cast<std::size_t>(chunk_) * stride_);
    bpf_map_batch_opts opts;
    init_opts(opts);
    for (;;) {
      __u32 count = chunk_;
      const int ret =
          bpf_map_lookup_batch(fd_, started_ ? token_in_.data() : nullptr, token_out_.data(),
                               keys_.data(), values_.data(), &count, &opts);
      const int err = ret < 0 ? errno : 0;
      if (ret < 0 && err == ENOSPC && count == 0 && chunk_ < (1u << 24)) {
        // One hash bucket holds more entries than the chunk: grow until the bucket fits.
        chunk_ *= 2;
        keys_.resize(chunk_);
        values_.resize(static_cast<std::size_t>(chunk_) * stride_);
        continue;
      }
      if (ret < 0 && err != ENOENT) {
        if (!started_ && !strict_batch_ && batch_unsupported(err)) {
          method_ = ReadMethod::per_key;
          keys_.clear();
          return;
        }
        keys_.clear();
        fail(
            err,
            [&] { return detail::format("read map '{}' with BPF_MAP_LOOKUP_BATCH", map_name_); },
            Op::map_access, batch_unsupported(err) ? hint::no_batch_lookup : std::string_view());
      }
      // The last call answers ENOENT and still fills `count` entries.
      keys_.resize(count);
      std::swap(token_in_, token_out_);
      started_ = true;
      if (ret < 0) done_ = true;
      return;
    }
  }

  void read_per_key() {
    values_.resize(static_cast<std::size_t>(chunk_) * stride_);
    const auto step_limit = 4ull * max_entries_ + 1024;
    while (keys_.size() < chunk_) {
      K next;
      if (++steps_ > step_limit) {
        // Erasures keep sending the walk back to the start: stop rather than spin.
        done_ = true;
        return;
      }
      if (bpf_map_get_next_key(fd_, have_key_ ? &last_ : nullptr, &next) != 0) {
        const int err = errno;
        if (err == ENOENT) {
          done_ = true;
          return;
        }
        fail(
            err, [&] { return detail::format("walk map '{}' (BPF_MAP_GET_NEXT_KEY)", map_name_); },
            Op::map_access);
      }
      last_ = next;
      have_key_ = true;
      const std::string bytes(reinterpret_cast<const char*>(&next), sizeof(K));
      if (!seen_.insert(bytes).second) continue;
      std::byte* slot = values_.data() + keys_.size() * stride_;
      if (!found(bpf_map_lookup_elem(fd_, &next, slot),
                 [&] { return detail::format("read map '{}' key by key", map_name_); }))
        continue; // erased since: not there
      keys_.push_back(next);
    }
  }

  int fd_;
  std::string map_name_;
  std::uint32_t max_entries_;
  std::uint32_t chunk_;
  std::size_t stride_;
  ReadMethod method_;
  bool strict_batch_;
  bool started_ = false;
  bool done_ = false;
  AlignedBytes token_in_, token_out_;
  std::vector<K> keys_;
  AlignedBytes values_;
  // per-key walk
  K last_{};
  bool have_key_ = false;
  unsigned long long steps_ = 0;
  Dependent<std::unordered_set<std::string>, K> seen_; // the keys' bytes
};

/// The range-for iterator of a typed map: yields (key, value) pairs read a chunk at a time.
template <MapData K, class Codec>
class MapIterator {
public:
  /// (key, value), by value: the entry as read with its chunk.
  using value_type = std::pair<K, typename Codec::value_type>;
  /// Required of iterators; never used.
  using difference_type = std::ptrdiff_t;

  /// The end state.
  MapIterator() = default;
  /// Starts reading with `reader`.
  explicit MapIterator(std::unique_ptr<ChunkReader<K, Codec>> reader) : reader_(std::move(reader)) {
    if (!reader_->next()) reader_.reset();
  }
  /// Move-only: it owns the chunk it reads from.
  MapIterator(MapIterator&&) noexcept = default;
  /// See the move constructor.
  MapIterator& operator=(MapIterator&&) noexcept = default;

  /// The current entry.
  value_type operator*() const {
    return {reader_->keys()[pos_], Codec::decode(reader_->value_at(pos_))};
  }
  /// Moves to the next entry, reading the next chunk when this one is used up. Throws Error.
  MapIterator& operator++() {
    if (++pos_ >= reader_->keys().size()) {
      pos_ = 0;
      if (!reader_->next()) reader_.reset();
    }
    return *this;
  }
  /// As ++it.
  void operator++(int) { ++*this; }
  /// True at the end of the map.
  friend bool operator==(const MapIterator& it, std::default_sentinel_t) noexcept {
    return !it.reader_;
  }

private:
  std::unique_ptr<ChunkReader<K, Codec>> reader_;
  std::size_t pos_ = 0;
};

// --- the key/value operations hash and array maps share ------------------------------------------

/// Operations on a map with keys: lookup, update, iteration, batch reads and writes. The public
/// typed maps add the ones that fit their kind.
template <class Self, MapData K, class Codec>
class KeyValueOps : public MapBase<Self> {
public:
  /// The key type.
  using key_type = K;
  /// V, or PerCpuValues<V> for per-CPU maps.
  using value_type = typename Codec::value_type;
  /// Whether values are a plain V (not per-CPU), which the kernel copies as they are.
  static constexpr bool plain = Codec::plain;

  /// The value at `key`, or nullopt when the key is absent (BPF_MAP_LOOKUP_ELEM). Throws Error
  /// when the kernel gives no answer about the key: an empty view or a closed fd (EBADF), an fd
  /// that may not read the map (EPERM), ...
  std::optional<value_type> lookup(const K& key) const {
    if constexpr (plain) {
      value_type v;
      if (!found(bpf_map_lookup_elem(this->fd_.get(), &key, &v),
                 [&] { return describe_lookup(key); }))
        return std::nullopt;
      return v;
    } else {
      AlignedBytes buf(Codec::stride());
      if (!found(bpf_map_lookup_elem(this->fd_.get(), &key, buf.data()),
                 [&] { return describe_lookup(key); }))
        return std::nullopt;
      return Codec::decode(buf.data());
    }
  }

  /// Whether `key` is present. Throws Error as lookup() does.
  bool contains(const K& key) const { return lookup(key).has_value(); }

  /// Writes `value` at `key` (BPF_MAP_UPDATE_ELEM) as `flag` says. Throws Error: the key is
  /// already there (no_exist), is not there (exist), or "map 'x' is full (max_entries N)".
  void update(const K& key, const value_type& value, UpdateFlag flag = UpdateFlag::any) {
    int ret = 0;
    if constexpr (plain) {
      ret = bpf_map_update_elem(this->fd_.get(), &key, &value, static_cast<__u64>(flag));
    } else {
      require_value_shape<Codec>(value, this->name_);
      AlignedBytes buf(Codec::stride());
      Codec::encode(value, buf.data());
      ret = bpf_map_update_elem(this->fd_.get(), &key, buf.data(), static_cast<__u64>(flag));
    }
    if (ret != 0) throw_update_error(errno, describe_key(key), flag);
  }

  /// Every entry as (key, value) pairs: a snapshot read with BPF_MAP_LOOKUP_BATCH, or entry by
  /// entry where the kernel lacks it (see ReadMethod). Each key appears at most once, also when
  /// entries are erased meanwhile. Throws Error.
  std::vector<std::pair<K, value_type>> items(ReadMethod method = ReadMethod::automatic) const {
    std::vector<std::pair<K, value_type>> out;
    ChunkReader<K, Codec> reader(this->fd_.get(), this->name_, this->info_.max_entries, method);
    while (reader.next()) {
      const auto& keys = reader.keys();
      for (std::size_t i = 0; i < keys.size(); ++i)
        out.emplace_back(keys[i], Codec::decode(reader.value_at(i)));
    }
    return out;
  }

  /// Every key, read like items(). Throws Error.
  std::vector<K> keys(ReadMethod method = ReadMethod::automatic) const {
    std::vector<K> out;
    ChunkReader<K, Codec> reader(this->fd_.get(), this->name_, this->info_.max_entries, method);
    while (reader.next()) out.insert(out.end(), reader.keys().begin(), reader.keys().end());
    return out;
  }

  /// Range-for over (key, value) pairs, read 1024 entries at a time with BPF_MAP_LOOKUP_BATCH
  /// (per key where the kernel lacks it). Entries erased during the loop, by the loop body or by
  /// anyone else, never make a key come twice nor end the loop early: an entry erased before its
  /// chunk is read is not yielded, one erased after is yielded with the value it had when read.
  /// Entries inserted during the loop may or may not be yielded. Throws Error.
  MapIterator<K, Codec> begin() const {
    return MapIterator<K, Codec>(std::make_unique<ChunkReader<K, Codec>>(
        this->fd_.get(), this->name_, this->info_.max_entries, ReadMethod::automatic));
  }
  /// The end of a range-for.
  std::default_sentinel_t end() const noexcept { return {}; }

  /// Writes keys[i] -> values[i] for every i with BPF_MAP_UPDATE_BATCH (kernel 5.6+; entry by
  /// entry where the kernel lacks it, and for UpdateFlag::no_exist/exist, which the kernel's
  /// batch call does not take). Throws Error like update(), saying how many entries were
  /// written before the one that failed.
  void update_batch(std::span<const K> keys, std::span<const value_type> values,
                    UpdateFlag flag = UpdateFlag::any) {
    if (keys.size() != values.size())
      throw Error(EINVAL,
                  detail::format("batch update of map '{}': {} keys but {} values", this->name_,
                                 keys.size(), values.size()),
                  std::string(hint::one_value_per_key));
    if (keys.empty()) return;
    const std::byte* bytes = reinterpret_cast<const std::byte*>(values.data());
    AlignedBytes staged;
    if constexpr (!plain) {
      // The kernel wants each CPU's slot padded to 8 bytes, all values back to back.
      staged.resize(values.size() * Codec::stride());
      for (std::size_t i = 0; i < values.size(); ++i) {
        require_value_shape<Codec>(values[i], this->name_);
        Codec::encode(values[i], staged.data() + i * Codec::stride());
      }
      bytes = staged.data();
    }
    // The kernel's batch update takes no BPF_NOEXIST/BPF_EXIST (only BPF_F_LOCK in elem_flags):
    // those go entry by entry, which also names the key that exists or is missing.
    if (flag != UpdateFlag::any) {
      for (std::size_t i = 0; i < keys.size(); ++i) update(keys[i], values[i], flag);
      return;
    }
    bpf_map_batch_opts opts;
    init_opts(opts);
    __u32 count = static_cast<__u32>(keys.size());
    if (bpf_map_update_batch(this->fd_.get(), keys.data(), bytes, &count, &opts) == 0) return;
    const int err = errno;
    if (batch_unsupported(err)) {
      // No batch support here, or the kernel refused the batch as a whole before writing
      // `count`: start over entry by entry (overwriting is idempotent), which either works or
      // says exactly which key failed and why.
      for (std::size_t i = 0; i < keys.size(); ++i) update(keys[i], values[i], flag);
      return;
    }
    const std::size_t done = std::min<std::size_t>(count, keys.size());
    throw_update_error(err, describe_key(keys[std::min(done, keys.size() - 1)]), flag,
                       detail::format(" (batch of {}, {} written before it)", keys.size(), done));
  }

  using MapBase<Self>::MapBase;

protected:
  std::string describe_lookup(const K& key) const {
    return detail::format("look up {} in map '{}'", describe_key(key), this->name_);
  }

  [[noreturn]] void throw_update_error(int err, const std::string& key, UpdateFlag flag,
                                       std::string_view extra = {}) const {
    const std::string& name = this->name_;
    const auto describe = [&] {
      switch (err) {
      case E2BIG:
        return detail::format("add {}{}: map '{}' is full (max_entries {})", key, extra, name,
                              this->info_.max_entries);
      case EEXIST:
        return detail::format("add {} to map '{}'{}: it is already there", key, name, extra);
      case ENOENT:
        return detail::format("update {} in map '{}'{}: it is not there", key, name, extra);
      default:
        return detail::format("update {} in map '{}' ({}){}", key, name, this->type_name(), extra);
      }
    };
    const std::string_view why = err == E2BIG                                    ? hint::map_full
                                 : err == EEXIST && flag == UpdateFlag::no_exist ? hint::insert_only
                                 : err == ENOENT && flag == UpdateFlag::exist ? hint::overwrite_only
                                                                              : std::string_view();
    fail(err, describe, Op::map_access, why);
  }
};

/// Hash maps add erasing to KeyValueOps.
template <class Self, MapData K, class Codec>
class HashOps : public KeyValueOps<Self, K, Codec> {
  using Base = KeyValueOps<Self, K, Codec>;

public:
  using typename Base::value_type;

  /// Removes `key` (BPF_MAP_DELETE_ELEM); false when it was not there. Throws Error on other
  /// failures.
  bool erase(const K& key) {
    return found(bpf_map_delete_elem(this->fd_.get(), &key), [&] {
      return detail::format("erase {} from map '{}'", describe_key(key), this->name_);
    });
  }

  /// Removes `key` and returns the value it had, or nullopt when it was not there.
  /// BPF_MAP_LOOKUP_AND_DELETE_ELEM: atomic on kernels 5.14+; on older ones a lookup then an
  /// erase, between which a concurrent update is lost. Throws Error on other failures.
  std::optional<value_type> lookup_and_erase(const K& key) {
    AlignedBytes buf(Codec::stride());
    if (bpf_map_lookup_and_delete_elem(this->fd_.get(), &key, buf.data()) == 0)
      return Codec::decode(buf.data());
    const int err = errno;
    if (err == ENOENT) return std::nullopt;
    if (!batch_unsupported(err))
      fail(
          err,
          [&] {
            return detail::format("lookup and erase {} in map '{}'", describe_key(key),
                                  this->name_);
          },
          Op::map_access);
    auto v = this->lookup(key);
    if (!v || !erase(key)) return std::nullopt;
    return v;
  }

  /// Removes each key of `keys` that is present (BPF_MAP_DELETE_BATCH, kernel 5.6+; one by one
  /// where the kernel lacks it); returns how many were removed. Throws Error.
  std::size_t erase_batch(std::span<const K> keys) {
    std::size_t erased = 0;
    std::size_t pos = 0;
    bpf_map_batch_opts opts;
    init_opts(opts);
    while (pos < keys.size()) {
      __u32 count = static_cast<__u32>(keys.size() - pos);
      if (bpf_map_delete_batch(this->fd_.get(), keys.data() + pos, &count, &opts) == 0)
        return erased + count;
      const int err = errno;
      if (batch_unsupported(err)) {
        // Refused as a whole, `count` not written: the rest one by one.
        for (; pos < keys.size(); ++pos) erased += erase(keys[pos]) ? 1 : 0;
        return erased;
      }
      erased += count;
      pos += count;
      if (err == ENOENT) {
        ++pos; // the kernel stops at a key that is not there: step over it
        continue;
      }
      fail(
          err,
          [&] {
            return detail::format("batch erase from map '{}' ({} of {} keys erased before the "
                                  "failure)",
                                  this->name_, erased, keys.size());
          },
          Op::map_access);
    }
    return erased;
  }

  /// Removes every entry: reads the keys, then erases them in batches. Entries inserted
  /// meanwhile may survive. Throws Error.
  void clear() {
    const std::vector<K> all = this->keys();
    erase_batch(all);
  }

  using Base::Base;
};

/// Array maps: every index 0..max_entries-1 exists from creation (zeroed), none can be erased.
/// Indexes are bounds-checked here so that the error names the bound.
template <class Self, MapData V, class Codec>
class ArrayOps : public KeyValueOps<Self, std::uint32_t, Codec> {
  using Base = KeyValueOps<Self, std::uint32_t, Codec>;

public:
  using typename Base::value_type;

  /// The number of elements (max_entries).
  std::uint32_t size() const noexcept { return this->info_.max_entries; }

  /// The value at `index`; throws Error (ERANGE) when index >= size(), or as lookup() does.
  value_type get(std::uint32_t index) const {
    check_index(index, "read");
    if (auto v = this->lookup(index)) return std::move(*v);
    // Every index of an array exists: ENOENT here is the kernel's, not an absence.
    fail(
        ENOENT,
        [&] { return detail::format("read index {} of array map '{}'", index, this->name_); },
        Op::map_access);
  }

  /// Writes `value` at `index`; throws Error (ERANGE) when index >= size(), or like update().
  /// UpdateFlag::no_exist always fails on an array: every index exists.
  void set(std::uint32_t index, const value_type& value, UpdateFlag flag = UpdateFlag::any) {
    check_index(index, "write");
    this->update(index, value, flag);
  }

  /// Sets every element to zero bytes (BPF_MAP_UPDATE_BATCH where the kernel has it). Throws
  /// Error.
  void clear() {
    std::vector<std::uint32_t> indexes(size());
    for (std::uint32_t i = 0; i < size(); ++i) indexes[i] = i;
    AlignedBytes zero(Codec::stride());
    const std::vector<value_type> values(size(), Codec::decode(zero.data()));
    this->update_batch(indexes, values);
  }

  using Base::Base;

protected:
  void check_index(std::uint32_t index, std::string_view what) const {
    if (index >= size())
      throw Error(ERANGE,
                  detail::format("{} index {} of array map '{}': out of bounds (max_entries {})",
                                 what, index, this->name_, size()),
                  size() == 0 ? std::string(hint::no_elements)
                              : detail::format("valid indexes are 0..{}", size() - 1));
  }
};

/// Queues and stacks: values without keys (kernel 4.20+). push is BPF_MAP_UPDATE_ELEM with a
/// NULL key, peek BPF_MAP_LOOKUP_ELEM, pop BPF_MAP_LOOKUP_AND_DELETE_ELEM.
template <class Self, MapData V>
class QueueOps : public MapBase<Self> {
public:
  /// The element type.
  using value_type = V;

  /// Adds `value`. When the map is full: throws Error ("queue 'x' is full (max_entries N)"), or
  /// with `overwrite` drops the element that would be popped last (BPF_EXIST) to make room.
  void push(const V& value, bool overwrite = false) {
    if (bpf_map_update_elem(this->fd_.get(), nullptr, &value, overwrite ? BPF_EXIST : BPF_ANY) == 0)
      return;
    const int err = errno;
    fail(
        err,
        [&] {
          return err == E2BIG ? detail::format("push to {0} '{1}': {0} '{1}' is full (max_entries "
                                               "{2})",
                                               kind(), this->name_, this->info_.max_entries)
                              : detail::format("push to {} '{}'", kind(), this->name_);
        },
        Op::map_access, err == E2BIG ? hint::queue_full : std::string_view());
  }

  /// Removes and returns the next element (the oldest for a queue, the newest for a stack);
  /// nullopt when empty. Throws Error when the kernel gives no answer (an empty view or a closed
  /// fd, an fd that may not read or write the map).
  std::optional<V> pop() {
    V v;
    if (!found(bpf_map_lookup_and_delete_elem(this->fd_.get(), nullptr, &v),
               [&] { return detail::format("pop from {} '{}'", kind(), this->name_); }))
      return std::nullopt;
    return v;
  }

  /// The element pop() would return, without removing it; nullopt when empty. Throws Error as
  /// pop() does.
  std::optional<V> peek() const {
    V v;
    if (!found(bpf_map_lookup_elem(this->fd_.get(), nullptr, &v),
               [&] { return detail::format("peek at {} '{}'", kind(), this->name_); }))
      return std::nullopt;
    return v;
  }

  /// Pops every element. Throws Error as pop() does.
  void clear() {
    while (pop()) {
    }
  }

  using MapBase<Self>::MapBase;

protected:
  // An empty view has no type yet: its kind's own (for errors on it).
  std::string_view kind() const {
    const bpf_map_type type = this->fd_ ? this->info_.type : Self::spec().accepted.front();
    return type == BPF_MAP_TYPE_STACK ? "stack" : "queue";
  }
};
/// The spec of a key/value view over maps of `types`, named "kind<K, V>" ("Map<u32, u64>"), or
/// "kind<V>" for views whose key is an index (`indexed`: arrays; the key's sign does not matter,
/// since BPF code often declares an index as int).
template <MapData K, MapData V>
ViewSpec key_value_spec(std::string_view kind, std::span<const bpf_map_type> types,
                        bool indexed = false) {
  return {indexed ? detail::format("{}<{}>", kind, type_name<V>())
                  : detail::format("{}<{}, {}>", kind, type_name<K>(), type_name<V>()),
          types,
          sizeof(K),
          sizeof(V),
          type_name<K>(),
          type_name<V>(),
          &describe<K>,
          &describe<V>,
          !indexed};
}

/// The spec of a view of keyless maps (queues, stacks, bloom filters) of V.
template <MapData V>
ViewSpec keyless_spec(std::string_view kind, std::span<const bpf_map_type> types) {
  return {detail::format("{}<{}>", kind, type_name<V>()),
          types,
          0,
          sizeof(V),
          "(none)",
          type_name<V>(),
          nullptr,
          &describe<V>,
          false};
}

// --- maps of maps (map_of_maps.hpp) ------------------------------------------------------------

/// What both maps of maps do; `K` is the outer key, `Inner` the view of the inner maps.
template <class Self, MapData K, class Inner>
class MapOfMapsOps : public MapBase<Self> {
public:
  /// The view of the inner maps.
  using inner_type = Inner;
  using MapBase<Self>::MapBase;

  /// Puts `inner` at `key`, replacing what was there in one step for BPF programs. The inner
  /// map must match the outer map's template (type, key and value sizes, flags; for arrays
  /// also max_entries, unless the template has BPF_F_INNER_MAP). Throws Error naming both maps.
  void set(const K& key, const Inner& inner) {
    const std::uint32_t fd = static_cast<std::uint32_t>(inner.fd());
    if (bpf_map_update_elem(this->fd_.get(), &key, &fd, BPF_ANY) == 0) return;
    const int err = errno;
    fail(
        err,
        [&] {
          return detail::format("put map '{}' at {} of map of maps '{}'", inner.name(),
                                describe_key(key), this->name_);
        },
        Op::map_access, err == EINVAL ? hint::inner_map_template : std::string_view());
  }

  /// The id of the inner map at `key` (the kernel answers lookups with ids), or nullopt. Throws
  /// Error when the kernel gives no answer (an empty view or a closed fd, ...).
  std::optional<std::uint32_t> inner_id(const K& key) const {
    std::uint32_t id = 0;
    if (!found(bpf_map_lookup_elem(this->fd_.get(), &key, &id), [&] {
          return detail::format("look up {} in map of maps '{}'", describe_key(key), this->name_);
        }))
      return std::nullopt;
    return id;
  }

  /// A view of the inner map at `key` (opened by id: CAP_SYS_ADMIN), checked as Inner; nullopt
  /// when the slot is empty or its map went away meanwhile. Throws Error when it does not fit.
  std::optional<Inner> get(const K& key, TypeCheck check = TypeCheck::btf) const {
    const auto id = inner_id(key);
    if (!id) return std::nullopt;
    try {
      // Every inner map has the outer map's template type: no need to describe it first.
      return Inner(MapSource::id(*id, false), check);
    } catch (const Error& e) {
      if (e.code().value() == ENOENT) return std::nullopt; // replaced and freed meanwhile
      throw;
    }
  }

  /// Empties the slot at `key`; false when it was empty. Throws Error on other failures.
  bool erase(const K& key) {
    return found(bpf_map_delete_elem(this->fd_.get(), &key), [&] {
      return detail::format("erase {} from map of maps '{}'", describe_key(key), this->name_);
    });
  }

  /// Creates an inner map that fits this outer map: the type, sizes and flags of a map already
  /// in it, else of Inner::spec() (first accepted type, no flags); `max_entries` 0 means the
  /// existing one's (required when there is none). The kernel does not report an outer map's
  /// template, hence this rule. Throws Error.
  Inner create_inner(std::string_view name, std::uint32_t max_entries = 0) const {
    const ViewSpec spec = Inner::spec();
    MapInfo like{};
    like.type = spec.accepted.front();
    like.key_size = spec.key_size;
    like.value_size = spec.value_size;
    if (auto existing = any_inner()) like = existing->info();
    if (max_entries == 0) max_entries = like.max_entries;
    if (max_entries == 0)
      throw Error(EINVAL, detail::format("create an inner map for map of maps '{}'", this->name_),
                  std::string(hint::no_inner_to_copy));
    return Inner(MapSource::adopt(create_map_fd(like.type, name, like.key_size, like.value_size,
                                                max_entries, like.map_flags),
                                  std::string(name)),
                 TypeCheck::size_only);
  }

protected:
  std::optional<Inner> any_inner() const {
    K key{}, next{};
    const K* prev = nullptr;
    while (bpf_map_get_next_key(this->fd_.get(), prev, &next) == 0) {
      if (auto inner = get(next, TypeCheck::size_only)) return inner;
      key = next;
      prev = &key;
    }
    return std::nullopt;
  }

  // The value is an fd on update and an id on lookup: 4 bytes, no BTF (libbpf drops it).
  static ViewSpec outer_spec(std::string_view kind, std::span<const bpf_map_type> types,
                             bool indexed) {
    auto spec = key_value_spec<K, std::uint32_t>(kind, types, indexed);
    spec.view_name = detail::format("{}<{}>", kind, Inner::spec().view_name);
    return spec;
  }
};

// --- local storage (local_storage_map.hpp) -----------------------------------------------------

/// get/set/erase by an owner fd (the map's key is an int fd on the user side).
template <class Self, MapData V>
class LocalStorageOps : public MapBase<Self> {
public:
  using value_type = V;
  using MapBase<Self>::MapBase;

  /// The value stored for the owner behind `fd`; nullopt when there is none. Throws Error when
  /// the kernel gives no answer: `fd` is not Self::owner() (EBADF, ENOTSOCK), the view is empty.
  std::optional<V> get(int fd) const {
    V v;
    if (!found(bpf_map_lookup_elem(this->fd_.get(), &fd, &v),
               [&] { return detail::format("read the value of fd {} in '{}'", fd, this->name_); }))
      return std::nullopt;
    return v;
  }
  /// Stores `value` for the owner behind `fd` (creating it), as `flag` says. Throws Error
  /// (EBADF: `fd` is not an owner of this kind; EEXIST/ENOENT with the flags).
  void set(int fd, const V& value, UpdateFlag flag = UpdateFlag::any) {
    if (bpf_map_update_elem(this->fd_.get(), &fd, &value, static_cast<__u64>(flag)) == 0) return;
    const int err = errno;
    fail(
        err,
        [&] {
          return detail::format("store a value for fd {} in {} '{}'", fd, this->type_name(),
                                this->name_);
        },
        Op::map_access, err == EBADF ? hint::storage_key_fd(Self::owner()) : std::string());
  }
  /// Removes the value of the owner behind `fd`; false when there was none. Throws Error on
  /// other failures.
  bool erase(int fd) {
    return found(bpf_map_delete_elem(this->fd_.get(), &fd), [&] {
      return detail::format("erase the value of fd {} in '{}'", fd, this->name_);
    });
  }
};

} // namespace ebpfpp::detail
