#pragma once
/// @file
/// SockMapLink: an sk_msg or sk_skb program attached to a socket map (sock_map.hpp: SockMap,
/// SockHash), which is what SockMap::attach returns.
///
///     ebpfpp::SockMap<> socks(skel->maps.socks);
///     ebpfpp::SockMapLink verdict = socks.attach(skel.program("echo"),
///                                                ebpfpp::SockMapHook::stream_verdict);
///
/// Apart from the maps so that a file that only fills and reads a socket map does not compile
/// links and programs.

#include "detail/config.hpp"

#include <cerrno>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>

#include "detail/attach.hpp"
#include "detail/enum_table.hpp"
#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "link_base.hpp"
#include "program.hpp"
#include "sock_map.hpp"

namespace ebpfpp {

namespace detail {
// In SockMapHook's order.
constexpr bpf_attach_type sock_map_attach_type(SockMapHook h) noexcept {
  return enum_entry(
      h,
      {BPF_SK_MSG_VERDICT, BPF_SK_SKB_STREAM_PARSER, BPF_SK_SKB_STREAM_VERDICT, BPF_SK_SKB_VERDICT},
      BPF_SK_SKB_VERDICT);
}
} // namespace detail

/// An sk_msg or sk_skb program attached to a socket map (SockMap, SockHash, or any map fd of
/// those types). Kernel 4.14+ (sk_skb), 4.17+ (sk_msg); a kernel link on 6.10+. With
/// SockMapAttach::prog_attach, destroying it detaches only this program: one that replaced it
/// meanwhile is left alone.
///
/// Loading sk_msg and sk_skb programs needs CAP_NET_ADMIN (and CAP_BPF); the kernel does not
/// check again at attach.
///
/// Throws Error: the program's type does not fit the hook, or the map is not a socket map
/// (EINVAL); a kernel link holds the hook already (EBUSY); SockMapAttach::link below 6.10
/// (EINVAL).
class SockMapLink : public Link {
public:
  /// (A template over a parameter nobody gives, as attach() below: a file that includes this
  /// header and attaches nothing compiles neither, nor the detach they keep in a std::function.)
  template <class = void>
  [[nodiscard]] SockMapLink(const Program& prog, int map_fd, std::string_view map_name,
                            SockMapHook hook, SockMapAttach how = SockMapAttach::automatic)
      : Link(attach(prog, map_fd, map_name, hook, how)), hook_(hook) {}

  /// The program slot.
  SockMapHook hook() const noexcept { return hook_; }

private:
  template <class = void>
  static Link attach(const Program& prog, int map_fd, std::string_view map_name, SockMapHook hook,
                     SockMapAttach how) {
    const bpf_attach_type type = detail::sock_map_attach_type(hook);
    std::string description = detail::format("{} on socket map '{}'", to_string(hook), map_name);
    const detail::AttachNeeds needs{std::nullopt, {}, detail::Op::attach_network};
    const auto make_link = [&] {
      return detail::UniqueFd(bpf_link_create(prog.fd(), map_fd, type, nullptr));
    };
    if (how == SockMapAttach::link) return detail::attach_link(prog, description, make_link, needs);
    if (how == SockMapAttach::automatic && prog.fd() >= 0 && map_fd >= 0) {
      // When the link fails (before 6.10 socket maps have none: EINVAL), prog_attach; its
      // failure, if any, is the one reported.
      if (auto link = make_link()) return Link(std::move(link), std::move(description));
    }
    return detail::attach_link(
        prog, std::move(description),
        [&]() -> std::function<void()> {
          // Our own references: the detach needs the program and the map, even after the
          // Object and the map view that gave them are gone.
          auto mine = std::make_shared<std::pair<detail::UniqueFd, detail::UniqueFd>>(
              detail::UniqueFd(::fcntl(prog.fd(), F_DUPFD_CLOEXEC, 3)),
              detail::UniqueFd(::fcntl(map_fd, F_DUPFD_CLOEXEC, 3)));
          if (!mine->first || !mine->second) return nullptr;
          if (const int r = bpf_prog_attach(prog.fd(), map_fd, type, 0); r < 0) {
            errno = -r;
            return nullptr;
          }
          // BPF_PROG_DETACH names the program: one that replaced ours meanwhile stays.
          return [mine, type]() noexcept {
            bpf_prog_detach2(mine->first.get(), mine->second.get(), type);
          };
        },
        needs);
  }

  SockMapHook hook_;
};

} // namespace ebpfpp
