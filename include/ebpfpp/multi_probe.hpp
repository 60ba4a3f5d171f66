#pragma once
/// @file
/// KprobeMulti and UprobeMulti: one link attaching a program to many functions at once
/// (hundreds of kernel functions, or every function of a binary matching a glob), each with
/// its own cookie. Much cheaper to attach and detach than one kprobe/uprobe per function.
///
///     // SEC("uprobe.multi") in libbpf 1.2+, or SEC("uprobe") + UprobeMulti::prepare(prog)
///     ebpfpp::UprobeMulti::prepare(skel.program("count"));
///     skel.load();
///     ebpfpp::UprobeMulti probes(skel.program("count"), "/usr/bin/foo", "handle_*");
///     // on the BPF side, bpf_get_attach_cookie(ctx) is the index of the function in
///     // probes.symbols()
///
/// A session (ProbeAt::session: kprobe sessions 6.10, uprobe sessions 6.13) pairs each call's
/// entry and return in one program: it runs at entry, and when that run returns 0 it runs again
/// at the function's return (returning 1 at entry skips the return run). Two kfuncs tell the
/// runs apart and carry 8 bytes from one to the other, per call:
///
///     extern bool bpf_session_is_return(void) __ksym;  // false at entry, true at return
///     extern __u64 *bpf_session_cookie(void) __ksym;   // this call's: set at entry, read at return
///
/// (As 6.10 to 6.18 declare them; later kernels add a `void *ctx` argument. The kernel lets only
/// a program loaded for a session call them.) libbpf 1.1 knows neither SEC("kprobe.session")
/// (1.5+) nor SEC("uprobe.session") (1.6+): prepare the program before load.
///
///     ebpfpp::UprobeMulti::prepare(skel.program("timed"), ebpfpp::ProbeAt::session);
///     skel.load();
///     ebpfpp::UprobeMulti timed(skel.program("timed"), "/usr/bin/foo", "handle_*", -1,
///                               ebpfpp::ProbeAt::session);

#include "detail/config.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/types.h>
#include <unistd.h>

#include "detail/format.hpp"
#include "detail/symbol_tables.hpp"
#include "detail/uapi.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

namespace detail {
// What prepare() does for both kinds: the expected attach type the kernel checks at load.
template <class = void>
void set_expected_attach_type(const Program& prog, int type, std::string_view kind) {
  const auto action = [&] {
    return format("prepare program '{}' for {}", prog ? prog.name() : "<empty>", kind);
  };
  if (!prog) throw Error(EBADF, action(), std::string(hint::empty_view));
  check(bpf_program__set_expected_attach_type(prog.get(), static_cast<bpf_attach_type>(type)),
        action);
}
} // namespace detail

/// Where a multi-probe link runs its program in each call of the functions it attaches to.
enum class ProbeAt {
  entry,   ///< at the function's entry (kprobe.multi, uprobe.multi)
  exit,    ///< at its return (kretprobe.multi, uretprobe.multi)
  session, ///< at entry, and at return too when the entry run returned 0 (a session)
};

/// A kprobe.multi link (kernel 5.18+, needs kprobes and fprobe: CONFIG_FPROBE): runs `prog`
/// (SEC("kprobe.multi/...")) at the entry (or the return, or both as a session: 6.10+) of every
/// kernel function matching `pattern` (a glob such as "tcp_*" over the kernel's functions), or of
/// each function of `symbols` with the cookie at the same index (none: 0). Throws FeatureError
/// where the kernel has no kprobe.multi (or no kprobe sessions), Error when no function matches
/// (ENOENT) or the program was not prepared for a session (see prepare()).
///
/// (Its constructors and functions, and UprobeMulti's, are templates over a parameter nobody
/// gives: a file that includes this header and attaches no multi-probe compiles none of them.)
class KprobeMulti : public Link {
public:
  template <class = void>
  [[nodiscard]] KprobeMulti(const Program& prog, std::string_view pattern,
                            ProbeAt at = ProbeAt::entry)
      : Link(make(prog, std::string(pattern), {}, {}, at)) {}
  template <class = void>
  [[nodiscard]] KprobeMulti(const Program& prog, const std::vector<std::string>& symbols,
                            const std::vector<std::uint64_t>& cookies = {},
                            ProbeAt at = ProbeAt::entry)
      : Link(make(prog, {}, symbols, cookies, at)) {}

