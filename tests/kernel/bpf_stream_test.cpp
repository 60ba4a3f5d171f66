// BPF streams (6.17+) on the running kernel: programs of test_bpf_stream.bpf.c print known lines
// to their stdout and stderr (EBPFPP_STREAM_PRINTK), run by BPF_PROG_TEST_RUN, and
// ebpfpp::ProgramStream reads them back, and the kernel's own report of a loop it cut off. The
// test cases are named "bpf_stream: ..." so that -tc='*bpf_stream*' selects them; they are in
// suite "vm", so the qemu kernels run them (scripts/vm-suite): below 6.17 they skip, and sid's
// kernel, which takes prints, must run them (bpf_streams is expected there). The object is built
// twice, for 6.18's kfunc and for the implicit-argument one of 7.x (stream.bpf.h says why): the
// test loads the one this kernel takes.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "helpers.hpp"

namespace bpf_stream_test { // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using namespace std::chrono_literals;
using ebpfpp::ProgramStream;
using Lines = std::vector<std::string>;

void run(const ebpfpp::Program& prog, std::uint64_t a0, std::uint64_t a1 = 0) {
  const auto r = prog.test_run(ebpfpp::TestRun().ctx_in(std::array<std::uint64_t, 2>{a0, a1}));
  REQUIRE(r.return_value == 0);
}

// test_bpf_stream.bpf.o, or its twin for kernels with implicit kfunc arguments when libbpf finds
// the first one's kfunc declaration incompatible with this kernel's.
ebpfpp::Object loaded() {
  {
    auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_bpf_stream.bpf.o");
    try {
      obj.load();
      return obj;
    } catch (const ebpfpp::Error& e) {
      if (e.log().find("incompatible with kernel") == std::string::npos) throw;
    }
  }
  auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_bpf_stream_implicit.bpf.o");
  obj.load();
  return obj;
}

int global(const ebpfpp::Object& obj, std::string_view name) {
  return obj.variable<int>(name).get();
}

// Whether the kernel took every print the programs made so far. Where it refused them all with
// ENOMEM on a kernel booted with deferred_init=lazy, that is the kernel's limit, not ours: 6.17
// and 6.18 take a stream's memory with alloc_pages_nolock, which refuses every request while
// deferred page initialisation is pending, and "lazy" leaves it pending for good. (Measured on
// this project's 6.18 host: every print returns -ENOMEM, with reads working; on Debian's 7.2,
// which allocates with kmalloc_nolock, every print is taken.) Any other refusal fails the test.
std::optional<std::string> prints_refused(const ebpfpp::Object& obj) {
  const int prints = global(obj, "prints"), refused = global(obj, "refused");
  const int last_error = global(obj, "last_error");
  REQUIRE(prints > 0);
  if (refused == 0) return std::nullopt;
  // A kernel that is expected to have BPF streams (scripts/vm-suite) must take the prints.
  REQUIRE_FALSE_MESSAGE(test::expected("bpf_streams"),
                        "this kernel was expected to take BPF stream prints; it refused "
                            << refused << " of " << prints << ", the last with errno "
                            << -last_error);
  std::string cmdline;
  std::getline(std::ifstream("/proc/cmdline"), cmdline);
  const bool lazy_init = cmdline.find("deferred_init=lazy") != std::string::npos;
  REQUIRE_MESSAGE((refused == prints && last_error == -ENOMEM && lazy_init),
                  "the kernel refused " << refused << " of " << prints
                                        << " prints, the last with errno " << -last_error);
  return fmt::format("this kernel refuses memory to every BPF stream print ({} of {} returned "
                     "ENOMEM): it allocates stream pages with alloc_pages_nolock, which fails "
                     "while deferred page init is pending, and it was booted with "
                     "deferred_init=lazy",
                     refused, prints);
}

Lines expected_out(std::uint32_t n) {
  Lines lines;
  for (std::uint32_t i = 0; i < n; ++i)
    lines.push_back(fmt::format("out {} of {}: {}", i, n, i % 2 ? "odd" : "even"));
  return lines;
}

Lines expected_err(std::uint32_t n) {
  Lines lines;
  for (std::uint32_t i = 0; i < n; ++i)
    lines.push_back(fmt::format("err {}: {:x}", i, 0xbeef00 + i));
  return lines;
}

} // namespace

