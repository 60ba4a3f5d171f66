#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>

#include <grp.h>

#include "helpers.hpp"
#include "test_fixtures.bpf.skel.h"

namespace object_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {
bool has_program(const std::vector<ebpfpp::Program>& ps, std::string_view name) {
  return std::any_of(ps.begin(), ps.end(), [&](auto p) { return p.name() == name; });
}
} // namespace

TEST_CASE("an object file opens, loads, and its programs and maps are found by name") {
  auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_fixtures.bpf.o");
  CHECK(obj.name() == "test_fixtures");
  auto prog = obj.program("count_tracepoint");
  CHECK(prog.section() == "tracepoint/syscalls/sys_enter_getppid");
  CHECK(prog.fd() < 0); // not loaded yet
  CHECK(has_program(obj.programs(), "count_uprobe"));
  // Only what this kernel can load: kprobe programs load without kprobes, they just can't attach.
  obj.load();
  CHECK(prog.fd() >= 0);
  CHECK(prog.type() == BPF_PROG_TYPE_TRACEPOINT);
  CHECK(prog.type_name() == "tracepoint");
  auto bss = obj.map("test_fix.bss");
  CHECK(bss.fd() >= 0);
  CHECK(bss.type() == BPF_MAP_TYPE_ARRAY);
}

TEST_CASE("a missing program or map name throws an Error listing the names that exist") {
  auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_fixtures.bpf.o");
  CHECK_THROWS_WITH_AS(
      obj.program("count_tracepont"),
      doctest::Contains("find program 'count_tracepont' in object 'test_fixtures'"), ebpfpp::Error);
  try {
    (void)obj.program("nope");
    FAIL("no throw");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENOENT);
    CHECK(e.hint().find("'count_tracepoint'") != std::string::npos);
    CHECK(e.hint().find("'count_uprobe'") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(obj.map("counts"),
                       doctest::Contains("maps are: 'test_fix.rodata', 'test_fix.bss'"),
                       ebpfpp::Error);
}

TEST_CASE("opening a file that does not exist names it") {
  CHECK_THROWS_WITH_AS(
      ebpfpp::Object::open_file("/nonexistent/x.bpf.o"),
      doctest::Contains("open BPF object file '/nonexistent/x.bpf.o': No such file"),
      ebpfpp::Error);
}

TEST_CASE("a program the verifier rejects throws an Error carrying the verifier's log") {
  auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_bad.bpf.o");
  try {
    obj.load();
    FAIL("the verifier accepted a NULL dereference");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.action() == "load program 'missing_null_check' of BPF object 'test_bad'");
    CHECK(e.errnum() == EACCES);
    CHECK(e.log().find("invalid mem access 'map_value_or_null'") != std::string::npos);
    // whole: the log starts where the verifier starts, at instruction 0
    CHECK(e.log().find("\n0: (b7)") != std::string::npos);  // instruction 0 is there
    CHECK(e.log().find("processed ") != std::string::npos); // the verifier's last line
    CHECK(std::string(e.what()).find("invalid mem access") != std::string::npos);
    CHECK(e.hint().find("verifier rejected") != std::string::npos);
    // The first line says the verifier's reason, not just "Permission denied".
    const std::string what = e.what();
    CHECK(what.substr(0, what.find('\n')) ==
          "load program 'missing_null_check' of BPF object 'test_bad': rejected by the verifier: "
          "R0 invalid mem access 'map_value_or_null' (errno 13: Permission denied)");
    const auto* v = dynamic_cast<const ebpfpp::VerifierError*>(&e);
    REQUIRE(v != nullptr);
    CHECK(v->reason() == "R0 invalid mem access 'map_value_or_null'");
  }
}

TEST_CASE("an object opens from memory, e.g. the bytes a skeleton embeds") {
  std::size_t size = 0;
  const void* bytes = test_fixtures_bpf::elf_bytes(&size);
  auto obj = ebpfpp::Object::open_memory({static_cast<const std::byte*>(bytes), size}, "fixtures");
  CHECK(obj.name() == "fixtures");
  obj.load();
  CHECK(obj.program("count_raw_tracepoint").fd() >= 0);
}

TEST_CASE("a skeleton's rodata is set between open and load, and the kernel sees it") {
  auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open();
  skel->rodata->target_tgid = ::getpid();
  skel.load();
  ebpfpp::Tracepoint tp(skel.program("count_tracepoint"), "syscalls", "sys_enter_getppid");
  test::call_getppid(7);
  CHECK(skel->bss->tracepoint_hits == 7);
}

TEST_CASE("open, load, attach and destroy 200 times leaves the fd count unchanged") {
  const std::size_t before = test::open_fd_count();
  for (int i = 0; i < 200; ++i) {
    auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open();
    skel->rodata->target_tgid = ::getpid();
    skel.load();
    ebpfpp::Tracepoint tp(skel.program("count_tracepoint"), "syscalls", "sys_enter_getppid");
    ebpfpp::RawTracepoint raw(skel.program("count_raw_tracepoint"), "sys_enter");
  }
  CHECK(test::open_fd_count() == before);
}

