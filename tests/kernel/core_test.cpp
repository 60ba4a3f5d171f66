// The shared core on the real kernel: the feature table, the need-wakeup protocol, the one map
// owner's sources, pinned-object kinds, empty and moved-from objects, the log hook, formatters.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>
#include <ebpfpp/format.hpp>
#include <fmt/format.h>

#include "hello.bpf.skel.h"
#include "helpers.hpp"
#include "streams_helpers.hpp"
#include "test_maps.bpf.skel.h"

namespace core_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using namespace std::chrono_literals;
namespace kernel = ebpfpp::kernel;

long voluntary_switches() {
  std::ifstream in("/proc/thread-self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("voluntary_ctxt_switches:")) return std::stol(line.substr(24));
  return -1;
}

} // namespace

TEST_CASE("the feature table lists every feature once, in enum order, with a minimum kernel") {
  const auto table = kernel::features();
  CHECK(table.size() == 47);
  for (std::size_t i = 0; i < table.size(); ++i) {
    CAPTURE(table[i].name);
    CHECK(static_cast<std::size_t>(table[i].id) == i);
    CHECK(table[i].min_kernel >= ebpfpp::KernelVersion{3, 19, 0});
    CHECK(kernel::feature_named(table[i].name) == table[i].id);
    const kernel::FeatureStatus& s = kernel::probe(table[i].id);
    CHECK(&s == &kernel::probe(table[i].id)); // cached
    CHECK(s.available == s.reason.empty());
  }
  CHECK(kernel::info(kernel::Feature::tcx).min_kernel == ebpfpp::KernelVersion{6, 6, 0});
  CHECK(ebpfpp::KernelVersion::parse("6.1.0-27-amd64") == ebpfpp::KernelVersion{6, 1, 0});
  CHECK(ebpfpp::KernelVersion::parse("5.10.209") == ebpfpp::KernelVersion{5, 10, 209});
  CHECK_FALSE(ebpfpp::KernelVersion::parse("garbage"));
  // What every test here needs is there (the suite would not get this far otherwise).
  CHECK(kernel::has(kernel::Feature::raw_tracepoints));
  CHECK(kernel::has(kernel::Feature::btf));
}

TEST_CASE("a missing feature is a FeatureError naming it, its minimum kernel and the cause") {
  for (const auto& f : kernel::features()) {
    if (kernel::has(f.id)) {
      CHECK_NOTHROW(kernel::require(f.id, "use it"));
      continue;
    }
    CAPTURE(f.name);
    try {
      kernel::require(f.id, fmt::format("attach a {} program", f.name), "use something else");
      FAIL("require() did not throw");
    } catch (const ebpfpp::FeatureError& e) {
      CHECK(e.feature() == f.name);
      CHECK(e.min_kernel() == f.min_kernel);
      CHECK(e.hint().find(fmt::format("({}+", f.min_kernel.str())) != std::string::npos);
      CHECK(e.hint().find(": use something else") != std::string::npos);
      CHECK(std::string(e.what()).find(fmt::format("attach a {} program", f.name)) !=
            std::string::npos);
    }
  }
}

TEST_CASE("ebpfpp-features prints the table with minimum versions, and JSON") {
  const auto exe = test::examples_dir() / "ebpfpp-features";
  auto text = test::run_capture({exe.string()});
  CHECK(text.status == 0);
  for (const auto& f : kernel::features()) {
    CAPTURE(f.name);
    const auto line = fmt::format("{:<18} {:<6} {:<4}", f.name, f.min_kernel.str(),
                                  kernel::has(f.id) ? "yes" : "no");
    CHECK(text.out.find(line) != std::string::npos);
  }
  auto json = test::run_capture({exe.string(), "--json"});
  CHECK(json.status == 0);
  CHECK(std::count(json.out.begin(), json.out.end(), '\n') == 47);
  CHECK(json.out.find("{\"feature\":\"ring_buffer\",\"min_kernel\":\"5.8\",\"available\":true") !=
        std::string::npos);
  CHECK(test::run_capture({exe.string(), "--bogus"}).status == 2);
}

