// Btf (btf.hpp) on the running kernel's BTF and on the test objects' BTF. What a lookup returns
// is compared with what the test reads itself: the raw BTF records, walked here by hand from the
// file bytes (no libbpf), and offsetof/sizeof of the header the BPF side shares with C++.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/types.h>
#include <unistd.h>

#include <ebpfpp/btf.hpp>
#include <ebpfpp/object.hpp>

#include "helpers.hpp"
#include "profile.bpf.skel.h"
#include "profile.h"
#include "test_map_types.bpf.skel.h"

namespace btf_test { // one per file: the kernel tests are unity builds

// --- the raw BTF, read by hand ------------------------------------------------------------------

// The uapi records by their struct names (libbpf's btf.h has functions of the same names).
using Header = struct ::btf_header;
using Type = struct ::btf_type;
using Array = struct ::btf_array;
using Member = struct ::btf_member;
using Enum = struct ::btf_enum;
using Param = struct ::btf_param;
using Var = struct ::btf_var;
using VarSecinfo = struct ::btf_var_secinfo;

// A BTF file's type records by id, as the format (Documentation/bpf/btf.rst) lays them out. A
// split BTF (a module's) numbers its types after its base's and its string offsets after the
// base's strings: `first_id` and `str_base` say where.
struct RawBtf {
  std::string bytes;
  std::uint32_t first_id = 1, str_base = 0;
  const RawBtf* base = nullptr; // a split BTF's: names below str_base are the base's
  std::size_t types_at = 0, strs_at = 0, str_len = 0;
  std::vector<std::size_t> at; // [id - first_id]: the record's offset in `bytes`

  static RawBtf read(const std::filesystem::path& path, const RawBtf* base = nullptr) {
    RawBtf r;
    r.base = base;
    std::ifstream in(path, std::ios::binary);
    r.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    REQUIRE(r.bytes.size() >= sizeof(Header));
    Header h{};
    std::memcpy(&h, r.bytes.data(), sizeof h);
    REQUIRE(h.magic == BTF_MAGIC);
    r.first_id = base ? base->last_id() + 1 : 1;
    r.str_base = base ? static_cast<std::uint32_t>(base->str_len) : 0;
    r.types_at = h.hdr_len + h.type_off;
    r.strs_at = h.hdr_len + h.str_off;
    r.str_len = h.str_len;
    for (std::size_t off = r.types_at; off < r.types_at + h.type_len;) {
      r.at.push_back(off);
      const Type t = r.record<Type>(off);
      const std::uint32_t vlen = BTF_INFO_VLEN(t.info);
      std::size_t extra = 0;
      switch (BTF_INFO_KIND(t.info)) {
      case BTF_KIND_INT:
      case BTF_KIND_DECL_TAG:
        extra = 4;
        break;
      case BTF_KIND_ARRAY:
        extra = sizeof(Array);
        break;
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        extra = vlen * sizeof(Member);
        break;
      case BTF_KIND_ENUM:
        extra = vlen * sizeof(Enum);
        break;
      case 19: // BTF_KIND_ENUM64: name_off, val_lo32, val_hi32
        extra = std::size_t{vlen} * 12;
        break;
      case BTF_KIND_FUNC_PROTO:
        extra = vlen * sizeof(Param);
        break;
      case BTF_KIND_VAR:
        extra = sizeof(Var);
        break;
      case BTF_KIND_DATASEC:
        extra = vlen * sizeof(VarSecinfo);
        break;
      default: // PTR, FWD, TYPEDEF, qualifiers, FUNC, FLOAT, TYPE_TAG
        break;
      }
      off += sizeof(Type) + extra;
    }
    return r;
  }

  template <class T>
  T record(std::size_t off) const {
    // Not a doctest assertion: this runs for each of vmlinux's 100k+ records.
    if (off + sizeof(T) > bytes.size()) throw std::out_of_range("a BTF record past the file's end");
    T v;
    std::memcpy(&v, bytes.data() + off, sizeof v);
    return v;
  }
  std::string name(std::uint32_t off) const {
    if (off < str_base) return base->name(off);
    if (off - str_base >= str_len) throw std::out_of_range("a BTF name past the string area");
    return std::string(bytes.data() + strs_at + (off - str_base));
  }
  std::uint32_t last_id() const { return first_id + static_cast<std::uint32_t>(at.size()) - 1; }
  Type type(std::uint32_t id) const { return record<Type>(at.at(id - first_id)); }
  // The first type of `kind` named `name` (as libbpf's lookup, which looks in id order), or 0.
  std::uint32_t find(std::string_view name_, unsigned kind) const {
    for (std::uint32_t id = first_id; id <= last_id(); ++id) {
      const Type t = type(id);
      if (BTF_INFO_KIND(t.info) == kind && name(t.name_off) == name_) return id;
    }
    return 0;
  }

