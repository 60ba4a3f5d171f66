// system.hpp on the running kernel: the test's own programs, maps, links and BTF found among
// all of the machine's by id, with the right names and types; run-time statistics counting a
// known number of runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include <ebpfpp/link.hpp>
#include <ebpfpp/map.hpp>
#include <ebpfpp/object.hpp>
#include <ebpfpp/prog_array.hpp>
#include <ebpfpp/system.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "helpers.hpp"
#include "test_fixtures.bpf.skel.h"
#include "test_map_kinds.bpf.skel.h"
#include "test_map_opens.bpf.skel.h"

namespace system_test {  // one per file: the test binaries are unity builds (tests/meson.build)

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

namespace {

// Another process that owns a prog array and a hash map (their only fds) until it is destroyed,
// as a tool beside this one would.
struct MapOwner {
  pid_t pid = -1;
  int release = -1; // closing it ends the child
  std::uint32_t prog_array_id = 0, hash_id = 0;

  MapOwner() {
    int ids[2], go[2];
    REQUIRE(::pipe2(ids, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Only its own ends: the read below must see the parent's close.
      ::close(ids[0]);
      ::close(go[1]);
      const int pa = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "owned_progs", 4, 4, 4, nullptr);
      const int hash = bpf_map_create(BPF_MAP_TYPE_HASH, "owned_hash", 4, 8, 16, nullptr);
      std::uint32_t out[2] = {0, 0};
      bpf_map_info info{};
      __u32 len = sizeof info;
      if (pa >= 0 && bpf_obj_get_info_by_fd(pa, &info, &len) == 0) out[0] = info.id;
      len = sizeof info;
      if (hash >= 0 && bpf_obj_get_info_by_fd(hash, &info, &len) == 0) out[1] = info.id;
      [[maybe_unused]] auto w = ::write(ids[1], out, sizeof out);
      char c;
      [[maybe_unused]] auto r = ::read(go[0], &c, 1); // until the parent closes it
      ::_exit(0);
    }
    ::close(ids[1]);
    ::close(go[0]);
    release = go[1];
    std::uint32_t in[2] = {0, 0};
    REQUIRE(::read(ids[0], in, sizeof in) == static_cast<ssize_t>(sizeof in));
    ::close(ids[0]);
    prog_array_id = in[0];
    hash_id = in[1];
    REQUIRE(prog_array_id != 0);
    REQUIRE(hash_id != 0);
  }
  MapOwner(const MapOwner&) = delete;
  MapOwner& operator=(const MapOwner&) = delete;
  ~MapOwner() {
    ::close(release);
    ::waitpid(pid, nullptr, 0);
  }
};

} // namespace

TEST_CASE("all_maps() describes another process's prog array without opening it") {
  // On 6.18 a prog array opened by id while its owner closes its last fd leaks for good: a
  // poller that opens every map would leak other tools' prog arrays. Watched from the kernel's
  // side: a tracepoint on bpf() counts this process's BPF_MAP_GET_FD_BY_ID calls.
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::iterators)) EBPFPP_SKIP(*r);
  const test::Baseline before;
  {
    MapOwner owner;
    auto watch = ebpfpp::Skeleton<test_map_opens_bpf>::open();
    watch->rodata->target_tgid = ::getpid();
    watch.load();
    watch->bss->watched_id = owner.prog_array_id;
    ebpfpp::Tracepoint tp(watch.program("count_map_opens"), "syscalls", "sys_enter_bpf");

    const auto maps = ebpfpp::all_maps();
    CHECK(watch->bss->opens_by_id == 0); // before: one per map on the machine
    CHECK(watch->bss->opens_of_watched == 0);
    // Described all the same, as BPF_OBJ_GET_INFO_BY_FD would.
    const auto pa = find_id(maps, owner.prog_array_id);
    REQUIRE(pa != maps.end());
    CHECK(pa->type == BPF_MAP_TYPE_PROG_ARRAY);
    CHECK(pa->name == "owned_progs");
    CHECK(pa->key_size == 4);
    CHECK(pa->value_size == 4);
    CHECK(pa->max_entries == 4);
    const auto hash = find_id(maps, owner.hash_id);
    REQUIRE(hash != maps.end());
    CHECK(hash->type == BPF_MAP_TYPE_HASH);
    CHECK(hash->value_size == 8);
    // A map with BTF: the ids agree with what its own fd says.
    auto skel = ebpfpp::Skeleton<test_map_kinds_bpf>::open_and_load();
    const ebpfpp::BloomFilterMap<std::uint32_t> bloom(skel->maps.bloom);
    const auto all = ebpfpp::all_maps();
    const auto b = find_id(all, bloom.info().id);
    REQUIRE(b != all.end());
    CHECK(b->btf_id == bloom.info().btf_id);
    CHECK(b->btf_value_type_id == bloom.info().btf_value_type_id);
    CHECK(b->map_flags == bloom.info().map_flags);

    // A typed view by id checks the type before it opens: a view of another type never opens
    // the prog array; the ProgArray asked for does.
    using WrongView = ebpfpp::Map<std::uint32_t, std::uint32_t>;
    CHECK_THROWS_WITH_AS(WrongView::from_id(owner.prog_array_id),
                         doctest::Contains("view map 'owned_progs' (prog_array) as ebpfpp::Map<"),
                         ebpfpp::Error);
    CHECK(watch->bss->opens_of_watched == 0);
    using HashView = ebpfpp::Map<std::uint32_t, std::uint64_t>;
    CHECK(HashView::from_id(owner.hash_id).name() == "owned_hash");
    {
      auto progs = ebpfpp::ProgArray::from_id(owner.prog_array_id);
      CHECK(progs.max_entries() == 4);
    }
    CHECK(watch->bss->opens_of_watched == 1);
  }
  before.check();
}

} // namespace system_test
