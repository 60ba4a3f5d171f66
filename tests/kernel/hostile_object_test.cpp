// Objects ebpfpp did not build: what object.hpp promises for them, held against a fuzz corpus.
// Every mutated object (byte flips in the sections libbpf parses, truncations, corrupt section
// headers) must either open or give an ebpfpp::Error, never crash or hang: each is opened in a
// forked child, so a crash is a signal the test reports with the case's seed and offset. Then
// the faults libbpf 1.1 crashed on, or took 17 s and 2 GiB over, one by one: each an Error that
// names the section and the fault, with a hint, leaving nothing behind.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <ebpfpp/object.hpp>
#include <elf.h>
#include <linux/btf.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.hpp"
#include "test_fixtures.bpf.skel.h"
#include "test_maps.bpf.skel.h"

namespace hostile_object_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Bytes = std::vector<unsigned char>;

// test_globals has no skeleton here (its skeleton needs the BPF side's struct pair): its file.
Bytes globals_object() {
  std::ifstream in(test::bpf_dir() / "test_globals.bpf.o", std::ios::binary);
  Bytes out{std::istreambuf_iterator<char>(in), {}};
  REQUIRE(out.size() > 1000);
  return out;
}

template <class Skel>
Bytes bytes_of() {
  std::size_t size = 0;
  const auto* p = static_cast<const unsigned char*>(Skel::elf_bytes(&size));
  return Bytes(p, p + size);
}

// The sections of an object the test made itself (no checks needed: the base objects are ours).
struct Section {
  std::string name;
  std::size_t header; // where its Elf64_Shdr is
  Elf64_Shdr sh;
};

std::vector<Section> sections_of(const Bytes& elf) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof eh);
  std::vector<Section> out;
  Elf64_Shdr names;
  std::memcpy(&names, elf.data() + eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof names);
  for (unsigned i = 1; i < eh.e_shnum; ++i) {
    Section s;
    s.header = eh.e_shoff + i * sizeof(Elf64_Shdr);
    std::memcpy(&s.sh, elf.data() + s.header, sizeof s.sh);
    s.name = reinterpret_cast<const char*>(elf.data() + names.sh_offset + s.sh.sh_name);
    out.push_back(s);
  }
  return out;
}

const Section& section(const std::vector<Section>& all, std::string_view name) {
  for (const Section& s : all)
    if (s.name == name) return s;
  FAIL("no section " << name);
  return all.front();
}

template <class T>
void put(Bytes& elf, std::size_t at, T value) {
  REQUIRE(at + sizeof value <= elf.size());
  std::memcpy(elf.data() + at, &value, sizeof value);
}
template <class T>
T get(const Bytes& elf, std::size_t at) {
  T value;
  std::memcpy(&value, elf.data() + at, sizeof value);
  return value;
}

// Where type `id`'s record begins in the file, found with libbpf on the intact object.
std::size_t type_offset(const Bytes& elf, std::uint32_t id) {
  const Section s = section(sections_of(elf), ".BTF");
  btf* b = btf__new(elf.data() + s.sh.sh_offset, static_cast<__u32>(s.sh.sh_size));
  REQUIRE(b != nullptr);
  __u32 size = 0;
  const auto* raw = static_cast<const unsigned char*>(btf__raw_data(b, &size));
  const auto* t = reinterpret_cast<const unsigned char*>(btf__type_by_id(b, id));
  const std::size_t at = s.sh.sh_offset + static_cast<std::size_t>(t - raw);
  btf__free(b);
  return at;
}

// The first type of `kind` (with at least one member, for a struct).
std::uint32_t first_type(const Bytes& elf, unsigned kind) {
  const Section s = section(sections_of(elf), ".BTF");
  btf* b = btf__new(elf.data() + s.sh.sh_offset, static_cast<__u32>(s.sh.sh_size));
  REQUIRE(b != nullptr);
  std::uint32_t found = 0;
  for (std::uint32_t id = 1; id < btf__type_cnt(b) && !found; ++id) {
    const btf_type* t = btf__type_by_id(b, id);
    if (btf_kind(t) == kind && (kind != BTF_KIND_STRUCT || btf_vlen(t) > 0)) found = id;
  }
  btf__free(b);
  REQUIRE(found != 0);
  return found;
}

