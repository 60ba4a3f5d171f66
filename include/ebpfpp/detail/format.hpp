#pragma once
/// @file
/// detail::format: how every message of the library is built, at the cost of one function call
/// per message instead of template instantiations per call site.
///
/// Why not fmt::format: in C++20 every fmt::format("...", args...) checks its format string at
/// compile time, which instantiates fmt's parser and an argument store for each call site. Over
/// the library's few hundred messages that was a third of what `#include <ebpfpp/ebpfpp.hpp>`
/// cost a tool's build (benchmarks/compile-time gates it). Messages need little: `{}` and `{N}`
/// for strings, integers and bools, and `{:#x}`/`{:02x}`/`{:04o}` for numbers, which is all this
/// supports; what it cannot format stays in the text as written, as a message must never throw.
/// The format strings are still checked: with EBPFPP_CHECK_FORMAT_STRINGS defined, every message
/// goes through fmt::format instead, checked at compile time (the headers test builds that way).

#include "config.hpp"

#ifdef EBPFPP_CHECK_FORMAT_STRINGS

#include <string>
#include <utility>

#include <fmt/format.h>

namespace ebpfpp::detail {

template <class... Args>
std::string format(fmt::format_string<Args...> f, Args&&... args) {
  return fmt::format(f, std::forward<Args>(args)...);
}

} // namespace ebpfpp::detail

#else

#include <charconv>
#include <concepts>
#include <initializer_list>
#include <string>
#include <string_view>

namespace ebpfpp::detail {

/// One argument of a message: a string, an integer, a bool or a char.
class FormatArg {
public:
  FormatArg(std::string_view s) noexcept : s_(s) {}
  FormatArg(const std::string& s) noexcept : s_(s) {}
  FormatArg(const char* s) noexcept : s_(s ? s : "(null)") {}
  FormatArg(bool b) noexcept : s_(b ? "true" : "false") {}
  FormatArg(char c) noexcept : kind_(Kind::character), u_(static_cast<unsigned char>(c)) {}
  template <std::signed_integral I>
  FormatArg(I i) noexcept
      : kind_(i < 0 ? Kind::negative : Kind::number),
        u_(i < 0 ? 0 - static_cast<unsigned long long>(i) : static_cast<unsigned long long>(i)) {}
  template <std::unsigned_integral U>
  requires(!std::same_as<U, bool>) FormatArg(U u)
  noexcept : kind_(Kind::number), u_(u) {}

  /// Appends the value as `{}` or `{:SPEC}` says; SPEC is [#][0][width][x|o|d].
  void append_to(std::string& out, std::string_view spec) const {
    if (kind_ == Kind::string) {
      out += s_; // a spec (none of the library's messages has one) is ignored
      return;
    }
    if (kind_ == Kind::character) {
      out += static_cast<char>(u_);
      return;
    }
    bool alt = false, zero = false;
    std::size_t width = 0;
    int base = 10;
    std::size_t i = 0;
    if (i < spec.size() && spec[i] == '#') {
      alt = true;
      ++i;
    }
    if (i < spec.size() && spec[i] == '0') {
      zero = true;
      ++i;
    }
    for (; i < spec.size() && spec[i] >= '0' && spec[i] <= '9'; ++i)
      width = width * 10 + static_cast<std::size_t>(spec[i] - '0');
    if (i < spec.size() && (spec[i] == 'x' || spec[i] == 'o' || spec[i] == 'd')) {
      base = spec[i] == 'x' ? 16 : spec[i] == 'o' ? 8 : 10;
      ++i;
    }
    if (i != spec.size()) { // not a spec this supports: the number as {} prints it
      alt = zero = false;
      width = 0;
      base = 10;
    }
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, u_, base);
    std::string_view prefix = kind_ == Kind::negative ? "-" : "";
    std::string_view body(digits, static_cast<std::size_t>(r.ptr - digits));
    std::string_view radix = alt && base == 16 ? "0x" : "";
    const std::size_t len = prefix.size() + radix.size() + body.size();
    const std::size_t pad = width > len ? width - len : 0;
    if (!zero) out.append(pad, ' ');
    out += prefix;
    out += radix;
    if (zero) out.append(pad, '0');
    out += body;
  }

private:
  enum class Kind : unsigned char { string, number, negative, character };
  Kind kind_ = Kind::string;
  std::string_view s_;
  unsigned long long u_ = 0;
};

/// `f` with each `{}` or `{:SPEC}` replaced by the next argument, `{N}` or `{N:SPEC}` by argument
/// N; `{{` and `}}` are braces.
inline std::string vformat(std::string_view f, std::initializer_list<FormatArg> args) {
  std::string out;
  out.reserve(f.size() + 16 * args.size());
  std::size_t next = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if ((c == '{' || c == '}') && i + 1 < f.size() && f[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const std::size_t close = f.find('}', i);
    std::string_view field =
        f.substr(i + 1, close == std::string_view::npos ? std::string_view::npos : close - i - 1);
    std::size_t index = args.size(); // a named field, say: not supported
    if (field.empty() || field.front() == ':') index = next++;
    if (!field.empty() && field.front() >= '0' && field.front() <= '9') {
      index = 0;
      while (!field.empty() && field.front() >= '0' && field.front() <= '9') {
        index = index * 10 + static_cast<std::size_t>(field.front() - '0');
        field.remove_prefix(1);
      }
    }
    if (!field.empty() && field.front() == ':')
      field.remove_prefix(1);
    else if (!field.empty())
      index = args.size(); // a named field: not supported
    // Never a throw while an error message is built: what cannot be formatted stays as written
    // (EBPFPP_CHECK_FORMAT_STRINGS catches it at compile time).
    if (close == std::string_view::npos || index >= args.size()) {
      out += f.substr(i, close == std::string_view::npos ? std::string_view::npos : close - i + 1);
      if (close == std::string_view::npos) break;
      i = close;
      continue;
    }
    args.begin()[index].append_to(out, field);
    i = close;
  }
  return out;
}

/// fmt::format's syntax, for the argument kinds and specs above.
template <class... Args>
std::string format(std::string_view f, const Args&... args) {
  return vformat(f, {FormatArg(args)...});
}

} // namespace ebpfpp::detail

#endif
