// The bad-input matrix: every way a user can hand the library something wrong (a broken object
// file, a missing name, a view of the wrong size, a full map, a slot out of range, a record of
// the wrong size, a pin in the wrong place or of the wrong kind, a map too large) gets an
// ebpfpp::Error that names what was involved, carries the errno and a hint that says what to
// try, and leaves no fd, program, map or link behind (counted in this process and system-wide).
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "identity.hpp"
#include "streams_helpers.hpp"
#include "test_fixtures.bpf.skel.h"
#include "test_maps.bpf.skel.h"
#include "test_tail.bpf.skel.h"

namespace bad_input_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using namespace std::chrono_literals;

namespace {

// What a bad input must produce.
struct Expected {
  int errnum;
  std::vector<std::string> what; // substrings of what(): the action and the names involved
  std::string hint;              // a substring of hint(): the phrase that says what to try
};

// Runs `fn`, which must throw an E (ebpfpp::Error or a subclass), checks it against `want`, and
// checks that the attempt left nothing behind. Returns the Error's what(), for more checks.
template <class E = ebpfpp::Error>
std::string expect_error(const std::string& name, const std::function<void()>& fn,
                         const Expected& want) {
  INFO("case: " << name);
  const test::Baseline before;
  std::string what = "(no Error thrown)";
  try {
    fn();
    FAIL_CHECK("no Error thrown");
  } catch (const E& e) {
    what = e.what();
    INFO("what(): " << what);
    CHECK(e.errnum() == want.errnum);
    CHECK(e.code().value() == want.errnum);
    // libbpf's own codes (4000 and up) print as text, not "Unknown error 4001".
    CHECK(e.code().message().find("Unknown error") == std::string::npos);
    CHECK(what.find("Unknown error") == std::string::npos);
    for (const std::string& part : want.what)
      CHECK_MESSAGE(what.find(part) != std::string::npos, "what() lacks: " << part);
    CHECK_MESSAGE(e.hint().find(want.hint) != std::string::npos,
                  "hint() lacks: " << want.hint << "\n  hint(): " << e.hint());
    CHECK(!e.hint().empty());
  }
  before.check();
  return what;
}

// A file of the test's own in /tmp, removed when it goes.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& bytes) {
    char tmpl[] = "/tmp/ebpfpp-bad-input-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(fd);
    path = tmpl;
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { std::filesystem::remove(path); }
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string random_bytes(std::size_t n) {
  std::mt19937 gen(14); // fixed seed: the same bytes every run
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen());
  return out;
}

constexpr const char* not_an_object =
    "this is not a valid BPF object (empty, truncated, stripped, or not an ELF file";

} // namespace

