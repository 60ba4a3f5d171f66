// map.hpp on the running kernel: maps created by loading test_maps.bpf.o (with BTF) or by
// create(), values written both from user space and by a BPF program run with
// BPF_PROG_TEST_RUN.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <ebpfpp/map.hpp>
#include <ebpfpp/object.hpp>
#include <linux/bpf.h>

#include "helpers.hpp"
#include "test_maps.bpf.skel.h"

namespace map_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_maps_bpf>;

struct Pair {
  std::uint32_t a;
  std::uint32_t b;
  friend bool operator==(const Pair&, const Pair&) = default;
};

// Runs add_on_cpu once on `cpu` with (key, amount) as its raw tracepoint arguments.
void run_on_cpu(const Skel& skel, std::uint32_t cpu, std::uint64_t key, std::uint64_t amount) {
  std::uint64_t args[2] = {key, amount};
  bpf_test_run_opts opts;
  ebpfpp::detail::init_opts(opts);
  opts.ctx_in = args;
  opts.ctx_size_in = sizeof args;
  opts.flags = BPF_F_TEST_RUN_ON_CPU;
  opts.cpu = cpu;
  REQUIRE_MESSAGE(bpf_prog_test_run_opts(skel.program("add_on_cpu").fd(), &opts) == 0,
                  "test_run on cpu " << cpu << ": " << std::strerror(errno));
}

using test::what_of;

template <class Items>
auto sorted(Items items) {
  std::sort(items.begin(), items.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  return items;
}

} // namespace

TEST_CASE("Map over a kernel hash map: update, lookup, contains, erase, lookup_and_erase") {
  auto skel = Skel::open_and_load();
  ebpfpp::Map<std::uint32_t, std::uint64_t> m(skel->maps.hash_u32_u64);
  CHECK(m.name() == "hash_u32_u64");
  CHECK(m.type() == BPF_MAP_TYPE_HASH);
  CHECK(m.max_entries() == 64);
  CHECK_FALSE(m.lookup(1).has_value());
  // Absence is nullopt; any other failure (a closed fd, an fd that may not read) throws.
  static_assert(!noexcept(m.lookup(1)));

  m.update(1, 100);
  CHECK(m.lookup(1) == 100u);
  CHECK(m.contains(1));
  // the BPF side sees it and adds to it
  run_on_cpu(skel, 0, 1, 5);
  CHECK(m.lookup(1) == 105u);
  // and creates what is not there
  run_on_cpu(skel, 0, 2, 7);
  CHECK(m.lookup(2) == 7u);

  CHECK(m.erase(2));
  CHECK_FALSE(m.erase(2));
  CHECK_FALSE(m.contains(2));
  CHECK(m.lookup_and_erase(1) == 105u);
  CHECK_FALSE(m.lookup_and_erase(1).has_value());
  CHECK(m.items().empty());

  // The same map reached by name through an Object works too.
  auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_maps.bpf.o");
  obj.load();
  ebpfpp::Map<std::uint32_t, std::uint64_t> by_name(obj.map("hash_u32_u64"));
  by_name.update(9, 9);
  CHECK(by_name.lookup(9) == 9u);
}

TEST_CASE("update flags: no_exist and exist fail with an Error naming the map and the key") {
  auto skel = Skel::open_and_load();
  ebpfpp::Map<std::uint32_t, std::uint64_t> m(skel->maps.hash_u32_u64);
  m.update(5, 1, ebpfpp::UpdateFlag::no_exist);
  try {
    m.update(5, 2, ebpfpp::UpdateFlag::no_exist);
    FAIL("no_exist over an existing key succeeded");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EEXIST);
    CHECK(e.action() == "add key 5 to map 'hash_u32_u64': it is already there");
    CHECK(e.hint().find("UpdateFlag::any") != std::string::npos);
  }
  CHECK(m.lookup(5) == 1u);
  m.update(5, 3, ebpfpp::UpdateFlag::exist);
  CHECK(m.lookup(5) == 3u);
  try {
    m.update(6, 1, ebpfpp::UpdateFlag::exist);
    FAIL("exist over a missing key succeeded");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENOENT);
    CHECK(e.action() == "update key 6 in map 'hash_u32_u64': it is not there");
  }
  CHECK_FALSE(m.contains(6));
}