// How opening one case ended, in a forked child.
struct Outcome {
  enum { opened, error, other_exception, signal, hung } how;
  int detail = 0; // the signal
};

Outcome open_in_child(const Bytes& elf) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // A crash must reach the parent as the signal, not as doctest's report from the child.
    for (const int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) std::signal(sig, SIG_DFL);
    // No libbpf messages from the child: hundreds of them would bury the report.
    libbpf_set_print(nullptr);
    try {
      auto obj = ebpfpp::Object::open_memory(
          {reinterpret_cast<const std::byte*>(elf.data()), elf.size()}, "fuzz");
      ::_exit(0);
    } catch (const ebpfpp::Error&) {
      ::_exit(1);
    } catch (...) {
      ::_exit(2);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFSIGNALED(status)) return {Outcome::signal, WTERMSIG(status)};
      const int code = WEXITSTATUS(status);
      return {code == 0 ? Outcome::opened : code == 1 ? Outcome::error : Outcome::other_exception};
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return {Outcome::hung};
    }
    ::usleep(200);
  }
}

struct Case {
  std::string name; // what was done, to find it again: base, seed, section, offset
  Bytes elf;
};

// The corpus: for each base object, `flips` cases of 1-4 bytes XORed with random values in the
// sections libbpf parses from user data, truncations at spread and boundary lengths, and
// corrupted section-header fields. Seeded: the same cases every run.
std::vector<Case> corpus(const std::string& base_name, const Bytes& base, int flips,
                         unsigned seed) {
  std::vector<Case> out;
  const auto all = sections_of(base);
  std::vector<const Section*> targets;
  for (const Section& s : all)
    if ((s.name == ".BTF" || s.name == ".BTF.ext" || s.name == ".maps" || s.name == ".symtab" ||
         s.name.starts_with(".rel")) &&
        s.sh.sh_size > 0)
      targets.push_back(&s);
  REQUIRE(targets.size() >= 3);
  std::mt19937 gen(seed);
  for (int i = 0; i < flips; ++i) {
    const Section& s = *targets[gen() % targets.size()];
    const std::size_t off = gen() % s.sh.sh_size, len = 1 + gen() % 4;
    Bytes elf = base;
    for (std::size_t k = 0; k < len && s.sh.sh_offset + off + k < elf.size(); ++k)
      elf[s.sh.sh_offset + off + k] ^= static_cast<unsigned char>(1 + gen() % 255);
    out.push_back({fmt::format("{} seed {} flip #{}: {} bytes at {}+{}", base_name, seed, i, len,
                               s.name, off),
                   std::move(elf)});
  }
  // Truncations: 16 spread lengths, and each section's start and middle.
  std::vector<std::size_t> lengths;
  for (std::size_t k = 1; k <= 16; ++k) lengths.push_back(base.size() * k / 17);
  for (const Section& s : all)
    if (s.sh.sh_type != SHT_NOBITS)
      lengths.insert(lengths.end(), {s.sh.sh_offset, s.sh.sh_offset + s.sh.sh_size / 2});
  for (const std::size_t n : lengths)
    if (n > 0 && n < base.size())
      out.push_back({fmt::format("{} truncated to {} bytes", base_name, n),
                     Bytes(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(n))});
  // Section headers: a field of a random section set to a random or an extreme value.
  static constexpr struct {
    const char* name;
    std::size_t offset, size;
  } fields[] = {{"sh_name", 0, 4},  {"sh_type", 4, 4},  {"sh_offset", 24, 8}, {"sh_size", 32, 8},
                {"sh_link", 40, 4}, {"sh_info", 44, 4}, {"sh_entsize", 56, 8}};
  for (int i = 0; i < 40; ++i) {
    const Section& s = all[gen() % all.size()];
    const auto& f = fields[gen() % std::size(fields)];
    const std::uint64_t values[] = {0,     1,           0xffffffffu,    ~std::uint64_t{0},
                                    gen(), base.size(), base.size() - 1};
    const std::uint64_t v = values[gen() % std::size(values)];
    Bytes elf = base;
    std::memcpy(elf.data() + s.header + f.offset, &v, f.size);
    out.push_back({fmt::format("{} seed {} header #{}: {} of {} = {:#x}", base_name, seed, i,
                               f.name, s.name, v),
                   std::move(elf)});
  }
  return out;
}

