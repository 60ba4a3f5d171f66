// The map kinds of issue 12 on the running kernel: bloom filters, LRU per-CPU hash maps, arrays
// and hashes of maps. Each is written from one side and read from the other: user space through
// the typed view, the kernel side by a program of test_map_kinds.bpf.c run with
// BPF_PROG_TEST_RUN.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <ebpfpp/map.hpp>
#include <ebpfpp/object.hpp>

#include "helpers.hpp"
#include "test_map_kinds.bpf.skel.h"

namespace map_kinds_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_map_kinds_bpf>;
using Inner = ebpfpp::Map<std::uint32_t, std::uint64_t>;

// Runs the raw_tp program `name` with these arguments; returns its return value.
int run(const Skel& skel, const char* name, std::array<std::uint64_t, 3> args,
        std::optional<std::uint32_t> cpu = std::nullopt) {
  ebpfpp::TestRun r;
  r.ctx_in(args);
  if (cpu) r.cpu(*cpu);
  return static_cast<int>(skel.program(name).test_run(r).return_value);
}

using test::what_of;

} // namespace

TEST_CASE("BloomFilterMap: values pushed by either side are found by both; others are not") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bloom_filter)) EBPFPP_SKIP(*r);
  auto skel = Skel::open_and_load();
  ebpfpp::BloomFilterMap<std::uint32_t> bloom(skel->maps.bloom);
  CHECK(bloom.name() == "bloom");
  CHECK(bloom.max_entries() == 64);

  bloom.push(42);                                  // user space pushes
  CHECK(run(skel, "bloom_op", {1, 42, 0}) == 1);   // the kernel finds it
  CHECK(run(skel, "bloom_op", {0, 7000, 0}) == 0); // the kernel pushes
  CHECK(bloom.contains(7000));                     // user space finds it
  CHECK(bloom.contains(42));
  // With 3 hashes over 64 entries and two values, a false positive among these is unlikely
  // but possible; a bloom filter that answered "maybe" to everything would fail here.
  int maybes = 0;
  for (std::uint32_t v = 100000; v < 100100; ++v) maybes += bloom.contains(v) ? 1 : 0;
  CHECK(maybes < 10);

  // A wrong value type is refused with both sizes named.
  const auto err = what_of([&] { ebpfpp::BloomFilterMap<std::uint64_t> b(skel->maps.bloom); });
  CHECK(err.find("'bloom'") != std::string::npos);
  CHECK(err.find("value size is 4 bytes") != std::string::npos);
  // The wrong view says which one fits.
  const auto wrong = what_of([&] { ebpfpp::QueueMap<std::uint32_t> q(skel->maps.bloom); });
  CHECK(wrong.find("use ebpfpp::BloomFilterMap<V>") != std::string::npos);
}

TEST_CASE("BloomFilterMap::create and pinning") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bloom_filter)) EBPFPP_SKIP(*r);
  auto bloom = ebpfpp::BloomFilterMap<std::uint64_t>::create(2, "ebpfpp_bloom", 4);
  CHECK(bloom.type() == BPF_MAP_TYPE_BLOOM_FILTER);
  CHECK_FALSE(bloom.contains(1));
  bloom.push(1);
  bloom.push(2);
  CHECK(bloom.contains(1));
  CHECK(bloom.contains(2));
  // max_entries only sizes the bit array: more pushes work, with more false positives.
  bloom.push(3);
  CHECK(bloom.contains(3));

  test::BpffsMount bpffs;
  const auto path = bpffs.dir / "bloom";
  bloom.pin(path);
  auto again = ebpfpp::BloomFilterMap<std::uint64_t>::open_pinned(path);
  CHECK(again.contains(2));
  bloom.unpin();
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("LruPerCpuHashMap: per-CPU sums from the kernel side, eviction instead of E2BIG") {
  auto skel = Skel::open_and_load();
  ebpfpp::LruPerCpuHashMap<std::uint32_t, std::uint64_t> m(skel->maps.lru_pcpu);
  run(skel, "lru_add", {1, 5, 0}, 0);
  run(skel, "lru_add", {1, 7, 0}, 0);
  auto v = m.lookup(1);
  REQUIRE(v);
  CHECK((*v)[0] == 12);
  CHECK(v->sum() == 12);
  // max_entries 4: inserting many keys evicts instead of failing.
  for (std::uint32_t k = 10; k < 40; ++k) m.update(k, 1);
  CHECK(m.keys().size() <= 4 + ebpfpp::detail::possible_cpus());
  // A plain per-CPU hash map is not an LRU one.
  auto plain = ebpfpp::PerCpuHashMap<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_PERCPU_HASH,
                                                                           4, "ebpfpp_pcpu");
  const auto err = what_of([&] {
    ebpfpp::LruPerCpuHashMap<std::uint32_t, std::uint64_t> l(ebpfpp::MapSource::fd(plain.fd()));
  });
  CHECK(err.find("does not fit") != std::string::npos);
  auto created = ebpfpp::LruPerCpuHashMap<std::uint32_t, std::uint64_t>::create(4, "ebpfpp_lru");
  CHECK(created.type() == BPF_MAP_TYPE_LRU_PERCPU_HASH);
}

