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
#include "detail/uapi.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link.hpp"
#include "program.hpp"
#include "symbolizer.hpp"

namespace ebpfpp {

/// A kprobe.multi link (kernel 5.18+, needs kprobes and fprobe: CONFIG_FPROBE): runs `prog`
/// (SEC("kprobe.multi/...")) at the entry (or the return, with `retprobe`) of every kernel
/// function matching `pattern` (a glob such as "tcp_*" over available_filter_functions), or of
/// each function of `symbols` with the cookie at the same index (none: 0). Throws FeatureError
/// where the kernel has no kprobe.multi, Error when no function matches (ENOENT).
class KprobeMulti : public Link {
public:
  [[nodiscard]] KprobeMulti(const Program& prog, std::string_view pattern, bool retprobe = false)
      : Link(make(prog, std::string(pattern), {}, {}, retprobe)) {}
  [[nodiscard]] KprobeMulti(const Program& prog, const std::vector<std::string>& symbols,
                            const std::vector<std::uint64_t>& cookies = {}, bool retprobe = false)
      : Link(make(prog, {}, symbols, cookies, retprobe)) {}

private:
  static Link make(const Program& prog, const std::string& pattern,
                   const std::vector<std::string>& symbols,
                   const std::vector<std::uint64_t>& cookies, bool retprobe) {
    const std::string what = pattern.empty() ? detail::format("{} functions", symbols.size())
                                             : detail::format("'{}'", pattern);
    const std::string description =
        detail::format("{} {}", retprobe ? "kretprobe.multi" : "kprobe.multi", what);
    if (!cookies.empty() && cookies.size() != symbols.size())
      throw Error(EINVAL,
                  detail::format("attach {}: {} cookies for {} symbols", description,
                                 cookies.size(), symbols.size()),
                  std::string(detail::hint::one_cookie_per_symbol));
    // Checked first: where kprobe.multi is missing, the program's load is what fails.
    kernel::require(kernel::Feature::kprobe_multi, detail::format("attach {}", description),
                    detail::hint::no_kprobe_multi);
    std::vector<const char*> names;
    names.reserve(symbols.size());
    for (const auto& s : symbols) names.push_back(s.c_str());
    auto opts = detail::make_opts<bpf_kprobe_multi_opts>();
    opts.retprobe = retprobe;
    if (pattern.empty()) {
      opts.syms = names.data();
      opts.cnt = names.size();
      opts.cookies = cookies.empty() ? nullptr : reinterpret_cast<const __u64*>(cookies.data());
    }
    return detail::attach_link(
        prog, description,
        [&] {
          return bpf_program__attach_kprobe_multi_opts(
              prog.get(), pattern.empty() ? nullptr : pattern.c_str(), &opts);
        },
        {kernel::Feature::kprobe_multi, std::string(detail::hint::no_kprobe_multi),
         detail::Op::attach_multi});
  }
};

/// A uprobe.multi link (kernel 6.6+): runs `prog` at the entry (or return, with `retprobe`) of
/// many functions of one binary, for process `pid` (-1: every process, 0: this one). Functions are
/// named by a glob over the binary's function symbols (.symtab and .dynsym, read with libelf) or
/// listed; the cookie of each (bpf_get_attach_cookie) is its index in symbols(), or the cookie
/// given.
///
/// The program must be SEC("uprobe.multi") (libbpf 1.2+) or be prepared with prepare() before
/// load, which sets its expected attach type. A Link over a raw BPF_LINK_CREATE (libbpf 1.1 has
/// no uprobe.multi). Throws FeatureError where the kernel has none, Error when no function
/// matches (ENOENT) or the kernel refuses.
class UprobeMulti : public Link {
public:
  UprobeMulti() noexcept = default;

  /// Every function of `binary` whose name matches `pattern` (fnmatch(3) glob).
  [[nodiscard]] UprobeMulti(const Program& prog, const std::filesystem::path& binary,
                            std::string_view pattern, pid_t pid = -1, bool retprobe = false)
      : UprobeMulti(prog, binary, by_glob(prog, binary, pattern), pid, retprobe,
                    detail::format("'{}'", pattern)) {}

  /// Each of `symbols` (exact names) of `binary`, with the cookie at the same index (none: the
  /// index).
  [[nodiscard]] UprobeMulti(const Program& prog, const std::filesystem::path& binary,
                            const std::vector<std::string>& symbols,
                            const std::vector<std::uint64_t>& cookies = {}, pid_t pid = -1,
                            bool retprobe = false)
      : UprobeMulti(prog, binary, by_name(prog, binary, symbols, cookies), pid, retprobe,
                    detail::format("{} functions", symbols.size())) {}

  /// Sets `prog`'s expected attach type to uprobe.multi; call it before load for a program
  /// whose section libbpf does not know as uprobe.multi (SEC("uprobe") with libbpf 1.1).
  /// Throws Error after load.
  static void prepare(const Program& prog) {
    const auto action = [&] {
      return detail::format("prepare program '{}' for uprobe.multi", prog.name());
    };
    if (!prog) throw Error(EBADF, action(), std::string(detail::hint::empty_view));
    detail::check(bpf_program__set_expected_attach_type(
                      prog.get(), static_cast<bpf_attach_type>(detail::uapi::attach_uprobe_multi)),
                  action);
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

  UprobeMulti(const Program& prog, const std::filesystem::path& binary, Found found, pid_t pid,
              bool retprobe, const std::string& what)
      : Link(attach(prog, binary, found, pid, retprobe, what)), found_(std::move(found)) {}

  static Found by_glob(const Program& prog, const std::filesystem::path& binary,
                       std::string_view pattern) {
    const std::string glob(pattern);
    Found found = resolve(prog, binary, [&](std::string_view name) {
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
    const Found all = resolve(prog, binary, [&](std::string_view name) {
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

  template <class Match>
  static Found resolve(const Program& prog, const std::filesystem::path& binary, Match&& match) {
    const auto action = [&] {
      return detail::format("read the function symbols of '{}' for uprobe.multi (program '{}')",
                            binary.string(), prog.name());
    };
    std::vector<std::pair<std::string, std::uint64_t>> all;
    try {
      detail::ElfSymbols elf(binary.string());
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

  static Link attach(const Program& prog, const std::filesystem::path& binary, const Found& found,
                     pid_t pid, bool retprobe, const std::string& what) {
    const std::string path = std::filesystem::absolute(binary).string();
    const std::string description = detail::format(
        "{} {} in '{}'", retprobe ? "uretprobe.multi" : "uprobe.multi", what, binary.string());
    return detail::attach_link(
        prog, description,
        [&] {
          if (bpf_program__expected_attach_type(prog.get()) !=
              static_cast<bpf_attach_type>(detail::uapi::attach_uprobe_multi))
            throw Error(EINVAL,
                        detail::format("attach {} (program '{}')", description, prog.name()),
                        std::string(detail::hint::uprobe_multi_not_prepared));
          return detail::uapi::link_create_uprobe_multi(
              prog.fd(), path.c_str(), found.offsets, found.cookies.data(),
              retprobe ? detail::uapi::uprobe_multi_return : 0,
              pid == 0  ? static_cast<std::uint32_t>(::getpid())
              : pid > 0 ? static_cast<std::uint32_t>(pid)
                        : 0);
        },
        {kernel::Feature::uprobe_multi, std::string(detail::hint::no_uprobe_multi),
         detail::Op::attach_multi});
  }

  Found found_;
};

} // namespace ebpfpp
