// examples/bpf-top run as a process: it lists a program of this test whose run count grows
// while the test runs it, and its totals agree with `bpftool prog show`.
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <ebpfpp/object.hpp>
#include <ebpfpp/system.hpp>

#include "helpers.hpp"
#include "test_map_kinds.bpf.skel.h"

namespace bpf_top_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

// The whitespace-separated fields of the row of program `id` in each table bpf-top printed.
std::vector<std::vector<std::string>> rows_of(const std::string& text, std::uint32_t id) {
  std::vector<std::vector<std::string>> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string w; words >> w;) fields.push_back(w);
    if (fields.size() == 8 && fields[0] == std::to_string(id)) out.push_back(fields);
  }
  return out;
}

std::string run_to_end(const std::string& name, const std::vector<std::string>& argv) {
  auto child = test::spawn(name, argv, true);
  const auto text = test::read_until(
      child.out, [](const std::string&) { return false; }, std::chrono::seconds(20));
  CHECK(child.wait() == 0);
  return text;
}

// "run_cnt":N from bpftool's JSON.
std::uint64_t json_number(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\":");
  REQUIRE_MESSAGE(at != std::string::npos, key << " not in: " << json);
  return std::stoull(json.substr(at + key.size() + 3));
}

} // namespace

TEST_CASE("bpf-top lists a test program whose run count grows, agreeing with bpftool") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::run_stats)) EBPFPP_SKIP(*r);
  auto skel = ebpfpp::Skeleton<test_map_kinds_bpf>::open_and_load();
  const auto prog = skel.program("lru_add");
  const std::uint32_t id = prog.info().id;
  const auto run = [&](int n) {
    for (int i = 0; i < n; ++i)
      prog.test_run(ebpfpp::TestRun().ctx_in(std::array<std::uint64_t, 2>{1, 1}));
  };
  const std::string top = (test::examples_dir() / "bpf-top").string();

  // Run the program 100 times every 50 ms while bpf-top refreshes three times.
  std::atomic<bool> done{false};
  std::thread driver([&] {
    while (!done) {
      run(100);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  const std::string text = run_to_end("bpf-top", {top, "-n", "3"});
  done = true;
  driver.join();
  const auto rows = rows_of(text, id);
  REQUIRE_MESSAGE(rows.size() == 3, text);
  std::uint64_t last = 0;
  for (const auto& row : rows) {
    CHECK(row[1] == "raw_tracepoint");
    CHECK(row[2] == "lru_add");
    CHECK(std::stod(row[3]) > 0); // events/s
    const std::uint64_t runs = std::stoull(row[6]);
    CHECK(runs > last);
    last = runs;
  }

  // Nothing runs it now: bpf-top's totals are bpftool's.
  const auto still = rows_of(run_to_end("bpf-top", {top, "-n", "1"}), id);
  REQUIRE(still.size() == 1);
  CHECK(std::stod(still[0][3]) == 0);
  const std::string json =
      run_to_end("bpftool", {EBPFPP_TEST_BPFTOOL, "prog", "show", "id", std::to_string(id), "-j"});
  CHECK(std::stoull(still[0][6]) == json_number(json, "run_cnt"));
  CHECK(std::stoull(still[0][7]) == json_number(json, "run_time_ns"));
  CHECK(json_number(json, "run_cnt") >= last);
}

TEST_CASE("bpf-top --help and a bad -n") {
  const std::string top = (test::examples_dir() / "bpf-top").string();
  auto help = test::spawn("bpf-top", {top, "--help"}, true);
  const auto usage = test::read_until(
      help.out, [](const std::string&) { return false; }, std::chrono::seconds(5));
  CHECK(help.wait() == 0);
  CHECK(usage.find("usage: bpf-top [-n ITERATIONS]") != std::string::npos);
  auto bad = test::spawn("bpf-top", {top, "-n", "zero"}, true);
  const auto err = test::read_until(
      bad.err, [](const std::string&) { return false; }, std::chrono::seconds(5));
  CHECK(bad.wait() == 2);
  CHECK(err.find("bad iteration count 'zero'") != std::string::npos);
}

} // namespace bpf_top_test
