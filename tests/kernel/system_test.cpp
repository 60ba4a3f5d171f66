// system.hpp on the running kernel: the test's own programs, maps, links and BTF found among
// all of the machine's by id, with the right names and types; run-time statistics counting a
// known number of runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include <ebpfpp/link.hpp>
#include <ebpfpp/map.hpp>
#include <ebpfpp/object.hpp>
#include <ebpfpp/system.hpp>

#include "helpers.hpp"
#include "test_fixtures.bpf.skel.h"
#include "test_map_kinds.bpf.skel.h"

namespace {

template <class Infos>
auto find_id(const Infos& infos, std::uint32_t id) {
  return std::find_if(infos.begin(), infos.end(), [&](const auto& i) { return i.id == id; });
}

ebpfpp::Skeleton<test_fixtures_bpf> fixtures() {
  auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open();
  skel->rodata->target_tgid = ::getpid();
  skel.load();
  return skel;
}

} // namespace

TEST_CASE("all_programs/all_maps/all_links/all_btfs find this test's objects by id") {
  auto skel = ebpfpp::Skeleton<test_map_kinds_bpf>::open_and_load();
  auto fix = fixtures();
  ebpfpp::Tracepoint tp(fix.program("count_tracepoint"), "syscalls", "sys_enter_getppid");

  const auto prog_id = skel.program("lru_add").info().id;
  const auto ids = ebpfpp::program_ids();
  CHECK(std::find(ids.begin(), ids.end(), prog_id) != ids.end());
  const auto programs = ebpfpp::all_programs();
  const auto p = find_id(programs, prog_id);
  REQUIRE(p != programs.end());
  CHECK(p->name == "lru_add");
  CHECK(p->type == BPF_PROG_TYPE_RAW_TRACEPOINT);

  ebpfpp::BloomFilterMap<std::uint32_t> bloom(skel->maps.bloom);
  const auto maps = ebpfpp::all_maps();
  const auto m = find_id(maps, bloom.info().id);
  REQUIRE(m != maps.end());
  CHECK(m->name == "bloom");
  CHECK(m->type == BPF_MAP_TYPE_BLOOM_FILTER);
  const ebpfpp::LruPerCpuHashMap<std::uint32_t, std::uint64_t> lru_view(skel->maps.lru_pcpu);
  const auto lru = find_id(maps, lru_view.info().id);
  REQUIRE(lru != maps.end());
  CHECK(lru->type == BPF_MAP_TYPE_LRU_PERCPU_HASH);
  // Open by id into a typed view: the same map.
  bloom.push(77);
  auto again = ebpfpp::BloomFilterMap<std::uint32_t>::from_id(m->id);
  CHECK(again.contains(77));
  CHECK(again.name() == "bloom");

  // The link attaches the fixture's program.
  const auto tp_prog = fix.program("count_tracepoint").info().id;
  const auto links = ebpfpp::all_links();
  CHECK(std::any_of(links.begin(), links.end(), [&](const ebpfpp::LinkInfo& l) {
    return l.program_id == tp_prog && l.type == BPF_LINK_TYPE_PERF_EVENT;
  }));

  // The kernel's BTF and the object's BTF are both listed.
  const auto btfs = ebpfpp::all_btfs();
  const auto vmlinux = std::find_if(btfs.begin(), btfs.end(),
                                    [](const ebpfpp::BtfInfo& b) { return b.name == "vmlinux"; });
  REQUIRE(vmlinux != btfs.end());
  CHECK(vmlinux->kernel);
  const auto own = find_id(btfs, bloom.info().btf_id);
  REQUIRE(own != btfs.end());
  CHECK_FALSE(own->kernel);

  // An id that does not exist is an Error naming it.
  CHECK_THROWS_WITH_AS(ebpfpp::open_program_by_id(0xfffffff0u),
                       doctest::Contains("open program id 4294967280"), ebpfpp::Error);
}

TEST_CASE("StatsGuard: run_count and run_time_ns count exactly the runs made while it lives") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::run_stats)) EBPFPP_SKIP(*r);
  auto skel = ebpfpp::Skeleton<test_map_kinds_bpf>::open_and_load();
  const auto prog = skel.program("lru_add");
  const auto run = [&] {
    prog.test_run(ebpfpp::TestRun().ctx_in(std::array<std::uint64_t, 2>{1, 1}));
  };
  {
    ebpfpp::StatsGuard stats;
    const auto before = prog.info().run_count;
    for (int i = 0; i < 250; ++i) run();
    const auto info = prog.info();
    CHECK(info.run_count - before == 250);
    CHECK(info.run_time_ns > 0);
    // all_programs() reports the same.
    const auto all = ebpfpp::all_programs();
    const auto p = find_id(all, info.id);
    REQUIRE(p != all.end());
    CHECK(p->run_count == info.run_count);
  }
  // Triggered by real syscalls: a tracepoint program of this process.
  auto fix = fixtures();
  ebpfpp::Tracepoint tp(fix.program("count_tracepoint"), "syscalls", "sys_enter_getppid");
  ebpfpp::StatsGuard stats;
  const auto before = fix.program("count_tracepoint").info().run_count;
  test::call_getppid(400);
  const auto runs = fix.program("count_tracepoint").info().run_count - before;
  // The program runs for every process's getppid; it counts this process's in .bss.
  CHECK(fix->bss->tracepoint_hits == 400);
  CHECK(runs >= 400);
  CHECK(runs < 400 + 50);
}
