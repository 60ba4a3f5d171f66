#pragma once
// The kernel side of a link's life after attach, for link.hpp's Link: BPF_LINK_UPDATE and
// BPF_LINK_DETACH on a link fd, with the hint that says which link kinds can do what when the
// kernel says no.

#include "config.hpp"

#include <cerrno>
#include <cstdint>
#include <string>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "../error.hpp"
#include "../link_info.hpp"

namespace ebpfpp::detail {

/// The fixed part of the link's info (type, id, program; no names or paths), without the
/// LinkInfo that describe_link builds. Throws Error.
template <class Describe>
uapi::LinkInfoRaw link_info_raw(int link_fd, Describe&& describe) {
  uapi::LinkInfoRaw raw{};
  std::uint32_t len = sizeof raw;
  check(bpf_obj_get_info_by_fd(link_fd, &raw, &len), describe);
  return raw;
}

/// Swaps the program of the link at `link_fd` for `prog_fd`; with `expected_fd` >= 0, only if the
/// link runs that program now (BPF_F_REPLACE). Throws Error, `describe()` saying what was
/// attempted.
template <class Describe>
void update_link(int link_fd, int prog_fd, int expected_fd, Describe&& describe) {
  bpf_link_update_opts opts;
  init_opts(opts);
  if (expected_fd >= 0) {
    opts.flags = BPF_F_REPLACE;
    opts.old_prog_fd = static_cast<std::uint32_t>(expected_fd);
  }
  LibbpfLog log;
  const int r = bpf_link_update(link_fd, prog_fd, &opts);
  if (r >= 0) return;
  const int err = errno_of(r);
  if (expected_fd >= 0 && err == EPERM)
    throw Error(err, describe(), std::string(hint::link_not_expected), log.take());
  if (err == EINVAL || err == EOPNOTSUPP) {
    // The kernel says EINVAL both for a link kind without update and for a program that does not
    // fit the link: the link's type tells which.
    bool updatable = false;
    try {
      updatable = link_type_updatable(static_cast<int>(link_info_raw(link_fd, describe).type));
    } catch (const Error&) {
      // Not a link the kernel describes (a perf event fd of an older kernel): not updatable.
    }
    throw Error(err, describe(),
                std::string(updatable ? hint::link_update_mismatch : hint::link_not_updatable),
                log.take());
  }
  fail(err, describe, Op::link_update, &log);
}

/// Detaches the link at `link_fd` from its hook, keeping the fd (BPF_LINK_DETACH). Throws Error.
template <class Describe>
void detach_link(int link_fd, Describe&& describe) {
  LibbpfLog log;
  const int r = bpf_link_detach(link_fd);
  if (r >= 0) return;
  const int err = errno_of(r);
  if (err == EOPNOTSUPP || err == EINVAL)
    throw Error(err, describe(), std::string(hint::link_not_detachable), log.take());
  fail(err, describe, Op::link_detach, &log);
}

} // namespace ebpfpp::detail
