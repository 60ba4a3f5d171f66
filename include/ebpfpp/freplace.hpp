#pragma once
/// @file
/// Freplace: an extension program (BPF_PROG_TYPE_EXT) that replaces one global function of a
/// program already loaded and running, without reloading or detaching it (a Link: destroying it
/// puts the original function back). Policy hooks are made this way: the loaded program calls a
/// global function with a default answer, and an extension supplies another answer later.
///
///     auto target = Skeleton<router>::open_and_load();      // calls global int decide(int)
///     auto ext = Skeleton<policy>::open();                   // SEC("?freplace/decide")
///     ext.program("strict_decide").set_autoload(true);
///     ebpfpp::Freplace::prepare(ext.program("strict_decide"), target.program("route"), "decide");
///     ext.load();
///     ebpfpp::Freplace strict(ext.program("strict_decide"), target.program("route"), "decide");
///
/// The replaced function must be global (not static) and __noinline in the target's .bpf.c, and
/// the extension take the same arguments and return the same type. The extension is verified
/// against the target at its load, so its target is set before (prepare); a SEC("?freplace/...")
/// keeps it out of its object's load until then. Kernel 5.6+; a second target (other than the
/// one it was loaded for) 5.10+. Needs the BPF trampoline (x86-64, arm64 6.0+).

#include "detail/config.hpp"

#include <cerrno>
#include <string>
#include <string_view>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "detail/btf_handle.hpp"
#include "detail/format.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// An extension program replacing `function` of the loaded program `target`.
///
/// Throws FeatureError where the kernel cannot run extensions (below 5.6, or refused: see
/// kernel::probe(Feature::freplace)); Error: `ext` is not an extension program, `target` is not
/// loaded, `target` has no global function `function` (ENOENT, or EINVAL for a static one).
///
/// (Its constructor and functions are templates over a parameter nobody gives: a file that
/// includes this header and replaces no function compiles none of them.)
class Freplace : public Link {
public:
  template <class = void>
  [[nodiscard]] Freplace(const Program& ext, const Program& target, std::string_view function)
      : Link(attach(ext, target, std::string(function))) {}

  /// Sets the target of `ext` before its object is loaded: the loaded program `target` and its
  /// global function `function`. Checks both now, so that a wrong name is an Error here rather
  /// than a failed load. Throws as the constructor does, and Error after `ext`'s load.
  template <class = void>
  static void prepare(const Program& ext, const Program& target, std::string_view function) {
    const std::string name(function);
    const auto action = [&] {
      return detail::format("make program '{}' replace function '{}' of program '{}'",
                            ext ? ext.name() : "<empty>", name, target ? target.name() : "<empty>");
    };
    check(ext, target, name, action);
    detail::check(bpf_program__set_attach_target(ext.get(), target.fd(), name.c_str()), action);
  }

private:
  template <class Action>
  static void check(const Program& ext, const Program& target, const std::string& function,
                    const Action& action) {
    if (!ext) throw Error(EBADF, action(), std::string(detail::hint::empty_view));
    kernel::require(kernel::Feature::freplace, action(), detail::hint::no_freplace);
    if (ext.type() != BPF_PROG_TYPE_EXT)
      throw Error(EINVAL, detail::format("{}: it is a {} program", action(), ext.type_name()),
                  std::string(detail::hint::freplace_not_ext));
    detail::require_loaded(target, action());
    // The function, as the kernel knows the target: a FUNC of its BTF, global.
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    detail::check(bpf_obj_get_info_by_fd(target.fd(), &info, &len), action);
    const detail::BtfPtr b(info.btf_id ? btf__load_from_kernel_by_id(info.btf_id) : nullptr);
    if (!b) return; // no BTF to look in (the kernel says why at load)
    const int id = btf__find_by_name_kind(b.get(), function.c_str(), BTF_KIND_FUNC);
    const btf_type* t = id > 0 ? btf__type_by_id(b.get(), static_cast<std::uint32_t>(id)) : nullptr;
    if (!t)
      throw Error(ENOENT, detail::format("{}: '{}' has no function '{}'", action(), target.name(),
                                         function),
                  detail::hint::freplace_no_function(function, false));
    if (btf_vlen(t) != BTF_FUNC_GLOBAL) // a FUNC's vlen is its linkage
      throw Error(EINVAL, action(), detail::hint::freplace_no_function(function, true));
  }

  template <class = void>
  static Link attach(const Program& ext, const Program& target, const std::string& function) {
    const auto action = [&] {
      return detail::format("attach extension '{}' over function '{}' of program '{}'",
                            ext ? ext.name() : "<empty>", function,
                            target ? target.name() : "<empty>");
    };
    check(ext, target, function, action);
    return detail::attach_link(
        ext, detail::format("freplace of function '{}' in program '{}'", function, target.name()),
        [&] {
          return bpf_program__attach_freplace(ext.get(), target.fd(), function.c_str());
        },
        {kernel::Feature::freplace, std::string(detail::hint::no_freplace)});
  }
};

} // namespace ebpfpp
