// OpenOptions (open_options.hpp) on the running kernel, with bpf/test_open_options.bpf.c: a CO-RE
// read of task_struct resolved against a BTF file given at open (a copy of the kernel's, and one
// without task_struct), maps shared by a pin root, reused from elsewhere and resized before load,
// and the verifier's log of an accepted program handed to the log handler. Every object here
// is opened with a pin root on a private bpffs: its map `shared` is pinned by name.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <ebpfpp/hash_map.hpp>
#include <ebpfpp/log.hpp>
#include <ebpfpp/object.hpp>
#include <ebpfpp/test_run.hpp>
#include <ebpfpp/typed_skeleton.hpp>

#include "helpers.hpp"
#include "test_open_options.bpf.skel.hpp"

namespace open_options_test { // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Counts = ebpfpp::Map<std::uint32_t, std::uint64_t>;
using test::what_of;

std::filesystem::path object_path() {
  return test::bpf_dir() / "test_open_options.bpf.o";
}

// A private directory for files the test writes; removed with what is in it.
struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    char tmpl[] = "/tmp/ebpfpp-open-options-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { std::filesystem::remove_all(dir); }
};

void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// A copy of the running kernel's BTF, as a BTFHub file for this kernel would be.
std::filesystem::path copy_kernel_btf(const TempDir& tmp) {
  std::ifstream in("/sys/kernel/btf/vmlinux", std::ios::binary);
  REQUIRE(in.good());
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 1024);
  const auto path = tmp.dir / "vmlinux.btf";
  write_file(path, bytes);
  return path;
}

// Valid raw BTF with one type (int) and no task_struct: the BTF of some other kernel's build.
std::filesystem::path btf_without_task_struct(const TempDir& tmp) {
  btf* b = btf__new_empty();
  REQUIRE(b != nullptr);
  REQUIRE(btf__add_int(b, "int", 4, BTF_INT_SIGNED) > 0);
  __u32 size = 0;
  const void* raw = btf__raw_data(b, &size);
  REQUIRE(raw != nullptr);
  const auto path = tmp.dir / "other.btf";
  write_file(path, std::string_view(static_cast<const char*>(raw), size));
  btf__free(b);
  return path;
}

// Runs `bump` once with `key`: shared[key] += 1, counts[key] += 1, values[0] = key.
template <class Owner>
void bump(const Owner& owner, std::uint32_t key) {
  const std::array<std::uint64_t, 1> args{key};
  CHECK(owner.program("bump").test_run(ebpfpp::TestRun().ctx_in(args)).return_value == 0);
}

bpf_map_info kernel_info(int fd) {
  bpf_map_info info{};
  __u32 len = sizeof info;
  REQUIRE(bpf_obj_get_info_by_fd(fd, &info, &len) == 0);
  return info;
}

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const ebpfpp::Error& e) {
    return std::string(e.what()) + "\n  [hint] " + e.hint();
  }
  return "(no Error thrown)";
}

// Checks that `fn` is refused with an Error whose message holds `says` and whose hint holds
// `hint`, as privilege_test's failed() does for its cases.
void refused(auto&& fn, std::string_view says, std::string_view hint) {
  try {
    fn();
    FAIL("not refused: expected '" << says << "'");
  } catch (const ebpfpp::Error& e) {
    CAPTURE(e.what());
    CAPTURE(e.hint());
    CHECK(std::string_view(e.what()).find(says) != std::string_view::npos);
    CHECK(e.hint().find(hint) != std::string::npos);
  }
}

} // namespace

TEST_CASE("open options: a CO-RE read of task_struct loads against the kernel's BTF given as a "
          "file, as Object and as Skeleton") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::btf)) EBPFPP_SKIP(*r);
  const test::Baseline before;
  {
    TempDir tmp;
    test::BpffsMount pins;
    const ebpfpp::OpenOptions options{.btf_custom_path = copy_kernel_btf(tmp),
                                      .pin_root_path = pins.dir};
    auto obj = ebpfpp::Object::open_file(object_path(), options);
    obj.load();
    CHECK(obj.program("read_task").test_run().return_value == 0);
    CHECK(obj.variable<std::uint32_t>("task_tgid").get() == static_cast<std::uint32_t>(::getpid()));
    CHECK(obj.variable<std::uint32_t>("task_ppid").get() ==
          static_cast<std::uint32_t>(::getppid()));

    auto skel = ebpfpp::Skeleton<test_open_options_bpf>::open_and_load(options);
    CHECK(skel.program("read_task").test_run().return_value == 0);
    CHECK(skel->bss->task_tgid == static_cast<std::uint32_t>(::getpid()));
    CHECK(skel->bss->task_ppid == static_cast<std::uint32_t>(::getppid()));
    obj.reset();
    skel.reset();
    CHECK(pins.pins() == "shared");
    std::filesystem::remove(pins.dir / "shared");
  }
  before.check();
}