TEST_CASE("bpf_stream: stdout and stderr lines read back exactly, each on its own stream" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_streams)) EBPFPP_SKIP(*r);
  auto obj = loaded();
  ProgramStream out(obj.program("print_lines"), ProgramStream::out);
  ProgramStream err(obj.program("print_lines"), ProgramStream::err);
  CHECK(out.what() == "stdout of program 'print_lines'");
  CHECK(err.what() == "stderr of program 'print_lines'");

  run(obj.program("print_lines"), 7, 4);
  if (auto r = prints_refused(obj)) EBPFPP_SKIP(*r);
  CHECK(global(obj, "prints") == 11);
  CHECK(out.read() == expected_out(7));
  CHECK(err.read() == expected_err(4));
  // Reading consumed them.
  CHECK(out.read().empty());
  CHECK(err.read().empty());

  // A second run: stdout only, and the stream keeps what was printed until it is read.
  run(obj.program("print_lines"), 3, 0);
  run(obj.program("print_lines"), 0, 2);
  CHECK(prints_refused(obj) == std::nullopt);
  CHECK(err.read() == expected_err(2));
  CHECK(out.read() == Lines{"out 0 of 3: even", "out 1 of 3: odd", "out 2 of 3: even"});
  CHECK(out.partial().empty());
}

TEST_CASE("bpf_stream: a line printed in two runs comes out whole, when it ends" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_streams)) EBPFPP_SKIP(*r);
  auto obj = loaded();
  ProgramStream out(obj.program("print_halves"), ProgramStream::out);
  run(obj.program("print_halves"), 0);
  if (auto r = prints_refused(obj)) EBPFPP_SKIP(*r);
  CHECK(out.read().empty());
  CHECK(out.try_next() == nullptr);
  CHECK(out.partial() == "first half, ");
  run(obj.program("print_halves"), 1);
  CHECK(out.read() == Lines{"first half, second half"});
  CHECK(out.partial().empty());
}

TEST_CASE("bpf_stream: a line longer than a read (4096 bytes) comes out whole" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_streams)) EBPFPP_SKIP(*r);
  auto obj = loaded();
  ProgramStream out(obj.program("print_long_line"), ProgramStream::out);
  run(obj.program("print_long_line"), 0);
  if (auto r = prints_refused(obj)) EBPFPP_SKIP(*r);
  std::string chunk;
  while (chunk.size() < 200)
    chunk += "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  chunk.resize(200);
  std::string line;
  for (int i = 0; i < 24; ++i) line += chunk;
  const Lines lines = out.read();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].size() == 24 * 200 + 5);
  CHECK(lines[0] == line + "<end>");
}

TEST_CASE("bpf_stream: lines() hands out lines as a run prints them, and ends on its timeout" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_streams)) EBPFPP_SKIP(*r);
  auto obj = loaded();
  ProgramStream out(obj.program("print_lines"), ProgramStream::out);
  out.poll_interval(10ms);
  const ebpfpp::Program prog = obj.program("print_lines");
  std::jthread printer([prog] {
    std::this_thread::sleep_for(100ms);
    (void)prog.test_run(ebpfpp::TestRun().ctx_in(std::array<std::uint64_t, 2>{5, 0}));
  });
  const auto start = std::chrono::steady_clock::now();
  Lines got;
  for (const std::string& line : out.lines(1500ms)) got.push_back(line);
  const auto took = std::chrono::steady_clock::now() - start;
  printer.join();
  if (auto r = prints_refused(obj)) EBPFPP_SKIP(*r);
  CHECK(got == expected_out(5));
  CHECK(took >= 1500ms); // it ended on its timeout, not at the first empty look
  CHECK(took < 3s);
}

TEST_CASE("bpf_stream: the streams of a program that printed nothing read nothing" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_streams)) EBPFPP_SKIP(*r);
  auto obj = loaded();
  for (const auto id : {ProgramStream::out, ProgramStream::err}) {
    ProgramStream s(obj.program("print_lines"), id);
    CHECK(s.read().empty());
    CHECK(s.try_next() == nullptr);
    CHECK(s.partial().empty());
    s.poll_interval(5ms);
    std::size_t n = 0;
    const auto start = std::chrono::steady_clock::now();
    for ([[maybe_unused]] const std::string& line : s.lines(50ms)) ++n;
    CHECK(n == 0);
    CHECK(std::chrono::steady_clock::now() - start >= 50ms);
  }
  // A run that prints nothing leaves them empty too.
  run(obj.program("print_lines"), 0, 0);
  CHECK(global(obj, "prints") == 0);
  CHECK(ProgramStream(obj.program("print_lines"), ProgramStream::out).read().empty());
  CHECK(ProgramStream(obj.program("print_lines"), ProgramStream::err).read().empty());
}

