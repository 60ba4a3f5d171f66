// ebpfpp/tool.hpp: the command line every tool takes, and its main loop's end on a duration or
// a signal.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

#include <ebpfpp/tool.hpp>

namespace tool_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

namespace {
// argv from strings, as main gets it.
struct Argv {
  std::vector<std::string> args;
  std::vector<char*> ptrs;
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    for (auto& s : args) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(args.size()); }
  char** argv() { return ptrs.data(); }
};
} // namespace

TEST_CASE("tool::parse_command_line: -d, -i, and the tool's own flags first") {
  Argv a({"t", "-d", "1.5", "--interval", "0.25", "--verbose"});
  bool verbose = false;
  const auto o = ebpfpp::tool::parse_command_line(a.argc(), a.argv(), "t", "usage\n",
                                                  ebpfpp::tool::switch_flag("--verbose", verbose));
  CHECK(o.duration == 1500ms);
  CHECK(o.interval == 250ms);
  CHECK(verbose);

  // A tool that gives -i its own meaning sees it before the frame does.
  Argv b({"t", "-i", "7"});
  std::string own;
  const auto p = ebpfpp::tool::parse_command_line(b.argc(), b.argv(), "t", "",
                                                  [&](std::string_view arg, const char* v) {
                                                    if (arg != "-i" || !v) return 0;
                                                    own = v;
                                                    return 2;
                                                  });
  CHECK(own == "7");
  CHECK(p.interval == 1000ms);
  CHECK_FALSE(p.duration.has_value());
}

TEST_CASE("tool::run: the body's status, and an exception as '<tool>: <what>' with status 1") {
  Argv a({"t", "-d", "2"});
  std::optional<std::chrono::milliseconds> seen;
  CHECK(ebpfpp::tool::run(a.argc(), a.argv(), "t", "", ebpfpp::tool::no_flags,
                          [&](const ebpfpp::tool::Options& o) {
                            seen = o.duration;
                            return 3;
                          }) == 3);
  CHECK(seen == 2000ms);
  CHECK(ebpfpp::tool::run(a.argc(), a.argv(), "t", "", ebpfpp::tool::no_flags,
                          [](const ebpfpp::tool::Options&) { throw std::runtime_error("boom"); }) ==
        1);
}

TEST_CASE("tool::every: ticks each interval, ends with the duration, or on SIGTERM with it") {
  int ticks = 0;
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(ebpfpp::tool::every(20ms, 110ms, [&] { ++ticks; }).has_value());
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 110ms);
  // 5 on time (20, 40, 60, 80, 100 ms); fewer only when this busy machine woke the loop late.
  CHECK(ticks >= 1);
  CHECK(ticks <= 5);

  // SIGTERM to this thread, which every() blocks and takes through its signalfd.
  const pthread_t self = pthread_self();
  std::thread killer([self] {
    std::this_thread::sleep_for(50ms);
    // The signal does not end the thread: every() blocks it and reads it from a signalfd, as
    // this test checks.
    pthread_kill(self, SIGTERM); // NOLINT(bugprone-bad-signal-to-kill-thread)
  });
  ticks = 0;
  const auto signal = ebpfpp::tool::every(10ms, std::nullopt, [&] { ++ticks; });
  killer.join();
  CHECK(signal == SIGTERM);
  CHECK(ticks >= 1);
}

} // namespace tool_test
