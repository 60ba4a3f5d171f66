// The BTF type check of typed map views (issue 18 item 5) against test_map_types.bpf.o's real BTF:
// a C++ type of the right size but another meaning is refused with an Error naming the member
// that differs; one with the same layout (grouped otherwise, through typedefs, qualifiers,
// padding, bitfields, an anonymous struct, a union's member) is accepted.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string>

#include <ebpfpp/dev_map.hpp>
#include <ebpfpp/hash_map.hpp>
#include <ebpfpp/lpm_trie_map.hpp>

#include "helpers.hpp"
#include "test_map_types.bpf.skel.h"

namespace type_check_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_map_types_bpf>;
using ebpfpp::detail::type_name;
using test::what_of;

// For struct pair {__u32 a, b;}: the same layout, then the three of another meaning.
struct Pair {
  std::uint32_t a, b;
};
struct Grouped {
  Pair inner;
};
struct SignedFirst {
  std::int32_t a;
  std::uint32_t b;
};
struct ThreeShorts {
  std::uint16_t a, c;
  std::uint32_t b;
};
// For a char[4] key.
struct TwoShorts {
  std::uint16_t x, y;
};
// For enum color, unsigned in C.
enum class Color : std::uint32_t { red, green, blue };
enum class IntColor { red, green, blue };

// For struct rich: the same layout without the typedefs, qualifiers, padding bitfield and union.
struct Rich {
  std::uint32_t id;
  std::uint16_t port;
  bool flag;
  std::uint64_t ts;
  std::array<char, 8> comm;
  struct {
    std::uint8_t lo, hi;
  } nested;
  std::uint32_t kind : 4, level : 12;
  int : 16;
  Color color;
  std::int32_t prog_fd; // one of the union's members
};
// The union's other member.
struct RichProgId {
  std::uint32_t id;
  std::uint16_t port;
  bool flag;
  std::uint64_t ts;
  std::array<char, 8> comm;
  std::uint8_t lo, hi;
  std::uint32_t kind : 4, level : 12;
  int : 16;
  Color color;
  std::uint32_t prog_id;
};
struct RichWideBits {
  std::uint32_t id;
  std::uint16_t port;
  bool flag;
  std::uint64_t ts;
  std::array<char, 8> comm;
  std::uint8_t lo, hi;
  std::uint32_t kind : 5, level : 11;
  int : 16;
  Color color;
  std::int32_t prog_fd;
};
struct RichNoPaddingBits {
  std::uint32_t id;
  std::uint16_t port;
  bool flag;
  std::uint64_t ts;
  std::array<char, 8> comm;
  std::uint8_t lo, hi;
  std::uint32_t kind : 4, level : 12;
  Color color; // at 28, where BTF has `int : 16`
  std::int32_t prog_fd;
};
struct RichNoFlag {
  std::uint32_t id;
  std::uint16_t port;
  std::uint64_t ts;
  std::array<char, 8> comm;
  std::uint8_t lo, hi;
  std::uint32_t kind : 4, level : 12;
  int : 16;
  Color color;
  std::int32_t prog_fd;
};
struct RichFloatProg {
  std::uint32_t id;
  std::uint16_t port;
  bool flag;
  std::uint64_t ts;
  std::array<char, 8> comm;
  std::uint8_t lo, hi;
  std::uint32_t kind : 4, level : 12;
  int : 16;
  Color color;
  float prog;
};

template <class K, class V>
std::string refusal(bpf_map* map) {
  return what_of([&] { ebpfpp::Map<K, V> m(map); });
}

} // namespace

TEST_CASE("a struct read as another struct or an array of its size names the member that differs") {
  auto skel = Skel::open_and_load();
  const std::string sign = refusal<std::uint32_t, SignedFirst>(skel->maps.by_pair);
  CHECK_MESSAGE(sign.find("view map 'by_pair' (hash) as ebpfpp::Map<unsigned int, ") !=
                    std::string::npos,
                sign);
  CHECK_MESSAGE(sign.find("the value member 0 ('a' in BTF) at offset 0: BTF says '__u32 = "
                          "unsigned int', an unsigned 32-bit integer, but the C++ member 'int' "
                          "is a signed integer") != std::string::npos,
                sign);

  const std::string shorts = refusal<std::uint32_t, ThreeShorts>(skel->maps.by_pair);
  CHECK_MESSAGE(shorts.find("the value member 0 ('a' in BTF) at offset 0: BTF says '__u32 = "
                            "unsigned int', an unsigned 32-bit integer, but the C++ member '" +
                            std::string(type_name<std::uint16_t>()) +
                            "' is an unsigned 16-bit integer") != std::string::npos,
                shorts);

  const std::string array =
      refusal<std::uint32_t, std::array<std::uint32_t, 2>>(skel->maps.by_pair);
  CHECK_MESSAGE(array.find("the value: BTF says 'pair', a struct, but the C++ type 'std::array<"
                           "unsigned int, 2>' is an array of 2") != std::string::npos,
                array);

  // The same layout, however grouped; and size_only lets a reinterpretation through.
  CHECK(refusal<std::uint32_t, Pair>(skel->maps.by_pair) == "(no Error thrown)");
  CHECK(refusal<std::uint32_t, Grouped>(skel->maps.by_pair) == "(no Error thrown)");
  ebpfpp::Map<std::uint32_t, SignedFirst> reinterpreted(skel->maps.by_pair,
                                                        ebpfpp::TypeCheck::size_only);
  reinterpreted.update(1, SignedFirst{-1, 2});
  CHECK(ebpfpp::Map<std::uint32_t, Pair>(skel->maps.by_pair).lookup(1)->a == 0xffffffffu);
}

