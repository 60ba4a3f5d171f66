#pragma once
// The checks Object::open_file and open_memory run on a BPF ELF object before libbpf reads it.
//
// libbpf 1.1 parses the ELF with libelf, which copes with corrupt headers, but it takes the BTF
// on trust: a type id or string offset past the end is used as an index (one flipped byte in a
// struct member's type id crashes bpf_object__open), and a chain of typedefs that loops is
// followed for ever. A global data section is mapped into this process at open and created in
// the kernel at load at whatever size the ELF says (a .bss of 2 GiB loads, slowly). So, here:
//   - the ELF's section headers are read with bounds checks, finding the sections as libelf
//     does (extended section numbering included);
//   - each .BTF that libbpf would parse: its header and areas lie inside the section; each type
//     record is whole and of a kind libbpf 1.1 knows; every type id a type refers to names a
//     type, every name offset lies in the string area; FUNC refers to a FUNC_PROTO, DATASEC
//     entries to VARs or FUNCs; chains of modifiers, typedefs, pointers, arrays and variables
//     end;
//   - .BTF.ext, where libbpf would accept its layout: every func_info, line_info and CO-RE
//     record refers to types and strings that exist;
//   - global data (.data*, .rodata*, .bss*, and the variables of every BTF DATASEC, which
//     covers .kconfig externs) is at most a limit in size.
// What is not checked here is checked by libbpf (relocations, symbols, map definitions' layout)
// or by the kernel (instructions, in the verifier; the BTF again, at load), or is bounded only by
// the kernel and the memory cgroup: the sizes of maps declared in .maps.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <elf.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../error.hpp"
#include "format.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

/// What check_object() found; kind none when the object may go to libbpf.
struct ObjectProblem {
  enum Kind { none, malformed_elf, bad_btf, too_large };
  Kind kind = none;
  /// The section at fault (".BTF", ".bss", ...); "" for the ELF headers.
  std::string section;
  /// What is wrong, for the Error's action.
  std::string what;
  explicit operator bool() const noexcept { return kind != none; }
};

namespace object_check {

using Bytes = std::span<const std::byte>;
// The uapi records by their struct names: libbpf's btf.h has functions of the same names.
using Header = struct ::btf_header;
using Type = struct ::btf_type;
using Array = struct ::btf_array;
using Member = struct ::btf_member;
using Enum = struct ::btf_enum;
using Param = struct ::btf_param;
using Var = struct ::btf_var;
using VarSecinfo = struct ::btf_var_secinfo;

// A T at `offset` (any alignment); the caller has checked that it lies inside.
template <class T>
T read(Bytes bytes, std::uint64_t offset) noexcept {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

// Whether [offset, offset + size) lies inside `bytes`, without overflow.
inline bool inside(Bytes bytes, std::uint64_t offset, std::uint64_t size) noexcept {
  return offset <= bytes.size() && size <= bytes.size() - offset;
}

struct Section {
  std::string_view name;
  Elf64_Shdr header;
};

inline ObjectProblem problem(ObjectProblem::Kind kind, std::string section, std::string what) {
  return {kind, std::move(section), std::move(what)};
}

// The sections of an ELF64 object of this machine's byte order, read as libelf reads them.
// `out` stays empty for what is no such object (too short, no ELF magic, another class or byte
// order): libbpf refuses those itself, before it reads any section.
template <class = void>
ObjectProblem sections(Bytes elf, std::vector<Section>& out) {
  constexpr unsigned char native_data =
      __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
  if (elf.size() < sizeof(Elf64_Ehdr)) return {};
  const auto eh = read<Elf64_Ehdr>(elf, 0);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != native_data || eh.e_shoff == 0)
    return {};
  const auto bad = [](std::string what) {
    return problem(ObjectProblem::malformed_elf, "", std::move(what));
  };
  if (eh.e_shentsize != sizeof(Elf64_Shdr))
    return bad(detail::format("the section header size is {} bytes, not {}", eh.e_shentsize,
                              sizeof(Elf64_Shdr)));
  if (!inside(elf, eh.e_shoff, sizeof(Elf64_Shdr)))
    return bad(detail::format("the section headers at offset {} lie past the end of the file "
                              "({} bytes)",
                              eh.e_shoff, elf.size()));
  // Extended numbering: past 0xff00 sections, the count and the index of the section names
  // are in section 0.
  const auto first = read<Elf64_Shdr>(elf, eh.e_shoff);
  const std::uint64_t count = eh.e_shnum != 0 ? eh.e_shnum : first.sh_size;
  const std::uint64_t names_index = eh.e_shstrndx != SHN_XINDEX ? eh.e_shstrndx : first.sh_link;
  if (count > (elf.size() - eh.e_shoff) / sizeof(Elf64_Shdr))
    return bad(detail::format("{} section headers at offset {} do not fit in the file ({} bytes)",
                              count, eh.e_shoff, elf.size()));
  if (names_index >= count)
    return bad(detail::format("the section names are in section {}, but there are {} sections",
                              names_index, count));
  const auto names = read<Elf64_Shdr>(elf, eh.e_shoff + names_index * sizeof(Elf64_Shdr));
  if (names.sh_type == SHT_NOBITS || !inside(elf, names.sh_offset, names.sh_size))
    return bad(detail::format("the section names (section {}, {} bytes at offset {}) lie past "
                              "the end of the file",
                              names_index, names.sh_size, names.sh_offset));
  const std::string_view strings(reinterpret_cast<const char*>(elf.data()) + names.sh_offset,
                                 names.sh_size);
  out.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto sh = read<Elf64_Shdr>(elf, eh.e_shoff + i * sizeof(Elf64_Shdr));
    if (i == 0) continue; // section 0 is no section
    const auto end =
        sh.sh_name < strings.size() ? strings.find('\0', sh.sh_name) : std::string_view::npos;
    if (end == std::string_view::npos)
      return bad(detail::format("the name of section {} lies outside the section names", i));
    out.push_back({strings.substr(sh.sh_name, end - sh.sh_name), sh});
  }
  return {};
}

