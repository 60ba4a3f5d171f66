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
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link.hpp"
#include "object.hpp"
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
                  "give one cookie per symbol, or none");
    // Checked first: where kprobe.multi is missing, the program's load is what fails.
    kernel::require(kernel::Feature::kprobe_multi, detail::format("attach {}", description),
                    "attach one Kprobe per function, or a tracepoint; kprobe.multi needs kernel "
                    "5.18+ built with CONFIG_FPROBE");
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
        {kernel::Feature::kprobe_multi,
         "attach one Kprobe per function, or a tracepoint; kprobe.multi needs kernel 5.18+ built "
         "with CONFIG_FPROBE",
         detail::Op::attach_multi});
  }
};

namespace detail {

// BPF_TRACE_UPROBE_MULTI (6.6): not in older uapi headers, nor in libbpf 1.1.
inline constexpr std::uint32_t trace_uprobe_multi = 48;
inline constexpr std::uint32_t uprobe_multi_return = 1; // BPF_F_UPROBE_MULTI_RETURN

// BPF_LINK_CREATE's attr for a uprobe.multi link (kernel 6.6 layout of union bpf_attr).
struct UprobeMultiAttr {
  std::uint32_t prog_fd;
  std::uint32_t target_fd;
  std::uint32_t attach_type;
  std::uint32_t flags;
  alignas(8) std::uint64_t path;
  std::uint64_t offsets;
  std::uint64_t ref_ctr_offsets;
  std::uint64_t cookies;
  std::uint32_t cnt;
  std::uint32_t uprobe_flags;
  std::uint32_t pid;
  std::uint32_t pad;
};
static_assert(offsetof(UprobeMultiAttr, path) == 16 && offsetof(UprobeMultiAttr, pid) == 56);

} // namespace detail

/// A uprobe.multi link (kernel 6.6+): runs `prog` at the entry (or return, with `retprobe`) of
/// many functions of one binary, for process `pid` (-1: every process, 0: this one). Functions are
/// named by a glob over the binary's function symbols (.symtab and .dynsym, read with libelf) or
/// listed; the cookie of each (bpf_get_attach_cookie) is its index in symbols(), or the cookie
/// given.
///
/// The program must be SEC("uprobe.multi") (libbpf 1.2+) or be prepared with prepare() before
/// load, which sets its expected attach type. Not a Link: libbpf 1.1 cannot wrap a link made by
/// BPF_LINK_CREATE directly, so this owns the link fd itself. Throws FeatureError below 6.6,
/// Error when no function matches (ENOENT) or the kernel refuses.
class [[nodiscard]] UprobeMulti {
public:
  UprobeMulti() noexcept = default;

  /// Every function of `binary` whose name matches `pattern` (fnmatch(3) glob).
  [[nodiscard]] UprobeMulti(const Program& prog, const std::filesystem::path& binary,
                            std::string_view pattern, pid_t pid = -1, bool retprobe = false)
      : binary_(binary) {
    const std::string glob(pattern);
    resolve(prog, [&](std::string_view name) {
      return ::fnmatch(glob.c_str(), std::string(name).c_str(), 0) == 0;
    });
    if (symbols_.empty())
      throw Error(ENOENT,
                  detail::format("attach uprobe.multi '{}' in '{}' (program '{}')", pattern,
                                 binary.string(), prog.name()),
                  detail::format("no function symbol matches '{}': `nm {}` lists them", pattern,
                                 binary.string()));
    for (std::size_t i = 0; i < symbols_.size(); ++i) cookies_.push_back(i);
    attach(prog, pid, retprobe, detail::format("'{}'", pattern));
  }