std::string describe(const Outcome& o) {
  switch (o.how) {
  case Outcome::opened:
    return "it opened";
  case Outcome::error:
    return "an ebpfpp::Error";
  case Outcome::other_exception:
    return "an exception other than ebpfpp::Error";
  case Outcome::signal:
    return fmt::format("killed by signal {} ({})", o.detail, strsignal(o.detail));
  case Outcome::hung:
    return "no answer within 10 s";
  }
  return "?";
}

// Opens `elf`, which must throw an Error with `errnum` whose what() has each of `parts` and whose
// hint has `hint`, leaving no fd or BPF object behind. First in a child: a crash or a hang there
// fails the case instead of the whole suite.
void expect_refused(const Bytes& elf, int errnum, const std::vector<std::string>& parts,
                    std::string_view hint) {
  const Outcome o = open_in_child(elf);
  REQUIRE_MESSAGE(o.how == Outcome::error, "in a child: " << describe(o));
  const test::Baseline before;
  try {
    auto obj = ebpfpp::Object::open_memory(
        {reinterpret_cast<const std::byte*>(elf.data()), elf.size()}, "hostile");
    FAIL_CHECK("opened: no Error");
  } catch (const ebpfpp::Error& e) {
    INFO("what(): " << std::string(e.what()));
    CHECK(e.errnum() == errnum);
    for (const std::string& part : parts)
      CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, "lacks: " << part);
    CHECK_MESSAGE(e.hint().find(hint) != std::string::npos, "hint lacks: " << hint);
  }
  before.check(std::chrono::milliseconds(0));
}

} // namespace

