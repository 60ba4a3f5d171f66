#include <doctest/doctest.h>

#include <algorithm>

#include <cstring>
#include <string_view>

#include <ebpfpp/strings.hpp>

namespace strings_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using ebpfpp::to_string_view;
using namespace std::string_view_literals;

TEST_CASE("to_string_view stops at the first NUL of a char array field") {
  char comm[16] = {};
  std::copy_n("bash", 4, comm);
  CHECK(to_string_view(comm) == "bash"sv);
  CHECK(to_string_view(comm).size() == 4);
  CHECK(to_string_view(comm).data() == comm); // a view, not a copy
}

TEST_CASE("to_string_view of a field filled to its end with no NUL is the whole field") {
  char comm[16];
  std::copy_n("0123456789abcdef", 16, comm); // a 16-character name: no room for a NUL
  CHECK(to_string_view(comm) == "0123456789abcdef"sv);
}

TEST_CASE("to_string_view of an empty field, and text after the NUL is not read") {
  const char empty[8] = {};
  CHECK(to_string_view(empty).empty());
  const char two[8] = {'a', 'b', '\0', 'x', 'y', '\0', 0, 0};
  CHECK(to_string_view(two) == "ab"sv);
}

TEST_CASE("to_string_view is constexpr and noexcept") {
  static constexpr char field[6] = {'h', 'e', 'l', 'l', 'o', '\0'};
  static_assert(to_string_view(field) == "hello"sv);
  static_assert(to_string_view("abc").size() == 3);
  static_assert(noexcept(to_string_view(field)));
}

} // namespace strings_test