TEST_CASE("ArrayOfMaps: fill a new inner map, swap it in atomically, read through it") {
  auto skel = Skel::open_and_load();
  ebpfpp::ArrayOfMaps<Inner> outer(skel->maps.outer_array);
  CHECK(outer.spec().view_name.find("ArrayOfMaps<Map<") == 0);
  Inner a(skel->maps.inner_a);
  a.update(1, 10);
  // The object put inner_a at slot 0: both sides see it.
  CHECK(run(skel, "read_through", {0, 0, 1}) == 10);
  REQUIRE(outer.inner_id(0));
  CHECK(*outer.inner_id(0) == a.info().id);
  CHECK_FALSE(outer.inner_id(1));
  CHECK(run(skel, "read_through", {0, 1, 1}) == -1);

  // Double buffer: fill the next map completely, then one set() switches the BPF side.
  auto next = outer.create_inner("ebpfpp_next");
  CHECK(next.max_entries() == 8);
  next.update(1, 20);
  next.update(2, 30);
  outer.set(0, next);
  CHECK(run(skel, "read_through", {0, 0, 1}) == 20);
  CHECK(run(skel, "read_through", {0, 0, 2}) == 30);
  auto current = outer.get(0);
  REQUIRE(current);
  CHECK(current->info().id == next.info().id);
  CHECK(current->lookup(2) == 30u);

  // A map that does not match the template is refused with the rule in the hint.
  auto other = Inner::create(BPF_MAP_TYPE_LRU_HASH, 8, "ebpfpp_other");
  const auto err = what_of([&] { outer.set(1, other); });
  CHECK(err.find("put map 'ebpfpp_other' at key 1 of map of maps 'outer_array'") !=
        std::string::npos);
  CHECK(err.find("template") != std::string::npos);

  CHECK(outer.erase(0));
  CHECK(run(skel, "read_through", {0, 0, 1}) == -1);
  CHECK_FALSE(outer.get(0));
}

TEST_CASE("HashOfMaps: inner maps by key, created like the template, read by both sides") {
  auto skel = Skel::open_and_load();
  ebpfpp::HashOfMaps<std::uint32_t, Inner> outer(skel->maps.outer_hash);
  // Empty: create_inner needs max_entries, and says so.
  CHECK(what_of([&] { outer.create_inner("x"); }).find("pass max_entries") != std::string::npos);
  auto m = outer.create_inner("ebpfpp_inner", 8);
  m.update(3, 33);
  outer.set(7, m);
  CHECK(run(skel, "read_through", {1, 7, 3}) == 33);
  CHECK(run(skel, "read_through", {1, 8, 3}) == -1);
  CHECK(outer.get(7)->lookup(3) == 33u);
  CHECK(outer.erase(7));
  CHECK_FALSE(outer.erase(7));

  // Made from user space alone.
  auto tmpl = Inner::create(BPF_MAP_TYPE_HASH, 4, "ebpfpp_tmpl");
  auto own = ebpfpp::HashOfMaps<std::uint64_t, Inner>::create(2, "ebpfpp_hom", tmpl);
  tmpl.update(1, 1);
  own.set(100, tmpl);
  CHECK(own.get(100)->lookup(1) == 1u);
  CHECK(own.create_inner("ebpfpp_copy").max_entries() == 4);
  // The view type must fit.
  const auto wrong = what_of([&] { ebpfpp::ArrayOfMaps<Inner> a(skel->maps.outer_hash); });
  CHECK(wrong.find("use ebpfpp::HashOfMaps<K, Inner>") != std::string::npos);
}

} // namespace map_kinds_test
