// The map kinds of issue 12 without a kernel: what each view requires of a map (spec()), the
// hint that names the view fitting a map type, and the checks against a described map.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include <ebpfpp/map.hpp>
#include <ebpfpp/perf_buffer.hpp>
#include <ebpfpp/ring_buffer.hpp>
#include <ebpfpp/system.hpp>
#include <ebpfpp/user_ring_buffer.hpp>

namespace map_kinds_test { // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

struct Ev {
  std::uint64_t a, b;
};

std::string validate_error(const ebpfpp::MapInfo& info, const ebpfpp::detail::ViewSpec& spec) {
  try {
    ebpfpp::detail::validate(info, "m", spec, ebpfpp::TypeCheck::btf);
  } catch (const ebpfpp::Error& e) {
    return e.what();
  }
  return "(no Error thrown)";
}

} // namespace

TEST_CASE("the new map views name themselves and their sizes") {
  using ebpfpp::detail::view_for;
  const auto bloom = ebpfpp::BloomFilterMap<std::uint32_t>::spec();
  CHECK(bloom.view_name == "BloomFilterMap<unsigned int>");
  CHECK(bloom.key_size == 0);
  CHECK(bloom.value_size == 4);
  const auto aom = ebpfpp::ArrayOfMaps<ebpfpp::Map<std::uint32_t, std::uint64_t>>::spec();
  // The compiler spells std::uint64_t ("unsigned long" or "long unsigned int").
  const std::string u64(ebpfpp::detail::type_name<std::uint64_t>());
  CHECK(aom.view_name == "ArrayOfMaps<Map<unsigned int, " + u64 + ">>");
  CHECK(aom.key_size == 4);
  CHECK(aom.value_size == 4);
  const auto hom = ebpfpp::HashOfMaps<std::uint64_t, ebpfpp::ArrayMap<std::uint32_t>>::spec();
  CHECK(hom.view_name == "HashOfMaps<ArrayMap<unsigned int>>");
  CHECK(hom.key_size == 8);
  const auto lru = ebpfpp::LruPerCpuHashMap<std::uint32_t, std::uint64_t>::spec();
  REQUIRE(lru.accepted.size() == 1);
  CHECK(lru.accepted[0] == BPF_MAP_TYPE_LRU_PERCPU_HASH);
  const auto urb = ebpfpp::UserRingBuffer<Ev>::spec();
  CHECK(urb.key_size == 0);
  CHECK(urb.value_size == 0);

  CHECK(view_for(BPF_MAP_TYPE_BLOOM_FILTER) == "BloomFilterMap<V>");
  CHECK(view_for(BPF_MAP_TYPE_ARRAY_OF_MAPS) == "ArrayOfMaps<Inner>");
  CHECK(view_for(BPF_MAP_TYPE_HASH_OF_MAPS) == "HashOfMaps<K, Inner>");
  CHECK(view_for(static_cast<bpf_map_type>(31)) == "UserRingBuffer<Event>");
}

TEST_CASE("a bloom filter of the wrong value size, or a queue, is refused with what fits") {
  ebpfpp::MapInfo info;
  info.type = BPF_MAP_TYPE_BLOOM_FILTER;
  info.value_size = 4;
  CHECK(validate_error(info, ebpfpp::BloomFilterMap<std::uint32_t>::spec()) == "(no Error thrown)");
  CHECK(validate_error(info, ebpfpp::BloomFilterMap<std::uint64_t>::spec())
            .find("the value size is 4 bytes in the kernel but sizeof(" +
                  std::string(ebpfpp::detail::type_name<std::uint64_t>()) + ") is 8") !=
        std::string::npos);
  info.type = BPF_MAP_TYPE_QUEUE;
  CHECK(validate_error(info, ebpfpp::BloomFilterMap<std::uint32_t>::spec())
            .find("use ebpfpp::QueueMap<V>") != std::string::npos);
}