  struct Field {
    std::string name;
    std::uint32_t type, bit_offset, bit_size;
  };
  std::vector<Field> members(std::uint32_t id) const {
    const Type t = type(id);
    std::vector<Field> out;
    for (std::uint32_t i = 0; i < BTF_INFO_VLEN(t.info); ++i) {
      const auto m = record<Member>(at.at(id - first_id) + sizeof(Type) + i * sizeof(Member));
      // kflag: the offset word holds a bitfield's size (top 8 bits) and offset (low 24).
      const bool kflag = BTF_INFO_KFLAG(t.info) != 0;
      out.push_back({name(m.name_off), m.type, kflag ? BTF_MEMBER_BIT_OFFSET(m.offset) : m.offset,
                     kflag ? BTF_MEMBER_BITFIELD_SIZE(m.offset) : 0});
    }
    return out;
  }
  // An enum's values: signed when kflag is set, else unsigned (the BTF format's rule).
  std::vector<std::pair<std::string, std::int64_t>> values(std::uint32_t id) const {
    const Type t = type(id);
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (std::uint32_t i = 0; i < BTF_INFO_VLEN(t.info); ++i) {
      const auto e = record<Enum>(at.at(id - first_id) + sizeof(Type) + i * sizeof(Enum));
      out.emplace_back(name(e.name_off), BTF_INFO_KFLAG(t.info)
                                             ? std::int64_t{e.val}
                                             : std::int64_t{static_cast<std::uint32_t>(e.val)});
    }
    return out;
  }
};

const std::filesystem::path vmlinux_path = "/sys/kernel/btf/vmlinux";

// --- the kernel's BTF -------------------------------------------------------------------------

TEST_CASE("Btf::kernel: task_struct and its pid member are where the raw BTF records them") {
  if (auto why = test::skip_reason(ebpfpp::kernel::Feature::btf)) EBPFPP_SKIP(*why);
  const RawBtf raw = RawBtf::read(vmlinux_path);
  const std::uint32_t raw_id = raw.find("task_struct", BTF_KIND_STRUCT);
  REQUIRE(raw_id != 0);
  const std::vector<RawBtf::Field> raw_members = raw.members(raw_id);

  const ebpfpp::Btf vmlinux = ebpfpp::Btf::kernel();
  CHECK(vmlinux.source() == "the kernel (/sys/kernel/btf/vmlinux)");
  CHECK(vmlinux.type_count() == raw.last_id() + 1);
  const ebpfpp::BtfType task = vmlinux.type("task_struct", ebpfpp::BtfKind::struct_);
  CHECK(task.id == raw_id);
  CHECK(task.kind == ebpfpp::BtfKind::struct_);
  CHECK(task.name == "task_struct");
  CHECK(task.size == raw.type(raw_id).size);
  REQUIRE(task.members.size() == raw_members.size());
  for (std::size_t i = 0; i < raw_members.size(); ++i) {
    INFO("member " << i << " '" << raw_members[i].name << "'");
    CHECK(task.members[i].name == raw_members[i].name);
    CHECK(task.members[i].type_id == raw_members[i].type);
    CHECK(task.members[i].bit_offset == raw_members[i].bit_offset);
    CHECK(task.members[i].bit_size == raw_members[i].bit_size);
  }

  // pid: a pid_t, as user space's: a typedef of a 4-byte signed int.
  const ebpfpp::BtfMember* pid = task.member("pid");
  REQUIRE(pid != nullptr);
  std::optional<RawBtf::Field> raw_pid;
  for (const auto& m : raw_members)
    if (m.name == "pid") raw_pid = m;
  REQUIRE(raw_pid);
  CHECK(pid->bit_offset == raw_pid->bit_offset);
  CHECK(pid->offset() == raw_pid->bit_offset / 8);
  CHECK(pid->bit_size == 0);
  CHECK(pid->type == "pid_t");
  const ebpfpp::BtfType pid_t_type = vmlinux.type(pid->type_id);
  CHECK(pid_t_type.kind == ebpfpp::BtfKind::typedef_);
  CHECK(pid_t_type.name == "pid_t");
  CHECK(pid_t_type.size == sizeof(pid_t));
  const ebpfpp::BtfType pid_int = vmlinux.type(pid_t_type.type_id);
  CHECK(pid_int.kind == ebpfpp::BtfKind::typedef_); // __kernel_pid_t
  CHECK(vmlinux.type(pid_int.type_id).kind == ebpfpp::BtfKind::integer);
  CHECK(vmlinux.type(pid_int.type_id).is_signed);

  // The same struct found without its kind, and by id.
  CHECK(vmlinux.type("task_struct").id == raw_id);
  CHECK(vmlinux.type(raw_id).name == "task_struct");
}

TEST_CASE("Btf::kernel: an enum's values are the raw BTF's and the uapi header's") {
  if (auto why = test::skip_reason(ebpfpp::kernel::Feature::btf)) EBPFPP_SKIP(*why);
  const RawBtf raw = RawBtf::read(vmlinux_path);
  const std::uint32_t raw_id = raw.find("bpf_map_type", BTF_KIND_ENUM);
  REQUIRE(raw_id != 0);

  const ebpfpp::Btf vmlinux = ebpfpp::Btf::kernel();
  const ebpfpp::BtfType e = vmlinux.type("bpf_map_type", ebpfpp::BtfKind::enum_);
  CHECK(e.id == raw_id);
  CHECK(e.size == 4);
  const auto raw_values = raw.values(raw_id);
  REQUIRE(e.values.size() == raw_values.size());
  for (std::size_t i = 0; i < raw_values.size(); ++i) {
    CHECK(e.values[i].name == raw_values[i].first);
    CHECK(e.values[i].value == raw_values[i].second);
  }
  // What this program was compiled with agrees with the running kernel (uapi values are fixed).
  const auto value_of = [&](std::string_view name) -> std::optional<std::int64_t> {
    for (const auto& v : e.values)
      if (v.name == name) return v.value;
    return std::nullopt;
  };
  CHECK(value_of("BPF_MAP_TYPE_UNSPEC") == BPF_MAP_TYPE_UNSPEC);
  CHECK(value_of("BPF_MAP_TYPE_HASH") == BPF_MAP_TYPE_HASH);
  CHECK(value_of("BPF_MAP_TYPE_PROG_ARRAY") == BPF_MAP_TYPE_PROG_ARRAY);
  CHECK(value_of("BPF_MAP_TYPE_RINGBUF") == BPF_MAP_TYPE_RINGBUF);
  CHECK(value_of("BPF_MAP_TYPE_BLOOM_FILTER") == BPF_MAP_TYPE_BLOOM_FILTER);
  CHECK(value_of("ebpfpp_no_such_value") == std::nullopt);
}

// --- an object's BTF --------------------------------------------------------------------------

TEST_CASE("Btf::of: profile_key's members at the offsets the shared header gives C++, and as C") {
  auto skel = ebpfpp::Skeleton<profile_bpf>::open(); // the BTF is there from open on
  const ebpfpp::Btf btf = ebpfpp::Btf::of(skel);
  skel.reset(); // the Btf is a copy: it outlives the skeleton
  CHECK(btf.source() == "BPF object 'profile_bpf'");
  const ebpfpp::BtfType key = btf.type("profile_key", ebpfpp::BtfKind::struct_);
  CHECK(key.size == sizeof(profile_key));
  struct Expected {
    std::string_view name, type;
    std::size_t offset;
  };
  const Expected expected[] = {
      {"tgid", "unsigned int", offsetof(profile_key, tgid)},
      {"user_stack_id", "int", offsetof(profile_key, user_stack_id)},
      {"kernel_stack_id", "int", offsetof(profile_key, kernel_stack_id)},
      {"comm", "char[16]", offsetof(profile_key, comm)},
  };
  REQUIRE(key.members.size() == std::size(expected));
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    INFO("member " << expected[i].name);
    CHECK(key.members[i].name == expected[i].name);
    CHECK(key.members[i].type == expected[i].type);
    CHECK(key.members[i].bit_offset == expected[i].offset * 8);
    CHECK(key.members[i].offset() == expected[i].offset);
    CHECK(key.members[i].bit_size == 0);
  }
  const ebpfpp::BtfType comm = btf.type(key.member("comm")->type_id);
  CHECK(comm.kind == ebpfpp::BtfKind::array);
  CHECK(comm.count == 16);
  CHECK(comm.size == sizeof(profile_key::comm));

