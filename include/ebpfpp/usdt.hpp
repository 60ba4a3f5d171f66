#pragma once
/// @file
/// Usdt: a program on a USDT probe (a user-space statically defined tracepoint, the
/// DTRACE_PROBE markers of <sys/sdt.h> that runtimes such as libc, Python, Node, the JVM and
/// PostgreSQL carry).
///
///     // BPF side: #include <bpf/usdt.bpf.h>
///     //           SEC("usdt") int BPF_USDT(on_query, long id, const char *text) { ... }
///     ebpfpp::Usdt probe(skel.program("on_query"), "/usr/bin/postgres", "postgresql",
///                        "query__start");
///
/// libbpf reads the probe's note (.note.stapsdt) in the binary, attaches a uprobe at each of its
/// sites and tells the program how to fetch each argument; on the BPF side bpf_usdt_arg() and
/// BPF_USDT read them, bpf_usdt_cookie() the cookie. Needs uprobes; kernel 4.17+ (5.15+ for
/// cookies without libbpf's IP-lookup fallback).

#include "detail/config.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <bpf/libbpf.h>
#include <sys/types.h>

#include "detail/format.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// A USDT probe link: runs `prog` (SEC("usdt")) at every site of probe `provider`:`name` in
/// `binary` (an executable or shared library; a name without '/' is searched like a uprobe's),
/// for process `pid` (-1: every process using the binary; 0: this process). `cookie` is what
/// bpf_usdt_cookie() returns. Throws FeatureError without uprobes, Error when the binary has no
/// such probe (ENOENT; `readelf -n <binary>` lists its stapsdt notes) or the attach fails.
///
/// (Its constructor is a template over a parameter nobody gives: a file that includes this
/// header and attaches no USDT probe compiles none of the attach.)
class Usdt : public Link {
public:
  template <class = void>
  [[nodiscard]] Usdt(const Program& prog, const std::filesystem::path& binary,
                     std::string_view provider, std::string_view name, pid_t pid = -1,
                     std::uint64_t cookie = 0)
      : Link(make(prog, binary, std::string(provider), std::string(name), pid, cookie)) {}

private:
  template <class = void>
  static Link make(const Program& prog, const std::filesystem::path& binary,
                   const std::string& provider, const std::string& name, pid_t pid,
                   std::uint64_t cookie) {
    bpf_usdt_opts opts;
    detail::init_opts(opts);
    opts.usdt_cookie = cookie;
    return detail::attach_link(
        prog, detail::format("USDT probe {}:{} in '{}'", provider, name, binary.string()),
        [&] {
          return bpf_program__attach_usdt(prog.get(), pid, binary.c_str(), provider.c_str(),
                                          name.c_str(), &opts);
        },
        {kernel::Feature::uprobes, {}, detail::Op::attach_usdt});
  }
};

} // namespace ebpfpp
