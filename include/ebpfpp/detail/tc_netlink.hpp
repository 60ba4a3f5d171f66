#pragma once
// The clsact qdisc and its cls_bpf filters over rtnetlink, for TcClassic.
//
// Why not libbpf's bpf_tc_* calls: they can neither list the filters on a hook (TcClassic must
// know whether anything besides its own filter is left before it removes a qdisc it made) nor
// name a filter as the caller wants (TcClassic marks its filter with a token of its own, the one
// thing that tells its filter from the same program attached by someone else at the same handle
// and priority, on an interface that took a vanished one's index). And their kernel error
// messages go to stderr from within detach paths that cannot report them. This file speaks the
// same requests as libbpf (RTM_{NEW,DEL,GET}QDISC/TFILTER, cls_bpf in direct-action mode) and
// returns the kernel's extended ack message with the error instead.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "unique_fd.hpp"

namespace ebpfpp::detail::tc {

/// The parent (qdisc:class) of clsact's ingress or egress hook.
constexpr std::uint32_t clsact_parent(bool egress) noexcept {
  return TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
}

/// A cls_bpf filter: where it is (handle, priority) and what the kernel says it runs.
struct Filter {
  std::uint32_t handle = 0;
  std::uint32_t priority = 0;
  std::uint32_t prog_id = 0;
  std::string name; // TCA_BPF_NAME
};

/// How a request ended: 0 or a negative errno, and the kernel's explanation when it gave one.
struct Reply {
  int err = 0;
  std::string message;
  explicit operator bool() const noexcept { return err == 0; }
};

/// One request: a netlink header, a tcmsg and attributes, built in place.
class Request {
public:
  Request(std::uint16_t type, std::uint16_t flags, int ifindex, std::uint32_t parent,
          std::uint32_t handle = 0, std::uint32_t info = 0) noexcept {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    tcmsg tc{};
    tc.tcm_family = AF_UNSPEC;
    tc.tcm_ifindex = ifindex;
    tc.tcm_parent = parent;
    tc.tcm_handle = handle;
    tc.tcm_info = info;
    std::memcpy(buf_ + NLMSG_HDRLEN, &tc, sizeof tc);
    size_ = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof tc);
    std::memcpy(buf_, &h, sizeof h);
  }

  void put(std::uint16_t type, const void* data, std::size_t len) noexcept {
    if (unsigned char* p = add(type, len)) std::memcpy(p, data, len);
  }
  void put_u32(std::uint16_t type, std::uint32_t v) noexcept { put(type, &v, sizeof v); }
  /// A NUL-terminated string attribute.
  void put_string(std::uint16_t type, std::string_view s) noexcept {
    if (unsigned char* p = add(type, s.size() + 1)) std::memcpy(p, s.data(), s.size());
  }
  /// Opens a nested attribute; close it with end_nested(the value returned).
  std::size_t begin_nested(std::uint16_t type) noexcept {
    const std::size_t at = size_;
    add(type, 0);
    return at;
  }
  void end_nested(std::size_t at) noexcept {
    if (overflow_) return;
    const auto len = static_cast<unsigned short>(size_ - at);
    std::memcpy(buf_ + at + offsetof(rtattr, rta_len), &len, sizeof len);
  }

  /// The bytes to send, with `seq`; empty when the attributes did not fit.
  std::string_view finish(std::uint32_t seq) noexcept {
    if (overflow_) return {};
    const auto len = static_cast<std::uint32_t>(size_);
    std::memcpy(buf_ + offsetof(nlmsghdr, nlmsg_len), &len, sizeof len);
    std::memcpy(buf_ + offsetof(nlmsghdr, nlmsg_seq), &seq, sizeof seq);
    return {reinterpret_cast<const char*>(buf_), size_};
  }

private:
  // Appends an attribute header for `len` bytes of payload (zeroed); where the payload goes, or
  // nullptr when it does not fit (the request is then never sent).
  unsigned char* add(std::uint16_t type, std::size_t len) noexcept {
    const std::size_t at = size_, total = RTA_ALIGN(RTA_LENGTH(len));
    if (overflow_ || total > sizeof buf_ - size_) {
      overflow_ = true;
      return nullptr;
    }
    size_ += total;
    const rtattr a{static_cast<unsigned short>(RTA_LENGTH(len)), type};
    std::memcpy(buf_ + at, &a, sizeof a);
    return buf_ + at + RTA_LENGTH(0);
  }

  alignas(nlmsghdr) unsigned char buf_[1024] = {};
  std::size_t size_ = 0;
  bool overflow_ = false;
};