TEST_CASE("a char array key read as a struct, and an unsigned enum read as int, are refused") {
  auto skel = Skel::open_and_load();
  const std::string key = refusal<TwoShorts, std::uint32_t>(skel->maps.by_name);
  CHECK_MESSAGE(
      key.find("the key: BTF says 'name4 = char[4]', an array of 4, but the C++ type '") !=
          std::string::npos,
      key);
  CHECK_MESSAGE(key.find("TwoShorts' is a struct/class type with 2 members") != std::string::npos,
                key);
  CHECK(refusal<std::array<char, 4>, std::uint32_t>(skel->maps.by_name) == "(no Error thrown)");
  CHECK(refusal<std::array<std::uint8_t, 4>, std::uint32_t>(skel->maps.by_name) ==
        "(no Error thrown)"); // char's sign is the platform's: bytes are bytes

  const std::string en = refusal<std::uint32_t, std::int32_t>(skel->maps.by_color);
  CHECK_MESSAGE(en.find("the value: BTF says 'color', an unsigned 32-bit enum, but the C++ type "
                        "'int' is a signed integer") != std::string::npos,
                en);
  CHECK(refusal<std::uint32_t, std::uint32_t>(skel->maps.by_color) == "(no Error thrown)");
  CHECK(refusal<std::uint32_t, Color>(skel->maps.by_color) == "(no Error thrown)");
  CHECK(refusal<std::uint32_t, IntColor>(skel->maps.by_color) == "(no Error thrown)");
}

TEST_CASE("a struct with padding, bitfields, an anonymous struct and a union is compared member "
          "by member") {
  auto skel = Skel::open_and_load();
  CHECK(refusal<std::uint32_t, Rich>(skel->maps.by_rich) == "(no Error thrown)");
  CHECK(refusal<std::uint32_t, RichProgId>(skel->maps.by_rich) == "(no Error thrown)");

  const std::string bits = refusal<std::uint32_t, RichWideBits>(skel->maps.by_rich);
  CHECK_MESSAGE(bits.find("the value member 7 ('kind' in BTF) at offset 26: BTF says '__u32 = "
                          "unsigned int', a 4-bit bitfield (an unsigned 32-bit integer), but the "
                          "C++ member 'unsigned int' is a 5-bit bitfield") != std::string::npos,
                bits);

  const std::string pad = refusal<std::uint32_t, RichNoPaddingBits>(skel->maps.by_rich);
  CHECK_MESSAGE(pad.find("the value member 9 at offset 28: BTF has padding there, but the C++ "
                         "member is '") != std::string::npos,
                pad);
  CHECK_MESSAGE(pad.find("Color', an enum of unsigned 32-bit integers") != std::string::npos, pad);

  const std::string gap = refusal<std::uint32_t, RichNoFlag>(skel->maps.by_rich);
  CHECK_MESSAGE(gap.find("the value member 'flag' in BTF at offset 6: BTF has '_Bool', a bool, "
                         "where the C++ type has padding") != std::string::npos,
                gap);

  const std::string prog = refusal<std::uint32_t, RichFloatProg>(skel->maps.by_rich);
  CHECK_MESSAGE(prog.find("the value member 10 ('prog' in BTF) at offset 36: BTF says "
                          "'(anonymous union)', a union of 2 members, none of which matches the "
                          "C++ member 'float'") != std::string::npos,
                prog);

  // The values travel as the layout says.
  ebpfpp::Map<std::uint32_t, Rich> rich(skel->maps.by_rich);
  Rich r{};
  r.port = 443;
  r.kind = 9;
  r.level = 1000;
  r.color = Color::blue;
  r.prog_fd = -1;
  rich.update(0, r);
  const auto back = rich.lookup(0);
  REQUIRE(back);
  CHECK(back->kind == 9u);
  CHECK(back->level == 1000u);
  CHECK(back->color == Color::blue);
}

TEST_CASE("ebpfpp's own LpmKey and DevMapValue match a header struct and the kernel's union") {
  auto skel = Skel::open_and_load();
  CHECK(refusal<ebpfpp::LpmKey<4>, ebpfpp::DevMapValue>(skel->maps.by_lpm_key) ==
        "(no Error thrown)");
  // Pair's b is a __u32 like the union's member id: one of the union's meanings.
  CHECK(refusal<ebpfpp::LpmKey<4>, Pair>(skel->maps.by_lpm_key) == "(no Error thrown)");
  const std::string flat = refusal<std::array<std::uint8_t, 8>, Pair>(skel->maps.by_lpm_key);
  CHECK_MESSAGE(flat.find("the key: BTF says 'lpm_key', a struct, but the C++ type "
                          "'std::array<unsigned char, 8>' is an array of 8") != std::string::npos,
                flat);
}

} // namespace type_check_test