TEST_CASE("bpf_stream: a bad fd, a fd that is no program's, or no program is an Error with a "
          "hint, and leaks no fd" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_streams)) EBPFPP_SKIP(*r);
  const std::size_t fds = test::open_fd_count();
  {
    // Not an open fd.
    const int closed = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(closed >= 0);
    ::close(closed);
    try {
      ProgramStream s(closed, ProgramStream::out, "gone");
      FAIL("no Error for a closed fd");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EBADF);
      CHECK(e.action() == "open the stdout of program 'gone'");
      CHECK(e.hint().find("fd of a loaded BPF program") != std::string::npos);
    }
    // A file, and a BPF map: open fds, but no program's.
    const int file = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(file >= 0);
    const int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "not_a_prog", 4, 4, 1, nullptr);
    REQUIRE(map >= 0);
    for (const int fd : {file, map}) {
      CAPTURE(fd);
      try {
        ProgramStream s(fd, ProgramStream::err);
        FAIL("no Error for an fd that is no program's");
      } catch (const ebpfpp::Error& e) {
        CHECK(e.errnum() == EINVAL);
        CHECK(e.action() == fmt::format("open the stderr of fd {}", fd));
        CHECK(e.hint().find("a stream belongs to a program") != std::string::npos);
      }
    }
    ::close(file);
    ::close(map);
  }
  {
    // A program that is not loaded, an empty Program, an empty ProgramStream.
    auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_bpf_stream.bpf.o");
    try {
      ProgramStream s(obj.program("print_lines"), ProgramStream::out);
      FAIL("no Error for a program that is not loaded");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == EINVAL);
      CHECK(std::string(e.what()).find("program 'print_lines': it is not loaded") !=
            std::string::npos);
      CHECK(e.hint().find("load()") != std::string::npos);
    }
    CHECK_THROWS_AS(ProgramStream(ebpfpp::Program(), ProgramStream::out), ebpfpp::Error);
    ProgramStream empty;
    CHECK_FALSE(empty);
    CHECK_THROWS_AS(empty.read(), ebpfpp::Error);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("bpf_stream: a stream keeps its program, and is read after its object is gone" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_streams)) EBPFPP_SKIP(*r);
  ProgramStream err;
  {
    auto obj = loaded();
    err = ProgramStream(obj.program("print_lines"), ProgramStream::err);
    CHECK(err.program_fd() != obj.program("print_lines").fd()); // its own duplicate
    run(obj.program("print_lines"), 0, 3);
    if (auto r = prints_refused(obj)) EBPFPP_SKIP(*r);
  }
  CHECK(err.read() == expected_err(3));
  // Moved, it reads on; the moved-from one is empty, and reading it is an Error.
  ProgramStream moved = std::move(err);
  CHECK(moved.read().empty());
  CHECK(moved.what() == "stderr of program 'print_lines'");
  CHECK_FALSE(err);                           // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_AS(err.read(), ebpfpp::Error); // NOLINT(bugprone-use-after-move)
}

TEST_CASE("bpf_stream: a may_goto loop the kernel cuts off leaves the kernel's report on stderr" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_streams)) EBPFPP_SKIP(*r);
  auto obj = loaded();
  const ebpfpp::Program prog = obj.program("may_goto_loop");
  ProgramStream err(prog, ProgramStream::err);
  run(prog, 0); // its first print only: does this kernel take prints at all?
  if (auto r = prints_refused(obj)) EBPFPP_SKIP(*r);
  REQUIRE(err.read() == Lines{"looping until the kernel stops me"});

  // x86-64's may_goto budget is time: a quarter of a second after the loop's first check, the
  // kernel ends it and writes its report, naming the thread that ran the program.
  const auto start = std::chrono::steady_clock::now();
  run(prog, 1);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 250ms);
  const auto loops = obj.variable<std::uint64_t>("loops").get();
  CHECK(loops > 0);
  const auto tid = ::syscall(SYS_gettid);
  std::string comm;
  std::getline(std::ifstream("/proc/thread-self/comm"), comm);

  const Lines lines = err.read();
  INFO("stderr:\n" << fmt::format("{}", fmt::join(lines, "\n")));
  REQUIRE(lines.size() >= 6);
  CHECK(lines[0] == "looping until the kernel stops me");
  CHECK(lines[1] == "ERROR: Timeout detected for may_goto instruction");
  CHECK(lines[2].starts_with("CPU: "));
  CHECK(lines[2].ends_with(fmt::format(" UID: {} PID: {} Comm: {}", ::geteuid(), tid, comm)));
  CHECK(lines[3] == "Call trace:");
  // The call trace, in which the program's frame is bpf_prog_<tag>_<name>+<offset>/<size>; an
  // empty line ends the report. Then the program goes on, and its next print follows.
  const auto blank = std::find(lines.begin() + 4, lines.end(), "");
  REQUIRE(blank != lines.end());
  CHECK(std::any_of(lines.begin() + 4, blank, [](const std::string& l) {
    return l.starts_with("bpf_prog_") && l.find("_may_goto_loop+0x") != std::string::npos;
  }));
  CHECK(lines.end() - blank == 2);
  CHECK(lines.back() == fmt::format("stopped after {} loops", loops));
}

} // namespace bpf_stream_test