  CHECK(btf.dump_c("profile_key", ebpfpp::BtfKind::struct_) == "struct profile_key {\n"
                                                               "\tunsigned int tgid;\n"
                                                               "\tint user_stack_id;\n"
                                                               "\tint kernel_stack_id;\n"
                                                               "\tchar comm[16];\n"
                                                               "};\n\n");
}

TEST_CASE("Btf::of and Btf::file: an object's enum values, bitfields and struct exactly") {
  // enum color { RED, GREEN, BLUE } and struct rich of bpf/test_map_types.bpf.c.
  auto skel = ebpfpp::Skeleton<test_map_types_bpf>::open();
  const ebpfpp::Btf btf = ebpfpp::Btf::of(skel);
  const ebpfpp::BtfType color = btf.type("color");
  CHECK(color.kind == ebpfpp::BtfKind::enum_);
  CHECK(color.size == 4);
  CHECK_FALSE(color.is_signed);
  REQUIRE(color.values.size() == 3);
  CHECK(color.values[0].name == "RED");
  CHECK(color.values[0].value == 0);
  CHECK(color.values[1].name == "GREEN");
  CHECK(color.values[1].value == 1);
  CHECK(color.values[2].name == "BLUE");
  CHECK(color.values[2].value == 2);
  CHECK(btf.dump_c(color.id) == "enum color {\n\tRED = 0,\n\tGREEN = 1,\n\tBLUE = 2,\n};\n\n");

  // __u32 kind : 4, level : 12; after the 2-byte struct `nested` at byte 24.
  const ebpfpp::BtfType rich = btf.type("rich", ebpfpp::BtfKind::struct_);
  const ebpfpp::BtfMember* kind = rich.member("kind");
  const ebpfpp::BtfMember* level = rich.member("level");
  REQUIRE(kind != nullptr);
  REQUIRE(level != nullptr);
  CHECK(kind->bit_offset == 26 * 8);
  CHECK(kind->bit_size == 4);
  CHECK(level->bit_offset == 26 * 8 + 4);
  CHECK(level->bit_size == 12);
  CHECK(rich.member("nested")->type == "struct {...}");
  CHECK(rich.member("prog")->type == "union {...}");
  CHECK(btf.type(rich.member("prog")->type_id).members.size() == 2);

  // The same object's file: the same types, at the same ids (.BTF as the compiler wrote it).
  const ebpfpp::Btf file = ebpfpp::Btf::file(test::bpf_dir() / "test_maps.bpf.o");
  const ebpfpp::BtfType pair = file.type("pair", ebpfpp::BtfKind::struct_);
  CHECK(pair.size == 8);
  REQUIRE(pair.members.size() == 2);
  CHECK(pair.members[0].name == "a");
  CHECK(pair.members[0].bit_offset == 0);
  CHECK(pair.members[1].name == "b");
  CHECK(pair.members[1].bit_offset == 32);
  CHECK(pair.members[1].type == "__u32");
  const ebpfpp::Object obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_maps.bpf.o");
  CHECK(ebpfpp::Btf::of(obj).type("pair", ebpfpp::BtfKind::struct_).id == pair.id);
}