// The last kind libbpf 1.1 knows; a kind past it makes libbpf refuse the BTF. (Its own value:
// newer uapi headers may know more kinds than libbpf 1.1 does.)
inline constexpr unsigned last_kind = 19; // BTF_KIND_ENUM64

template <class = void>
std::string_view kind_name(std::uint8_t kind) noexcept {
  constexpr std::string_view names[] = {"UNKN",    "INT",      "PTR",      "ARRAY",      "STRUCT",
                                        "UNION",   "ENUM",     "FWD",      "TYPEDEF",    "VOLATILE",
                                        "CONST",   "RESTRICT", "FUNC",     "FUNC_PROTO", "VAR",
                                        "DATASEC", "FLOAT",    "DECL_TAG", "TYPE_TAG",   "ENUM64"};
  return kind <= last_kind ? names[kind] : "unknown";
}

// A .BTF that passed: what .BTF.ext is checked against.
struct Btf {
  std::uint32_t types = 0;         // the last type id (ids run 1..types; 0 is void)
  std::uint32_t str_len = 0;       // the size of the string area
  std::vector<std::uint8_t> kinds; // by id
};

// What extra_size() says of a kind libbpf 1.1 does not know.
inline constexpr std::uint64_t unknown_kind = ~std::uint64_t{0};

// The bytes a record of `kind` takes after its 12-byte btf_type.
inline std::uint64_t extra_size(std::uint8_t kind, std::uint64_t vlen) noexcept {
  switch (kind) {
  case BTF_KIND_PTR:
  case BTF_KIND_FWD:
  case BTF_KIND_TYPEDEF:
  case BTF_KIND_VOLATILE:
  case BTF_KIND_CONST:
  case BTF_KIND_RESTRICT:
  case BTF_KIND_FUNC:
  case BTF_KIND_FLOAT:
  case BTF_KIND_TYPE_TAG:
    return 0;
  case BTF_KIND_INT:
  case BTF_KIND_DECL_TAG:
    return 4;
  case BTF_KIND_ARRAY:
    return sizeof(Array);
  case BTF_KIND_STRUCT:
  case BTF_KIND_UNION:
    return vlen * sizeof(Member);
  case BTF_KIND_ENUM:
    return vlen * sizeof(Enum);
  case BTF_KIND_ENUM64:
    return vlen * 12;
  case BTF_KIND_FUNC_PROTO:
    return vlen * sizeof(Param);
  case BTF_KIND_VAR:
    return sizeof(Var);
  case BTF_KIND_DATASEC:
    return vlen * sizeof(VarSecinfo);
  default:
    return unknown_kind;
  }
}

