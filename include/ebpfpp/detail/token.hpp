#pragma once
// BPF tokens at load (OpenOptions::bpf_token_path): the token an Object or Skeleton makes at
// open, how its load hands the token to the kernel, and what a refusal says.
//
// How the token reaches the kernel depends on the libbpf ebpfpp is built with:
//  - libbpf 1.4+ takes a token itself (bpf_object_open_opts::bpf_token_path) and puts it in each
//    command that takes one: ebpfpp gives it the path.
//  - libbpf 1.1 (Debian 12's) knows no tokens and makes every bpf() call itself, starting with a
//    trivial program load (bpf_object__probe_loading), through a static helper that calls libc's
//    syscall(__NR_bpf, cmd, attr, size), an imported symbol (libbpf.so.1: U syscall@GLIBC_2.2.5).
//    A program that defines `syscall` itself (token_shim.hpp, included by one .cpp) gets those
//    calls: ELF symbol interposition puts the executable's definition first in the lookup scope
//    (it satisfies the versioned reference too), and a static libbpf.a binds to it at link time.
//    While a load runs with a token in scope on its thread (TokenScope), the shim copies each
//    BPF_MAP_CREATE, BPF_PROG_LOAD and BPF_BTF_LOAD attr into a buffer long enough for the token
//    field, sets the field and BPF_F_TOKEN_FD, and makes the call; every other call, and every
//    call outside a token load, passes through unchanged. No other command takes a token.
// Why not something else: libbpf 1.1 has no hook for its syscalls (no custom sys_bpf, no
// token); loading the object's programs and maps with our own syscalls would be a second
// loader (relocations, CO-RE, BTF sanitizing) beside libbpf's; LD_PRELOAD is the same
// interposition made by whoever starts the program, not by the program. Before a load, ebpfpp
// checks that libbpf's calls do reach the shim (a harmless libbpf call, counted): a program that
// did not define it, or a libbpf bound to libc some other way, gets an Error saying so instead
// of the kernel's EPERM.

#include "config.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../error.hpp"
#include "../kernel.hpp"
#include "format.hpp"
#include "hints.hpp"
#include "uapi.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

/// Whether the libbpf ebpfpp is built with takes a token itself (bpf_token_path, libbpf 1.4).
inline constexpr bool libbpf_takes_tokens =
    LIBBPF_MAJOR_VERSION > 1 || (LIBBPF_MAJOR_VERSION == 1 && LIBBPF_MINOR_VERSION >= 4);

// --- the shim's side ----------------------------------------------------------------------------

/// This thread's token while a load runs with one (-1: none), and how many bpf() calls the shim
/// has seen with it (what the check before a load counts).
struct TokenState {
  int fd = -1;
  std::uint64_t calls = 0;
};
inline thread_local TokenState token_state;

using SyscallFn = long (*)(long, ...);

/// libc's syscall(), the one the shim stands in front of. A program linked fully statically has
/// no other to find: the shim cannot work there, and says so rather than fail every syscall.
inline SyscallFn real_syscall() noexcept {
  static std::atomic<SyscallFn> real{nullptr};
  SyscallFn fn = real.load(std::memory_order_relaxed);
  if (fn) return fn;
  fn = reinterpret_cast<SyscallFn>(::dlsym(RTLD_NEXT, "syscall"));
  if (!fn) {
    static constexpr char why[] = "ebpfpp token shim: no libc syscall() after this program's "
                                  "(linked fully statically?): cannot forward system calls\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, why, sizeof why - 1);
    std::abort();
  }
  real.store(fn, std::memory_order_relaxed);
  return fn;
}