TEST_CASE("a full hash map throws \"map 'x' is full (max_entries N)\"; an LRU map evicts instead") {
  auto skel = Skel::open_and_load();
  ebpfpp::Map<std::uint32_t, std::uint64_t> m(skel->maps.hash_u32_u64);
  for (std::uint32_t k = 0; k < 64; ++k) m.update(k, k);
  try {
    m.update(1000, 1);
    FAIL("the 65th key went into a 64-entry map");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == E2BIG);
    CHECK(std::string(e.what()).find("map 'hash_u32_u64' is full (max_entries 64)") !=
          std::string::npos);
  }
  m.update(3, 33); // overwriting an existing key still works when full
  CHECK(m.lookup(3) == 33u);

  // The batch path says the same, and how far it got.
  auto small = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 4, "small");
  const std::vector<std::uint32_t> keys{1, 2, 3, 4, 5, 6};
  const std::vector<std::uint64_t> values{1, 2, 3, 4, 5, 6};
  const std::string what = what_of([&] { small.update_batch(keys, values); });
  CHECK_MESSAGE(what.find("add key 5 (batch of 6, 4 written before it): map 'small' is full "
                          "(max_entries 4)") != std::string::npos,
                what);
  CHECK(small.items().size() == 4);

  ebpfpp::Map<std::uint32_t, std::uint64_t> lru(skel->maps.lru);
  CHECK(lru.type() == BPF_MAP_TYPE_LRU_HASH);
  for (std::uint32_t k = 0; k < 100; ++k) lru.update(k, k);
  const auto items = lru.items();
  CHECK(items.size() <= 4);
  CHECK(items.size() >= 1);
  CHECK(lru.lookup(99) == 99u); // the newest survives
}

TEST_CASE("a size mismatch throws an Error naming the map, its type and both sizes") {
  auto skel = Skel::open_and_load();
  const std::string what =
      what_of([&] { ebpfpp::Map<std::uint32_t, std::uint32_t> m(skel->maps.hash_u32_u64); });
  CHECK_MESSAGE(what.find("view map 'hash_u32_u64' (hash) as ebpfpp::Map<unsigned int, unsigned "
                          "int>: the value size is 8 bytes in the kernel but sizeof(unsigned "
                          "int) is 4") != std::string::npos,
                what);
  const std::string key_what =
      what_of([&] { ebpfpp::Map<std::uint64_t, std::uint64_t> m(skel->maps.hash_u32_u64); });
  CHECK_MESSAGE(key_what.find("the key size is 4 bytes in the kernel but sizeof(long unsigned "
                              "int) is 8") != std::string::npos,
                key_what);
}

TEST_CASE("BTF mismatches throw an Error saying exactly what differs") {
  auto skel = Skel::open_and_load();
  // signedness: the BPF key is __u32
  const std::string sign =
      what_of([&] { ebpfpp::Map<std::int32_t, std::uint64_t> m(skel->maps.hash_u32_u64); });
  CHECK_MESSAGE(sign.find("the key: BTF says '__u32 = unsigned int', an unsigned 32-bit integer, "
                          "but the C++ type 'int' is a signed integer") != std::string::npos,
                sign);
  // kind: the BPF value is struct pair, the C++ value an integer of the same size
  const std::string kind =
      what_of([&] { ebpfpp::Map<std::uint32_t, std::uint64_t> m(skel->maps.hash_pair); });
  CHECK_MESSAGE(kind.find("the value: BTF says 'pair', a struct, but the C++ type 'long unsigned "
                          "int' is an unsigned integer") != std::string::npos,
                kind);
  // and the other way round
  const std::string rev =
      what_of([&] { ebpfpp::Map<std::uint32_t, Pair> m(skel->maps.hash_u32_u64); });
  CHECK_MESSAGE(rev.find("the value: BTF says '__u64 = unsigned long long', an unsigned 64-bit "
                         "integer, but the C++ type '") != std::string::npos,
                rev);
  CHECK(rev.find("is a struct/class type") != std::string::npos);
  // the right types pass, and size_only lets a deliberate reinterpretation through
  ebpfpp::Map<std::uint32_t, Pair> pairs(skel->maps.hash_pair);
  pairs.update(1, Pair{2, 3});
  CHECK(pairs.lookup(1) == Pair{2, 3});
  ebpfpp::Map<std::int32_t, std::uint64_t> reinterpreted(skel->maps.hash_u32_u64,
                                                         ebpfpp::TypeCheck::size_only);
  reinterpreted.update(-1, 4);
  ebpfpp::Map<std::uint32_t, std::uint64_t> plain(skel->maps.hash_u32_u64);
  CHECK(plain.lookup(0xffffffffu) == 4u);
}