// Checks one .BTF section (`data`) and describes it in `out`.
template <class = void>
ObjectProblem btf(Bytes data, std::uint64_t max_data, Btf& out) {
  const auto bad = [](std::string what) {
    return problem(ObjectProblem::bad_btf, ".BTF", std::move(what));
  };
  if (data.size() < sizeof(Header))
    return bad(detail::format("{} bytes are too few for its header", data.size()));
  const auto hdr = read<Header>(data, 0);
  if (hdr.magic != BTF_MAGIC)
    return bad(detail::format("its magic is {:#06x}, not {:#06x} (the BTF of this machine's "
                              "byte order)",
                              hdr.magic, BTF_MAGIC));
  if (hdr.version != BTF_VERSION)
    return bad(detail::format("its version is {}, not {}", hdr.version, BTF_VERSION));
  if (hdr.hdr_len < sizeof(Header) || hdr.hdr_len > data.size())
    return bad(detail::format("its header length {} is outside {}..{}", hdr.hdr_len, sizeof(Header),
                              data.size()));
  const std::uint64_t body = data.size() - hdr.hdr_len;
  if (std::uint64_t{hdr.str_off} + hdr.str_len > body ||
      std::uint64_t{hdr.type_off} + hdr.type_len > hdr.str_off || hdr.type_off % 4 != 0)
    return bad(detail::format("its types ({} bytes at {}) and strings ({} bytes at {}) do not "
                              "fit in order, aligned, in its {} bytes",
                              hdr.type_len, hdr.type_off, hdr.str_len, hdr.str_off, body));
  const Bytes types = data.subspan(hdr.hdr_len + hdr.type_off, hdr.type_len);
  const Bytes strs = data.subspan(hdr.hdr_len + hdr.str_off, hdr.str_len);
  if (strs.empty() || strs.front() != std::byte{0} || strs.back() != std::byte{0})
    return bad("its string area does not begin and end with a NUL byte");
  out.str_len = hdr.str_len;
  const auto name_ok = [&](std::uint32_t off) { return off < hdr.str_len; };
  const auto name_of = [&](std::uint32_t off) -> std::string_view {
    return name_ok(off) ? std::string_view(reinterpret_cast<const char*>(strs.data()) + off) : "";
  };

  // First pass: where each record lies, and how many there are.
  std::vector<std::uint32_t> at{0}; // by id; 0 is void
  out.kinds.assign(1, 0);
  for (std::uint64_t off = 0; off < types.size();) {
    const std::uint32_t id = static_cast<std::uint32_t>(at.size());
    if (!inside(types, off, sizeof(Type)))
      return bad(detail::format("type [{}] is cut off at the end of the type area", id));
    const auto t = read<Type>(types, off);
    const std::uint8_t kind = BTF_INFO_KIND(t.info);
    const std::uint64_t extra = extra_size(kind, BTF_INFO_VLEN(t.info));
    if (extra == unknown_kind)
      return bad(detail::format("type [{}] has kind {}, which libbpf does not know", id, kind));
    if (!inside(types, off + sizeof(Type), extra))
      return bad(detail::format("type [{}] ({}) is cut off at the end of the type area", id,
                                kind_name(kind)));
    at.push_back(static_cast<std::uint32_t>(off));
    out.kinds.push_back(kind);
    off += sizeof(Type) + extra;
  }
  out.types = static_cast<std::uint32_t>(at.size() - 1);
  const std::uint32_t last = out.types;

  // Second pass: every name and every type id a record refers to exists. `next[id]` is the one
  // type a record leads on to (what its size and its chains follow), for the checks below.
  std::vector<std::uint32_t> next(at.size(), 0);
  for (std::uint32_t id = 1; id <= last; ++id) {
    const std::uint64_t off = at[id];
    const auto t = read<Type>(types, off);
    const std::uint8_t kind = out.kinds[id];
    const std::uint32_t vlen = BTF_INFO_VLEN(t.info);
    const std::uint64_t rest = off + sizeof(Type);
    const auto where = [&] {
      return detail::format("type [{}] ({} '{}')", id, kind_name(kind), name_of(t.name_off));
    };
    if (!name_ok(t.name_off))
      return bad(detail::format("type [{}] ({}) has its name at offset {}, past the string "
                                "area ({} bytes)",
                                id, kind_name(kind), t.name_off, hdr.str_len));
    const auto refers = [&](std::uint32_t to, std::string_view what, bool void_ok) {
      if (to <= last && (void_ok || to != 0)) return std::string();
      return detail::format("{}{}{} refers to type {}, but the types are 1..{}", where(),
                            what.empty() ? "" : " ", what, to, last);
    };
    const auto name_in = [&](std::uint32_t name, std::string_view what) {
      if (name_ok(name)) return std::string();
      return detail::format("{} {} has its name at offset {}, past the string area ({} bytes)",
                            where(), what, name, hdr.str_len);
    };
    std::string fault;
    switch (kind) {
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      fault = refers(t.type, "", true); // void *, const void, typedef void: all C
      next[id] = t.type;
      break;
    case BTF_KIND_FUNC:
      fault = refers(t.type, "", false);
      if (fault.empty() && out.kinds[t.type] != BTF_KIND_FUNC_PROTO)
        fault = detail::format("{} refers to type [{}], a {}, not a FUNC_PROTO", where(), t.type,
                               kind_name(out.kinds[t.type]));
      break;
    case BTF_KIND_VAR: // of void too: a typeless ksym (extern void sym __ksym)
    case BTF_KIND_DECL_TAG:
      fault = refers(t.type, "", kind == BTF_KIND_VAR);
      next[id] = t.type;
      break;
    case BTF_KIND_ARRAY: {
      const auto a = read<Array>(types, rest);
      fault = refers(a.type, "element type", false);
      if (fault.empty()) fault = refers(a.index_type, "index type", false);
      next[id] = a.type;
      break;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
      for (std::uint32_t i = 0; i < vlen && fault.empty(); ++i) {
        const auto m = read<Member>(types, rest + i * sizeof(Member));
        const std::string what = detail::format("member {} ('{}')", i, name_of(m.name_off));
        fault = name_in(m.name_off, what);
        if (fault.empty()) fault = refers(m.type, what, false);
      }
      break;
    case BTF_KIND_ENUM:
      for (std::uint32_t i = 0; i < vlen && fault.empty(); ++i)
        fault = name_in(read<Enum>(types, rest + i * sizeof(Enum)).name_off,
                        detail::format("value {}", i));
      break;
    case BTF_KIND_ENUM64:
      for (std::uint32_t i = 0; i < vlen && fault.empty(); ++i)
        fault = name_in(read<std::uint32_t>(types, rest + std::uint64_t{i} * 12),
                        detail::format("value {}", i));
      break;
    case BTF_KIND_FUNC_PROTO:
      fault = refers(t.type, "return type", true);
      for (std::uint32_t i = 0; i < vlen && fault.empty(); ++i) {
        const auto p = read<Param>(types, rest + i * sizeof(Param));
        const std::string what = detail::format("parameter {}", i);
        fault = name_in(p.name_off, what);
        // Type 0 only for the last parameter: the "..." of a variadic function.
        if (fault.empty()) fault = refers(p.type, what, i + 1 == vlen);
      }
      break;
    case BTF_KIND_DATASEC:
      for (std::uint32_t i = 0; i < vlen && fault.empty(); ++i) {
        const auto v = read<VarSecinfo>(types, rest + i * sizeof(VarSecinfo));
        const std::string what = detail::format("entry {}", i);
        fault = refers(v.type, what, false);
        if (fault.empty() && out.kinds[v.type] != BTF_KIND_VAR &&
            out.kinds[v.type] != BTF_KIND_FUNC)
          fault = detail::format("{} {} refers to type [{}], a {}, not a VAR or FUNC", where(),
                                 what, v.type, kind_name(out.kinds[v.type]));
      }
      break;
    default: // INT, FWD, FLOAT: no references
      break;
    }
    if (!fault.empty()) return bad(std::move(fault));
  }

  // Chains of modifiers, typedefs, pointers, arrays, variables and tags end: libbpf follows some
  // of them without a bound (skip_mods_and_typedefs). Each type leads to at most one next, so a
  // walk that meets its own path has found a loop.
  std::vector<std::uint8_t> state(at.size(), 0); // 0 unseen, 1 on the current path, 2 done
  std::vector<std::uint32_t> path;
  for (std::uint32_t id = 1; id <= last; ++id) {
    path.clear();
    std::uint32_t cur = id;
    while (cur != 0 && state[cur] == 0) {
      state[cur] = 1;
      path.push_back(cur);
      cur = next[cur];
    }
    if (cur != 0 && state[cur] == 1)
      return bad(detail::format("type [{}] ({} '{}') leads back to itself through its chain of "
                                "modifiers, typedefs, pointers or arrays",
                                cur, kind_name(out.kinds[cur]),
                                name_of(read<Type>(types, at[cur]).name_off)));
    for (const std::uint32_t p : path) state[p] = 2;
  }

  // The size of every variable of every DATASEC (global data, .kconfig externs), as libbpf
  // resolves it: each becomes part of a map. Pointers end a chain (8 bytes).
  // Both factors stay below 2^40 and 2^32, so a product never wraps before it saturates.
  const auto saturate = [](std::uint64_t n) {
    constexpr std::uint64_t cap = std::uint64_t{1} << 40; // past every limit
    return n < cap ? n : cap;
  };
  const auto size_of = [&](std::uint32_t id) -> std::uint64_t {
    std::uint64_t scale = 1;
    for (;;) {
      if (id == 0) return 0;
      const auto t = read<Type>(types, at[id]);
      switch (out.kinds[id]) {
      case BTF_KIND_PTR:
        return scale * 8;
      case BTF_KIND_ARRAY: {
        const auto a = read<Array>(types, at[id] + sizeof(Type));
        scale = saturate(scale * a.nelems);
        id = a.type;
        continue;
      }
      case BTF_KIND_INT:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_FLOAT:
      case BTF_KIND_DATASEC:
        return saturate(scale * t.size);
      case BTF_KIND_FWD:
      case BTF_KIND_FUNC:
      case BTF_KIND_FUNC_PROTO:
        return 0;
      default:
        id = next[id];
      }
    }
  };
  for (std::uint32_t id = 1; id <= last; ++id) {
    if (out.kinds[id] != BTF_KIND_DATASEC) continue;
    const auto t = read<Type>(types, at[id]);
    const std::string_view section = name_of(t.name_off);
    const auto large = [&](std::uint64_t size, std::string_view what) {
      return problem(ObjectProblem::too_large, std::string(section),
                     detail::format("{} is {} bytes, over the limit of {}", what, size, max_data));
    };
    if (t.size > max_data) return large(t.size, "its size in the BTF");
    for (std::uint32_t i = 0; i < BTF_INFO_VLEN(t.info); ++i) {
      const auto v = read<VarSecinfo>(types, at[id] + sizeof(Type) + i * sizeof(VarSecinfo));
      const auto var = read<Type>(types, at[v.type]);
      const std::string what = detail::format("variable '{}'", name_of(var.name_off));
      if (v.size > max_data) return large(v.size, what);
      if (const std::uint64_t size = size_of(v.type); size > max_data) return large(size, what);
    }
  }
  return {};
}

// libbpf's checks of one .BTF.ext area (btf_ext_setup_info): whether it would accept it.
// Records are handed to `record` (its bytes, the section name offset).
template <class Record>
bool btf_ext_area(Bytes ext, std::uint32_t hdr_len, std::uint32_t off, std::uint32_t len,
                  std::uint32_t min_record, Record&& record) {
  if (len == 0) return true;
  if (off % 4 != 0 || !inside(ext, std::uint64_t{hdr_len} + off, len) || len < 4) return false;
  const Bytes area = ext.subspan(hdr_len + off, len);
  const auto record_size = read<std::uint32_t>(area, 0);
  if (record_size < min_record || record_size % 4 != 0 || area.size() == 4) return false;
  for (std::uint64_t pos = 4; pos < area.size();) {
    if (!inside(area, pos, 8)) return false;
    const auto sec_name = read<std::uint32_t>(area, pos);
    const auto count = read<std::uint32_t>(area, pos + 4);
    if (count == 0 || !inside(area, pos + 8, std::uint64_t{count} * record_size)) return false;
    for (std::uint32_t i = 0; i < count; ++i)
      if (!record(area.subspan(pos + 8 + std::uint64_t{i} * record_size, record_size), sec_name))
        return true; // a fault was recorded; the layout itself was fine
    pos += 8 + std::uint64_t{count} * record_size;
  }
  return true;
}

// Checks .BTF.ext against the .BTF it describes. A layout libbpf would refuse (it then ignores
// .BTF.ext and goes on without it) is left alone; in one it accepts, every record must refer
// to types and strings that exist.
template <class = void>
ObjectProblem btf_ext(Bytes ext, const Btf& btf) {
  constexpr std::uint32_t header_to_line_info = 24, header_to_core = 32;
  if (ext.size() < 8) return {};
  const auto magic = read<std::uint16_t>(ext, 0);
  const auto version = read<std::uint8_t>(ext, 2);
  const auto flags = read<std::uint8_t>(ext, 3);
  const auto hdr_len = read<std::uint32_t>(ext, 4);
  if (magic != BTF_MAGIC || version != BTF_VERSION || flags != 0 || hdr_len > ext.size() ||
      hdr_len == ext.size() || hdr_len < header_to_line_info)
    return {};
  const auto field = [&](std::uint32_t at) { return read<std::uint32_t>(ext, at); };
  std::string fault;
  const auto type_ok = [&](std::uint32_t id, std::string_view what, std::uint32_t sec) {
    if (!fault.empty()) return false;
    if (sec >= btf.str_len)
      fault = detail::format("a {} section's name is at offset {}, past the BTF's string area "
                             "({} bytes)",
                             what, sec, btf.str_len);
    else if (id == 0 || id > btf.types)
      fault = detail::format("a {} record refers to type {}, but the types are 1..{}", what, id,
                             btf.types);
    return fault.empty();
  };
  const auto string_ok = [&](std::uint32_t off, std::string_view what) {
    if (!fault.empty() || off < btf.str_len) return fault.empty();
    fault = detail::format("a {} record refers to string offset {}, past the BTF's string area "
                           "({} bytes)",
                           what, off, btf.str_len);
    return false;
  };
  // func_info: {insn_off, type_id}, the type a FUNC (the kernel's rule, and clang's output).
  const bool funcs_ok =
      btf_ext_area(ext, hdr_len, field(8), field(12), 8, [&](Bytes r, std::uint32_t sec) {
        const auto id = read<std::uint32_t>(r, 4);
        if (!type_ok(id, "func_info", sec)) return false;
        if (btf.kinds[id] == BTF_KIND_FUNC) return true;
        fault = detail::format("a func_info record refers to type [{}], a {}, not a FUNC", id,
                               kind_name(btf.kinds[id]));
        return false;
      });
  if (!funcs_ok) return {};
  // line_info: {insn_off, file_name_off, line_off, line_col}.
  const bool lines_ok =
      btf_ext_area(ext, hdr_len, field(16), field(20), 16, [&](Bytes r, std::uint32_t sec) {
        return string_ok(sec, "line_info section") &&
               string_ok(read<std::uint32_t>(r, 4), "line_info") &&
               string_ok(read<std::uint32_t>(r, 8), "line_info");
      });
  if (!lines_ok) return {};
  // CO-RE relocations: {insn_off, type_id, access_str_off, kind}.
  if (fault.empty() && hdr_len >= header_to_core)
    btf_ext_area(ext, hdr_len, field(24), field(28), 16, [&](Bytes r, std::uint32_t sec) {
      return type_ok(read<std::uint32_t>(r, 4), "CO-RE relocation", sec) &&
             string_ok(read<std::uint32_t>(r, 8), "CO-RE relocation");
    });
  if (fault.empty()) return {};
  return problem(ObjectProblem::bad_btf, ".BTF.ext", std::move(fault));
}

inline bool starts_with_section(std::string_view name, std::string_view base) noexcept {
  return name == base ||
         (name.size() > base.size() && name.starts_with(base) && name[base.size()] == '.');
}

} // namespace object_check