TEST_CASE("an idle ring buffer consumer sleeps without a timer, and a lone event wakes it") {
  if (const auto skip = test::skip_reason(kernel::Feature::ring_buffer)) EBPFPP_SKIP(*skip);
  auto skel = test::load_streams();
  ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
  REQUIRE(rb.has_need_wakeup());
  CHECK(rb.wait_bound() < 0ms);

  // Idle for 1.5 s: the bounded wait (10 ms) would wake ~150 times; the flag, never.
  long idle_wakeups = -1;
  std::thread([&] {
    const long before = voluntary_switches();
    for (const stream_event& e : rb.events(1500ms)) (void)e;
    idle_wakeups = voluntary_switches() - before;
  }).join();
  CHECK(idle_wakeups <= 5);

  // A lone event while the consumer sleeps with no timeout bound: it arrives long before the
  // loop's own 20 s timeout, so the producer woke it.
  std::atomic<bool> got{false};
  std::uint64_t seq = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread consumer([&] {
    for (const stream_event& e : rb.events(20s)) {
      seq = e.seq;
      got = true;
      break;
    }
  });
  std::this_thread::sleep_for(300ms); // past the spin: asleep, flag set
  test::run_raw_tp(skel.program("emit_ring"), {1, 4242, 0});
  consumer.join();
  CHECK(got);
  CHECK(seq == 4242);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
}

TEST_CASE("a ring without a need-wakeup flag falls back to the bounded wait") {
  if (const auto skip = test::skip_reason(kernel::Feature::ring_buffer)) EBPFPP_SKIP(*skip);
  auto skel = test::load_streams();
  // Opened without <name>_ctl: the producer never wakes it, the 10 ms bound finds the record.
  ebpfpp::RingBuffer<stream_event> rb(skel->maps.test_ring, skel->maps.test_ring_drops);
  CHECK_FALSE(rb.has_need_wakeup());
  CHECK(rb.wait_bound() == 10ms);
  std::uint64_t seq = 0;
  std::thread consumer([&] {
    for (const stream_event& e : rb.events(20s)) {
      seq = e.seq;
      break;
    }
  });
  std::this_thread::sleep_for(300ms);
  test::run_raw_tp(skel.program("emit_ring"), {1, 77, 0});
  consumer.join();
  CHECK(seq == 77);
}

TEST_CASE(
    "every map view is made from each source: bpf_map*, MapRef, container+name, fd, id, pin") {
  auto skel = ebpfpp::Skeleton<test_maps_bpf>::open_and_load();
  using M = ebpfpp::Map<std::uint32_t, std::uint64_t>;
  M a(skel->maps.hash_u32_u64);
  a.update(5, 50);
  M b(skel.map("hash_u32_u64"));
  M c(skel, "hash_u32_u64");
  auto d = M::from_fd(a.fd(), "by fd");
  auto e = M::from_id(a.info().id);
  for (M* m : {&b, &c, &d, &e}) {
    CHECK(m->lookup(5) == 50u);
    CHECK(m->info().id == a.info().id);
    CHECK(m->fd() != a.fd()); // each owns its own fd
  }
  CHECK(d.name() == "by fd");
  CHECK(e.name() == "hash_u32_u64");
  test::BpffsMount bpffs;
  a.pin(bpffs.dir / "h");
  CHECK(M::open_pinned(bpffs.dir / "h").lookup(5) == 50u);
  CHECK_THROWS_WITH_AS(M(skel, "no_such_map"), doctest::Contains("find map 'no_such_map'"),
                       ebpfpp::Error);
  CHECK_THROWS_WITH_AS(M::from_id(0xfffffff0u), doctest::Contains("map id 4294967280"),
                       ebpfpp::Error);
  CHECK_THROWS_WITH_AS(M{ebpfpp::MapSource{}}, doctest::Contains("an empty map source"),
                       ebpfpp::Error);
  // The streams and ProgArray take the same sources.
  auto streams = test::load_streams();
  auto ring_id = ebpfpp::RingBuffer<stream_event>(streams, "test_ring").info().id;
  CHECK(ebpfpp::RingBuffer<stream_event>(ebpfpp::MapSource::id(ring_id)).info().id == ring_id);
  const int perf_fd = bpf_map__fd(streams->maps.test_perf);
  CHECK(ebpfpp::PerfBuffer<stream_event>(ebpfpp::MapSource::fd(perf_fd)).name() == "test_perf");
}