TEST_CASE("the wrong view for a map type, or a map not loaded yet, throws an Error with a hint") {
  auto skel = Skel::open_and_load();
  try {
    ebpfpp::Map<std::uint32_t, std::uint64_t> m(skel->maps.array_u64);
    FAIL("Map over an array");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.action().find("view map 'array_u64' (array)") != std::string::npos);
    CHECK(e.hint().find("use ebpfpp::ArrayMap<V> for maps of type array") != std::string::npos);
  }
  CHECK(what_of([&] {
          ebpfpp::ArrayMap<std::uint64_t> a(skel->maps.pcpu_array);
        }).find("use ebpfpp::PerCpuArrayMap<V>") != std::string::npos);
  auto unloaded = Skel::open();
  CHECK(what_of([&] { ebpfpp::Map<std::uint32_t, std::uint64_t> m(unloaded->maps.hash_u32_u64); })
            .find("make a typed view of map 'hash_u32_u64' (ebpfpp::Map<unsigned int, long "
                  "unsigned int>): it is not created yet") != std::string::npos);
}

TEST_CASE("failed constructions and operations leave no fds behind") {
  auto skel = Skel::open_and_load();
  test::BpffsMount bpffs;
  const std::size_t before = test::open_fd_count();
  for (int i = 0; i < 20; ++i) {
    CHECK_THROWS_AS((ebpfpp::Map<std::uint32_t, std::uint32_t>(skel->maps.hash_u32_u64)),
                    ebpfpp::Error);
    CHECK_THROWS_AS((ebpfpp::Map<std::int32_t, std::uint64_t>(skel->maps.hash_u32_u64)),
                    ebpfpp::Error);
    CHECK_THROWS_AS((ebpfpp::Map<std::uint32_t, std::uint64_t>(skel->maps.array_u64)),
                    ebpfpp::Error);
    CHECK_THROWS_AS((ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned(bpffs.dir / "none")),
                    ebpfpp::Error);
    CHECK_THROWS_AS((ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 0, "x")),
                    ebpfpp::Error);
    CHECK_THROWS_AS((ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_ARRAY, 4, "x")),
                    ebpfpp::Error);
    CHECK_THROWS_AS((ebpfpp::ArrayMap<std::uint64_t>(skel->maps.array_u64).get(8)), ebpfpp::Error);
  }
  CHECK(test::open_fd_count() == before);
}

TEST_CASE("range-for yields every entry once, also when the loop body erases entries") {
  auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 5000, "iter");
  for (std::uint32_t k = 0; k < 3000; ++k) m.update(k, std::uint64_t{k} * 10);
  std::map<std::uint32_t, int> seen;
  for (auto [k, v] : m) {
    CHECK(v == k * 10);
    ++seen[k];
  }
  CHECK(seen.size() == 3000);
  CHECK(std::all_of(seen.begin(), seen.end(), [](auto& e) { return e.second == 1; }));

  // erasing the entry in hand, and others ahead of it
  seen.clear();
  for (auto [k, v] : m) {
    ++seen[k];
    m.erase(k);
    m.erase(k ^ 1);
  }
  CHECK(m.items().empty());
  CHECK(std::all_of(seen.begin(), seen.end(), [](auto& e) { return e.second == 1; }));
  // Each pair {2n, 2n+1} is erased when the first of them comes. The other is still yielded if
  // its chunk was read before (as documented: values are as of the chunk read), else not.
  for (std::uint32_t k = 0; k < 3000; k += 2)
    if (!seen.count(k) && !seen.count(k + 1)) FAIL_CHECK("neither " << k << " nor " << k + 1);
  CHECK(seen.size() >= 1500);
  CHECK(seen.size() < 3000);
}

TEST_CASE(
    "iteration while another thread erases: no key twice, no survivor missed, either method") {
  for (auto method : {ebpfpp::ReadMethod::batch, ebpfpp::ReadMethod::per_key}) {
    CAPTURE(static_cast<int>(method));
    constexpr std::uint32_t n = 10000;
    auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, n, "churn");
    std::vector<std::uint32_t> keys(n);
    std::vector<std::uint64_t> values(n);
    for (std::uint32_t k = 0; k < n; ++k) keys[k] = k, values[k] = k;
    m.update_batch(keys, values);

    std::atomic<bool> go{false};
    std::thread eraser([&] {
      while (!go) std::this_thread::yield();
      for (std::uint32_t k = 1; k < n; k += 2) m.erase(k); // odd keys go
    });
    go = true;
    const auto items = m.items(method);
    eraser.join();

    std::set<std::uint32_t> unique;
    for (const auto& [k, v] : items) {
      CHECK(v == k);
      unique.insert(k);
    }
    CHECK(unique.size() == items.size()); // no key twice
    for (std::uint32_t k = 0; k < n; k += 2)
      if (!unique.count(k)) FAIL_CHECK("even key " << k << " was never erased but not read");
  }
}