/// One bpf() call as the shim makes it: `attr` with this thread's token added when a token is in
/// scope and `cmd` takes one, else unchanged.
inline long bpf_with_token(long cmd, void* attr, unsigned long size) noexcept {
  const SyscallFn real = real_syscall();
  TokenState& t = token_state;
  if (t.fd < 0 || attr == nullptr) return real(__NR_bpf, cmd, attr, size);
  ++t.calls;
  std::size_t flags_off = 0, fd_off = 0;
  switch (cmd) {
  case BPF_MAP_CREATE:
    flags_off = offsetof(bpf_attr, map_flags);
    fd_off = uapi::map_token_fd_off;
    break;
  case BPF_PROG_LOAD:
    flags_off = offsetof(bpf_attr, prog_flags);
    fd_off = uapi::prog_token_fd_off;
    break;
  case BPF_BTF_LOAD:
    flags_off = uapi::btf_flags_off;
    fd_off = uapi::btf_token_fd_off;
    break;
  default:
    return real(__NR_bpf, cmd, attr, size);
  }
  // A buffer of the kernel's size for the command: the caller's bytes, zeros up to the token.
  alignas(8) unsigned char buf[512] = {};
  if (size > sizeof buf) return real(__NR_bpf, cmd, attr, size);
  std::memcpy(buf, attr, size);
  std::uint32_t flags = 0;
  std::memcpy(&flags, buf + flags_off, sizeof flags);
  if (flags & uapi::f_token_fd) return real(__NR_bpf, cmd, attr, size); // the caller gave one
  flags |= uapi::f_token_fd;
  std::memcpy(buf + flags_off, &flags, sizeof flags);
  std::memcpy(buf + fd_off, &t.fd, sizeof t.fd);
  const long ret = real(__NR_bpf, cmd, buf, std::max<unsigned long>(size, fd_off + 4));
  const int err = errno;
  // What the kernel wrote back within the caller's attr (log_true_size), without our flag.
  flags &= ~uapi::f_token_fd;
  std::memcpy(buf + flags_off, &flags, sizeof flags);
  std::memcpy(attr, buf, size);
  errno = err;
  return ret;
}

/// The shim's body (token_shim.hpp's syscall()): bpf() through bpf_with_token, the rest to libc.
inline long shim_syscall(long number, const long (&a)[6]) noexcept {
  if (number == __NR_bpf) {
    void* attr = nullptr; // the word as the pointer it is (no integer-to-pointer cast)
    static_assert(sizeof attr == sizeof a[1]);
    std::memcpy(&attr, &a[1], sizeof attr);
    return bpf_with_token(a[0], attr, static_cast<unsigned long>(a[2]));
  }
  return real_syscall()(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/// Puts `fd` in scope for the bpf() calls this thread makes until destroyed (-1: none).
class TokenScope {
public:
  explicit TokenScope(int fd) noexcept : prev_(std::exchange(token_state.fd, fd)) {}
  TokenScope(const TokenScope&) = delete;
  TokenScope& operator=(const TokenScope&) = delete;
  ~TokenScope() { token_state.fd = prev_; }

private:
  int prev_;
};

/// Whether libbpf's bpf() calls on this thread reach the shim: one harmless libbpf call (an
/// info query on no fd) with a token in scope, counted by the shim or not.
inline bool libbpf_reaches_shim(int token_fd) noexcept {
  TokenScope scope(token_fd);
  const std::uint64_t before = token_state.calls;
  bpf_prog_info info{};
  __u32 len = sizeof info;
  const int saved = errno;
  (void)bpf_obj_get_info_by_fd(-1, &info, &len);
  errno = saved;
  return token_state.calls != before;
}

// --- the library's side -------------------------------------------------------------------------

/// A token from the bpffs mounted at `path`, made at open. Throws FeatureError on a kernel
/// without tokens, Error (with a hint per cause) when the kernel refuses one.
template <class Action>
UniqueFd make_token(const std::filesystem::path& path, const Action& action) {
  const auto what = [&] {
    return detail::format("{}: make a BPF token from '{}' (OpenOptions::bpf_token_path)", action(),
                          path.string());
  };
  require_no_nul(path.native(), what);
  kernel::require(kernel::Feature::bpf_token, what());
  // BPF_TOKEN_CREATE takes the mount's root open for reading (an O_PATH fd is refused).
  const UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    const int err = errno;
    FileProblem file = file_problem(path);
    fail(err, what, Op::open_object, file.err ? file.hint : std::string());
  }
  UniqueFd token(uapi::token_create(dir.get()));
  if (!token) {
    const int err = errno;
    fail(err, what, Op::generic, hint::token_create(err, path.native()));
  }
  return token;
}

/// What a token delegates, read from its fdinfo (6.9: "allowed_progs:\t0x...", or "any").
struct TokenAllows {
  std::uint64_t cmds = 0, maps = 0, progs = 0, attachs = 0;
};

// The reading of a refusal (token_allows, token_refusal_hint) is a template over a parameter
// nobody gives: only a load that fails under a token runs it, and the files that include
// object.hpp compile it only if they load.
// (`out` and a bool, not a std::optional: a class less to instantiate where this is parsed.)
template <class = void>
bool token_allows(int token_fd, TokenAllows& out) {
  std::FILE* f = std::fopen(format("/proc/self/fdinfo/{}", token_fd).c_str(), "re");
  if (!f) return false;
  int found = 0;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    const std::string_view l(line);
    const auto colon = l.find(":\t");
    if (colon == std::string_view::npos) continue;
    const std::string_view key = l.substr(0, colon), value = l.substr(colon + 2);
    std::uint64_t mask = ~std::uint64_t{0};
    if (!value.starts_with("any")) mask = std::strtoull(value.data(), nullptr, 16);
    std::uint64_t* slot = key == "allowed_cmds"      ? &out.cmds
                          : key == "allowed_maps"    ? &out.maps
                          : key == "allowed_progs"   ? &out.progs
                          : key == "allowed_attachs" ? &out.attachs
                                                     : nullptr;
    if (slot) {
      *slot = mask;
      ++found;
    }
  }
  std::fclose(f);
  return found == 4;
}

