#include <doctest/doctest.h>

#include <string>

#include <ebpfpp/error.hpp>

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