TEST_CASE("batch and per-key paths give identical results on 10k entries") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::batch_ops)) EBPFPP_SKIP(*r);
  constexpr std::uint32_t n = 10000;
  auto batched = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, n, "batched");
  auto per_key = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, n, "perkey");
  std::vector<std::uint32_t> keys(n);
  std::vector<std::uint64_t> values(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    keys[i] = i * 2654435761u; // spread over the buckets
    values[i] = (std::uint64_t{i} << 32) | i;
  }
  batched.update_batch(keys, values);
  for (std::uint32_t i = 0; i < n; ++i) per_key.update(keys[i], values[i]);

  const auto a = sorted(batched.items(ebpfpp::ReadMethod::batch));
  const auto b = sorted(batched.items(ebpfpp::ReadMethod::per_key));
  const auto c = sorted(per_key.items(ebpfpp::ReadMethod::batch));
  const auto d = sorted(per_key.items(ebpfpp::ReadMethod::per_key));
  REQUIRE(a.size() == n);
  CHECK(a == b);
  CHECK(a == c);
  CHECK(a == d);
  std::vector<std::pair<std::uint32_t, std::uint64_t>> expected;
  for (std::uint32_t i = 0; i < n; ++i) expected.emplace_back(keys[i], values[i]);
  CHECK(a == sorted(expected));

  auto kb = batched.keys(ebpfpp::ReadMethod::batch);
  auto kp = batched.keys(ebpfpp::ReadMethod::per_key);
  std::sort(kb.begin(), kb.end());
  std::sort(kp.begin(), kp.end());
  CHECK(kb == kp);
  CHECK(kb.size() == n);

  // erase half by batch (with keys that are not there mixed in) and half one by one
  std::vector<std::uint32_t> half(keys.begin(), keys.begin() + n / 2);
  half.push_back(7); // not a key (7 is not a multiple of the spread)
  half.insert(half.begin() + 100, 3);
  CHECK(batched.erase_batch(half) == n / 2);
  for (std::uint32_t i = 0; i < n / 2; ++i) CHECK(per_key.erase(keys[i]));
  CHECK(sorted(batched.items()) == sorted(per_key.items()));
  CHECK(batched.items().size() == n / 2);
  batched.clear();
  CHECK(batched.items().empty());
}

TEST_CASE("per-CPU values written by a BPF program on a chosen CPU come back per CPU") {
  auto skel = Skel::open_and_load();
  ebpfpp::PerCpuHashMap<std::uint32_t, std::uint64_t> hash(skel->maps.pcpu_hash);
  ebpfpp::PerCpuArrayMap<std::uint64_t> array(skel->maps.pcpu_array);
  const std::size_t cpus = ebpfpp::detail::possible_cpus();
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (online < 2 || cpus < 2) EBPFPP_SKIP("needs 2 online CPUs to put values on different CPUs");

  run_on_cpu(skel, 0, 3, 5);
  run_on_cpu(skel, 1, 3, 11);
  run_on_cpu(skel, 1, 3, 100);
  const auto v = hash.lookup(3);
  REQUIRE(v.has_value());
  REQUIRE(v->size() == cpus);
  CHECK((*v)[0] == 5u);
  CHECK((*v)[1] == 111u);
  for (std::size_t cpu = 2; cpu < cpus; ++cpu) CHECK((*v)[cpu] == 0u);
  CHECK(v->sum() == 116u);

  const auto a = array.get(3);
  CHECK(a[0] == 5u);
  CHECK(a[1] == 111u);
  CHECK(a.sum() == 116u);
  CHECK(array.get(0).sum() == 0u);

  // user space writes one value per CPU, or one for all, and reads what it wrote
  std::vector<std::uint64_t> per_cpu(cpus);
  for (std::size_t i = 0; i < cpus; ++i) per_cpu[i] = 1000 + i;
  hash.update(4, ebpfpp::PerCpuValues<std::uint64_t>(per_cpu));
  CHECK(hash.lookup(4)->values() == per_cpu);
  hash.update(5, std::uint64_t{7});
  CHECK(hash.lookup(5)->sum() == 7 * cpus);
  // and the wrong number of CPUs is an Error, not a short write
  CHECK(what_of([&] {
          hash.update(6, ebpfpp::PerCpuValues<std::uint64_t>({1}));
        }).find("1 values given, one per possible CPU is") != std::string::npos);

  // iteration and batch reads carry all CPUs
  std::map<std::uint32_t, std::uint64_t> sums;
  for (auto [k, vals] : hash) sums[k] = vals.sum();
  CHECK(sums ==
        std::map<std::uint32_t, std::uint64_t>{
            {3, 116}, {4, 2000 + 1000 * (cpus - 2) + cpus * (cpus - 1) / 2}, {5, 7 * cpus}});
  CHECK(sorted(hash.items(ebpfpp::ReadMethod::batch)) ==
        sorted(hash.items(ebpfpp::ReadMethod::per_key)));
  const auto array_items = array.items();
  REQUIRE(array_items.size() == 4);
  CHECK(array_items[3].second.sum() == 116u);
  CHECK(hash.lookup_and_erase(3)->sum() == 116u);
  CHECK_FALSE(hash.contains(3));
}