TEST_CASE("a pinned object opens only as its own kind") {
  test::BpffsMount bpffs;
  auto skel = ebpfpp::Skeleton<test_maps_bpf>::open_and_load();
  ebpfpp::Map<std::uint32_t, std::uint64_t> m(skel->maps.hash_u32_u64);
  m.pin(bpffs.dir / "map");
  auto hello = ebpfpp::Skeleton<hello_bpf>::open();
  hello.program("hello_kprobe").set_autoload(false);
  hello.load();
  {
    ebpfpp::Link link =
        ebpfpp::Tracepoint(hello.program("hello_tracepoint"), "syscalls", "sys_enter_execve");
    link.pin(bpffs.dir / "link");
    CHECK_THROWS_WITH_AS(link.pin(bpffs.dir / "again"), doctest::Contains("already pinned"),
                         ebpfpp::Error);
  }
  CHECK_THROWS_WITH_AS(ebpfpp::Link::open_pinned(bpffs.dir / "map"),
                       doctest::Contains("the object pinned there is not a link but a map"),
                       ebpfpp::Error);
  CHECK_THROWS_WITH_AS(ebpfpp::RingBuffer<stream_event>::open_pinned(bpffs.dir / "link"),
                       doctest::Contains("the object pinned there is not a map but a link"),
                       ebpfpp::Error);
  CHECK(ebpfpp::Link::open_pinned(bpffs.dir / "link"));
  std::filesystem::remove(bpffs.dir / "link");
  // Outside bpffs the hint says so, not "lockdown".
  try {
    (void)ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned("/tmp");
    FAIL("opened /tmp as a pinned map");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.hint().find("is not on a bpffs mount") != std::string::npos);
  }
}

TEST_CASE("empty and moved-from objects throw an Error instead of crashing") {
  auto skel = ebpfpp::Skeleton<hello_bpf>::open();
  auto moved = std::move(skel);
  // The moved-from skeleton is used on purpose below.
  // NOLINTBEGIN(bugprone-use-after-move)
  CHECK_THROWS_AS(skel.load(), ebpfpp::Error);
  CHECK_THROWS_AS(skel.program("hello_tracepoint"), ebpfpp::Error);
  CHECK_THROWS_AS(skel.map("x"), ebpfpp::Error);
  CHECK(skel.programs().empty());
  CHECK(skel.name().empty());
  // NOLINTEND(bugprone-use-after-move)

  ebpfpp::Object obj;
  CHECK_THROWS_AS(obj.load(), ebpfpp::Error);
  CHECK_THROWS_AS(obj.program("p"), ebpfpp::Error);
  CHECK(obj.maps().empty());

  CHECK_THROWS_WITH_AS(ebpfpp::Tracepoint(ebpfpp::Program{}, "syscalls", "sys_enter_execve"),
                       doctest::Contains("the Program is empty"), ebpfpp::Error);
  CHECK_THROWS_AS(ebpfpp::attach(ebpfpp::Program{}), ebpfpp::Error);
  CHECK_THROWS_AS(ebpfpp::Program{}.set_autoload(false), ebpfpp::Error);
  CHECK(ebpfpp::Program{}.name().empty());
  CHECK(ebpfpp::MapRef{}.fd() == -1);

  ebpfpp::Link link;
  CHECK_THROWS_WITH_AS(link.pin("/sys/fs/bpf/x"), doctest::Contains("pin link"), ebpfpp::Error);
  CHECK_THROWS_AS(link.unpin(), ebpfpp::Error);

  CHECK_THROWS_AS(ebpfpp::RingBuffer<stream_event>(ebpfpp::MapRef{}), ebpfpp::Error);
  CHECK_THROWS_AS(ebpfpp::PerfBuffer<stream_event>(ebpfpp::MapRef{}), ebpfpp::Error);
  CHECK_THROWS_AS(ebpfpp::ProgArray(ebpfpp::MapRef{}), ebpfpp::Error);
  ebpfpp::Map<std::uint32_t, std::uint64_t> empty_map;
  CHECK_THROWS_AS(empty_map.pin("/sys/fs/bpf/x"), ebpfpp::Error);
  CHECK_THROWS_WITH_AS((void)empty_map.lookup(1), doctest::Contains("has no open map fd"),
                       ebpfpp::Error);
}