TEST_CASE("failed loads and attaches leave nothing behind") {
  const std::size_t before = test::open_fd_count();
  for (int i = 0; i < 20; ++i) {
    auto bad = ebpfpp::Object::open_file(test::bpf_dir() / "test_bad.bpf.o");
    CHECK_THROWS_AS(bad.load(), ebpfpp::Error);
    auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open_and_load();
    CHECK_THROWS_AS(
        ebpfpp::Tracepoint(skel.program("count_tracepoint"), "syscalls", "sys_enter_nope"),
        ebpfpp::Error);
    CHECK_THROWS_AS(ebpfpp::Kprobe(skel.program("count_kprobe"), "no_such_function_ebpfpp"),
                    ebpfpp::Error);
  }
  CHECK(test::open_fd_count() == before);
}

TEST_CASE("moving an Object transfers ownership and leaves the source empty") {
  auto a = ebpfpp::Object::open_file(test::bpf_dir() / "test_fixtures.bpf.o");
  ebpfpp::Object b = std::move(a);
  CHECK_FALSE(a);
  CHECK(b);
  b.load();
  a = std::move(b);
  CHECK(a.program("count_tracepoint").fd() >= 0);
}

TEST_CASE("views that outlive their Object or Skeleton keep their name and read as empty") {
  // Documented misuse (views are valid while their Object lives), but cheap to make safe: before,
  // MapRef::name() read libbpf's freed map (a null name into a string_view: SIGSEGV).
  ebpfpp::MapRef map, moved_map;
  ebpfpp::Program prog;
  std::vector<ebpfpp::MapRef> maps;
  {
    auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_fixtures.bpf.o");
    obj.load();
    map = obj.map("test_fix.bss");
    prog = obj.program("count_tracepoint");
    maps = obj.maps();
    CHECK_FALSE(map.expired());
    // Moving the Object keeps its views valid: the bpf_object is the same.
    ebpfpp::Object moved = std::move(obj);
    CHECK(map.fd() >= 0);
    CHECK(prog.fd() >= 0);
    moved_map = moved.map("test_fix.rodata");
  }
  CHECK(map.expired());
  CHECK(map.name() == "test_fix.bss");
  CHECK(moved_map.name() == "test_fix.rodata");
  CHECK(prog.name() == "count_tracepoint");
  REQUIRE(maps.size() == 2);
  CHECK(maps[1].name() == "test_fix.bss");
  // Everything else reads as an empty view's would.
  CHECK_FALSE(map);
  CHECK(map.get() == nullptr);
  CHECK(map.fd() == -1);
  CHECK(map.type() == BPF_MAP_TYPE_UNSPEC);
  CHECK(map.value_size() == 0);
  CHECK_FALSE(prog);
  CHECK(prog.fd() == -1);
  CHECK(prog.section().empty());
  CHECK(prog.instruction_count() == 0);
  // A typed view of it, or an attach, is an Error that says why.
  CHECK_THROWS_WITH_AS(
      ebpfpp::ArrayMap<std::uint32_t>{map},
      doctest::Contains("map 'test_fix.bss': the Object or Skeleton it came from is gone"),
      ebpfpp::Error);
  CHECK_THROWS_WITH_AS(ebpfpp::Tracepoint(prog, "syscalls", "sys_enter_getppid"),
                       doctest::Contains("Object or Skeleton is gone"), ebpfpp::Error);
  CHECK_THROWS_WITH_AS(prog.set_autoload(false),
                       doctest::Contains("program 'count_tracepoint': its Object or Skeleton is "
                                         "gone"),
                       ebpfpp::Error);

  // The same for a Skeleton's views.
  {
    auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open_and_load();
    map = skel.map("test_fix.bss");
    prog = skel.program("count_raw_tracepoint");
  }
  CHECK(map.name() == "test_fix.bss");
  CHECK(prog.name() == "count_raw_tracepoint");
  CHECK(map.fd() == -1);
  CHECK(prog.fd() == -1);
}

TEST_CASE("without privileges, a load fails with an Error naming the capabilities to grant") {
  // In a child that drops to uid 65534 with no capabilities, as an unprivileged user runs a tool.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0)
      ::_exit(10);
    try {
      auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open_and_load();
      ::_exit(11);
    } catch (const ebpfpp::Error& e) {
      const bool perm = e.errnum() == EPERM || e.errnum() == EACCES;
      const bool hint = e.hint().find("CAP_BPF + CAP_PERFMON") != std::string::npos;
      ::_exit(perm && hint ? 0 : 12);
    }
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

} // namespace object_test
