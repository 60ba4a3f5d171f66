#pragma once
// Opening a network namespace file to attach a program to it (SkLookup, FlowDissector): the
// fd, or an Error naming the path when it is missing or not a namespace.

#include "config.hpp"

#include <cerrno>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <sys/statfs.h>

#include "../error.hpp"
#include "format.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

/// Opens the network namespace at `path` (/run/netns/<name>, /proc/<pid>/ns/net). `describe()`
/// says what for, in errors. Throws Error: no such file, not a namespace file (EINVAL).
template <class Describe>
UniqueFd open_netns(const std::filesystem::path& path, Describe&& describe) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail(errno, describe, Op::open_netns);
  constexpr long nsfs_magic = 0x6e736673; // NSFS_MAGIC
  struct statfs st {};
  if (::fstatfs(fd.get(), &st) != 0 || st.f_type != nsfs_magic)
    throw Error(EINVAL, describe(), std::string(hint::not_netns_file));
  return fd;
}

} // namespace ebpfpp::detail