TEST_CASE("ArrayMap: bounds-checked get/set, iteration by index, clear") {
  auto skel = Skel::open_and_load();
  ebpfpp::ArrayMap<std::uint64_t> a(skel->maps.array_u64); // BTF key is int: accepted
  CHECK(a.size() == 8);
  CHECK(a.get(7) == 0u);
  a.set(2, 22);
  CHECK(a.get(2) == 22u);
  CHECK(a.lookup(2) == 22u);
  CHECK_FALSE(a.lookup(8).has_value());
  try {
    a.set(8, 1);
    FAIL("index 8 of an 8-element array");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ERANGE);
    CHECK(e.action() == "write index 8 of array map 'array_u64': out of bounds (max_entries 8)");
    CHECK(e.hint() == "valid indexes are 0..7");
  }
  CHECK_THROWS_WITH_AS(a.get(100), doctest::Contains("read index 100 of array map 'array_u64'"),
                       ebpfpp::Error);
  CHECK_THROWS_WITH_AS(a.set(1, 1, ebpfpp::UpdateFlag::no_exist),
                       doctest::Contains("it is already there"), ebpfpp::Error);
  std::vector<std::uint32_t> indexes;
  for (auto [i, v] : a) {
    indexes.push_back(i);
    CHECK(v == (i == 2 ? 22u : 0u));
  }
  CHECK(indexes == std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7});
  const std::vector<std::uint32_t> idx{0, 5};
  const std::vector<std::uint64_t> vals{10, 50};
  a.update_batch(idx, vals);
  CHECK(a.get(5) == 50u);
  CHECK(sorted(a.items(ebpfpp::ReadMethod::batch)) == sorted(a.items(ebpfpp::ReadMethod::per_key)));
  a.clear();
  for (auto [i, v] : a) CHECK(v == 0u);
}

TEST_CASE("QueueMap and StackMap: push, pop, peek, full, overwrite, values from BPF") {
  auto skel = Skel::open_and_load();
  ebpfpp::QueueMap<std::uint32_t> q(skel->maps.queue);
  ebpfpp::StackMap<std::uint32_t> s(skel->maps.stack);
  CHECK_FALSE(q.pop().has_value());
  CHECK_FALSE(s.peek().has_value());
  run_on_cpu(skel, 0, 41, 0); // the BPF program pushes 41 to both
  for (std::uint32_t v : {1u, 2u, 3u}) {
    q.push(v);
    s.push(v);
  }
  const std::string full = what_of([&] { q.push(4); });
  CHECK_MESSAGE(full.find("queue 'queue' is full (max_entries 4)") != std::string::npos, full);
  CHECK(what_of([&] { s.push(4); }).find("stack 'stack' is full (max_entries 4)") !=
        std::string::npos);
  CHECK(q.peek() == 41u);
  CHECK(s.peek() == 3u);
  q.push(4, true); // drops the oldest, 41
  s.push(4, true);
  std::vector<std::uint32_t> qs, ss;
  while (auto v = q.pop()) qs.push_back(*v);
  while (auto v = s.pop()) ss.push_back(*v);
  CHECK(qs == std::vector<std::uint32_t>{1, 2, 3, 4});
  CHECK(ss.front() == 4u);
  CHECK(ss.size() == 4);
  q.push(9);
  q.clear();
  CHECK_FALSE(q.peek().has_value());
  auto own = ebpfpp::StackMap<std::uint64_t>::create(2, "own_stack");
  own.push(1);
  own.push(2);
  CHECK(own.pop() == 2u);
  CHECK(own.pop() == 1u);
}

