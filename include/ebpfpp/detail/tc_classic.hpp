#pragma once
// TcClassic's attachment: a cls_bpf filter on the clsact qdisc, and what its detach may touch.
//
// A clsact filter is no kernel link: nothing ties it to the handle, and an ifindex, a handle and
// a priority do not name it for good. The interface can vanish and another take its index (the
// kernel reuses free indexes), the handle can be destroyed in another network namespace, other
// tools and other handles put filters on the same qdisc, and the same program can sit at the same
// kernel-picked handle and priority on the interface that took the index. So the detach deletes
// a filter only if it carries this attachment's own token (in its name, TCA_BPF_NAME), and
// removes the qdisc only if this attachment made it, found its own filter still there (the
// same qdisc, then) and no other filter is left on either direction.

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <bpf/bpf.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.hpp"
#include "libbpf_log.hpp"
#include "tc_netlink.hpp"

namespace ebpfpp::detail::tc {

/// The calling thread's network namespace, as its nsfs inode ({0, 0} when /proc says nothing).
struct NetnsId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const NetnsId&) const = default;

  static NetnsId current() noexcept {
    struct stat st {};
    if (::stat("/proc/thread-self/ns/net", &st) != 0) return {};
    return {st.st_dev, st.st_ino};
  }
};

/// A 64-bit value no other attachment has: random, else this process and a count.
inline std::uint64_t unique_token() noexcept {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof v) && v) return v;
  static std::atomic<std::uint32_t> count{0};
  return (static_cast<std::uint64_t>(::getpid()) << 32) | ++count;
}

inline std::string explain(const Reply& r) {
  std::string s = std::strerror(-r.err);
  if (!r.message.empty()) (s += ": ") += r.message;
  return s;
}

/// One filter this process put on a clsact hook, and everything its detach checks.
struct ClassicFilter {
  NetnsId netns;
  int ifindex = 0;
  std::uint32_t parent = 0;
  std::uint32_t handle = 0;
  std::uint32_t priority = 0;
  std::uint32_t prog_id = 0;
  std::string name; // "<program>:[<id>] ebpfpp-<token>": ours alone
  std::string what; // "tc ingress filter on 'eth0' (ifindex 2)", for the log
  bool made_qdisc = false;

  /// Undoes the attachment as far as it is still ours; says at debug level why it did less (the
  /// interface gone or replaced: nothing a tool can act on), at warn when the kernel refused.
  /// (This, remove_qdisc_if_empty() and attach_classic() are templates over a parameter nobody
  /// gives, as Netlink is: they compile only where TcClassic attaches.)
  template <class = void>
  void detach() const noexcept {
    try {
      if (NetnsId::current() != netns)
        return say(LogLevel::debug,
                   "not detached: destroyed in another network namespace than the one it was "
                   "attached in (if that one still exists, the filter stays there)");
      Netlink nl;
      Filter now;
      if (const Reply r = nl.get_filter(ifindex, parent, handle, priority, now); !r)
        return say(LogLevel::debug,
                   format("nothing to detach ({}): the interface, its clsact qdisc or the filter "
                          "is gone",
                          explain(r)));
      if (now.name != name || now.prog_id != prog_id)
        return say(LogLevel::debug,
                   format("not detached: the filter at handle {:#x}, priority {} is another's "
                          "('{}', program id {}): the interface was replaced by one with its "
                          "index, or the filter was replaced",
                          handle, priority, now.name, now.prog_id));
      if (const Reply r = nl.delete_filter(ifindex, parent, handle, priority); !r)
        return say(LogLevel::warn, format("detach failed, the filter stays: {}", explain(r)));
      if (made_qdisc) remove_qdisc_if_empty(nl);
    } catch (...) {
      // A detach that cannot allocate leaves things as they are.
    }
  }

  /// Removes the clsact qdisc when no filter is left on ingress or egress. (Netlink cannot
  /// delete it "only if empty": a filter added between the look and the delete goes with it.)
  template <class = void>
  void remove_qdisc_if_empty(Netlink& nl) const {
    std::size_t in = 0, out = 0;
    const Reply ri = nl.count_filters(ifindex, clsact_parent(false), in);
    const Reply ro = nl.count_filters(ifindex, clsact_parent(true), out);
    if (!ri || !ro)
      return say(LogLevel::debug, format("clsact qdisc left in place: cannot list its filters "
                                         "({})",
                                         explain(ri ? ro : ri)));
    if (in + out > 0)
      return say(LogLevel::debug, format("clsact qdisc left in place: others' filters are on it "
                                         "({} ingress, {} egress entries)",
                                         in, out));
    if (const Reply r = nl.delete_clsact(ifindex); !r)
      say(LogLevel::warn, format("the clsact qdisc it made stays: {}", explain(r)));
  }

  void say(LogLevel level, std::string_view text) const {
    log_message(level, format("detach {}: {}", what, text));
  }
};

/// Attaches `prog_fd` as a direct-action cls_bpf filter on the clsact hook of `ifindex`, making
/// the qdisc if there is none. On failure: false, errno set, the kernel's reason in the log of
/// the running call.
template <class = void>
bool attach_classic(ClassicFilter& c, int prog_fd, std::string_view prog_name) {
  const auto fail = [](const Reply& r) {
    if (!r.message.empty()) log_to_call(format("Kernel error message: {}", r.message));
    errno = -r.err;
    return false;
  };
  if (c.priority > 0xffff) {
    log_to_call(format("priority {} is over 65535, the largest a tc filter has", c.priority));
    return fail({-EINVAL, {}});
  }
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return fail({-errno, {}});
  c.prog_id = info.id;
  c.name = format("{}:[{}] ebpfpp-{:016x}", prog_name, info.id, unique_token());
  c.netns = NetnsId::current();
  Netlink nl;
  const Reply made = nl.create_clsact(c.ifindex);
  if (!made && made.err != -EEXIST) return fail(made);
  c.made_qdisc = static_cast<bool>(made);
  Filter f{c.handle, c.priority, 0, {}};
  if (const Reply added = nl.add_filter(c.ifindex, c.parent, prog_fd, c.name, f); !added) {
    if (c.made_qdisc) c.remove_qdisc_if_empty(nl);
    return fail(added);
  }
  c.handle = f.handle;
  c.priority = f.priority;
  return true;
}

} // namespace ebpfpp::detail::tc