// --- modules ----------------------------------------------------------------------------------

// In suite vm: the host has no modules, and the qemu kernels load 9p and overlay.
TEST_CASE("Btf::module: a loaded module's types are split on the kernel's" *
          doctest::test_suite("vm")) {
  if (auto why = test::skip_reason(ebpfpp::kernel::Feature::btf)) EBPFPP_SKIP(*why);
  // A kernel without modules (the host: CONFIG_MODULES off), or with none loaded, has only
  // vmlinux there; the errors of a missing module are tested below either way.
  if (auto why = test::skip_reason(ebpfpp::kernel::Feature::btf_modules)) EBPFPP_SKIP(*why);
  std::optional<std::string> module;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/kernel/btf"))
    if (entry.path().filename() != "vmlinux") {
      module = entry.path().filename().string();
      break;
    }
  REQUIRE(module);
  const ebpfpp::Btf vmlinux = ebpfpp::Btf::kernel();
  const RawBtf raw_base = RawBtf::read(vmlinux_path);
  const RawBtf raw = RawBtf::read("/sys/kernel/btf/" + *module, &raw_base);
  const ebpfpp::Btf btf = ebpfpp::Btf::module(*module, vmlinux);
  CHECK(btf.source() == "module '" + *module + "' (/sys/kernel/btf/" + *module + ")");
  CHECK(btf.type_count() == raw.last_id() + 1);
  // Its first named struct, by name: at the id the raw split BTF gives it, members and all.
  for (std::uint32_t id = raw.first_id; id <= raw.last_id(); ++id) {
    const Type t = raw.type(id);
    if (BTF_INFO_KIND(t.info) != BTF_KIND_STRUCT || t.name_off == 0) continue;
    const std::string name = raw.name(t.name_off);
    if (raw.find(name, BTF_KIND_STRUCT) != id || raw_base.find(name, BTF_KIND_STRUCT) != 0)
      continue;
    const ebpfpp::BtfType s = btf.type(name, ebpfpp::BtfKind::struct_);
    CHECK(s.id == id);
    const auto members = raw.members(id);
    REQUIRE(s.members.size() == members.size());
    for (std::size_t i = 0; i < members.size(); ++i) {
      CHECK(s.members[i].name == members[i].name);
      CHECK(s.members[i].bit_offset == members[i].bit_offset);
    }
    break;
  }
  // The kernel's types are there too, at their own ids.
  CHECK(btf.type("task_struct", ebpfpp::BtfKind::struct_).id ==
        raw_base.find("task_struct", BTF_KIND_STRUCT));
}