/// Calls f(type, data, len) for each attribute in [p, p + len).
template <class F>
void for_each_attr(const unsigned char* p, std::size_t len, F&& f) {
  std::size_t off = 0;
  while (off + sizeof(rtattr) <= len) {
    rtattr a;
    std::memcpy(&a, p + off, sizeof a);
    if (a.rta_len < sizeof a || off + a.rta_len > len) return;
    f(static_cast<std::uint16_t>(a.rta_type & NLA_TYPE_MASK), p + off + RTA_LENGTH(0),
      a.rta_len - RTA_LENGTH(0));
    off += RTA_ALIGN(a.rta_len);
  }
}

inline std::string attr_string(const unsigned char* data, std::size_t len) {
  const auto* s = reinterpret_cast<const char*>(data);
  return std::string(s, ::strnlen(s, len));
}

/// A NETLINK_ROUTE socket of the calling thread's network namespace, for a few requests.
/// (Netlink is BasicNetlink<>, a template over a parameter nobody gives: a file that includes
/// tc.hpp and attaches no classic filter compiles none of it.)
template <class = void>
class BasicNetlink {
public:
  BasicNetlink() noexcept
      : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)), open_errno_(errno) {
    const int one = 1;
    // The kernel's reason with each error, and errors without our request echoed back.
    ::setsockopt(fd_.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    ::setsockopt(fd_.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  }

  /// Makes the clsact qdisc; -EEXIST when the interface has one.
  Reply create_clsact(int ifindex) {
    Request r(RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, ifindex, TC_H_CLSACT,
              TC_H_MAKE(TC_H_CLSACT, 0));
    r.put_string(TCA_KIND, "clsact");
    return send(r, [](const nlmsghdr&, const unsigned char*, std::size_t) {});
  }
  /// Removes the clsact qdisc, and every filter on it.
  Reply delete_clsact(int ifindex) {
    Request r(RTM_DELQDISC, NLM_F_ACK, ifindex, TC_H_CLSACT, TC_H_MAKE(TC_H_CLSACT, 0));
    r.put_string(TCA_KIND, "clsact");
    return send(r, [](const nlmsghdr&, const unsigned char*, std::size_t) {});
  }

  /// Adds a cls_bpf direct-action filter running `prog_fd`, named `name`, at f.handle and
  /// f.priority (0: the kernel picks); on success `f` is the filter the kernel made.
  Reply add_filter(int ifindex, std::uint32_t parent, int prog_fd, std::string_view name,
                   Filter& f) {
    Request r(RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, ifindex, parent,
              f.handle, TC_H_MAKE(f.priority << 16, htons(ETH_P_ALL)));
    r.put_string(TCA_KIND, "bpf");
    const std::size_t options = r.begin_nested(TCA_OPTIONS);
    r.put_u32(TCA_BPF_FD, static_cast<std::uint32_t>(prog_fd));
    r.put_string(TCA_BPF_NAME, name);
    r.put_u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
    r.end_nested(options);
    bool echoed = false;
    Reply reply = send(r, [&](const nlmsghdr& h, const unsigned char* p, std::size_t len) {
      echoed = parse_filter(h, p, len, f) || echoed;
    });
    if (reply && !echoed) reply.err = -ENOENT; // made, but not told where: as libbpf does
    return reply;
  }
  /// The cls_bpf filter at `handle` and `priority`.
  Reply get_filter(int ifindex, std::uint32_t parent, std::uint32_t handle, std::uint32_t priority,
                   Filter& f) {
    Request r(RTM_GETTFILTER, NLM_F_ACK, ifindex, parent, handle,
              TC_H_MAKE(priority << 16, htons(ETH_P_ALL)));
    r.put_string(TCA_KIND, "bpf");
    bool found = false;
    Reply reply = send(r, [&](const nlmsghdr& h, const unsigned char* p, std::size_t len) {
      found = parse_filter(h, p, len, f) || found;
    });
    if (reply && !found) reply.err = -ENOENT;
    return reply;
  }
  /// Removes the cls_bpf filter at `handle` and `priority`.
  Reply delete_filter(int ifindex, std::uint32_t parent, std::uint32_t handle,
                      std::uint32_t priority) {
    Request r(RTM_DELTFILTER, NLM_F_ACK, ifindex, parent, handle,
              TC_H_MAKE(priority << 16, htons(ETH_P_ALL)));
    r.put_string(TCA_KIND, "bpf");
    return send(r, [](const nlmsghdr&, const unsigned char*, std::size_t) {});
  }
  /// How many filter messages a dump of `parent` returns, any kind, any chain: 0 when none.
  Reply count_filters(int ifindex, std::uint32_t parent, std::size_t& n) {
    Request r(RTM_GETTFILTER, NLM_F_DUMP, ifindex, parent);
    n = 0;
    return send(r, [&](const nlmsghdr& h, const unsigned char*, std::size_t) {
      n += h.nlmsg_type == RTM_NEWTFILTER;
    });
  }

private:
  // Fills `f` from an RTM_NEWTFILTER message of kind "bpf"; false for any other message.
  static bool parse_filter(const nlmsghdr& h, const unsigned char* p, std::size_t len, Filter& f) {
    if (h.nlmsg_type != RTM_NEWTFILTER || len < NLMSG_ALIGN(sizeof(tcmsg))) return false;
    tcmsg tc;
    std::memcpy(&tc, p, sizeof tc);
    bool bpf = false;
    Filter out;
    out.handle = tc.tcm_handle;
    out.priority = TC_H_MAJ(tc.tcm_info) >> 16;
    for_each_attr(p + NLMSG_ALIGN(sizeof tc), len - NLMSG_ALIGN(sizeof tc),
                  [&](std::uint16_t type, const unsigned char* data, std::size_t n) {
                    if (type == TCA_KIND) bpf = attr_string(data, n) == "bpf";
                    if (type != TCA_OPTIONS) return;
                    for_each_attr(data, n,
                                  [&](std::uint16_t t, const unsigned char* d, std::size_t m) {
                                    if (t == TCA_BPF_ID && m >= sizeof out.prog_id)
                                      std::memcpy(&out.prog_id, d, sizeof out.prog_id);
                                    if (t == TCA_BPF_NAME) out.name = attr_string(d, m);
                                  });
                  });
    if (!bpf) return false;
    f = std::move(out);
    return true;
  }

  // Sends `r` and reads the replies to it until its ack, error or end of dump, handing each
  // other message to on(header, payload, payload length).
  template <class OnMessage>
  Reply send(Request& r, OnMessage&& on) {
    if (!fd_) return {-open_errno_, {}};
    const std::string_view bytes = r.finish(++seq_);
    if (bytes.empty()) return {-EMSGSIZE, {}};
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) < 0)
      return {-errno, {}};
    // A dump's parts are at most this big when we read with this much room (the kernel sizes
    // them to the reader's buffer, up to 32 KiB).
    alignas(nlmsghdr) unsigned char buf[32768];
    for (;;) {
      const ssize_t got = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        return {-errno, {}};
      }
      std::size_t off = 0;
      const auto end = static_cast<std::size_t>(got);
      while (off + NLMSG_HDRLEN <= end) {
        nlmsghdr h;
        std::memcpy(&h, buf + off, sizeof h);
        if (h.nlmsg_len < NLMSG_HDRLEN || off + h.nlmsg_len > end) break;
        const unsigned char* payload = buf + off + NLMSG_HDRLEN;
        const std::size_t len = h.nlmsg_len - NLMSG_HDRLEN;
        off += NLMSG_ALIGN(h.nlmsg_len);
        if (h.nlmsg_seq != seq_) continue; // a late answer to an earlier request
        if (h.nlmsg_type == NLMSG_ERROR) return error_of(h, payload, len);
        if (h.nlmsg_type == NLMSG_DONE) {
          int err = 0;
          if (len >= sizeof err) std::memcpy(&err, payload, sizeof err);
          return {err < 0 ? err : 0, {}};
        }
        on(h, payload, len);
      }
    }
  }

  // An ack (error 0) or an error, with the kernel's message (NLMSGERR_ATTR_MSG) if any.
  static Reply error_of(const nlmsghdr& h, const unsigned char* p, std::size_t len) {
    nlmsgerr e{};
    if (len < sizeof e) return {-EPROTO, {}};
    std::memcpy(&e, p, sizeof e);
    Reply reply{e.error, {}};
    if (e.error == 0 || !(h.nlmsg_flags & NLM_F_ACK_TLVS)) return reply;
    // After the nlmsgerr: our request echoed back (unless capped), then the attributes.
    std::size_t at = sizeof e;
    if (!(h.nlmsg_flags & NLM_F_CAPPED) && e.msg.nlmsg_len > NLMSG_HDRLEN)
      at += NLMSG_ALIGN(e.msg.nlmsg_len - NLMSG_HDRLEN);
    if (at < len)
      for_each_attr(p + at, len - at,
                    [&](std::uint16_t type, const unsigned char* d, std::size_t n) {
                      if (type == NLMSGERR_ATTR_MSG) reply.message = attr_string(d, n);
                    });
    return reply;
  }

  UniqueFd fd_;
  int open_errno_ = 0;
  std::uint32_t seq_ = 0;
};
using Netlink = BasicNetlink<>;

} // namespace ebpfpp::detail::tc