TEST_CASE("broken object files throw an Error naming the file, with libbpf's text and a hint") {
  const std::string real = read_file(test::bpf_dir() / "test_fixtures.bpf.o");
  REQUIRE(real.size() > 1000);
  const TempFile empty(""), truncated(real.substr(0, real.size() / 2)),
      noise_file(random_bytes(4096));
  struct Row {
    std::string name;
    std::filesystem::path path;
    Expected want;
  };
  const Row rows[] = {
      {"missing file",
       "/nonexistent/ebpfpp-missing.bpf.o",
       {ENOENT,
        {"open BPF object file '/nonexistent/ebpfpp-missing.bpf.o'", "No such file"},
        "'/nonexistent/ebpfpp-missing.bpf.o' does not exist: check the path (a relative path is "
        "relative to the working directory, not to the executable)"}},
      {"a directory",
       "/tmp",
       {EISDIR,
        {"open BPF object file '/tmp'", "Is a directory (errno 21)"},
        "'/tmp' is a directory: name the file in it"}},
      {"empty file",
       empty.path,
       {LIBBPF_ERRNO__FORMAT,
        {fmt::format("open BPF object file '{}'", empty.path.string()),
         "BPF object format invalid (errno 4001)"},
        not_an_object}},
      {"truncated object (the first half of a real one)",
       truncated.path,
       {LIBBPF_ERRNO__FORMAT,
        {fmt::format("open BPF object file '{}'", truncated.path.string()),
         "BPF object format invalid"},
        not_an_object}},
      {"random bytes",
       noise_file.path,
       {LIBBPF_ERRNO__FORMAT,
        {fmt::format("open BPF object file '{}'", noise_file.path.string()),
         "BPF object format invalid"},
        not_an_object}},
  };
  for (const Row& row : rows)
    expect_error(
        row.name, [&] { (void)ebpfpp::Object::open_file(row.path); }, row.want);

  // The same bytes from memory.
  const auto from_memory = [](const std::string& bytes, std::string_view name) {
    return [&bytes, name] {
      (void)ebpfpp::Object::open_memory(
          {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, name);
    };
  };
  const std::string none, half = real.substr(0, real.size() / 2), noise = random_bytes(4096);
  expect_error("no bytes", from_memory(none, "nothing"),
               {EINVAL, {"open BPF object 'nothing' from memory (0 bytes)"}, not_an_object});
  expect_error("truncated bytes", from_memory(half, "half"),
               {LIBBPF_ERRNO__FORMAT,
                {fmt::format("open BPF object 'half' from memory ({} bytes)", half.size()),
                 "BPF object format invalid"},
                not_an_object});
  expect_error(
      "random bytes in memory", from_memory(noise, "noise"),
      {LIBBPF_ERRNO__FORMAT, {"open BPF object 'noise' from memory (4096 bytes)"}, not_an_object});
}

TEST_CASE("an object file another user cannot read: EACCES naming the file and its mode, no "
          "capability hint") {
  // Root's 0600 file, and a 0644 one inside root's 0700 directory (a Debian home, mktemp -d),
  // opened by uid 65534 in a forked child: the file is what refuses, not the kernel.
  const TempFile secret(read_file(test::bpf_dir() / "test_fixtures.bpf.o"));
  char tmpl[] = "/tmp/ebpfpp-bad-input-dir-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::filesystem::path dir = tmpl, inside = dir / "test_fixtures.bpf.o";
  std::filesystem::copy_file(secret.path, inside);
  std::filesystem::permissions(inside, std::filesystem::perms(0644));
  auto r = test::run_as(65534, 0, [&](test::Reporter& rep) {
    rep.run("root's 0600 file",
            [&] { return std::string(ebpfpp::Object::open_file(secret.path).name()); });
    rep.run("a file in root's 0700 directory",
            [&] { return std::string(ebpfpp::Object::open_file(inside).name()); });
    rep.run("missing file", [] {
      return std::string(ebpfpp::Object::open_file("/nonexistent/ebpfpp-missing.bpf.o").name());
    });
  });
  std::filesystem::remove_all(dir);
  test::failed(r, "root's 0600 file", EACCES,
               fmt::format("'{}' is not readable by this user (uid 65534): its mode is 0600, its "
                           "owner uid 0; make it readable (chmod a+r) or run as a user who may "
                           "read it",
                           secret.path.string()));
  test::failed(r, "a file in root's 0700 directory", EACCES,
               fmt::format("this user (uid 65534) cannot reach '{}': the directory '{}' (mode "
                           "0700, owner uid 0) is not searchable by it; put the file where this "
                           "user can read it, or read it before dropping privileges",
                           inside.string(), dir.string()));
  test::failed(r, "missing file", ENOENT,
               "'/nonexistent/ebpfpp-missing.bpf.o' does not exist: check the path (a relative "
               "path is relative to the working directory, not to the executable)");
  for (const char* name : {"root's 0600 file", "a file in root's 0700 directory"}) {
    INFO("case: " << name);
    CHECK(r[name].hint.find("CAP_") == std::string::npos);
    CHECK(r[name].what.find("open BPF object file '/tmp/ebpfpp-bad-input-") != std::string::npos);
    CHECK(r[name].what.find("Permission denied (errno 13)") != std::string::npos);
  }
}

TEST_CASE("missing programs and maps throw an Error naming the name and listing what exists") {
  auto none = ebpfpp::Object::open_file(test::bpf_dir() / "test_no_programs.bpf.o");
  none.load(); // a maps-only object is valid
  expect_error("an object with no programs", [&] { (void)none.program("hello"); },
               {ENOENT,
                {"find program 'hello' in object 'test_no_program'"},
                "the object's programs are: none"});

  auto skel = ebpfpp::Skeleton<test_maps_bpf>::open_and_load();
  expect_error("a missing program name", [&] { (void)skel.program("exercise_map"); },
               {ENOENT,
                {"find program 'exercise_map' in object 'test_maps_bpf'"},
                "the object's programs are: '"});
  expect_error("a missing map name",
               [&] { ebpfpp::Map<std::uint32_t, std::uint64_t> m(skel, "hash_u32"); },
               {ENOENT, {"find map 'hash_u32' in object 'test_maps_bpf'"}, "'hash_u32_u64'"});
  expect_error(
      "a missing ring buffer name", [&] { ebpfpp::RingBuffer<std::uint64_t> rb(skel, "events"); },
      {ENOENT, {"find map 'events' in object 'test_maps_bpf'"}, "the object's maps are: '"});
}

TEST_CASE("a typed view of the wrong size or type throws an Error naming the map and both types") {
  auto skel = ebpfpp::Skeleton<test_maps_bpf>::open_and_load();
  expect_error("key too wide",
               [&] { ebpfpp::Map<std::uint64_t, std::uint64_t> m(skel, "hash_u32_u64"); },
               {EINVAL,
                {"view map 'hash_u32_u64' (hash) as ebpfpp::Map<",
                 "the key size is 4 bytes in the kernel but sizeof("},
                "declare a C++ key type with the BPF side's layout"});
  expect_error("value too narrow",
               [&] { ebpfpp::Map<std::uint32_t, std::uint32_t> m(skel->maps.hash_u32_u64); },
               {EINVAL,
                {"view map 'hash_u32_u64' (hash)", "the value size is 8 bytes in the kernel but "
                                                   "sizeof(unsigned int) is 4"},
                "declare a C++ value type with the BPF side's layout"});
  expect_error(
      "same size, other signedness (BTF)",
      [&] { ebpfpp::Map<std::int32_t, std::uint64_t> m(skel, "hash_u32_u64"); },
      {EINVAL,
       {"view map 'hash_u32_u64'", "BTF says '__u32 = unsigned int'", "'int' is a signed integer"},
       "use a C++ type that matches the BPF declaration"});
  expect_error(
      "another map type", [&] { ebpfpp::ArrayMap<std::uint64_t> a(skel, "hash_u32_u64"); },
      {EINVAL,
       {"view map 'hash_u32_u64' (hash) as ebpfpp::ArrayMap<", "the map type does not fit"},
       "use ebpfpp::Map<K, V> for maps of type hash"});
  expect_error("a ring buffer view of a hash map",
               [&] { ebpfpp::RingBuffer<std::uint64_t> rb(skel, "hash_u32_u64"); },
               {EINVAL, {"view map 'hash_u32_u64' (hash) as ebpfpp::RingBuffer<"}, "RingBuffer<"});
}

TEST_CASE("a full hash map refuses a new key with E2BIG, naming the map and its capacity") {
  auto full = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 2, "full");
  full.update(1, 10);
  full.update(2, 20);
  for (const auto flag : {ebpfpp::UpdateFlag::no_exist, ebpfpp::UpdateFlag::any})
    expect_error("update into a full map", [&] { full.update(3, 30, flag); },
                 {E2BIG, {"add key 3: map 'full' is full (max_entries 2)"}, "erase entries first"});
  CHECK(full.lookup(2) == 20u); // what was there stays
  CHECK_FALSE(full.contains(3));
}