  /// Each of `symbols` (exact names) of `binary`, with the cookie at the same index (none: the
  /// index).
  [[nodiscard]] UprobeMulti(const Program& prog, const std::filesystem::path& binary,
                            const std::vector<std::string>& symbols,
                            const std::vector<std::uint64_t>& cookies = {}, pid_t pid = -1,
                            bool retprobe = false)
      : binary_(binary) {
    const auto action = [&] {
      return detail::format("attach uprobe.multi on {} functions in '{}' (program '{}')",
                            symbols.size(), binary.string(), prog.name());
    };
    if (!cookies.empty() && cookies.size() != symbols.size())
      throw Error(
          EINVAL,
          detail::format("{}: {} cookies for {} symbols", action(), cookies.size(), symbols.size()),
          "give one cookie per symbol, or none");
    resolve(prog, [&](std::string_view name) {
      return std::find(symbols.begin(), symbols.end(), name) != symbols.end();
    });
    // Back in the caller's order, each found once.
    std::vector<std::string> ordered;
    std::vector<std::uint64_t> offsets;
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      const auto it = std::find(symbols_.begin(), symbols_.end(), symbols[i]);
      if (it == symbols_.end())
        throw Error(ENOENT, action(),
                    detail::format("'{}' is not a function symbol of '{}' (`nm {}` lists them)",
                                   symbols[i], binary.string(), binary.string()));
      ordered.push_back(symbols[i]);
      offsets.push_back(offsets_[static_cast<std::size_t>(it - symbols_.begin())]);
      cookies_.push_back(cookies.empty() ? i : cookies[i]);
    }
    symbols_ = std::move(ordered);
    offsets_ = std::move(offsets);
    attach(prog, pid, retprobe, detail::format("{} functions", symbols_.size()));
  }

  UprobeMulti(UprobeMulti&&) noexcept = default;
  UprobeMulti& operator=(UprobeMulti&&) noexcept = default;

  /// Sets `prog`'s expected attach type to uprobe.multi; call it before load for a program
  /// whose section libbpf does not know as uprobe.multi (SEC("uprobe") with libbpf 1.1).
  /// Throws Error after load.
  static void prepare(const Program& prog) {
    const auto action = [&] {
      return detail::format("prepare program '{}' for uprobe.multi", prog.name());
    };
    if (!prog) throw Error(EBADF, action(), std::string(detail::hint::empty_view));
    detail::check(bpf_program__set_expected_attach_type(
                      prog.get(), static_cast<bpf_attach_type>(detail::trace_uprobe_multi)),
                  action);
  }

  /// The functions attached, in cookie order for a glob (sorted by name).
  const std::vector<std::string>& symbols() const noexcept { return symbols_; }
  /// Their file offsets in the binary.
  const std::vector<std::uint64_t>& offsets() const noexcept { return offsets_; }
  /// Their cookies.
  const std::vector<std::uint64_t>& cookies() const noexcept { return cookies_; }
  /// "uprobe.multi 'handle_*' in '/usr/bin/foo'".
  const std::string& description() const noexcept { return description_; }
  /// The link fd; -1 when empty.
  int fd() const noexcept { return fd_.get(); }
  /// Detaches now.
  void reset() noexcept { fd_.reset(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

private:
  template <class Match>
  void resolve(const Program& prog, Match&& match) {
    const auto action = [&] {
      return detail::format("read the function symbols of '{}' for uprobe.multi (program '{}')",
                            binary_.string(), prog.name());
    };
    std::vector<std::pair<std::string, std::uint64_t>> found;
    try {
      detail::ElfSymbols elf(binary_.string());
      elf.for_each_function([&](std::string_view name, std::uint64_t addr, std::uint64_t) {
        if (!match(name)) return;
        if (auto off = elf.file_offset_of(addr)) found.emplace_back(std::string(name), *off);
      });
    } catch (const Error& e) {
      throw Error(e.errnum(), action(), e.hint());
    }
    // .symtab and .dynsym both list exported functions: once each, sorted by name.
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    for (auto& [name, off] : found) {
      symbols_.push_back(std::move(name));
      offsets_.push_back(off);
    }
  }

  void attach(const Program& prog, pid_t pid, bool retprobe, const std::string& what) {
    description_ = detail::format("{} {} in '{}'", retprobe ? "uretprobe.multi" : "uprobe.multi",
                                  what, binary_.string());
    const std::string action =
        detail::format("attach {} (program '{}')", description_, prog ? prog.name() : "<empty>");
    detail::require_loaded(prog, action);
    kernel::require(kernel::Feature::uprobe_multi, action,
                    "attach one Uprobe per function instead");
    if (bpf_program__expected_attach_type(prog.get()) !=
        static_cast<bpf_attach_type>(detail::trace_uprobe_multi))
      throw Error(EINVAL, action,
                  "the program was not loaded for uprobe.multi: call UprobeMulti::prepare(prog) "
                  "before load (or use SEC(\"uprobe.multi\") with libbpf 1.2+)");
    const std::string path = std::filesystem::absolute(binary_).string();
    detail::UprobeMultiAttr attr{};
    attr.prog_fd = static_cast<std::uint32_t>(prog.fd());
    attr.attach_type = detail::trace_uprobe_multi;
    attr.path = reinterpret_cast<std::uintptr_t>(path.c_str());
    attr.offsets = reinterpret_cast<std::uintptr_t>(offsets_.data());
    attr.cookies = reinterpret_cast<std::uintptr_t>(cookies_.data());
    attr.cnt = static_cast<std::uint32_t>(offsets_.size());
    attr.uprobe_flags = retprobe ? detail::uprobe_multi_return : 0;
    attr.pid = pid == 0  ? static_cast<std::uint32_t>(::getpid())
               : pid > 0 ? static_cast<std::uint32_t>(pid)
                         : 0;
    const long fd = ::syscall(SYS_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
    if (fd < 0)
      detail::fail(
          errno, [&] { return action; }, detail::Op::attach_multi);
    fd_ = detail::UniqueFd(static_cast<int>(fd));
  }

  std::filesystem::path binary_;
  std::vector<std::string> symbols_;
  std::vector<std::uint64_t> offsets_;
  std::vector<std::uint64_t> cookies_;
  std::string description_;
  detail::UniqueFd fd_;
};

} // namespace ebpfpp