// --- errors -----------------------------------------------------------------------------------

template <class F>
ebpfpp::Error error_of(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const ebpfpp::Error& e) {
    return e;
  }
  FAIL("no Error was thrown");
  return ebpfpp::Error(0, "nothing");
}

TEST_CASE("Btf errors: an unknown type, a missing file or module name what and where; no fd left") {
  if (auto why = test::skip_reason(ebpfpp::kernel::Feature::btf)) EBPFPP_SKIP(*why);
  namespace hint = ebpfpp::detail::hint;
  const std::size_t fds = test::open_fd_count();
  {
    const ebpfpp::Btf vmlinux = ebpfpp::Btf::kernel();
    const auto unknown = error_of([&] { vmlinux.type("ebpfpp_no_such_type"); });
    CHECK(unknown.errnum() == ENOENT);
    CHECK(unknown.action() ==
          "find type 'ebpfpp_no_such_type' in the BTF of the kernel (/sys/kernel/btf/vmlinux)");
    CHECK(unknown.hint() == hint::btf_type_missing);
    CHECK_FALSE(vmlinux.find("ebpfpp_no_such_type"));

    // A name of another kind: the Error says which kind it is.
    const auto kind = error_of([&] { vmlinux.type("pid_t", ebpfpp::BtfKind::struct_); });
    CHECK(kind.errnum() == ENOENT);
    CHECK(kind.action() == "find struct 'pid_t' in the BTF of the kernel "
                           "(/sys/kernel/btf/vmlinux): 'pid_t' is a typedef there");
    CHECK(kind.hint() == hint::btf_type_missing);
    // C's keyword is not part of the name.
    CHECK(error_of([&] { vmlinux.type("struct task_struct"); }).errnum() == ENOENT);

    const auto id = error_of([&] { vmlinux.type(vmlinux.type_count()); });
    CHECK(id.errnum() == ENOENT);
    CHECK(id.hint() == hint::btf_type_id);

    const auto module = error_of([&] { ebpfpp::Btf::module("ebpfpp_no_such_module", vmlinux); });
    CHECK(module.errnum() == ENOENT);
    CHECK(module.action() == "load the BTF of module 'ebpfpp_no_such_module' "
                             "(/sys/kernel/btf/ebpfpp_no_such_module)");
    CHECK(module.hint() == hint::btf_module_missing);
    for (const std::string_view bad : {"../vmlinux", "", "vmlinux", "a/b"}) {
      const auto e = error_of([&] { ebpfpp::Btf::module(bad, vmlinux); });
      CHECK(e.errnum() == EINVAL);
      CHECK(e.hint() == hint::btf_module_name);
    }
  }

  const std::filesystem::path missing = test::bpf_dir() / "no such dir" / "x.bpf.o";
  const auto file = error_of([&] { ebpfpp::Btf::file(missing); });
  CHECK(file.errnum() == ENOENT);
  CHECK(file.action() == "read the BTF of file '" + missing.string() + "'");
  CHECK(file.hint().find("does not exist") != std::string::npos);

  // An ELF file without BTF (this test binary), and a file that is neither.
  const auto elf = error_of([] { ebpfpp::Btf::file("/proc/self/exe"); });
  CHECK(elf.errnum() == ENODATA);
  CHECK(elf.hint() == hint::btf_file);
  char tmpl[] = "/tmp/ebpfpp-btf-XXXXXX";
  const int tmp = ::mkstemp(tmpl);
  REQUIRE(tmp >= 0);
  constexpr std::string_view line = "not BTF, not ELF: a line of text\n";
  REQUIRE(::write(tmp, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
  ::close(tmp);
  const auto text = error_of([&] { ebpfpp::Btf::file(tmpl); });
  std::filesystem::remove(tmpl);
  CHECK(text.errnum() == LIBBPF_ERRNO__FORMAT);
  CHECK(text.hint() == hint::btf_file);

  const auto empty = error_of([] { ebpfpp::Btf().type("task_struct"); });
  CHECK(empty.errnum() == EBADF);
  CHECK(test::open_fd_count() == fds);
}

} // namespace btf_test
