#pragma once
/// @file
/// KernelVersion: a Linux version as major.minor.patch, for the feature table's minimum kernels
/// and for FeatureError ("needs kernel 6.6+, this is 6.1").

#include "detail/config.hpp"

#include <compare>
#include <string>
#include <string_view>

#include <sys/utsname.h>

#include "detail/format.hpp"

namespace ebpfpp {

/// A kernel version. Compares field by field; {0, 0, 0} means "unknown".
struct KernelVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;

  friend constexpr bool operator==(const KernelVersion&, const KernelVersion&) = default;
  friend constexpr std::strong_ordering operator<=>(const KernelVersion& a,
                                                    const KernelVersion& b) noexcept {
    if (const auto c = a.major <=> b.major; std::is_neq(c)) return c;
    if (const auto c = a.minor <=> b.minor; std::is_neq(c)) return c;
    return a.patch <=> b.patch;
  }

  /// Whether this is a real version (not {0, 0, 0}).
  constexpr explicit operator bool() const noexcept { return major != 0 || minor != 0; }

  /// "6.6" (the patch level only when it is not 0: "5.10.3").
  std::string str() const {
    return patch ? detail::format("{}.{}.{}", major, minor, patch)
                 : detail::format("{}.{}", major, minor);
  }

  /// Parses the leading "X.Y[.Z]" of a release string such as "6.1.0-27-amd64"; {0, 0, 0} when
  /// there is none.
  static constexpr KernelVersion parse(std::string_view release) noexcept {
    KernelVersion v;
    int* fields[] = {&v.major, &v.minor, &v.patch};
    std::size_t pos = 0;
    for (int* field : fields) {
      if (pos >= release.size() || release[pos] < '0' || release[pos] > '9') break;
      int n = 0;
      while (pos < release.size() && release[pos] >= '0' && release[pos] <= '9')
        n = n * 10 + (release[pos++] - '0');
      *field = n;
      if (pos >= release.size() || release[pos] != '.') break;
      ++pos;
    }
    return v.major ? v : KernelVersion{};
  }

  /// The running kernel's version (uname), read once.
  static KernelVersion running() noexcept {
    static const KernelVersion v = [] {
      utsname u{};
      ::uname(&u);
      return parse(u.release);
    }();
    return v;
  }
};

} // namespace ebpfpp