TEST_CASE("open options: a BTF file without task_struct fails the CO-RE read with an Error naming "
          "the type and field, and leaves nothing behind") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::btf)) EBPFPP_SKIP(*r);
  TempDir tmp;
  test::BpffsMount pins;
  const auto other = btf_without_task_struct(tmp);
  const test::Baseline before;
  auto obj = ebpfpp::Object::open_file(object_path(),
                                       {.btf_custom_path = other, .pin_root_path = pins.dir});
  try {
    obj.load();
    FAIL("a CO-RE read of a type the BTF lacks was loaded");
  } catch (const ebpfpp::VerifierError& e) {
    CAPTURE(e.what());
    CHECK(e.action() == "load program 'read_task' of BPF object 'test_open_optio'");
    CHECK(e.reason().starts_with("failed to resolve CO-RE relocation"));
    CHECK(e.reason().find("struct task_struct.") != std::string::npos);
    CHECK(e.hint().find(other.string()) != std::string::npos);
    CHECK(e.hint().find("OpenOptions::btf_custom_path") != std::string::npos);
  }
  obj.reset();
  // The map pinned before the relocation failed was unpinned again.
  CHECK(pins.pins() == "");
  before.check();

  // A file that is no BTF: at load, where libbpf parses it. One that does not exist: at open.
  const auto text = tmp.dir / "not-btf.txt";
  write_file(text, "this is not BTF\n");
  auto bad = ebpfpp::Object::open_file(object_path(),
                                       {.btf_custom_path = text, .pin_root_path = pins.dir});
  refused([&] { bad.load(); }, ": parse BTF file '" + text.string() + "'",
          "is not BTF libbpf can read");
  bad.reset();
  const auto missing = tmp.dir / "missing.btf";
  refused([&] { (void)ebpfpp::Object::open_file(object_path(), {.btf_custom_path = missing}); },
          "read BTF file '" + missing.string() + "' (OpenOptions::btf_custom_path)",
          "does not exist");
  CHECK(pins.pins() == "");
  before.check();
}

TEST_CASE("open options: objects opened with one pin root share its map and see each other's "
          "writes (Object and generated Skeleton)") {
  const test::Baseline before;
  {
    test::BpffsMount pins;
    auto a = ebpfpp::Object::open_file(object_path(), {.pin_root_path = pins.dir});
    a.load();
    CHECK(pins.pins() == "shared");
    auto b = test_open_options::Skeleton::open_and_load({.pin_root_path = pins.dir});
    Counts shared_a(a, "shared");
    auto& shared_b = b.maps.shared;
    CHECK(shared_a.info().id == shared_b.info().id);

    bump(a, 3);
    CHECK(shared_b.lookup(3) == 1u);
    bump(b, 3);
    CHECK(shared_a.lookup(3) == 2u);
    shared_b.update(5, 100);
    CHECK(shared_a.lookup(5) == 100u);
    // Their own maps stay their own.
    CHECK(Counts(a, "counts").lookup(3) == 1u);
    CHECK(b.maps.counts.lookup(3) == 1u);

    // A pin of other sizes than the declaration (resized) is not reused: the load says which.
    auto c = ebpfpp::Object::open_file(
        object_path(),
        {.pin_root_path = pins.dir, .resize = {ebpfpp::MapResize::max_entries("shared", 128)}});
    refused([&] { c.load(); }, "reuse the map pinned at '" + (pins.dir / "shared").string() + "'",
            "remove it to have a new one made");

    // A pin root that is not on bpffs is refused at open.
    refused([&] { (void)ebpfpp::Object::open_file(object_path(), {.pin_root_path = "/tmp"}); },
            "pin maps under '/tmp' (OpenOptions::pin_root_path)", "not on a bpffs mount");

    // The pin outlives both objects, with what they wrote.
    c.reset();
    a.reset();
    b.reset();
    shared_a = Counts();
    CHECK(Counts::open_pinned(pins.dir / "shared").lookup(3) == 2u);
    std::filesystem::remove(pins.dir / "shared");
    CHECK(pins.pins() == "");
  }
  before.check();
}

