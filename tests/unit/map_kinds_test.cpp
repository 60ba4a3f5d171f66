// The map kinds of issue 12 without a kernel: what each view requires of a map (spec()), the
// hint that names the view fitting a map type, and the checks against a described map.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include <ebpfpp/map.hpp>
#include <ebpfpp/system.hpp>
#include <ebpfpp/user_ring_buffer.hpp>

namespace map_kinds_test {  // one per file: the test binaries are unity builds (tests/meson.build)

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

TEST_CASE("run_stats is in the feature table with its minimum kernel") {
  const auto& info = ebpfpp::kernel::info(ebpfpp::kernel::Feature::run_stats);
  CHECK(info.name == "run_stats");
  CHECK(info.min_kernel.str() == "5.8");
}

} // namespace map_kinds_test
