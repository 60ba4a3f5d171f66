#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <ebpfpp/generator.hpp>

namespace generator_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using ebpfpp::Generator;

namespace {

Generator<int> count_to(int n) {
  for (int i = 1; i <= n; ++i) co_yield i;
}

struct Tracker {
  int* destroyed;
  ~Tracker() { ++*destroyed; }
};

Generator<int> tracked(int* destroyed, int* resumed_after_last) {
  Tracker t{destroyed};
  for (int i = 0; i < 100; ++i) {
    co_yield i;
    ++*resumed_after_last;
  }
}

Generator<int> throws_after(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
  throw std::runtime_error("boom");
}

Generator<const std::string&> refs(const std::string** seen) {
  std::string s = "zero-copy";
  *seen = &s;
  co_yield s;
}

} // namespace

TEST_CASE("default-constructed generator is an empty sequence") {
  Generator<int> g;
  int n = 0;
  for (int x : g) n += x;
  CHECK(n == 0);
}

TEST_CASE("a generator yields its values in order, lazily") {
  std::vector<int> got;
  for (int x : count_to(5)) got.push_back(x);
  CHECK(got == std::vector<int>{1, 2, 3, 4, 5});
}

TEST_CASE("nothing runs before begin()") {
  int destroyed = 0, resumed = 0;
  { auto g = tracked(&destroyed, &resumed); }
  CHECK(destroyed == 0); // the body never started, so Tracker was never constructed
  CHECK(resumed == 0);
}

TEST_CASE("early break destroys the coroutine's locals and runs nothing after the yield") {
  int destroyed = 0, resumed = 0;
  {
    auto g = tracked(&destroyed, &resumed);
    for (int x : g)
      if (x == 3) break;
    CHECK(destroyed == 0); // still alive: the generator object holds the frame
    CHECK(resumed == 3);
  }
  CHECK(destroyed == 1);
  CHECK(resumed == 3);
}

TEST_CASE("an exception in the body comes out of the iteration that resumed it") {
  auto g = throws_after(2);
  auto it = g.begin();
  CHECK(*it == 0);
  ++it;
  CHECK(*it == 1);
  CHECK_THROWS_WITH_AS(++it, "boom", std::runtime_error);
}

TEST_CASE("an exception before the first yield comes out of begin()") {
  auto g = throws_after(0);
  CHECK_THROWS_AS(g.begin(), std::runtime_error);
}

TEST_CASE("a reference generator hands out the coroutine's object itself") {
  const std::string* seen = nullptr;
  auto g = refs(&seen);
  for (const std::string& s : g) {
    CHECK(&s == seen);
    CHECK(s == "zero-copy");
  }
}

TEST_CASE("a moved-from generator is empty and the moved-to one continues") {
  auto a = count_to(3);
  auto it = a.begin();
  CHECK(*it == 1);
  Generator<int> b = std::move(a);
  int n = 0;
  for (int x : a) n += x; // NOLINT(bugprone-use-after-move): the moved-from state is under test
  CHECK(n == 0);
  ++it;
  CHECK(*it == 2);
}

namespace {
// Yields {1, 2, 3} as one run over an array, then 4 on its own; *left gets how many of the run
// the loop never reached (what an event stream would leave unconsumed).
Generator<const int&> runs(std::size_t* left) {
  const int values[] = {1, 2, 3};
  const int four = 4;
  ebpfpp::detail::YieldRun run;
  struct Report {
    std::size_t* left;
    const ebpfpp::detail::YieldRun* run;
    ~Report() { *left = run->remaining; }
  } report{left, &run};
  run.first = values;
  run.stride = sizeof(int);
  run.remaining = 2;
  co_yield run;
  CHECK(run.remaining == 0); // resumed only after the loop stepped through the whole run
  co_yield four;
}
} // namespace

TEST_CASE("a yielded run is stepped through in place without resuming the coroutine") {
  std::size_t left = 99;
  std::vector<int> seen;
  for (const int& v : runs(&left)) seen.push_back(v);
  CHECK(seen == std::vector<int>{1, 2, 3, 4});
  CHECK(left == 0);
}

TEST_CASE("breaking out in the middle of a run leaves the unreached values counted") {
  std::size_t left = 99;
  for (const int& v : runs(&left))
    if (v == 1) break;
  CHECK(left == 2);
  for (const int& v : runs(&left))
    if (v == 2) break;
  CHECK(left == 1);
}

} // namespace generator_test