/// Runs the checks of this file on `elf`; `max_data` bounds each global data section and
/// variable. Never reads outside `elf`.
template <class = void>
ObjectProblem check_object(std::span<const std::byte> elf, std::uint64_t max_data) {
  namespace oc = object_check;
  std::vector<oc::Section> sections;
  if (ObjectProblem p = oc::sections(elf, sections)) return p;
  // libbpf reads the last .BTF and .BTF.ext of type PROGBITS (others it refuses or skips).
  const oc::Section* btf_ext = nullptr;
  oc::Btf btf;
  bool have_btf = false;
  for (const oc::Section& s : sections) {
    const Elf64_Shdr& sh = s.header;
    const bool data =
        sh.sh_type == SHT_PROGBITS && sh.sh_size > 0 && (sh.sh_flags & SHF_EXECINSTR) == 0 &&
        (oc::starts_with_section(s.name, ".data") || oc::starts_with_section(s.name, ".rodata"));
    const bool bss = sh.sh_type == SHT_NOBITS && oc::starts_with_section(s.name, ".bss");
    if ((data || bss) && sh.sh_size > max_data)
      return oc::problem(
          ObjectProblem::too_large, std::string(s.name),
          detail::format("the section is {} bytes, over the limit of {}", sh.sh_size, max_data));
    if (sh.sh_type != SHT_PROGBITS || (s.name != ".BTF" && s.name != ".BTF.ext")) continue;
    if (!oc::inside(elf, sh.sh_offset, sh.sh_size))
      return oc::problem(ObjectProblem::malformed_elf, std::string(s.name),
                         detail::format("its {} bytes at offset {} lie past the end of the file "
                                        "({} bytes)",
                                        sh.sh_size, sh.sh_offset, elf.size()));
    if (s.name == ".BTF.ext") {
      btf_ext = &s;
      continue;
    }
    btf = {};
    if (ObjectProblem p = oc::btf(elf.subspan(sh.sh_offset, sh.sh_size), max_data, btf)) return p;
    have_btf = true;
  }
  if (have_btf && btf_ext)
    return oc::btf_ext(elf.subspan(btf_ext->header.sh_offset, btf_ext->header.sh_size), btf);
  return {};
}

