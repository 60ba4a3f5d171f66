// The BTF type check without a kernel: what C++ can tell of a key or value type (type_shape.hpp),
// and the comparison (map_check.hpp) against BTF built in memory, hostile BTF included.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ebpfpp/detail/map_check.hpp>

namespace type_check_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using ebpfpp::detail::describe;
using ebpfpp::detail::TypeNode;

std::vector<TypeNode> nodes_of(ebpfpp::detail::DescribeFn fn) {
  std::vector<TypeNode> out;
  fn(out, 0, 0);
  return out;
}

struct Bits {
  std::uint32_t a : 4, b : 12;
  std::uint16_t c;
  bool flag;
};
struct __attribute__((packed)) Packed {
  char c;
  std::int32_t x;
};
struct Inner {
  std::uint8_t lo, hi;
};
struct Outer {
  std::uint64_t ts;
  Inner inner;
  char comm[6];
  std::array<std::int16_t, 2> pair;
};
// Structs C++ cannot list: they are opaque, and compile.
struct Base {
  std::uint32_t x;
};
struct Derived : Base {};
struct AnonymousUnion {
  std::uint32_t a;
  union {
    std::uint32_t b;
    float f;
  };
};
struct ConstMember {
  const std::uint32_t a = 0;
  std::uint32_t b;
};
class Private {
  std::uint32_t a_ = 0;

public:
  std::uint32_t a() const { return a_; }
};
struct Many {
  std::uint8_t m[25]; // one member
  std::uint8_t m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15, m16, m17, m18,
      m19, m20, m21, m22, m23, m24;
};

struct BtfFree {
  void operator()(btf* b) const noexcept { btf__free(b); }
};

} // namespace

TEST_CASE("a C++ type is described member by member: offsets, bitfields, arrays, nesting") {
  const auto bits = nodes_of(&describe<Bits>);
  REQUIRE(bits.size() == 5);
  CHECK(bits[0].kind == TypeNode::record);
  CHECK(bits[0].count == 4);
  CHECK(bits[1].bit_offset == 0);
  CHECK(bits[1].bit_size == 4);
  CHECK(bits[2].bit_offset == 4);
  CHECK(bits[2].bit_size == 12);
  CHECK(bits[3].bit_offset == 16);
  CHECK(bits[3].bit_size == 0);
  CHECK(bits[4].kind == TypeNode::boolean);
  CHECK(bits[4].bit_offset == 32);

  const auto packed = nodes_of(&describe<Packed>);
  REQUIRE(packed.size() == 3);
  CHECK(packed[2].bit_offset == 8);
  CHECK(packed[2].is_signed);

  const auto outer = nodes_of(&describe<Outer>);
  REQUIRE(outer.size() == 9);
  CHECK(outer[2].kind == TypeNode::record); // inner
  CHECK(outer[2].bit_offset == 64);
  CHECK(outer[4].bit_offset == 8); // hi, within inner
  CHECK(outer[5].kind == TypeNode::array);
  CHECK(outer[5].count == 6);
  CHECK(outer[5].bit_offset == 80);
  CHECK(outer[6].is_char);
  CHECK(outer[7].kind == TypeNode::array);
  CHECK(outer[7].bit_offset == 128);
  CHECK(outer[8].is_signed);
}

TEST_CASE("structs whose members C++ cannot list are opaque and still compile") {
  for (const auto fn : {&describe<Derived>, &describe<AnonymousUnion>, &describe<ConstMember>,
                        &describe<Private>, &describe<Many>}) {
    const auto n = nodes_of(fn);
    REQUIRE(n.size() == 1);
    CHECK(n[0].kind == TypeNode::opaque);
  }
}

TEST_CASE("the comparison against BTF built in memory, hostile BTF included") {
  std::unique_ptr<btf, BtfFree> b(btf__new_empty());
  REQUIRE(b);
  const int u32 = btf__add_int(b.get(), "unsigned int", 4, 0);
  const int s32 = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  const int pair = btf__add_struct(b.get(), "pair", 8);
  REQUIRE(btf__add_field(b.get(), "a", u32, 0, 0) == 0);
  REQUIRE(btf__add_field(b.get(), "b", u32, 32, 0) == 0);
  const int negative = btf__add_enum(b.get(), "delta", 4);
  REQUIRE(btf__add_enum_value(b.get(), "down", -1) == 0);
  REQUIRE(btf__add_enum_value(b.get(), "up", 1) == 0);
  // A struct that holds itself (its member past its end): the check gives up, without a crash.
  const int loop = btf__add_struct(b.get(), "loop", 8);
  REQUIRE(btf__add_field(b.get(), "a", u32, 0, 0) == 0);
  REQUIRE(btf__add_field(b.get(), "self", loop, 32, 0) == 0);
  const int cnst = btf__add_const(b.get(), s32);
  REQUIRE(cnst > 0);

  using ebpfpp::detail::btf_mismatch;
  struct P {
    std::uint32_t x, y;
  };
  struct S {
    std::int32_t x;
    std::uint32_t y;
  };
  CHECK_FALSE(btf_mismatch(b.get(), pair, &describe<P>, true));
  const auto d = btf_mismatch(b.get(), pair, &describe<S>, true);
  CHECK(d.where == "member 0 ('a' in BTF) at offset 0");
  CHECK(d.what == "BTF says 'unsigned int', an unsigned 32-bit integer, but the C++ member 'int' "
                  "is a signed integer");
  // A signed enum (kflag, or a negative enumerator from an older producer): int matches it.
  CHECK_FALSE(btf_mismatch(b.get(), negative, &describe<std::int32_t>, true));
  CHECK_FALSE(btf_mismatch(b.get(), loop, &describe<P>, true));
  // const says nothing of layout; the sign is checked through it, except for array indexes.
  CHECK_FALSE(btf_mismatch(b.get(), cnst, &describe<std::int32_t>, true));
  CHECK(btf_mismatch(b.get(), cnst, &describe<std::uint32_t>, true).what ==
        "BTF says 'int', a signed 32-bit integer, but the C++ type 'unsigned int' is an unsigned "
        "integer");
  CHECK_FALSE(btf_mismatch(b.get(), cnst, &describe<std::uint32_t>, false));
  // No description (a stream's records): nothing checked.
  CHECK_FALSE(btf_mismatch(b.get(), pair, nullptr, true));
}

} // namespace type_check_test