  /// Sets `prog`'s expected attach type to kprobe.multi, or to a kprobe session for
  /// ProbeAt::session; call it before load for a program whose section libbpf does not know as
  /// such (SEC("kprobe.session") with libbpf before 1.5: use SEC("kprobe.multi") and this).
  /// Throws Error after load.
  template <class = void>
  static void prepare(const Program& prog, ProbeAt at = ProbeAt::entry) {
    detail::set_expected_attach_type(prog, at == ProbeAt::session ? detail::uapi::attach_kprobe_session
                                                          : BPF_TRACE_KPROBE_MULTI,
                             at == ProbeAt::session ? "a kprobe session" : "kprobe.multi");
  }

private:
  template <class T = void>
  static Link make(const Program& prog, const std::string& pattern,
                   const std::vector<std::string>& symbols,
                   const std::vector<std::uint64_t>& cookies, ProbeAt at) {
    const bool session = at == ProbeAt::session;
    const std::string what = pattern.empty() ? detail::format("{} functions", symbols.size())
                                             : detail::format("'{}'", pattern);
    const std::string description =
        detail::format("{} {}",
                       session               ? "kprobe session"
                       : at == ProbeAt::exit ? "kretprobe.multi"
                                             : "kprobe.multi",
                       what);
    if (!cookies.empty() && cookies.size() != symbols.size())
      throw Error(EINVAL,
                  detail::format("attach {}: {} cookies for {} symbols", description,
                                 cookies.size(), symbols.size()),
                  std::string(detail::hint::one_cookie_per_symbol));
    const auto feature = session ? kernel::Feature::kprobe_session : kernel::Feature::kprobe_multi;
    const std::string_view missing_hint =
        session ? detail::hint::no_kprobe_session : detail::hint::no_kprobe_multi;
    // Checked first: where kprobe.multi is missing, the program's load is what fails.
    kernel::require(feature, detail::format("attach {}", description), missing_hint);
    const auto check_prepared = [&] {
      const bool for_session = bpf_program__expected_attach_type(prog.get()) ==
                               static_cast<bpf_attach_type>(detail::uapi::attach_kprobe_session);
      if (for_session != session)
        throw Error(EINVAL, detail::format("attach {} (program '{}')", description, prog.name()),
                    detail::hint::multi_probe_not_prepared("kprobe", session));
    };
    if (session) {
      // libbpf 1.1 makes kprobe.multi links only: a session's is made raw, on names. A pattern
      // without wildcards is a name, for the kernel to find: the listing misses aliases such
      // as 6.12's __x64_sys_* wrappers, traced under their __do_sys_* name.
      const bool glob = pattern.find_first_of("*?[") != std::string::npos;
      const std::vector<std::string> names =
          pattern.empty() ? symbols
          : glob          ? detail::kernel_functions<T>(kernel::tracefs(), pattern)
                          : std::vector{pattern};
      if (names.empty())
        throw Error(ENOENT, detail::format("attach {} (program '{}')", description, prog.name()),
                    detail::format("no kernel function matches '{}' (available_filter_functions "
                                   "and /proc/kallsyms list them)",
                                   pattern));
      std::vector<detail::Dependent<const char*, T>> syms;
      syms.reserve(names.size());
      for (const auto& n : names) syms.push_back(n.c_str());
      return detail::attach_link(
          prog, description,
          [&] {
            check_prepared();
            auto fd = detail::uapi::link_create_kprobe_multi(
                prog.fd(), syms, 0, cookies.empty() ? nullptr : cookies.data(),
                detail::uapi::attach_kprobe_session);
            if (!fd && errno == ESRCH) errno = ENOENT; // a name the kernel does not know
            return fd;
          },
          {feature, std::string(missing_hint), detail::Op::attach_multi});
    }
    std::vector<detail::Dependent<const char*, T>> names;
    names.reserve(symbols.size());
    for (const auto& s : symbols) names.push_back(s.c_str());
    bpf_kprobe_multi_opts opts;
    detail::init_opts(opts);
    opts.retprobe = at == ProbeAt::exit;
    if (pattern.empty()) {
      opts.syms = names.data();
      opts.cnt = names.size();
      opts.cookies = cookies.empty() ? nullptr : reinterpret_cast<const __u64*>(cookies.data());
    }
    return detail::attach_link(
        prog, description,
        [&] {
          check_prepared();
          return bpf_program__attach_kprobe_multi_opts(
              prog.get(), pattern.empty() ? nullptr : pattern.c_str(), &opts);
        },
        {feature, std::string(missing_hint), detail::Op::attach_multi});
  }
};