TEST_CASE("a prog array slot out of range throws ERANGE naming the array and its size") {
  auto skel = ebpfpp::Skeleton<test_tail_bpf>::open_and_load();
  ebpfpp::ProgArray table(skel, "jump_table");
  const auto prog = skel.program("target_a");
  expect_error("set past the end", [&] { table.set(8, prog); },
               {ERANGE,
                {"set slot 8 of prog array 'jump_table' to program 'target_a'"},
                "prog array 'jump_table' has 8 slots (0..7)"});
  expect_error("set far past the end", [&] { table.set(0xffffffffu, prog); },
               {ERANGE, {"set slot 4294967295 of prog array 'jump_table'"}, "has 8 slots (0..7)"});
  expect_error(
      "fill past the end", [&] { table.fill(0, 9, prog); },
      {ERANGE, {"fill slots [0, 9) of prog array 'jump_table'"}, "the map has 8 slots (0..7)"});
  expect_error("erase past the end", [&] { (void)table.erase(8); },
               {ERANGE, {"empty slot 8 of prog array 'jump_table'"}, "has 8 slots"});
  CHECK_FALSE(table.contains(0)); // nothing was set on the way
}

TEST_CASE("a stream record of the wrong size throws EMSGSIZE naming the stream and both sizes") {
  if (!ebpfpp::kernel::has_ring_buffer()) EBPFPP_SKIP("no BPF_MAP_TYPE_RINGBUF (kernel < 5.8)");
  auto skel = test::load_streams();
  {
    ebpfpp::RingBuffer<stream_event> rb(skel, "test_ring");
    test::run_raw_tp(skel.program("emit_small"), {1, 0, 0});
    expect_error("ring buffer record of 16 bytes for a 32-byte Event",
                 [&] {
                   for ([[maybe_unused]] const stream_event& e : rb.events(100ms)) {
                   }
                 },
                 {EMSGSIZE,
                  {"read ring buffer 'test_ring': a record of 16 bytes is not an event of 32"},
                  "share one header between them"});
  }
  ebpfpp::PerfBuffer<stream_event> pb(skel, "test_perf");
  test::run_raw_tp(skel.program("emit_perf_small"), {1, 0, 0});
  expect_error("perf sample of 16 bytes for a 32-byte Event",
               [&] {
                 for ([[maybe_unused]] const stream_event& e : pb.events(200ms)) {
                 }
               },
               {EMSGSIZE,
                {"read perf buffer 'test_perf': a sample of 20 bytes (padded)"},
                "share one header between them"});
}