namespace {
std::vector<std::string> g_app_messages;
int app_print(enum libbpf_print_level, const char* format, va_list args) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, format, args);
  g_app_messages.emplace_back(buf);
  return 0;
}
bool app_saw(std::string_view text) {
  for (const auto& m : g_app_messages)
    if (m.find(text) != std::string::npos) return true;
  return false;
}
// Bytes libbpf parses and refuses, logging the object's name (a missing file, a device or a
// corrupt object ebpfpp refuses before libbpf runs, with no log).
std::string error_log_of_failed_open() {
  static constexpr char junk[] = "not an ELF object at all";
  try {
    (void)ebpfpp::Object::open_memory({reinterpret_cast<const std::byte*>(junk), sizeof junk},
                                      "not-elf");
  } catch (const ebpfpp::Error& e) {
    return e.log();
  }
  return {};
}
constexpr std::string_view refused = "'not-elf' is not a proper ELF object";
} // namespace

TEST_CASE("libbpf_set_print by the application works in either order; Errors keep the log") {
  const auto outside_call = [] { // a libbpf call outside ebpfpp that logs a warning
    bpf_object* o = bpf_object__open_file("/nonexistent/outside.bpf.o", nullptr);
    if (o) bpf_object__close(o);
  };
  // The application installs its printer after ebpfpp's hook is in.
  (void)error_log_of_failed_open();
  g_app_messages.clear();
  libbpf_set_print(&app_print);
  CHECK(error_log_of_failed_open().find(refused) != std::string::npos);
  CHECK_FALSE(app_saw(refused)); // went into the Error instead
  outside_call();
  CHECK(app_saw("/nonexistent/outside.bpf.o"));

  // And before: ebpfpp's next call takes the hook back and forwards what is not its own.
  g_app_messages.clear();
  libbpf_set_print(&app_print);
  CHECK(error_log_of_failed_open().find(refused) != std::string::npos);
  outside_call();
  CHECK(app_saw("/nonexistent/outside.bpf.o"));
  libbpf_set_print(nullptr);
  (void)error_log_of_failed_open(); // restores ebpfpp's hook, forwarding to nothing
}

TEST_CASE("set_log_handler sees libbpf's messages, also those an Error captures") {
  std::vector<std::string> seen;
  ebpfpp::set_log_handler([&](ebpfpp::LogLevel level, std::string_view text) {
    if (level == ebpfpp::LogLevel::warn) seen.emplace_back(text);
  });
  const std::string log = error_log_of_failed_open();
  ebpfpp::set_log_handler(nullptr);
  CHECK(log.find(refused) != std::string::npos);
  bool found = false;
  for (const auto& s : seen) found |= s.find(refused) != std::string::npos;
  CHECK(found);
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.front().back() != '\n');
}

TEST_CASE("fmt formats program and map info, errors, versions and the feature table") {
  auto skel = ebpfpp::Skeleton<test_maps_bpf>::open_and_load();
  ebpfpp::Map<std::uint32_t, std::uint64_t> m(skel->maps.hash_u32_u64);
  const std::string map_line = fmt::format("{}", m.info());
  CHECK(map_line == fmt::format("id {} hash 'hash_u32_u64' key 4 B value 8 B max_entries {} "
                                "flags 0x0",
                                m.info().id, m.max_entries()));
  const auto info = skel.program("add_on_cpu").info();
  CHECK(fmt::format("{}", info)
            .starts_with(fmt::format("id {} {} 'add_on_cpu' ", info.id, info.type_name())));
  CHECK(fmt::format("{}", ebpfpp::KernelVersion{6, 6, 0}) == "6.6");
  const ebpfpp::Error e(ENOENT, "find thing", "look elsewhere");
  CHECK(fmt::format("{}", e) == e.what());
  const std::string table = fmt::format("{}", kernel::features());
  CHECK(std::count(table.begin(), table.end(), '\n') == 46); // 47 rows
  CHECK(table.find("ring_buffer        5.8") != std::string::npos);
}

} // namespace core_test