/// A uprobe.multi link (kernel 6.6+): runs `prog` at the entry (or return, or both as a
/// session: 6.13+) of many functions of one binary, for process `pid` (-1: every process, 0: this
/// one). Functions are named by a glob over the binary's function symbols (.symtab and .dynsym,
/// read with libelf) or listed; the cookie of each (bpf_get_attach_cookie) is its index in
/// symbols(), or the cookie given.
///
/// The program must be SEC("uprobe.multi") (libbpf 1.2+; SEC("uprobe.session"), 1.6+, for a
/// session) or be prepared with prepare() before load, which sets its expected attach type. A
/// Link over a raw BPF_LINK_CREATE (libbpf 1.1 has no uprobe.multi). Throws FeatureError where
/// the kernel has none (or no uprobe sessions), Error when no function matches (ENOENT), the
/// program was not prepared for this kind (a session or not), or the kernel refuses.
class UprobeMulti : public Link {
public:
  UprobeMulti() noexcept = default;

  /// Every function of `binary` whose name matches `pattern` (fnmatch(3) glob).
  template <class = void>
  [[nodiscard]] UprobeMulti(const Program& prog, const std::filesystem::path& binary,
                            std::string_view pattern, pid_t pid = -1, ProbeAt at = ProbeAt::entry)
      : UprobeMulti(prog, binary, by_glob(prog, binary, pattern), pid, at,
                    detail::format("'{}'", pattern)) {}

  /// Each of `symbols` (exact names) of `binary`, with the cookie at the same index (none: the
  /// index).
  template <class = void>
  [[nodiscard]] UprobeMulti(const Program& prog, const std::filesystem::path& binary,
                            const std::vector<std::string>& symbols,
                            const std::vector<std::uint64_t>& cookies = {}, pid_t pid = -1,
                            ProbeAt at = ProbeAt::entry)
      : UprobeMulti(prog, binary, by_name(prog, binary, symbols, cookies), pid, at,
                    detail::format("{} functions", symbols.size())) {}

  /// Sets `prog`'s expected attach type to uprobe.multi, or to a uprobe session for
  /// ProbeAt::session; call it before load for a program whose section libbpf does not know as
  /// such (SEC("uprobe") with libbpf 1.1). Throws Error after load.
  template <class = void>
  static void prepare(const Program& prog, ProbeAt at = ProbeAt::entry) {
    detail::set_expected_attach_type(prog,
                                     at == ProbeAt::session ? detail::uapi::attach_uprobe_session
                                                            : detail::uapi::attach_uprobe_multi,
                                     at == ProbeAt::session ? "a uprobe session" : "uprobe.multi");
  }

  /// The functions attached, in cookie order for a glob (sorted by name).
  const std::vector<std::string>& symbols() const noexcept { return found_.symbols; }
  /// Their file offsets in the binary.
  const std::vector<std::uint64_t>& offsets() const noexcept { return found_.offsets; }
  /// Their cookies.
  const std::vector<std::uint64_t>& cookies() const noexcept { return found_.cookies; }

private:
  struct Found {
    std::vector<std::string> symbols;
    std::vector<std::uint64_t> offsets;
    std::vector<std::uint64_t> cookies;
  };

  template <class = void>
  UprobeMulti(const Program& prog, const std::filesystem::path& binary, Found found, pid_t pid,
              ProbeAt at, const std::string& what)
      : Link(attach(prog, binary, found, pid, at, what)), found_(std::move(found)) {}

  template <class T = void>
  static Found by_glob(const Program& prog, const std::filesystem::path& binary,
                       std::string_view pattern) {
    const std::string glob(pattern);
    Found found = resolve<T>(prog, binary, [&](std::string_view name) {
      return ::fnmatch(glob.c_str(), std::string(name).c_str(), 0) == 0;
    });
    if (found.symbols.empty())
      throw Error(ENOENT,
                  detail::format("attach uprobe.multi '{}' in '{}' (program '{}')", pattern,
                                 binary.string(), prog.name()),
                  detail::format("no function symbol matches '{}': `nm {}` lists them", pattern,
                                 binary.string()));
    for (std::size_t i = 0; i < found.symbols.size(); ++i) found.cookies.push_back(i);
    return found;
  }