TEST_CASE("pins: over a pin, outside bpffs, and of the wrong kind, each with its own hint") {
  test::BpffsMount fs;
  auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open_and_load();
  const auto map_pin = fs.dir / "map", link_pin = fs.dir / "link", prog_pin = fs.dir / "prog";
  auto a = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 1, "a");
  auto b = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 1, "b");
  a.pin(map_pin);
  ebpfpp::RawTracepoint raw(skel.program("count_raw_tracepoint"), "sys_enter");
  raw.pin(link_pin);
  REQUIRE(bpf_obj_pin(skel.program("count_tracepoint").fd(), prog_pin.c_str()) == 0);
  const TempFile plain("not a pin");

  expect_error("a map pinned over a map pin", [&] { b.pin(map_pin); },
               {EEXIST,
                {fmt::format("pin map 'b' at '{}'", map_pin.string())},
                "something is already pinned there: unpin it or choose another path"});
  expect_error(
      "a link pinned over a map pin",
      [&] {
        ebpfpp::RawTracepoint other(skel.program("count_raw_tracepoint"), "sys_exit");
        other.pin(map_pin);
      },
      {EEXIST, {"pin raw tracepoint sys_exit at", map_pin.string()}, "already pinned there"});
  expect_error(
      "the same link pinned twice", [&] { raw.pin(fs.dir / "again"); },
      {EBUSY,
       {"pin raw tracepoint sys_enter at", (fs.dir / "again").string()},
       "this object is already pinned (a link is pinned at one path at a time): unpin it first"});
  expect_error("a pin outside bpffs", [&] { b.pin("/tmp/ebpfpp-not-bpffs-pin"); },
               {EPERM,
                {"pin map 'b' at '/tmp/ebpfpp-not-bpffs-pin'"},
                "'/tmp/ebpfpp-not-bpffs-pin' is not on a bpffs mount"});
  expect_error("a pin in a directory that does not exist", [&] { b.pin(fs.dir / "no" / "such"); },
               {ENOENT,
                {"pin map 'b' at", (fs.dir / "no" / "such").string()},
                "the directory of the pin path does not exist"});
  expect_error("open_pinned of a file outside bpffs",
               [&] { (void)ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned(plain.path); },
               {EACCES,
                {fmt::format("open pinned map '{}'", plain.path.string())},
                "is not on a bpffs mount"});
  expect_error(
      "open_pinned where nothing is pinned",
      [&] { (void)ebpfpp::Link::open_pinned(fs.dir / "nothing"); },
      {ENOENT, {"open pinned link", (fs.dir / "nothing").string()}, "nothing is pinned there"});

  // A pinned object of the wrong kind: every view checks what is pinned before using it.
  constexpr const char* kind_hint = "open it with the type that matches what is pinned";
  expect_error(
      "a link expected, a map pinned", [&] { (void)ebpfpp::Link::open_pinned(map_pin); },
      {EINVAL, {"open pinned link", "the object pinned there is not a link but a map"}, kind_hint});
  expect_error("a link expected, a program pinned",
               [&] { (void)ebpfpp::Link::open_pinned(prog_pin); },
               {EINVAL, {"not a link but a program"}, kind_hint});
  expect_error("a map expected, a link pinned",
               [&] { (void)ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned(link_pin); },
               {EINVAL, {"open pinned map", "not a map but a link"}, kind_hint});
  if (ebpfpp::kernel::has_ring_buffer())
    expect_error(
        "a ring buffer expected, a program pinned",
        [&] { (void)ebpfpp::RingBuffer<std::uint64_t>::open_pinned(prog_pin); },
        {EINVAL, {"open pinned map", prog_pin.string(), "not a map but a program"}, kind_hint});
  expect_error("a perf buffer expected, a link pinned",
               [&] { (void)ebpfpp::PerfBuffer<std::uint64_t>::open_pinned(link_pin); },
               {EINVAL, {"not a map but a link"}, kind_hint});
  expect_error("a prog array expected, a program pinned",
               [&] { (void)ebpfpp::ProgArray::open_pinned(prog_pin); },
               {EINVAL, {"not a map but a program"}, kind_hint});

  raw.unpin();
  a.unpin();
  std::filesystem::remove(prog_pin);
  CHECK(fs.pins() == "");
}

