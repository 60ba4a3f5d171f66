#pragma once
// Attaching a program to a network namespace (SkLookup, FlowDissector): opening the namespace
// file (the fd, or an Error naming the path when it is missing or not a namespace) and the netns
// link (BPF_LINK_CREATE on the namespace's fd), described the same way for every such hook.

#include "config.hpp"

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>

#include <bpf/libbpf.h>

#include <fcntl.h>
#include <sys/statfs.h>

#include "../error.hpp"
#include "../kernel.hpp"
#include "../program.hpp"
#include "attach.hpp"
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

/// A kind of program that attaches to a network namespace, as errors name it.
struct NetnsHook {
  std::string_view link;    // "sk_lookup": "attach sk_lookup on network namespace 'x' ..."
  std::string_view program; // "sk_lookup program": "open network namespace 'x' to attach ..."
  kernel::Feature feature;
  // The hint when the namespace allows one such program and has it (E2BIG for a second link,
  // EEXIST for one beside the initial namespace's); empty: the table's hint for the errno.
  std::string_view taken_hint = {};
};

/// Attaches `prog` as `hook` to the namespace open at `netns_fd` (not taken over); `where` names
/// the namespace in errors. (L is always Link, as for attach_link.) Throws Error, FeatureError.
template <class L = Link>
L attach_netns(const Program& prog, int netns_fd, const std::string& where, const NetnsHook& hook) {
  const auto attach = [&] { return bpf_program__attach_netns(prog.get(), netns_fd); };
  try {
    return attach_link<decltype(attach)&, L>(
        prog, detail::format("{} on network namespace {}", hook.link, where), attach,
        {hook.feature, {}, Op::attach_network});
  } catch (const FeatureError&) {
    throw;
  } catch (const Error& e) {
    if (!hook.taken_hint.empty() && (e.errnum() == E2BIG || e.errnum() == EEXIST))
      throw Error(e.errnum(), e.action(), std::string(hook.taken_hint));
    throw;
  }
}

/// The same on the namespace open at `netns_fd`, named "fd N" in errors.
template <class L = Link>
L attach_netns(const Program& prog, int netns_fd, const NetnsHook& hook) {
  return attach_netns<L>(prog, netns_fd, detail::format("fd {}", netns_fd), hook);
}

/// The same on the namespace at `path` (/run/netns/<name>, /proc/<pid>/ns/net), open for the
/// attach only: the link holds the namespace.
template <class L = Link>
L attach_netns(const Program& prog, const std::filesystem::path& path, const NetnsHook& hook) {
  const UniqueFd fd = open_netns(path, [&] {
    return detail::format("open network namespace '{}' to attach {} '{}'", path.string(),
                          hook.program, prog ? prog.name() : "<empty>");
  });
  return attach_netns<L>(prog, fd.get(), detail::format("'{}'", path.string()), hook);
}

} // namespace ebpfpp::detail