TEST_CASE("a fuzz corpus of corrupt objects: each opens or throws an Error, none crashes") {
  const auto started = std::chrono::steady_clock::now();
  std::vector<Case> cases = corpus("test_maps", bytes_of<test_maps_bpf>(), 150, 18);
  for (auto&& more : {corpus("test_globals", globals_object(), 100, 1804),
                      corpus("test_fixtures", bytes_of<test_fixtures_bpf>(), 150, 2018)})
    cases.insert(cases.end(), more.begin(), more.end());
  int opened = 0, refused = 0;
  for (const Case& c : cases) {
    const Outcome o = open_in_child(c.elf);
    INFO("case: " << c.name);
    CHECK_MESSAGE((o.how == Outcome::opened || o.how == Outcome::error), describe(o));
    opened += o.how == Outcome::opened;
    refused += o.how == Outcome::error;
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  MESSAGE(cases.size() << " cases: " << opened << " opened, " << refused << " refused with an "
                       << "Error, in " << took.count() << " ms");
  CHECK(cases.size() > 500);
  // Most flips land where libbpf and the checks do not mind, or mind with an Error: both kinds
  // must be there, or the corpus tests nothing.
  CHECK(opened > 100);
  CHECK(refused > 100);
}

TEST_CASE("faults libbpf 1.1 trusts: each an Error naming the section and the fault") {
  const Bytes maps = bytes_of<test_maps_bpf>();

  SUBCASE("a struct member's type id past the last type (libbpf: SIGSEGV)") {
    Bytes elf = maps;
    const std::uint32_t id = first_type(elf, BTF_KIND_STRUCT);
    put<std::uint32_t>(elf, type_offset(elf, id) + sizeof(btf_type) + 4, 0xffff);
    expect_refused(elf, LIBBPF_ERRNO__FORMAT,
                   {"open BPF object 'hostile' from memory", "section '.BTF'",
                    fmt::format("type [{}] (STRUCT", id), "member 0",
                    "refers to type 65535, but the types are 1..", "BPF object format invalid"},
                   "the object's BTF is corrupt");
  }
  SUBCASE("a map definition's member of a typedef of itself (libbpf: loops for ever)") {
    Bytes elf = maps;
    const std::uint32_t id = first_type(elf, BTF_KIND_TYPEDEF);
    const std::uint32_t def = first_type(elf, BTF_KIND_STRUCT); // a map definition in .maps
    const std::size_t def_at = type_offset(elf, def), id_at = type_offset(elf, id);
    put<std::uint32_t>(elf, def_at + sizeof(btf_type) + 4, id); // member 0's type
    put<std::uint32_t>(elf, id_at + 8, id);
    expect_refused(
        elf, LIBBPF_ERRNO__FORMAT,
        {"section '.BTF'", fmt::format("type [{}] (TYPEDEF '", id), "leads back to itself"},
        "the object's BTF is corrupt");
  }
  SUBCASE("a type's name past the string area") {
    Bytes elf = maps;
    const std::uint32_t id = first_type(elf, BTF_KIND_INT);
    put<std::uint32_t>(elf, type_offset(elf, id), 0x7fffff);
    expect_refused(
        elf, LIBBPF_ERRNO__FORMAT,
        {"section '.BTF'", fmt::format("type [{}] (INT) has its name at offset 8388607", id)},
        "the object's BTF is corrupt");
  }
  SUBCASE("a CO-RE relocation of a type that does not exist") {
    Bytes elf = maps;
    const Section ext = section(sections_of(elf), ".BTF.ext");
    const auto hdr_len = get<std::uint32_t>(elf, ext.sh.sh_offset + 4);
    const auto core_off = get<std::uint32_t>(elf, ext.sh.sh_offset + 24);
    REQUIRE(get<std::uint32_t>(elf, ext.sh.sh_offset + 28) > 0); // test_maps has some
    // The area: record size, then {section name, count} and the records {insn, type, ...}.
    put<std::uint32_t>(elf, ext.sh.sh_offset + hdr_len + core_off + 4 + 8 + 4, 0xfffffff);
    expect_refused(elf, LIBBPF_ERRNO__FORMAT,
                   {"section '.BTF.ext'", "a CO-RE relocation record refers to type 268435455"},
                   "the object's BTF is corrupt");
  }
  SUBCASE("a .bss of 2 GiB (libbpf: opens, and loads for 17 s with 2 GiB)") {
    Bytes elf = globals_object();
    const Section bss = section(sections_of(elf), ".bss");
    put<std::uint64_t>(elf, bss.header + offsetof(Elf64_Shdr, sh_size), 0x7ffffff0);
    expect_refused(elf, E2BIG,
                   {"section '.bss': the section is 2147483632 bytes, over the limit of 67108864"},
                   "OpenOptions::max_data_size");
    // The limit is the caller's: an object it trusts may have more.
    const ebpfpp::OpenOptions options{.max_data_size = 0x80000000};
    auto obj = ebpfpp::Object::open_memory(
        {reinterpret_cast<const std::byte*>(elf.data()), elf.size()}, "trusted", options);
    const auto all = obj.maps();
    CHECK(std::any_of(all.begin(), all.end(), [](const ebpfpp::MapRef& m) {
      return m.name().ends_with(".bss") && m.value_size() == 0x7ffffff0;
    }));
  }
  SUBCASE("section headers past the end of the file") {
    Bytes elf = maps;
    // Two headers fit before the end; the object has more.
    put<std::uint64_t>(elf, offsetof(Elf64_Ehdr, e_shoff), elf.size() - 2 * sizeof(Elf64_Shdr));
    expect_refused(elf, LIBBPF_ERRNO__FORMAT,
                   {"its ELF headers", "section headers at offset", "do not fit in the file"},
                   "this is not a valid BPF object");
  }
}

TEST_CASE("what clang makes passes the checks: every object of the build opens") {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::bpf_dir())) {
    if (!e.path().string().ends_with(".bpf.o") || e.path().filename() == "test_bad.bpf.o") continue;
    INFO("object: " << e.path().string());
    CHECK_NOTHROW((void)ebpfpp::Object::open_file(e.path()));
    ++n;
  }
  CHECK(n >= 5);
  // A device that never ends is no object: refused, not read until the memory runs out.
  CHECK_THROWS_WITH_AS((void)ebpfpp::Object::open_file("/dev/zero"),
                       doctest::Contains("open BPF object file '/dev/zero': it is not a regular"),
                       ebpfpp::Error);
}

TEST_CASE("open_file reads an object once and checks those bytes; the name is libbpf's") {
  // The file's bytes are what is checked and what libbpf parses (no second read to race with).
  const auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_no_programs.bpf.o");
  CHECK(obj.name() == "test_no_program"); // 15 characters, as libbpf names a file's object
  CHECK(ebpfpp::Object::open_file(test::bpf_dir() / "test_globals.bpf.o").name() == "test_globals");
}

} // namespace hostile_object_test