/// Throws the Error for what check_object() found in the object `describe()` names.
template <class Describe>
void require_sound_object(std::span<const std::byte> elf, std::uint64_t max_data,
                          const Describe& describe) {
  ObjectProblem p = check_object(elf, max_data);
  if (!p) return;
  std::string action = detail::format("{}: {}: {}", describe(),
                                      p.section.empty() ? std::string("its ELF headers")
                                                        : detail::format("section '{}'", p.section),
                                      p.what);
  switch (p.kind) {
  case ObjectProblem::too_large:
    throw Error(E2BIG, std::move(action), hint::data_too_large(max_data));
  case ObjectProblem::bad_btf:
    throw Error(LIBBPF_ERRNO__FORMAT, std::move(action), std::string(hint::corrupt_btf));
  default:
    throw Error(LIBBPF_ERRNO__FORMAT, std::move(action),
                hint_for(LIBBPF_ERRNO__FORMAT, Op::open_object));
  }
}

/// The bytes of the file at `path` (read once: what is checked is what libbpf parses). Only a
/// regular file of at most 1 GiB: a device such as /dev/zero or a pipe would be read until the
/// memory runs out. Throws Error.
template <class Describe>
std::vector<std::byte> read_object_file(const std::filesystem::path& path,
                                        const Describe& describe) {
  constexpr std::uint64_t max_size = std::uint64_t{1} << 30;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) fail(errno, describe);
  if (!S_ISREG(st.st_mode))
    throw Error(EINVAL, detail::format("{}: it is not a regular file", describe()),
                std::string(hint::not_a_regular_file));
  if (static_cast<std::uint64_t>(st.st_size) > max_size)
    throw Error(
        E2BIG,
        detail::format("{}: it is {} bytes, larger than {}", describe(), st.st_size, max_size),
        std::string(hint::object_too_large));
  std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno, describe);
    if (n == 0) break; // shrunk meanwhile: what was read is the object
    got += static_cast<std::size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

/// The name libbpf gives an object opened from `path`: the file name up to its first '.', at
/// most 15 characters (bpf_object__new).
inline std::string object_name_of(const std::filesystem::path& path) {
  std::string name = path.filename().string().substr(0, BPF_OBJ_NAME_LEN - 1);
  return name.substr(0, name.find('.'));
}

} // namespace ebpfpp::detail
