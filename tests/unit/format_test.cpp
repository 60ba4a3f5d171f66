// detail::format, which builds every message of the library (detail/format.hpp): fmt's syntax
// for the kinds of argument and the specs messages use, the same text fmt::format gives.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include <ebpfpp/detail/format.hpp>
#include <fmt/format.h>

namespace format_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using ebpfpp::detail::format;

TEST_CASE("detail::format gives what fmt::format gives for the messages' arguments and specs") {
  const std::string s = "map";
  const std::string_view sv = "events";
  CHECK(format("attach '{}' to '{}'", s, sv) == fmt::format("attach '{}' to '{}'", s, sv));
  CHECK(format("{} {} {} {}", -5, 7u, std::int64_t{-9223372036854775807 - 1},
               std::uint64_t{18446744073709551615u}) ==
        fmt::format("{} {} {} {}", -5, 7u, std::int64_t{-9223372036854775807 - 1},
                    std::uint64_t{18446744073709551615u}));
  CHECK(format("{} {} {}", true, 'x', "lit") == fmt::format("{} {} {}", true, 'x', "lit"));
  CHECK(format("{:#x} {:02x} {:02x} {:#x}", 255u, std::uint8_t{5}, std::uint8_t{0xab}, 0) ==
        fmt::format("{:#x} {:02x} {:02x} {:#x}", 255u, std::uint8_t{5}, std::uint8_t{0xab}, 0));
  CHECK(format("{:6} {:06} {:x}", 42, 42, 3054u) == fmt::format("{:6} {:06} {:x}", 42, 42, 3054u));
  CHECK(format("mode {:04o} {:o}", 0600u, 0755) == fmt::format("mode {:04o} {:o}", 0600u, 0755));
  CHECK(format("push to {0} '{1}': {0} '{1}' is full ({2})", "queue", s, 8) ==
        fmt::format("push to {0} '{1}': {0} '{1}' is full ({2})", "queue", s, 8));
  CHECK(format("{{literal}} {}", 1) == fmt::format("{{literal}} {}", 1));
  const char* null = nullptr;
  CHECK(format("{}", null) == "(null)");
}

TEST_CASE("detail::format never throws: what it cannot format stays in the text as written") {
  CHECK(format("{} {}", 1) == "1 {}");
  CHECK(format("{:.2f}", 7) == "7");
  CHECK(format("{name} {}", 1) == "{name} 1");
  CHECK(format("{:x}", "text") == "text");
  CHECK(format("open {", 1) == "open {");
}

} // namespace format_test
