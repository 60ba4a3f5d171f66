// Feature coverage: at the end of each test case, one line per feature of the kernel table the
// case was gated on (test::skip_reason), to stderr:
//   feature-coverage <feature> ran
//   feature-coverage <feature> skipped <reason>
//   feature-coverage <feature> failed
// "ran" means the case passed without skipping: the feature was loaded, attached and counted.
// scripts/vm-suite collects these lines from each kernel's log into its coverage table.

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "helpers.hpp"

namespace coverage_file {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

struct CoverageListener : doctest::IReporter {
  explicit CoverageListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { test::coverage::current() = {}; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& stats) override {
    auto& state = test::coverage::current();
    for (const auto& gate : state.gates) {
      if (!stats.testCaseSuccess)
        std::fprintf(stderr, "feature-coverage %s failed\n", gate.feature.c_str());
      else if (gate.skipped || state.skipped)
        std::fprintf(stderr, "feature-coverage %s skipped %s\n", gate.feature.c_str(),
                     one_line(gate.skipped ? *gate.skipped : *state.skipped).c_str());
      else
        std::fprintf(stderr, "feature-coverage %s ran\n", gate.feature.c_str());
    }
    state = {};
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

} // namespace

REGISTER_LISTENER("feature-coverage", 1, CoverageListener);

} // namespace coverage_file
