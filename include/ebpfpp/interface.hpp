#pragma once
/// @file
/// Interface: a network interface named by name ("eth0") or index, resolved once, in the calling
/// thread's network namespace. XDP and TC attachments take one.
///
///     ebpfpp::Xdp xdp(skel.program("count"), "eth0");          // by name
///     ebpfpp::Xdp xdp2(skel.program("count"), ebpfpp::Interface(2));  // by index

#include "detail/config.hpp"

#include <cerrno>
#include <string>
#include <string_view>

#include <net/if.h>

#include "detail/format.hpp"
#include "error.hpp"

namespace ebpfpp {

/// A network interface of the calling thread's network namespace. Throws Error (ENODEV, naming
/// it) when there is no such interface.
class Interface {
public:
  /// By name, e.g. "eth0".
  Interface(std::string_view name) : name_(name) { // NOLINT: implicit, Xdp(prog, "eth0")
    const unsigned index = name_.size() < IF_NAMESIZE ? ::if_nametoindex(name_.c_str()) : 0;
    if (index == 0) throw not_found(detail::format("network interface '{}'", name_));
    index_ = static_cast<int>(index);
  }
  Interface(const char* name) : Interface(std::string_view(name)) {}        // NOLINT: implicit
  Interface(const std::string& name) : Interface(std::string_view(name)) {} // NOLINT: implicit
  /// By index (as `ip link` numbers them).
  explicit Interface(int index) : index_(index) {
    char buf[IF_NAMESIZE] = {};
    if (index <= 0 || !::if_indextoname(static_cast<unsigned>(index), buf))
      throw not_found(detail::format("network interface with index {}", index));
    name_ = buf;
  }

  /// The interface's index in its namespace.
  int index() const noexcept { return index_; }
  /// Its name (as it was when resolved).
  const std::string& name() const noexcept { return name_; }

private:
  static Error not_found(const std::string& what) {
    return Error(ENODEV, detail::format("find {}", what),
                 detail::hint_for(ENODEV, detail::Op::attach_network));
  }

  std::string name_;
  int index_ = 0;
};

} // namespace ebpfpp