  template <class T = void>
  static Found by_name(const Program& prog, const std::filesystem::path& binary,
                       const std::vector<std::string>& symbols,
                       const std::vector<std::uint64_t>& cookies) {
    const auto action = [&] {
      return detail::format("attach uprobe.multi on {} functions in '{}' (program '{}')",
                            symbols.size(), binary.string(), prog.name());
    };
    if (!cookies.empty() && cookies.size() != symbols.size())
      throw Error(
          EINVAL,
          detail::format("{}: {} cookies for {} symbols", action(), cookies.size(), symbols.size()),
          std::string(detail::hint::one_cookie_per_symbol));
    const Found all = resolve<T>(prog, binary, [&](std::string_view name) {
      return std::find(symbols.begin(), symbols.end(), name) != symbols.end();
    });
    // Back in the caller's order, each found once.
    Found found;
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      const auto it = std::find(all.symbols.begin(), all.symbols.end(), symbols[i]);
      if (it == all.symbols.end())
        throw Error(ENOENT, action(),
                    detail::format("'{}' is not a function symbol of '{}' (`nm {}` lists them)",
                                   symbols[i], binary.string(), binary.string()));
      found.symbols.push_back(symbols[i]);
      found.offsets.push_back(all.offsets[static_cast<std::size_t>(it - all.symbols.begin())]);
      found.cookies.push_back(cookies.empty() ? i : cookies[i]);
    }
    return found;
  }

  // (T: by_glob's and by_name's parameter nobody gives, through which the ELF reader is named.)
  template <class T, class Match>
  static Found resolve(const Program& prog, const std::filesystem::path& binary, Match&& match) {
    const auto action = [&] {
      return detail::format("read the function symbols of '{}' for uprobe.multi (program '{}')",
                            binary.string(), prog.name());
    };
    std::vector<std::pair<std::string, detail::Dependent<std::uint64_t, T>>> all;
    try {
      detail::BasicElfSymbols<T> elf(binary.string());
      elf.for_each_function([&](std::string_view name, std::uint64_t addr, std::uint64_t) {
        if (!match(name)) return;
        if (auto off = elf.file_offset_of(addr)) all.emplace_back(std::string(name), *off);
      });
    } catch (const Error& e) {
      throw Error(e.errnum(), action(), e.hint());
    }
    // .symtab and .dynsym both list exported functions: once each, sorted by name.
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    Found found;
    for (auto& [name, off] : all) {
      found.symbols.push_back(std::move(name));
      found.offsets.push_back(off);
    }
    return found;
  }

  template <class = void>
  static Link attach(const Program& prog, const std::filesystem::path& binary, const Found& found,
                     pid_t pid, ProbeAt at, const std::string& what) {
    const bool session = at == ProbeAt::session;
    const std::string path = std::filesystem::absolute(binary).string();
    const std::string description = detail::format("{} {} in '{}'",
                                                   session               ? "uprobe session"
                                                   : at == ProbeAt::exit ? "uretprobe.multi"
                                                                         : "uprobe.multi",
                                                   what, binary.string());
    const int type = session ? detail::uapi::attach_uprobe_session
                             : detail::uapi::attach_uprobe_multi;
    return detail::attach_link(
        prog, description,
        [&] {
          const auto expected = bpf_program__expected_attach_type(prog.get());
          if (expected != static_cast<bpf_attach_type>(type)) {
            const bool for_session =
                expected == static_cast<bpf_attach_type>(detail::uapi::attach_uprobe_session);
            throw Error(EINVAL,
                        detail::format("attach {} (program '{}')", description, prog.name()),
                        session || for_session
                            ? detail::hint::multi_probe_not_prepared("uprobe", session)
                            : std::string(detail::hint::uprobe_multi_not_prepared));
          }
          return detail::uapi::link_create_uprobe_multi(
              prog.fd(), path.c_str(), {found.offsets.data(), found.offsets.size()},
              found.cookies.data(),
              at == ProbeAt::exit ? detail::uapi::uprobe_multi_return : 0,
              pid == 0  ? static_cast<std::uint32_t>(::getpid())
              : pid > 0 ? static_cast<std::uint32_t>(pid)
                        : 0,
              type);
        },
        {session ? kernel::Feature::uprobe_session : kernel::Feature::uprobe_multi,
         std::string(session ? detail::hint::no_uprobe_session : detail::hint::no_uprobe_multi),
         detail::Op::attach_multi});
  }

  Found found_;
};

} // namespace ebpfpp