TEST_CASE("pins: a directory where a pin is expected, and a path with a NUL byte") {
  test::BpffsMount fs;
  const auto sub = fs.dir / "sub";
  std::filesystem::create_directory(sub);
  auto skel = ebpfpp::Skeleton<test_fixtures_bpf>::open_and_load();
  auto b = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 1, "b");
  ebpfpp::RawTracepoint raw(skel.program("count_raw_tracepoint"), "sys_enter");
  using M = ebpfpp::Map<std::uint32_t, std::uint64_t>;

  // The kernel says EACCES for a directory (BPF_OBJ_GET finds no BPF inode there): the truth is
  // that a directory is there, on bpffs, and nothing about capabilities or the mount.
  const auto directory_hint = [](const std::filesystem::path& dir) {
    return fmt::format("'{}' is a directory, not a pinned object", dir.string());
  };
  for (const auto& dir : {fs.dir, sub}) {
    const std::string what = expect_error(
        "open_pinned of a directory on bpffs", [&] { (void)M::open_pinned(dir); },
        {EACCES, {fmt::format("open pinned map '{}'", dir.string())}, directory_hint(dir)});
    CHECK(what.find("not on a bpffs mount") == std::string::npos);
    CHECK(what.find("capability") == std::string::npos);
  }
  expect_error("Link::open_pinned of a directory", [&] { (void)ebpfpp::Link::open_pinned(sub); },
               {EACCES, {"open pinned link", sub.string()}, directory_hint(sub)});
  expect_error("ProgArray::open_pinned of the mount root",
               [&] { (void)ebpfpp::ProgArray::open_pinned(fs.dir); },
               {EACCES, {fs.dir.string()}, directory_hint(fs.dir)});
  expect_error("a pin at a directory", [&] { b.pin(sub); },
               {EEXIST,
                {fmt::format("pin map 'b' at '{}'", sub.string())},
                fmt::format("'{}' is a directory: pin at a path inside it", sub.string())});

  // A C path ends at its first NUL: the kernel would pin at (or open) the truncated name.
  const std::filesystem::path nul = fs.dir.string() + std::string("/a\0b", 4);
  const std::string nul_hint = "the path has a NUL byte";
  expect_error("a map pinned at a path with a NUL byte", [&] { b.pin(nul); },
               {EINVAL, {"pin map 'b' at '", "/a\\0b'"}, nul_hint});
  expect_error("a link pinned at a path with a NUL byte", [&] { raw.pin(nul); },
               {EINVAL, {"pin raw tracepoint sys_enter at '", "/a\\0b'"}, nul_hint});
  CHECK(fs.pins() == "sub"); // nothing at the truncated name "a"
  b.pin(fs.dir / "a");       // something there, which a truncated open would find
  expect_error("open_pinned of a path with a NUL byte", [&] { (void)M::open_pinned(nul); },
               {EINVAL, {"open pinned map '", "/a\\0b'"}, nul_hint});
  expect_error("Link::open_pinned of a path with a NUL byte",
               [&] { (void)ebpfpp::Link::open_pinned(nul); },
               {EINVAL, {"open pinned link '", "/a\\0b'"}, nul_hint});
  expect_error("Object::open_file of a path with a NUL byte",
               [&] {
                 (void)ebpfpp::Object::open_file(
                     (test::bpf_dir() / "test_fixtures.bpf.o").string() + std::string("\0.txt", 5));
               },
               {EINVAL, {"open BPF object file '", "test_fixtures.bpf.o\\0.txt'"}, nul_hint});
  b.unpin();
  std::filesystem::remove(sub);
  CHECK(fs.pins() == "");
}

TEST_CASE("a map too large for the kernel throws E2BIG naming the map and its size") {
  expect_error("create a hash map of 2^31 entries",
               [] {
                 (void)ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH,
                                                                         1u << 31, "huge");
               },
               {E2BIG,
                {"create hash map 'huge' (key 4 B, value 8 B, max_entries 2147483648)"},
                "a map is larger than its type allows: lower its max_entries"});
  // The whole life of the object in the case: a failed load leaves the object's BTF fd with the
  // object until it is destroyed.
  expect_error("load an object whose map was set to 2^31 entries",
               [] {
                 auto skel = ebpfpp::Skeleton<test_maps_bpf>::open();
                 REQUIRE(bpf_map__set_max_entries(skel->maps.hash_u32_u64, 1u << 31) == 0);
                 skel.load();
               },
               {E2BIG,
                {"create map 'hash_u32_u64' of BPF object 'test_maps_bpf'"},
                "a map is larger than its type allows: lower its max_entries"});
}

} // namespace bad_input_test
