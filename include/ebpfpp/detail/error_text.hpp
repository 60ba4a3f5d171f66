#pragma once
// What error.hpp's Error says about an errno, and what it reads from a verifier log: libbpf's own
// error codes as a std::error_category of their own, and the verifier's reason for a rejection.

#include "config.hpp"

#include <string>
#include <string_view>
#include <system_error>

#include <bpf/libbpf.h>

namespace ebpfpp::detail {

/// libbpf's own error codes (LIBBPF_ERRNO__*, 4000 and up: "BPF object format invalid"), which
/// std::generic_category() would print as "Unknown error 4001". They compare equal to no
/// std::errc condition.
class LibbpfCategory : public std::error_category {
public:
  const char* name() const noexcept override { return "libbpf"; }
  std::string message(int ev) const override {
    char buf[128];
    libbpf_strerror(ev, buf, sizeof buf);
    return buf;
  }
};

inline const std::error_category& libbpf_category() noexcept {
  static const LibbpfCategory category;
  return category;
}

/// The category of an errno: libbpf's for its own codes, else the generic (POSIX) one.
inline const std::error_category& category_of(int errnum) noexcept {
  return errnum >= __LIBBPF_ERRNO__START && errnum < __LIBBPF_ERRNO__END ? libbpf_category()
                                                                         : std::generic_category();
}

/// The verifier's reason in a rejection's log: its last line that is not one of the statistics
/// it prints after ("processed N insns", "verification time", "stack depth"); empty if none.
inline std::string verifier_reason(std::string_view log) {
  std::size_t end = log.size();
  while (end > 0) {
    const std::size_t start = log.rfind('\n', end - 1);
    const std::size_t from = start == std::string_view::npos ? 0 : start + 1;
    std::string_view line = log.substr(from, end - from);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (!line.empty() && !line.starts_with("processed ") &&
        !line.starts_with("verification time") && !line.starts_with("stack depth") &&
        !line.starts_with("-- END"))
      return std::string(line);
    if (from == 0) break;
    end = from - 1;
  }
  return {};
}

} // namespace ebpfpp::detail