TEST_CASE("a pinned map reopens by path, from the pin alone, and unpins") {
  test::BpffsMount bpffs;
  const auto path = bpffs.dir / "counts";
  {
    auto skel = Skel::open_and_load();
    ebpfpp::Map<std::uint32_t, std::uint64_t> m(skel->maps.hash_u32_u64);
    m.update(1, 11);
    m.pin(path);
    CHECK(m.pin_path() == path);
    CHECK(std::filesystem::exists(path));
    CHECK(what_of([&] { m.pin(path); }).find("something is already pinned there") !=
          std::string::npos);
  } // the object and the view are gone; the pin keeps the map
  auto reopened = ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned(path);
  CHECK(reopened.name() == "hash_u32_u64");
  CHECK(reopened.lookup(1) == 11u);
  reopened.update(2, 22);
  auto again = ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned(path);
  CHECK(again.lookup(2) == 22u);
  // BTF travels with the map: the check still applies to a pinned map
  CHECK(what_of([&] {
          (void)ebpfpp::Map<std::int32_t, std::uint64_t>::open_pinned(path);
        }).find("is a signed integer") != std::string::npos);

  // a pinned program is not a map
  auto skel = Skel::open_and_load();
  REQUIRE(bpf_obj_pin(skel.program("add_on_cpu").fd(), (bpffs.dir / "prog").c_str()) == 0);
  CHECK(what_of([&] {
          (void)ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned(bpffs.dir / "prog");
        }).find("the object pinned there is not a map") != std::string::npos);

  auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 4, "mine");
  m.pin(bpffs.dir / "mine");
  m.unpin();
  CHECK_FALSE(std::filesystem::exists(bpffs.dir / "mine"));
  CHECK_THROWS_WITH_AS(m.unpin(), doctest::Contains("unpin map 'mine'"), ebpfpp::Error);
  CHECK_THROWS_WITH_AS((ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned(bpffs.dir / "mine")),
                       doctest::Contains("open pinned map"), ebpfpp::Error);
}

TEST_CASE("a typed view outlives the object it came from and moves") {
  ebpfpp::Map<std::uint32_t, std::uint64_t> kept;
  CHECK_FALSE(kept);
  {
    auto skel = Skel::open_and_load();
    kept = ebpfpp::Map<std::uint32_t, std::uint64_t>(skel->maps.hash_u32_u64);
    kept.update(1, 2);
  }
  CHECK(kept.lookup(1) == 2u);
  auto moved = std::move(kept);
  CHECK(moved.lookup(1) == 2u);
  CHECK(kept.fd() == -1); // NOLINT(bugprone-use-after-move): the empty state is the point
  // A moved-from view has no fd: a lookup says so rather than "absent".
  CHECK_THROWS_WITH_AS((void)kept.lookup(1), doctest::Contains("has no open map fd"),
                       ebpfpp::Error);
}

TEST_CASE("update_batch honours no_exist and exist, which the kernel's batch call does not take") {
  auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 16, "flags");
  const std::vector<std::uint32_t> keys{1, 2, 3};
  const std::vector<std::uint64_t> values{10, 20, 30};
  m.update_batch(keys, values, ebpfpp::UpdateFlag::no_exist);
  CHECK(sorted(m.items()) ==
        std::vector<std::pair<std::uint32_t, std::uint64_t>>{{1, 10}, {2, 20}, {3, 30}});

  const std::vector<std::uint64_t> doubled{100, 200, 300};
  CHECK(what_of([&] {
          m.update_batch(keys, doubled, ebpfpp::UpdateFlag::no_exist);
        }).find("add key 1 to map 'flags': it is already there") != std::string::npos);
  m.update_batch(keys, doubled, ebpfpp::UpdateFlag::exist);
  CHECK(m.lookup(3) == 300u);

  const std::vector<std::uint32_t> absent{7};
  const std::vector<std::uint64_t> one{1};
  CHECK(what_of([&] {
          m.update_batch(absent, one, ebpfpp::UpdateFlag::exist);
        }).find("update key 7 in map 'flags': it is not there") != std::string::npos);
  CHECK(m.items().size() == 3);
}

} // namespace map_test
