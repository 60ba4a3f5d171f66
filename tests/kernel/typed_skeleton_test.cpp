// The typed skeleton ebpfpp-skel generates (test_skel.bpf.skel.hpp, from bpf/test_skel.bpf.c's
// BTF), on the running kernel. That this file compiles is half the test: the generated header's
// static_asserts hold every emitted struct, union, enum and typedef to the BPF side's sizes and
// offsets, and the ones below hold each map to the view of its kind with its BTF key and value.
// The other half: a loaded skeleton's maps take and give back typed values, and its program's
// event arrives typed through the ring buffer named by EBPFPP_EVENT.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>

#include "test_skel.bpf.skel.hpp"

namespace typed_skeleton_test { // one per file: the test binaries are unity builds
                                // (tests/meson.build)

namespace {

namespace ts = test_skel;

// Each map is the view of its kind, typed from BTF; a stream's record type is the EBPFPP_EVENT
// mark's, and a stream without one reads bytes.
static_assert(std::is_same_v<
              decltype(ts::Maps::points),
              ebpfpp::SkeletonMap<ts::map::points, ebpfpp::Map<ts::skel_key, ts::skel_point>>>);
static_assert(std::is_same_v<decltype(ts::Maps::words),
                             ebpfpp::SkeletonMap<ts::map::words, ebpfpp::ArrayMap<ts::skel_word>>>);
static_assert(
    std::is_same_v<decltype(ts::Maps::hits),
                   ebpfpp::SkeletonMap<ts::map::hits, ebpfpp::PerCpuArrayMap<std::uint64_t>>>);
static_assert(std::is_same_v<
              decltype(ts::Maps::colors),
              ebpfpp::SkeletonMap<ts::map::colors, ebpfpp::Map<std::uint64_t, ts::skel_color>>>);
// A view that takes no key is a SkeletonView: it carries the map's tag too (for the compile error
// of the map given as another view), and is its view.
static_assert(
    std::is_same_v<decltype(ts::Maps::events),
                   ebpfpp::SkeletonView<ts::map::events, ebpfpp::RingBuffer<ts::skel_event>>>);
static_assert(
    std::is_same_v<decltype(ts::Maps::raw),
                   ebpfpp::SkeletonView<ts::map::raw, ebpfpp::RingBuffer<ebpfpp::Bytes>>>);
static_assert(std::is_same_v<decltype(ts::Maps::jumps),
                             ebpfpp::SkeletonView<ts::map::jumps, ebpfpp::ProgArray>>);
static_assert(std::is_base_of_v<ebpfpp::ProgArray, decltype(ts::Maps::jumps)>);
// A map of maps is typed by its inner map's definition (`__array(values, struct inner)` in BTF):
// the inner map's kind, key and value, as the view that get() and create_inner() give.
static_assert(
    std::is_same_v<
        decltype(ts::Maps::tables),
        ebpfpp::SkeletonView<ts::map::tables,
                             ebpfpp::ArrayOfMaps<ebpfpp::Map<std::uint32_t, std::uint64_t>>>>);
static_assert(
    std::is_same_v<
        decltype(ts::Maps::word_sets),
        ebpfpp::SkeletonView<ts::map::word_sets,
                             ebpfpp::HashOfMaps<std::uint64_t, ebpfpp::ArrayMap<ts::skel_word>>>>);
// Each program is a Program whose type names it (for the compile error of a program given as a
// map), and passes as a plain Program.
static_assert(
    std::is_same_v<decltype(ts::Programs::produce), ebpfpp::SkeletonProgram<ts::prog::produce>>);
static_assert(std::is_convertible_v<const ebpfpp::SkeletonProgram<ts::prog::produce>&,
                                    const ebpfpp::Program&>);
// An LPM trie's {__u32 prefixlen; __u8 addr[4]} key is ebpfpp's Ipv4Prefix, whatever its C name.
static_assert(
    std::is_same_v<decltype(ts::Maps::nets4),
                   ebpfpp::SkeletonMap<ts::map::nets4,
                                       ebpfpp::LpmTrieMap<ebpfpp::Ipv4Prefix, std::uint32_t>>>);
static_assert(
    std::is_same_v<
        decltype(ts::Maps::nets6),
        ebpfpp::SkeletonMap<ts::map::nets6, ebpfpp::LpmTrieMap<ebpfpp::Ipv6Prefix, std::uint8_t>>>);
// Enumerators and typedefs come along with the types that use them.
static_assert(ts::SKEL_BLUE == 300 && sizeof(ts::skel_port_t) == 2);
// A key fits when it is the map's, or an integer that loses no bits; not a wider one.
static_assert(ebpfpp::detail::key_fits<std::uint32_t, int>);
static_assert(!ebpfpp::detail::key_fits<std::uint32_t, std::uint64_t>);
static_assert(!ebpfpp::detail::key_fits<ts::skel_key, std::uint64_t>);

ts::skel_point sample_point() {
  ts::skel_point p{};
  p.x = -1234567890123;
  p.delta[0] = {-3, 4};
  p.delta[1] = {5, -6};
  p.color = ts::SKEL_BLUE;
  p.as_float = 1.5F;
  std::strcpy(p.label, "eleven char");
  return p;
}

ts::skel_key sample_key() {
  ts::skel_key k{};
  k.id = 1;
  k.port = 80;
  k.flags = 5;
  return k;
}

bool same_point(const ts::skel_point& a, const ts::skel_point& b) {
  return a.x == b.x && a.delta[0].dx == b.delta[0].dx && a.delta[0].dy == b.delta[0].dy &&
         a.delta[1].dx == b.delta[1].dx && a.delta[1].dy == b.delta[1].dy && a.color == b.color &&
         a.as_int == b.as_int && std::strcmp(a.label, b.label) == 0;
}

} // namespace

TEST_CASE("a generated skeleton's maps round-trip typed values and its event arrives typed") {
  auto skel = ts::Skeleton::open();
  CHECK(skel.progs.produce.name() == "produce");
  CHECK_FALSE(skel.maps.points); // maps are made by load()
  skel.rodata()->seq_base = 100;
  skel.load();
  CHECK(skel.data()->marker == 7);

  const ts::skel_key key = sample_key();
  skel.maps.points.update(key, sample_point());
  const auto back = skel.maps.points.lookup(key);
  REQUIRE(back);
  CHECK(same_point(*back, sample_point()));
  CHECK(skel.maps.points.contains(key));

  ts::skel_word w{};
  w.halves[0] = 0xdeadbeef;
  w.halves[1] = 0x01020304;
  skel.maps.words.update(0, w); // an int index fits the u32 key
  CHECK(skel.maps.words.get(0).whole == w.whole);

  skel.maps.colors.update(std::uint64_t{9}, ts::SKEL_GREEN);
  CHECK(skel.maps.colors.lookup(std::uint64_t{9}) == ts::SKEL_GREEN);
  CHECK(skel.maps.colors.erase(std::uint32_t{9})); // a narrower integer key fits
  CHECK_FALSE(skel.maps.colors.contains(std::uint64_t{9}));

  // The LPM tries take ebpfpp's prefixes as they are, and match the longest one.
  skel.maps.nets4.update(ebpfpp::Ipv4Prefix::parse("10.0.0.0/8"), std::uint32_t{8});
  skel.maps.nets4.update(ebpfpp::Ipv4Prefix::parse("10.1.0.0/16"), std::uint32_t{16});
  CHECK(skel.maps.nets4.lookup(ebpfpp::Ipv4Prefix::parse("10.1.2.3")) == 16U);
  CHECK(skel.maps.nets4.lookup(ebpfpp::Ipv4Prefix::parse("10.2.2.3")) == 8U);
  CHECK_FALSE(skel.maps.nets4.lookup(ebpfpp::Ipv4Prefix::parse("11.0.0.1")));
  skel.maps.nets6.update(ebpfpp::Ipv6Prefix::parse("fd00::/8"), std::uint8_t{6});
  CHECK(skel.maps.nets6.lookup(ebpfpp::Ipv6Prefix::parse("fd12::1")) == std::uint8_t{6});

  CHECK(skel.maps.jumps.fd() >= 0);
  CHECK(skel.progs.produce.test_run().return_value == 0);
  CHECK(skel.maps.hits.get(0).sum() == 1);
  CHECK(skel.bss()->runs == 1);

  const ts::skel_event* e = skel.maps.events.try_next();
  REQUIRE(e != nullptr);
  CHECK(e->key.id == 1);
  CHECK(e->key.port == 80);
  CHECK(e->key.flags == 5);
  CHECK(same_point(e->point, sample_point()));
  CHECK(e->word.whole == w.whole);
  CHECK(e->seq == 101);
  skel.maps.events.release();
  CHECK(skel.maps.events.drops() == 0);

  const auto raw = skel.maps.raw.try_next_bytes();
  REQUIRE(raw);
  REQUIRE(raw->size() == 4);
  std::uint32_t tag = 0;
  std::memcpy(&tag, raw->data(), sizeof tag);
  CHECK(tag == 0x5ce1e7);
}

TEST_CASE("a generated skeleton's maps of maps take inner maps that its program counts through") {
  auto skel = ts::Skeleton::open_and_load();
  // Nothing in either outer map yet: the program finds neither inner map (1 | 2).
  CHECK(skel.progs.count_inner.test_run().return_value == 3);

  // An inner map of the template's kind, made by the typed member itself, put at slot 0.
  auto counts = skel.maps.tables.create_inner("skel_counts", 8);
  skel.maps.tables.set(0, counts);
  CHECK(skel.progs.count_inner.test_run().return_value == 2); // found tables[0], not word_sets[9]
  CHECK(skel.progs.count_inner.test_run().return_value == 2);
  CHECK(skel.progs.count_inner.test_run().return_value == 2);
  CHECK(counts.lookup(7) == 3U); // inserted at the first run, +1 at each of the two others
  CHECK(counts.lookup(6) == std::nullopt);
  // Read back through the outer map: the same map, by the id the kernel answers with.
  REQUIRE(skel.maps.tables.inner_id(0) == counts.info().id);
  const auto again = skel.maps.tables.get(0);
  REQUIRE(again);
  CHECK(again->lookup(7) == 3U);
  CHECK_FALSE(skel.maps.tables.get(1));

  auto words = skel.maps.word_sets.create_inner("skel_words", 4);
  ts::skel_word w{};
  w.whole = 40;
  words.update(1, w);
  skel.maps.word_sets.set(std::uint64_t{9}, words);
  CHECK(skel.progs.count_inner.test_run().return_value == 0); // both found
  CHECK(words.get(1).whole == 41);
  CHECK(words.get(0).whole == 0);
  CHECK(counts.lookup(7) == 4U);

  // Emptied slots: the program finds neither again, and counts nothing more.
  CHECK(skel.maps.tables.erase(0));
  CHECK(skel.maps.word_sets.erase(std::uint64_t{9}));
  CHECK(skel.progs.count_inner.test_run().return_value == 3);
  CHECK(counts.lookup(7) == 4U);
  CHECK(words.get(1).whole == 41);
}

TEST_CASE("a generated skeleton moves with its programs and maps, and its views outlive it") {
  auto skel = ts::Skeleton::open_and_load();
  ts::Skeleton moved = std::move(skel);
  CHECK_FALSE(skel);
  CHECK(moved.progs.produce.fd() >= 0);
  auto points = std::move(moved.maps.points);
  moved.reset();
  points.update(sample_key(), sample_point()); // the view owns its fd: the map is still there
  CHECK(points.lookup(sample_key()));
}

} // namespace typed_skeleton_test
