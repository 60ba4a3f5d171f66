#pragma once
/// @file
/// TpBtf, FmodRet and Lsm: BTF-typed tracing programs that attach by their target in SEC().
///
///     // SEC("tp_btf/sched_process_exec")
///     // int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
///     ebpfpp::TpBtf exec(skel.program("on_exec"));
///
/// TpBtf is a raw tracepoint with typed arguments (no trampoline: works wherever BTF does).
/// FmodRet and Lsm run through the BPF trampoline, like fentry: kernels that refuse trampolines
/// refuse them too (FeatureError).

#include "detail/config.hpp"

#include <string>

#include <bpf/libbpf.h>

#include "detail/format.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "program.hpp"

namespace ebpfpp {

/// A BTF-typed raw tracepoint (SEC("tp_btf/<tracepoint>")): the tracepoint's arguments as typed
/// kernel pointers (read them directly, no bpf_probe_read). Needs the kernel's BTF; kernel 5.5+.
/// Throws FeatureError without it, Error when the attach fails.
class TpBtf : public Link {
public:
  [[nodiscard]] explicit TpBtf(const Program& prog)
      : Link(detail::attach_link(
            prog, detail::format("tp_btf program '{}' ({})", prog.name(), prog.section()),
            [&] { return bpf_program__attach_trace(prog.get()); },
            {kernel::Feature::tp_btf, std::string(detail::hint::no_tp_btf),
             detail::Op::attach_tracing})) {}
};

/// An fmod_ret program (SEC("fmod_ret/<function>")): runs at a kernel function's entry and may
/// replace its return value (only for functions marked for error injection, and the
/// security_* hooks). Needs the BPF trampoline; kernel 5.7+. Throws FeatureError where the
/// kernel has no fmod_ret (checked before anything else: such kernels refuse even the load).
class FmodRet : public Link {
public:
  [[nodiscard]] explicit FmodRet(const Program& prog) : Link(make(prog)) {}

private:
  static Link make(const Program& prog) {
    const std::string what =
        detail::format("fmod_ret program '{}' ({})", prog.name(), prog.section());
    kernel::require(kernel::Feature::fmod_ret, detail::format("attach {}", what),
                    detail::hint::no_fmod_ret);
    return detail::attach_link(prog, what, [&] { return bpf_program__attach_trace(prog.get()); },
                               {kernel::Feature::fmod_ret, {}, detail::Op::attach_tracing});
  }
};

/// A BPF LSM program (SEC("lsm/<hook>"), e.g. "lsm/file_open"): runs at a security hook and may
/// deny the operation with a negative errno. Active only when the kernel was built with
/// CONFIG_BPF_LSM and `bpf` is in its lsm= list (/sys/kernel/security/lsm shows the list; boot
/// with lsm=...,bpf to add it). Needs the BPF trampoline; kernel 5.7+. Throws FeatureError
/// where BPF LSM is not active (checked before anything else).
class Lsm : public Link {
public:
  [[nodiscard]] explicit Lsm(const Program& prog) : Link(make(prog)) {}

private:
  static Link make(const Program& prog) {
    const std::string what = detail::format("LSM program '{}' ({})", prog.name(), prog.section());
    const std::string hint(detail::hint::bpf_lsm_inactive);
    kernel::require(kernel::Feature::lsm, detail::format("attach {}", what), hint);
    return detail::attach_link(prog, what, [&] { return bpf_program__attach_lsm(prog.get()); },
                               {kernel::Feature::lsm, hint, detail::Op::attach_tracing});
  }
};

} // namespace ebpfpp
