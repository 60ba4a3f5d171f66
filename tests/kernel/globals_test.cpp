// globals.hpp on the running kernel: test_globals.bpf.o opened as an Object (no skeleton), its
// globals written before load and read back by the BPF side, written by the BPF side and read
// here, and written after load (.data) with the BPF side observing it.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include <ebpfpp/globals.hpp>
#include <ebpfpp/object.hpp>

#include "helpers.hpp"

namespace globals_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

struct Pair {
  std::uint32_t a, b;
};

using test::what_of;

int observe(const ebpfpp::Object& obj) {
  return static_cast<int>(obj.program("observe").test_run().return_value);
}

} // namespace

TEST_CASE("Object::variable: globals written before load, read and written both ways after") {
  // .bss/.data are mmap-ed BPF_F_MMAPABLE arrays where the kernel has them.
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::mmapable_maps)) EBPFPP_SKIP(*r);
  auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_globals.bpf.o");
  auto multiplier = obj.variable<std::uint32_t>("multiplier");
  auto step = obj.variable<std::uint32_t>("step");
  auto counter = obj.variable<std::uint64_t>("counter");
  auto pair = obj.variable<Pair>("pair_g");
  CHECK(multiplier.section() == ".rodata");
  CHECK(step.section() == ".data");
  CHECK(counter.section() == ".bss");
  CHECK(multiplier.read_only());
  CHECK_FALSE(step.read_only());
  CHECK(multiplier.get() == 1);
  CHECK(pair.get().b == 2);

  // Before load: every section is writable.
  multiplier.set(3);
  step = 2;
  counter.set(10);
  pair.set({20, 22});
  obj.load();

  // The BPF side saw the initial values and wrote back: 10 + 2 * 3.
  CHECK(observe(obj) == 16);
  CHECK(counter.get() == 16);
  CHECK(obj.variable<std::int32_t>("last_seen").get() == 42);
  CHECK(multiplier.get() == 3); // .rodata stays readable

  // After load: .data and .bss written here are what the next run sees.
  step.set(5);
  counter.set(100);
  CHECK(observe(obj) == 115);
  CHECK(counter == 115u);

  // .rodata is frozen.
  const auto frozen = what_of([&] { multiplier.set(4); });
  CHECK(frozen.find("write global 'multiplier' (.rodata) after load") != std::string::npos);
  CHECK(frozen.find("between open and load") != std::string::npos);
  CHECK(multiplier.get() == 3);
}

TEST_CASE("Object::variable: a missing global or a type that does not fit throws an Error") {
  auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_globals.bpf.o");
  const auto missing = what_of([&] { obj.variable<int>("nope"); });
  CHECK(missing.find("find global 'nope'") != std::string::npos);
  CHECK(missing.find("'counter'") != std::string::npos);
  const auto size = what_of([&] { obj.variable<std::uint64_t>("step"); });
  CHECK(size.find("it is 4 bytes but sizeof(") != std::string::npos);
  const auto sign = what_of([&] { obj.variable<std::int64_t>("counter"); });
  CHECK(sign.find("unsigned") != std::string::npos);
  const auto kind = what_of([&] { obj.variable<std::uint64_t>("pair_g"); });
  CHECK(kind.find("a struct") != std::string::npos);
  CHECK(what_of([&] { obj.variable<Pair>("pair_g"); }) == "(no Error thrown)");
}

} // namespace globals_test