TEST_CASE("open options: a map reused by fd, from another Object or by pin is the one the programs "
          "write; one that differs is refused") {
  const test::Baseline before;
  {
    test::BpffsMount pins;
    const ebpfpp::OpenOptions base{.pin_root_path = pins.dir};

    // By fd: a map of the declaration's kind, sizes and name.
    auto made = Counts::create(BPF_MAP_TYPE_HASH, 16, "counts");
    made.update(9, 41);
    auto by_fd = ebpfpp::Object::open_file(
        object_path(), {.pin_root_path = pins.dir,
                        .reuse = {ebpfpp::MapReuse::from_fd("counts", made.fd())}});
    by_fd.load();
    bump(by_fd, 9);
    bump(by_fd, 7);
    CHECK(made.lookup(9) == 42u);
    CHECK(made.lookup(7) == 1u);
    CHECK(kernel_info(by_fd.map("counts").fd()).id == made.info().id);

    // From another Object, which may go first: the object holds its own fd of the map.
    auto other = ebpfpp::Object::open_file(
        object_path(), {.pin_root_path = pins.dir,
                        .reuse = {ebpfpp::MapReuse::from_map("counts", by_fd.map("counts"))}});
    by_fd.reset();
    other.load();
    bump(other, 7);
    CHECK(made.lookup(7) == 2u);

    // By pin.
    made.pin(pins.dir / "counts");
    auto by_pin = ebpfpp::Object::open_file(
        object_path(),
        {.pin_root_path = pins.dir,
         .reuse = {ebpfpp::MapReuse::pinned("counts", pins.dir / "counts")}});
    by_pin.load();
    bump(by_pin, 7);
    CHECK(made.lookup(7) == 3u);
    made.unpin();

    // Refused at open, naming both: other max_entries, another name, another kind, a map of an
    // Object not loaded, nothing pinned, no such map.
    const auto reuse = [&](ebpfpp::MapReuse r) {
      return error_of([&] {
        (void)ebpfpp::Object::open_file(object_path(),
                                        {.pin_root_path = pins.dir, .reuse = {std::move(r)}});
      });
    };
    auto bigger = Counts::create(BPF_MAP_TYPE_HASH, 32, "counts");
    const std::string entries = reuse(ebpfpp::MapReuse::from_fd("counts", bigger.fd()));
    CHECK(entries.find("it is hash 'counts' (key 4 B, value 8 B, max_entries 32, flags 0x0), the "
                       "object declares hash 'counts' (key 4 B, value 8 B, max_entries 16, flags "
                       "0x0)") != std::string::npos);
    CHECK(entries.find("reuse a map made from the same declaration") != std::string::npos);
    auto renamed = Counts::create(BPF_MAP_TYPE_HASH, 16, "tally");
    CHECK(reuse(ebpfpp::MapReuse::from_fd("counts", renamed.fd())).find("it is hash 'tally'") !=
          std::string::npos);
    CHECK(reuse(ebpfpp::MapReuse::from_fd("events", made.fd()))
              .find("the object declares ringbuf 'events'") != std::string::npos);
    auto unloaded = ebpfpp::Object::open_file(object_path(), base);
    const std::string not_loaded =
        reuse(ebpfpp::MapReuse::from_map("counts", unloaded.map("counts")));
    CHECK(not_loaded.find("it is not loaded") != std::string::npos);
    CHECK(not_loaded.find("load the other Object or Skeleton first") != std::string::npos);
    CHECK(reuse(ebpfpp::MapReuse::pinned("counts", pins.dir / "nothing"))
              .find("nothing is pinned there") != std::string::npos);
    CHECK(reuse(ebpfpp::MapReuse::from_fd("nope", made.fd()))
              .find("the object's maps are: 'shared', 'counts'") != std::string::npos);

    other.reset();
    by_pin.reset();
    std::filesystem::remove(pins.dir / "shared");
    CHECK(pins.pins() == "");
  }
  before.check();
}

