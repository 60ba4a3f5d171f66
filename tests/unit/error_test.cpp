#include <doctest/doctest.h>

#include <string>

#include <bpf/libbpf.h>
#include <ebpfpp/error.hpp>

namespace error_test {  // one per file: the test binaries are unity builds (tests/meson.build)

TEST_CASE("an Error says what was attempted, the errno text and the hint") {
  ebpfpp::Error e(ENOENT, "attach tracepoint syscalls/sys_enter_execvee", "check the name");
  const std::string what = e.what();
  CHECK(what.find("attach tracepoint syscalls/sys_enter_execvee") == 0);
  CHECK(what.find("No such file or directory") != std::string::npos);
  CHECK(what.find("errno 2") != std::string::npos);
  CHECK(what.find("hint: check the name") != std::string::npos);
  CHECK(e.errnum() == ENOENT);
  CHECK(e.code() == std::errc::no_such_file_or_directory);
}

TEST_CASE("an Error's what() shows the tail of a long log and log() keeps all of it") {
  std::string log;
  for (int i = 0; i < 100; ++i) log += "line " + std::to_string(i) + "\n";
  ebpfpp::Error e(EACCES, "load program 'x'", {}, log);
  const std::string what = e.what();
  CHECK(e.log() == log);
  CHECK(what.find("line 99") != std::string::npos);
  CHECK(what.find("line 10\n") == std::string::npos);
  CHECK(what.find("Error::log() has all") != std::string::npos);
}

TEST_CASE("check() passes results through and throws on negative errno") {
  CHECK(ebpfpp::detail::check(5, [] { return std::string("never"); }) == 5);
  CHECK_THROWS_WITH_AS(ebpfpp::detail::check(-EBADF, [] { return std::string("use fd 99"); }),
                       doctest::Contains("use fd 99: Bad file descriptor"), ebpfpp::Error);
}

TEST_CASE("check_ptr() throws with errno on NULL") {
  int x = 0;
  CHECK(ebpfpp::detail::check_ptr(&x, [] { return std::string("never"); }) == &x);
  errno = EEXIST;
  CHECK_THROWS_WITH_AS(ebpfpp::detail::check_ptr(static_cast<int*>(nullptr),
                                                 [] { return std::string("make thing"); }),
                       doctest::Contains("make thing: File exists"), ebpfpp::Error);
}

TEST_CASE("permission errors name what is missing") {
  const std::string hint = ebpfpp::detail::hint_for(EPERM);
  // The hint follows the effective capabilities, not the uid.
  if (ebpfpp::detail::has_capability(CAP_SYS_ADMIN))
    CHECK((hint.find("no capability is missing") != std::string::npos ||
           hint.find("locked down") != std::string::npos));
  else
    CHECK(hint.find("CAP_BPF") != std::string::npos);
  CHECK(ebpfpp::detail::hint_for(EAGAIN).empty());
}

TEST_CASE("libbpf's own error codes print their text, not \"Unknown error 4001\"") {
  const ebpfpp::Error e(LIBBPF_ERRNO__FORMAT, "open x");
  CHECK(e.code().message() == "BPF object format invalid");
  CHECK(std::string(e.code().category().name()) == "libbpf");
  CHECK(std::string(e.what()) == "open x: BPF object format invalid (errno 4001)");
  CHECK(e.errnum() == LIBBPF_ERRNO__FORMAT);
  // Plain errnos stay in the generic category, comparable with std::errc.
  const ebpfpp::Error p(ENOENT, "open y");
  CHECK(p.code() == std::errc::no_such_file_or_directory);
  CHECK(p.code().category() == std::generic_category());
}

TEST_CASE("the capabilities a load or map creation needs follow the program or map type") {
  using ebpfpp::detail::Op;
  CHECK(ebpfpp::detail::load_op_for(BPF_PROG_TYPE_XDP) == Op::load_network);
  CHECK(ebpfpp::detail::load_op_for(BPF_PROG_TYPE_SCHED_CLS) == Op::load_network);
  CHECK(ebpfpp::detail::load_op_for(BPF_PROG_TYPE_CGROUP_SOCK_ADDR) == Op::load_network);
  CHECK(ebpfpp::detail::load_op_for(static_cast<bpf_prog_type>(32)) == Op::load_network);
  CHECK(ebpfpp::detail::load_op_for(BPF_PROG_TYPE_TRACEPOINT) == Op::load);
  CHECK(ebpfpp::detail::load_op_for(BPF_PROG_TYPE_SOCKET_FILTER) == Op::load);
  CHECK(ebpfpp::detail::map_create_op_for(BPF_MAP_TYPE_DEVMAP, EPERM) == Op::load_network);
  CHECK(ebpfpp::detail::map_create_op_for(BPF_MAP_TYPE_SOCKMAP, EPERM) == Op::load_network);
  CHECK(ebpfpp::detail::map_create_op_for(BPF_MAP_TYPE_DEVMAP, EINVAL) == Op::map_create);
  CHECK(ebpfpp::detail::map_create_op_for(BPF_MAP_TYPE_HASH, EPERM) == Op::map_create);
}

TEST_CASE("the ENOMEM hint fits the kernel: memory cgroup since 5.11, RLIMIT_MEMLOCK before") {
  const std::string hint = ebpfpp::detail::hint_for(ENOMEM, ebpfpp::detail::Op::map_create);
  if (ebpfpp::KernelVersion::running() >= ebpfpp::KernelVersion{5, 11, 0}) {
    CHECK(hint.find("memory cgroup") != std::string::npos);
    CHECK(hint.find("RLIMIT_MEMLOCK") == std::string::npos);
  } else {
    CHECK(hint.find("RLIMIT_MEMLOCK") != std::string::npos);
  }
  CHECK(hint.find("max_entries") != std::string::npos);
}

TEST_CASE("a broken object file's hint says it is not a BPF object") {
  using ebpfpp::detail::Op;
  // ENOENT from a file libbpf could read: "couldn't find symbol table" (a stripped object).
  for (int err : {int{LIBBPF_ERRNO__FORMAT}, int{LIBBPF_ERRNO__LIBELF}, EINVAL, ENOENT})
    CHECK(ebpfpp::detail::hint_for(err, Op::open_object).find("not a valid BPF object") !=
          std::string::npos);
  // Parsing asks nothing of the kernel: no capability or kernel hint, whatever the errno.
  for (int err : {EPERM, EACCES, ENOMEM})
    CHECK(ebpfpp::detail::hint_for(err, Op::open_object).empty());
}

TEST_CASE("file_problem says what is wrong with the file: missing, a directory, or none") {
  using ebpfpp::detail::file_problem;
  const auto missing = file_problem("/nonexistent/ebpfpp.bpf.o");
  CHECK(missing.err == ENOENT);
  CHECK(missing.hint == "'/nonexistent/ebpfpp.bpf.o' does not exist: check the path (a relative "
                        "path is relative to the working directory, not to the executable)");
  const auto dir = file_problem("/tmp");
  CHECK(dir.err == EISDIR);
  CHECK(dir.hint == "'/tmp' is a directory: name the file in it");
  const auto readable = file_problem("/proc/self/exe");
  CHECK(readable.err == 0);
  CHECK(readable.hint.empty());
}

TEST_CASE("verifier_reason: the log's last line that is not a statistic") {
  CHECK(ebpfpp::detail::verifier_reason("0: (b7) r1 = 0\n7: (79) r0 = *(u64 *)(r0 +0)\n"
                                        "R0 invalid mem access 'map_value_or_null'\n"
                                        "processed 7 insns (limit 1000000) max_states_per_insn 0\n"
                                        "verification time 12 usec\nstack depth 8\n\n") ==
        "R0 invalid mem access 'map_value_or_null'");
  CHECK(ebpfpp::detail::verifier_reason("only line") == "only line");
  CHECK(ebpfpp::detail::verifier_reason("processed 1 insns\n").empty());
  CHECK(ebpfpp::detail::verifier_reason("").empty());
  const ebpfpp::VerifierError e(EACCES, "load program 'p'", "R1 type=scalar expected=fp", "hint",
                                "log\n");
  CHECK(std::string(e.what()).rfind("load program 'p': rejected by the verifier: R1 type=scalar "
                                    "expected=fp (errno 13: Permission denied)\n  hint: hint",
                                    0) == 0);
  CHECK(e.action() == "load program 'p'");
}

} // namespace error_test