// The one view table (detail/map_views.hpp), from which the checks' hints and ebpfpp-skel's
// generated members come, against what each view itself accepts (its Kind or spec()): a row may
// name only a view that accepts the row's map type, and every map type a view accepts has a row.
TEST_CASE("the view table and the views' own map types agree") {
  namespace d = ebpfpp::detail;
  using u32 = std::uint32_t;
  using u64 = std::uint64_t;
  using ebpfpp::Map;
  const d::ViewSpec views[] = {
      Map<u32, u64>::spec(),
      ebpfpp::ArrayMap<u64>::spec(),
      ebpfpp::MmapArray<u64>::spec(),
      ebpfpp::PerCpuArrayMap<u64>::spec(),
      ebpfpp::PerCpuHashMap<u32, u64>::spec(),
      ebpfpp::LruPerCpuHashMap<u32, u64>::spec(),
      ebpfpp::LpmTrieMap<ebpfpp::Ipv4Prefix, u32>::spec(),
      ebpfpp::QueueMap<u64>::spec(),
      ebpfpp::StackMap<u64>::spec(),
      ebpfpp::BloomFilterMap<u64>::spec(),
      ebpfpp::ArrayOfMaps<Map<u32, u64>>::spec(),
      ebpfpp::HashOfMaps<u32, Map<u32, u64>>::spec(),
      ebpfpp::TaskStorageMap<u64>::spec(),
      ebpfpp::SocketStorageMap<u64>::spec(),
      ebpfpp::InodeStorageMap<u64>::spec(),
      ebpfpp::CgroupStorageMap<u64>::spec(),
      ebpfpp::StackTraceMap<>::spec(),
      ebpfpp::ProgArray::spec(),
      ebpfpp::RingBuffer<Ev>::spec(),
      ebpfpp::UserRingBuffer<Ev>::spec(),
      ebpfpp::PerfBuffer<Ev>::spec(),
      ebpfpp::DevMap<>::spec(),
      ebpfpp::DevMapHash<>::spec(),
      ebpfpp::CpuMap<>::spec(),
      ebpfpp::XskMap::spec(),
      ebpfpp::SockMap<>::spec(),
      ebpfpp::SockHash<u32>::spec(),
      ebpfpp::ReuseportSockArray<>::spec(),
  };
  const auto kind = [](std::string_view view) { return view.substr(0, view.find('<')); };
  const auto accepts = [](const d::ViewSpec& v, bpf_map_type t) {
    return std::find(v.accepted.begin(), v.accepted.end(), t) != v.accepted.end();
  };
  for (const d::MapViewRow& row : d::map_views) {
    CAPTURE(row.view);
    const auto* view = std::find_if(std::begin(views), std::end(views), [&](const d::ViewSpec& v) {
      return kind(v.view_name) == kind(row.view);
    });
    REQUIRE(view != std::end(views));
    CHECK(accepts(*view, row.type));
    CHECK(d::map_view_for(row.type, row.flags) == &row); // no earlier row hides it
  }
  for (const d::ViewSpec& v : views) {
    CAPTURE(v.view_name);
    for (const bpf_map_type t : v.accepted) CHECK(d::map_view_for(t, ~0U) != nullptr);
  }
  // A BPF_F_MMAPABLE array is an MmapArray, any other an ArrayMap; a type with no view, none.
  CHECK(d::view_for(BPF_MAP_TYPE_ARRAY, BPF_F_MMAPABLE) == "MmapArray<V>");
  CHECK(d::view_for(BPF_MAP_TYPE_ARRAY) == "ArrayMap<V>");
  CHECK(d::map_view_for(BPF_MAP_TYPE_CGROUP_ARRAY) == nullptr);
}

TEST_CASE("run_stats is in the feature table with its minimum kernel") {
  const auto& info = ebpfpp::kernel::info(ebpfpp::kernel::Feature::run_stats);
  CHECK(info.name == "run_stats");
  CHECK(info.min_kernel.str() == "5.8");
}

} // namespace map_kinds_test