TEST_CASE("open options: maps resized before load have their new sizes in the kernel; a resize "
          "that does not fit the map's kind is an Error") {
  const test::Baseline before;
  {
    test::BpffsMount pins;
    auto obj = ebpfpp::Object::open_file(
        object_path(), {.pin_root_path = pins.dir,
                        .resize = {ebpfpp::MapResize::max_entries("counts", 1000),
                                   ebpfpp::MapResize::ring_size("events", 64 * 1024),
                                   ebpfpp::MapResize::value_size("values", 64)}});
    CHECK(obj.map("counts").max_entries() == 1000);
    obj.load();
    CHECK(kernel_info(obj.map("counts").fd()).max_entries == 1000);
    CHECK(kernel_info(obj.map("events").fd()).max_entries == 64 * 1024);
    const bpf_map_info values = kernel_info(obj.map("values").fd());
    CHECK(values.value_size == 64);
    CHECK(values.max_entries == 4);
    // The programs run with the new sizes: 1000 keys fit where 16 did.
    for (std::uint32_t key = 0; key < 20; ++key) bump(obj, key);
    CHECK(Counts(obj, "counts").lookup(19) == 1u);
    obj.reset();

    const auto resize = [&](ebpfpp::MapResize r) {
      return error_of([&] {
        (void)ebpfpp::Object::open_file(object_path(),
                                        {.pin_root_path = pins.dir, .resize = {std::move(r)}});
      });
    };
    const std::string odd = resize(ebpfpp::MapResize::ring_size("events", 12288));
    CHECK(odd.find("resize map 'events' of BPF object 'test_open_optio': ring_size 12288: "
                   "not a power-of-two multiple of the page size") != std::string::npos);
    CHECK(odd.find("8192 or 16384 is the nearest") != std::string::npos);
    CHECK(resize(ebpfpp::MapResize::ring_size("counts", 8192))
              .find("it is a hash map, not a ring buffer") != std::string::npos);
    CHECK(resize(ebpfpp::MapResize::max_entries("events", 8192))
              .find("use MapResize::ring_size") != std::string::npos);
    CHECK(resize(ebpfpp::MapResize::value_size("counts", 16))
              .find("it is a hash map, not an array") != std::string::npos);
    CHECK(resize(ebpfpp::MapResize::max_entries("counts", 0)).find("a size of 0") !=
          std::string::npos);
    CHECK(resize(ebpfpp::MapResize::max_entries("nope", 4))
              .find("the object has no such map") != std::string::npos);
    std::string bss;
    {
      auto opened = ebpfpp::Object::open_file(object_path(), {.pin_root_path = pins.dir});
      for (const auto& m : opened.maps())
        if (m.name().ends_with(".bss")) bss = m.name();
    }
    REQUIRE(!bss.empty());
    CHECK(resize(ebpfpp::MapResize::value_size(bss, 4096)).find("it is global data") !=
          std::string::npos);
    const std::string level = error_of([&] {
      (void)ebpfpp::Object::open_file(object_path(),
                                      {.pin_root_path = pins.dir, .kernel_log_level = 8});
    });
    CHECK(level.find("kernel log level 8") != std::string::npos);
    std::filesystem::remove(pins.dir / "shared");
    CHECK(pins.pins() == "");
  }
  before.check();
}

TEST_CASE("open options: kernel_log_level hands the verifier log of an accepted load to the log "
          "handler") {
  struct Message {
    ebpfpp::LogLevel level;
    std::string text;
  };
  std::vector<Message> messages;
  ebpfpp::set_log_handler([&](ebpfpp::LogLevel level, std::string_view text) {
    messages.push_back({level, std::string(text)});
  });
  test::BpffsMount pins;
  const auto verifier_logs = [&](std::string_view program) {
    std::vector<std::string> out;
    const std::string head = "verifier log of program '" + std::string(program) +
                             "' of BPF object 'test_open_optio' (loaded):\n";
    for (const Message& m : messages)
      if (m.text.starts_with(head) && m.level == ebpfpp::LogLevel::info)
        out.push_back(m.text.substr(head.size()));
    return out;
  };
  for (const std::uint32_t level : {1u, 2u}) {
    CAPTURE(level);
    messages.clear();
    auto obj = ebpfpp::Object::open_file(object_path(),
                                         {.pin_root_path = pins.dir, .kernel_log_level = level});
    obj.load();
    for (const std::string_view program : {"read_task", "bump"}) {
      CAPTURE(program);
      const auto logs = verifier_logs(program);
      REQUIRE(logs.size() == 1);
      // The verifier's closing statistics, and (level 2) the state at each instruction.
      CHECK(logs[0].find("processed ") != std::string::npos);
      CHECK(logs[0].find(" insns (limit ") != std::string::npos);
      if (level == 2) CHECK(logs[0].find("R1=ctx") != std::string::npos);
    }
  }
  // Without a level, no log is asked for and none comes.
  messages.clear();
  auto quiet = ebpfpp::Object::open_file(object_path(), {.pin_root_path = pins.dir});
  quiet.load();
  CHECK(verifier_logs("bump").empty());
  ebpfpp::set_log_handler({});
  quiet.reset();
  std::filesystem::remove(pins.dir / "shared");
  CHECK(pins.pins() == "");
}

} // namespace open_options_test
