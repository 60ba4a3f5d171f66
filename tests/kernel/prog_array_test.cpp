// ProgArray, Program::info() and Program::test_run() on the real kernel. The test_tail fixture
// is driven by test runs: `dispatch` tail-calls into jump_table at slot args[0], targets count
// their runs in the `hits` array map, an empty slot falls through to hits[FALLTHROUGH].
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "test_tail.bpf.skel.h"

namespace prog_array_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

constexpr std::uint32_t slots = 8;
constexpr std::uint32_t fallthrough = slots;

ebpfpp::Skeleton<test_tail_bpf> fixture() {
  return ebpfpp::Skeleton<test_tail_bpf>::open_and_load();
}

std::uint64_t hits(const ebpfpp::Skeleton<test_tail_bpf>& skel, std::uint32_t slot) {
  std::uint64_t n = 0;
  REQUIRE(bpf_map_lookup_elem(skel.map("hits").fd(), &slot, &n) == 0);
  return n;
}

// Runs `dispatch` as if its raw tracepoint fired with args[0] == slot; returns its return value.
std::uint32_t dispatch(const ebpfpp::Skeleton<test_tail_bpf>& skel, std::uint64_t slot) {
  const std::array<std::uint64_t, 1> args{slot};
  return skel.program("dispatch").test_run(ebpfpp::TestRun().ctx_in(args)).return_value;
}

std::uint32_t map_id(int map_fd) {
  bpf_map_info info{};
  __u32 len = sizeof info;
  REQUIRE(bpf_obj_get_info_by_fd(map_fd, &info, &len) == 0);
  return info.id;
}

// What bpftool, an independent reader of the same kernel interface, prints for a program.
std::string bpftool_show(std::uint32_t id) {
  const std::string cmd = fmt::format("{} prog show id {} --json", EBPFPP_TEST_BPFTOOL, id);
  std::FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  REQUIRE(::pclose(p) == 0);
  return out;
}

} // namespace

TEST_CASE("an empty slot falls through; set() makes the tail call land; erase() empties it") {
  auto skel = fixture();
  ebpfpp::ProgArray table(skel.map("jump_table"));
  CHECK(table.size() == slots);
  CHECK(table.name() == "jump_table");
  for (std::uint32_t i = 0; i < slots; ++i) CHECK_FALSE(table.contains(i));

  CHECK(dispatch(skel, 3) == 100);
  CHECK(hits(skel, fallthrough) == 1);

  table.set(3, skel.program("target_a"));
  CHECK(table.contains(3));
  CHECK(table.program_id(3) == skel.program("target_a").info().id);
  CHECK_FALSE(table.contains(2));
  CHECK(dispatch(skel, 3) == 1);
  CHECK(hits(skel, 3) == 1);
  CHECK(hits(skel, fallthrough) == 1);

  table.set(3, skel.program("target_b")); // replaces
  CHECK(table.program_id(3) == skel.program("target_b").info().id);
  CHECK(dispatch(skel, 3) == 2);
  CHECK(hits(skel, 3) == 2);

  CHECK(table.erase(3));
  CHECK_FALSE(table.erase(3));
  CHECK_FALSE(table.contains(3));
  CHECK(dispatch(skel, 3) == 100);
  CHECK(hits(skel, fallthrough) == 2);
}

TEST_CASE("fill() sets a range, and every slot; clear() empties them") {
  auto skel = fixture();
  ebpfpp::ProgArray table(skel.map("jump_table"));
  table.fill(2, 5, skel.program("target_a"));
  for (std::uint32_t i = 0; i < slots; ++i) CHECK(table.contains(i) == (i >= 2 && i < 5));
  for (std::uint32_t i = 0; i < slots; ++i)
    CHECK(dispatch(skel, i) == (i >= 2 && i < 5 ? 1u : 100u));
  CHECK(hits(skel, fallthrough) == slots - 3);

  table.fill(skel.program("target_b"));
  for (std::uint32_t i = 0; i < slots; ++i) CHECK(dispatch(skel, i) == 2);
  for (std::uint32_t i = 0; i < slots; ++i) CHECK(hits(skel, i) == (i >= 2 && i < 5 ? 2u : 1u));

  table.clear();
  for (std::uint32_t i = 0; i < slots; ++i) CHECK_FALSE(table.contains(i));
  // An index past the end is a tail call that fails: the program falls through.
  CHECK(dispatch(skel, slots + 100) == 100);
}