/// The delegation option's values for `mask`, named as the mount option takes them
/// ("socket_filter:xdp"); "any" for all, "" for none.
template <class Name>
std::string mask_names(std::uint64_t mask, Name&& name) {
  if (mask == ~std::uint64_t{0}) return "any";
  std::string out;
  for (unsigned bit = 0; bit < 64; ++bit)
    if (((mask >> bit) & 1) != 0) {
      const char* n = name(bit);
      out += format("{}{}", out.empty() ? "" : ":", n ? std::string(n) : format("{}", bit));
    }
  return out;
}

inline const char* cmd_name(unsigned cmd) noexcept {
  switch (cmd) {
  case BPF_MAP_CREATE:
    return "map_create";
  case BPF_PROG_LOAD:
    return "prog_load";
  case BPF_BTF_LOAD:
    return "btf_load";
  default:
    return nullptr;
  }
}
inline const char* prog_name(unsigned t) noexcept {
  return libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(t));
}
inline const char* map_name(unsigned t) noexcept {
  return libbpf_bpf_map_type_str(static_cast<bpf_map_type>(t));
}
inline const char* attach_name(unsigned t) noexcept {
  return libbpf_bpf_attach_type_str(static_cast<bpf_attach_type>(t));
}

/// What a load refused with EPERM under the token of `path` lacked: a map of type `map_type`
/// (>= 0), else a program of `prog_type` and `attach_type` (>= 0), else libbpf's own first check.
/// "" when the token allows it all (the refusal has another cause).
template <class = void>
std::string token_refusal_hint(int token_fd, std::string_view path, int map_type, int prog_type,
                               int attach_type) {
  TokenAllows a;
  if (!token_allows(token_fd, a)) return {};
  const auto has = [](std::uint64_t mask, int bit) {
    return bit >= 0 && bit < 64 && ((mask >> bit) & 1) != 0;
  };
  const auto refused = [&](std::string what, std::string_view option, const char* value,
                           std::uint64_t mask, auto&& name) {
    return hint::token_refused(path, what, option, value ? value : "?", mask_names(mask, name));
  };
  if (map_type >= 0) {
    if (!has(a.cmds, BPF_MAP_CREATE))
      return refused("map creation", "delegate_cmds", "map_create", a.cmds, cmd_name);
    if (!has(a.maps, map_type))
      return refused(format("map type '{}'", map_name(map_type) ? map_name(map_type) : "?"),
                     "delegate_maps", map_name(map_type), a.maps, map_name);
    return {};
  }
  if (prog_type < 0) {
    if (has(a.cmds, BPF_PROG_LOAD) && has(a.progs, BPF_PROG_TYPE_SOCKET_FILTER) &&
        has(a.attachs, 0))
      return {};
    return std::string(hint::token_probe);
  }
  if (!has(a.cmds, BPF_PROG_LOAD))
    return refused("program loading", "delegate_cmds", "prog_load", a.cmds, cmd_name);
  if (!has(a.progs, prog_type))
    return refused(format("program type '{}'", prog_name(prog_type) ? prog_name(prog_type) : "?"),
                   "delegate_progs", prog_name(prog_type), a.progs, prog_name);
  if (!has(a.attachs, attach_type))
    return refused(format("attach type '{}' (a program that names none has attach type 0, "
                          "cgroup_inet_ingress)",
                          attach_name(attach_type) ? attach_name(attach_type) : "?"),
                   "delegate_attachs", attach_name(attach_type), a.attachs, attach_name);
  return {};
}

} // namespace ebpfpp::detail
