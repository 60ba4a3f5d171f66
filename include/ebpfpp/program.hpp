#pragma once
/// @file
/// Program: a non-owning view of one BPF program of an Object or Skeleton (object.hpp), what
/// every attach type (link.hpp, xdp.hpp, tc.hpp, ...) takes. In a header of its own so that an
/// attach type does not pay, in compile time, for Object and everything that opens an object;
/// nor for ProgramInfo and TestRun, which info() and test_run() need only where they are called
/// (object.hpp, where Programs come from, includes program_info.hpp and test_run.hpp).

#include "detail/config.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/format.hpp"
#include "detail/lifetime.hpp"
#include "error.hpp"

namespace ebpfpp {

struct ProgramInfo;   // program_info.hpp
class TestRun;        // test_run.hpp
struct TestRunResult; // test_run.hpp
// Declared inline, as they are defined: a file that calls them has their header.
inline ProgramInfo program_info(int fd, std::string_view name);
inline TestRunResult test_run(int fd, const TestRun& run, std::string_view name);

/// A non-owning view of a BPF program inside an Object or Skeleton. It is valid while the Object
/// or Skeleton lives; one that outlives it keeps its name() (the function name in the .bpf.c
/// file) and otherwise reads as an empty Program (expired() says so), rather than reading freed
/// memory. Its constructors, name(), get(), expired() and operator bool are those of every view
/// (detail::WatchedView).
class Program : public detail::WatchedView<bpf_program, bpf_program__name> {
public:
  using WatchedView::WatchedView;

  /// The ELF section, e.g. "tracepoint/syscalls/sys_enter_execve"; "" for an empty Program.
  std::string_view section() const noexcept {
    return get() ? bpf_program__section_name(get()) : "";
  }
  /// The program fd; -1 before load (and for an empty Program).
  int fd() const noexcept { return get() ? bpf_program__fd(get()) : -1; }
  /// BPF_PROG_TYPE_*; BPF_PROG_TYPE_UNSPEC for an empty Program.
  bpf_prog_type type() const noexcept {
    return get() ? bpf_program__type(get()) : BPF_PROG_TYPE_UNSPEC;
  }
  /// "kprobe", "tracepoint", ... as bpftool spells it.
  std::string_view type_name() const noexcept {
    const char* s = libbpf_bpf_prog_type_str(type());
    return s ? s : "unknown";
  }
  /// Whether load() loads this program (default: yes). Only before load.
  bool autoload() const noexcept { return get() && bpf_program__autoload(get()); }
  /// Throws Error after load, or on an empty Program.
  void set_autoload(bool on) {
    const auto action = [&] { return detail::format("set autoload of program '{}'", name()); };
    require_view(action);
    detail::check(bpf_program__set_autoload(get(), on), action);
  }
  /// Number of BPF instructions before load (what clang emitted); 0 for an empty Program.
  std::size_t instruction_count() const noexcept {
    return get() ? bpf_program__insn_cnt(get()) : 0;
  }

  /// What the kernel says about the loaded program: id, tag, sizes, BPF-to-BPF calls and
  /// tail-call sites in its xlated instructions, map ids (see ProgramInfo). Kernel 4.13+.
  /// Throws Error when the program is not loaded. Needs program_info.hpp (object.hpp has it).
  template <class Info = ProgramInfo> // a template: ProgramInfo is complete only where called
  Info info() const {
    require_loaded("get info of");
    return program_info(fd_of<Info>(), name());
  }
  /// Runs the loaded program on `run`'s input without attaching it (BPF_PROG_TEST_RUN; see
  /// test_run.hpp for the types that support it). Throws Error when it is not loaded, or when
  /// the kernel refuses the run (the Error says why and what the type accepts). Needs
  /// test_run.hpp (object.hpp has it).
  template <class Run = TestRun, class Result = TestRunResult> // (as info())
  Result test_run(const Run& run = Run()) const {
    require_loaded("test-run");
    return ebpfpp::test_run(fd(), run, name());
  }

private:
  // fd(), as an expression that depends on T: a call that takes it is checked where the template
  // is instantiated (with its return type complete), not where it is defined (clang checks a
  // call's return type there).
  template <class T>
  int fd_of() const noexcept {
    return fd();
  }
  template <class Action>
  void require_view(const Action& action) const {
    if (expired())
      throw Error(EBADF, detail::format("{}: its Object or Skeleton is gone", action()),
                  std::string(detail::hint::view_outlived));
    if (!get()) throw Error(EBADF, action(), std::string(detail::hint::empty_view));
  }
  void require_loaded(std::string_view what) const {
    require_view([&] {
      return name().empty() ? detail::format("{} an empty Program", what)
                            : detail::format("{} program '{}'", what, name());
    });
    if (fd() >= 0) return;
    throw Error(EINVAL, detail::format("{} program '{}': it is not loaded", what, name()),
                std::string(detail::hint::not_loaded));
  }
};

} // namespace ebpfpp