TEST_CASE("a slot out of range is an Error naming the map and its size, and changes nothing") {
  auto skel = fixture();
  ebpfpp::ProgArray table(skel.map("jump_table"));
  try {
    table.set(slots, skel.program("target_a"));
    FAIL("set a slot out of range");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ERANGE);
    CHECK(e.action() == "set slot 8 of prog array 'jump_table' to program 'target_a'");
    CHECK(e.hint().find("has 8 slots (0..7)") != std::string::npos);
    CHECK(e.hint().find("max_entries") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(table.fill(4, slots + 1, skel.program("target_a")),
                       doctest::Contains("fill slots [4, 9) of prog array 'jump_table'"),
                       ebpfpp::Error);
  for (std::uint32_t i = 0; i < slots; ++i) CHECK_FALSE(table.contains(i));
  CHECK_THROWS_AS(table.erase(slots), ebpfpp::Error);
  CHECK_FALSE(table.contains(slots));
  CHECK_FALSE(table.program_id(1000).has_value());
}

TEST_CASE("a program of another type is refused with an Error naming both types") {
  auto skel = fixture();
  ebpfpp::ProgArray table(skel.map("jump_table"));
  try {
    table.set(0, skel.program("wrong_type"));
    FAIL("a raw_tp prog array took a tracepoint program");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(e.action() == "set slot 0 of prog array 'jump_table' to program 'wrong_type'");
    CHECK_MESSAGE(e.hint().find("'wrong_type' is a tracepoint program") != std::string::npos,
                  e.hint());
    CHECK_MESSAGE(e.hint().find("holds raw_tracepoint programs") != std::string::npos, e.hint());
    CHECK_MESSAGE(e.hint().find("'dispatch'") != std::string::npos, e.hint());
  }
  CHECK_FALSE(table.contains(0));
}

TEST_CASE("ProgArray refuses a map of another type, an unloaded map and an unloaded program") {
  auto skel = fixture();
  CHECK_THROWS_WITH_AS(ebpfpp::ProgArray(skel.map("hits")),
                       doctest::Contains("view map 'hits' (array) as ebpfpp::ProgArray: the map "
                                         "type does not fit"),
                       ebpfpp::Error);

  auto unloaded = ebpfpp::Skeleton<test_tail_bpf>::open();
  // A ProgArray owns the map's fd, so it can only be made once the map exists.
  CHECK_THROWS_WITH_AS(ebpfpp::ProgArray(unloaded.map("jump_table")),
                       doctest::Contains("it is not created yet"), ebpfpp::Error);

  auto partial = ebpfpp::Skeleton<test_tail_bpf>::open();
  partial.program("target_b").set_autoload(false);
  partial.load();
  ebpfpp::ProgArray table(partial.map("jump_table"));
  try {
    table.set(0, partial.program("target_b"));
    FAIL("set an unloaded program");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(e.hint().find("program 'target_b' is not loaded") != std::string::npos);
  }
}

TEST_CASE("failed ProgArray and test_run calls leave no fd behind") {
  auto skel = fixture();
  ebpfpp::ProgArray table(skel.map("jump_table"));
  const std::size_t before = test::open_fd_count();
  for (int i = 0; i < 20; ++i) {
    CHECK_THROWS_AS(table.set(0, skel.program("wrong_type")), ebpfpp::Error);
    CHECK_THROWS_AS(table.set(slots, skel.program("target_a")), ebpfpp::Error);
    CHECK_THROWS_AS(skel.program("wrong_type").test_run(), ebpfpp::Error);
    CHECK_THROWS_AS(skel.program("dispatch").test_run(ebpfpp::TestRun().repeat(5)), ebpfpp::Error);
  }
  CHECK(test::open_fd_count() == before);
}

TEST_CASE("info() agrees with bpftool and finds the tail-call site in the dispatcher") {
  auto skel = fixture();
  const ebpfpp::ProgramInfo d = skel.program("dispatch").info();
  CHECK(d.id > 0);
  CHECK(d.name == "dispatch");
  CHECK(d.type == BPF_PROG_TYPE_RAW_TRACEPOINT);
  CHECK(d.type_name() == "raw_tracepoint");
  CHECK(d.instruction_count * sizeof(bpf_insn) == d.xlated_size);
  CHECK(d.instruction_count > 0);
  CHECK(d.bpf_to_bpf_calls == 0);
  REQUIRE_MESSAGE(d.tail_call_sites.has_value(),
                  "the kernel hid helper ids from root (kernel.kptr_restrict=2?)");
  CHECK(*d.tail_call_sites == 1);
  const std::uint32_t table_id = map_id(skel.map("jump_table").fd());
  const std::uint32_t hits_id = map_id(skel.map("hits").fd());
  CHECK(std::find(d.map_ids.begin(), d.map_ids.end(), table_id) != d.map_ids.end());
  CHECK(std::find(d.map_ids.begin(), d.map_ids.end(), hits_id) != d.map_ids.end());

  const std::string json = bpftool_show(d.id);
  CHECK_MESSAGE(json.find(fmt::format("\"tag\":\"{}\"", d.tag_string())) != std::string::npos,
                json);
  CHECK_MESSAGE(json.find(fmt::format("\"bytes_xlated\":{},", d.xlated_size)) != std::string::npos,
                json);
  if (d.jited_size > 0)
    CHECK_MESSAGE(json.find(fmt::format("\"bytes_jited\":{},", d.jited_size)) != std::string::npos,
                  json);
  CHECK(json.find("\"name\":\"dispatch\"") != std::string::npos);

  const ebpfpp::ProgramInfo a = skel.program("target_a").info();
  CHECK(a.tail_call_sites == std::optional<std::size_t>(0));
  CHECK(a.id != d.id);
  CHECK(a.tag_string() != d.tag_string());
}

TEST_CASE("info() and test_run() of a program that is not loaded say so") {
  auto skel = ebpfpp::Skeleton<test_tail_bpf>::open();
  CHECK_THROWS_WITH_AS(skel.program("dispatch").info(),
                       doctest::Contains("get info of program 'dispatch': it is not loaded"),
                       ebpfpp::Error);
  CHECK_THROWS_WITH_AS(skel.program("dispatch").test_run(),
                       doctest::Contains("test-run program 'dispatch': it is not loaded"),
                       ebpfpp::Error);
}

TEST_CASE("test_run() errors say what the program type takes") {
  auto skel = fixture();
  try {
    (void)skel.program("dispatch").test_run(ebpfpp::TestRun().repeat(10));
    FAIL("a raw_tp test run took repeat");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(e.action() == "test-run program 'dispatch'");
    CHECK(e.hint().find("raw_tracepoint test run takes only ctx_in") != std::string::npos);
  }
  try {
    (void)skel.program("wrong_type").test_run();
    FAIL("a tracepoint program was test-run");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ebpfpp::detail::uapi::enotsupp);
    CHECK(e.hint().find("cannot test-run tracepoint programs") != std::string::npos);
  }
  const auto r =
      skel.program("dispatch").test_run(ebpfpp::TestRun().ctx_in(std::array<std::uint64_t, 1>{0}));
  CHECK_THROWS_WITH_AS((void)r.ctx_out_as<std::uint64_t>(), doctest::Contains("gave back 0 bytes"),
                       ebpfpp::Error);
}

TEST_CASE("test_run() on a chosen CPU runs there") {
  auto skel = fixture();
  ebpfpp::ProgArray table(skel.map("jump_table"));
  table.set(1, skel.program("target_a"));
  const std::array<std::uint64_t, 1> args{1};
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  for (std::uint32_t cpu = 0; cpu < static_cast<std::uint32_t>(cpus); ++cpu)
    CHECK(skel.program("dispatch").test_run(ebpfpp::TestRun().ctx_in(args).cpu(cpu)).return_value ==
          1);
  CHECK(hits(skel, 1) == static_cast<std::uint64_t>(cpus));
  CHECK_THROWS_AS(skel.program("dispatch").test_run(ebpfpp::TestRun().ctx_in(args).cpu(100000)),
                  ebpfpp::Error);
}

} // namespace prog_array_test
