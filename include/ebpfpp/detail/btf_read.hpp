#pragma once
// What btf.hpp's Btf is made of: owning libbpf's struct btf, reading a BTF file this process did
// not make (checked before libbpf parses a byte, as objects are), and turning a BTF type record
// into a BtfType: its members and values, and C spellings by libbpf's own C printer (btf_dump).
//
// Included by btf.hpp after the public value types (BtfKind, BtfMember, BtfEnumValue, BtfType)
// that the functions here fill in.

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>

#include "../error.hpp"
#include "btf_handle.hpp"
#include "format.hpp"
#include "hints.hpp"
#include "libbpf_log.hpp"
#include "object_check.hpp"

namespace ebpfpp::detail {

/// Owns `b`, shared by a split BTF (a module's) and the base it was parsed on (freed also when
/// the share's count cannot be allocated).
inline SharedBtf share_btf(btf* b) {
  return SharedBtf(BtfPtr(b));
}

/// libbpf's constructors return NULL (or an error pointer, without strict mode) and set errno.
inline btf* btf_or_null(btf* b) noexcept {
  if (libbpf_get_error(b)) return nullptr;
  return b;
}

/// Whether btf__load_module_btf would read /sys/kernel/btf/<name> for `name`: not a path
/// outside it, not cut off (MODULE_NAME_LEN is 56 with the NUL), not vmlinux (the kernel's own).
inline bool is_module_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= 55 &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos && name != "." &&
         name != ".." && name != "vmlinux";
}

/// A copy of a BPF object's own BTF (what libbpf holds for it, fixed up at open), so that it
/// outlives the object. Throws Error: ENOENT for an object without BTF (built without -g).
inline SharedBtf copy_object_btf(bpf_object* obj, std::string_view name) {
  const auto action = [&] { return format("read the BTF of BPF object '{}'", name); };
  const btf* own = bpf_object__btf(obj);
  if (!own) throw Error(ENOENT, action(), std::string(hint::no_btf));
  __u32 size = 0;
  errno = 0;
  const void* raw = btf__raw_data(own, &size);
  if (!raw) fail(errno ? errno : ENOMEM, action);
  btf* b = btf_or_null(btf__new(raw, size));
  if (!b) fail(errno ? errno : EINVAL, action);
  return share_btf(b);
}

// --- a BTF file ---------------------------------------------------------------------------------

/// The BTF of the file at `path`: an ELF file's .BTF section (a BPF object, a vmlinux) or a raw
/// BTF file (as /sys/kernel/btf/* are). Read once and checked as Object::open_file checks an
/// object's .BTF (every id and name offset in range, no loops), so what libbpf parses is what
/// was checked. (The kernel's own BTF, Btf::kernel() and module(), is taken as it is.) Throws
/// Error.
template <class Describe>
SharedBtf read_btf_file(const std::filesystem::path& path, const Describe& describe) {
  require_no_nul(path.native(), describe);
  if (FileProblem file = file_problem(path); file.err)
    fail(file.err, describe, Op::generic, file.hint);
  const std::vector<std::byte> bytes = read_object_file(path, describe);
  const std::span<const std::byte> all(bytes);
  std::span<const std::byte> data = all;
  std::vector<object_check::Section> sections;
  if (ObjectProblem p = object_check::sections(all, sections))
    fail(
        LIBBPF_ERRNO__FORMAT, [&] { return format("{}: its ELF headers: {}", describe(), p.what); },
        Op::generic, hint::btf_file);
  if (!sections.empty()) { // an ELF file: its (last) .BTF section, as libbpf reads it
    const object_check::Section* found = nullptr;
    for (const auto& s : sections)
      if (s.name == ".BTF" && s.header.sh_type == SHT_PROGBITS) found = &s;
    if (!found)
      fail(
          ENODATA, [&] { return format("{}: the ELF file has no .BTF section", describe()); },
          Op::generic, hint::btf_file);
    if (!object_check::inside(all, found->header.sh_offset, found->header.sh_size))
      fail(
          LIBBPF_ERRNO__FORMAT,
          [&] { return format("{}: its .BTF section lies past the end of the file", describe()); },
          Op::generic, hint::btf_file);
    data = all.subspan(found->header.sh_offset, found->header.sh_size);
  }
  object_check::Btf checked;
  // No global-data bound here: nothing is mapped or created from these types.
  if (ObjectProblem p = object_check::btf(data, ~std::uint64_t{0}, checked))
    fail(
        LIBBPF_ERRNO__FORMAT,
        [&] { return format("{}: {}{}", describe(), sections.empty() ? "" : ".BTF: ", p.what); },
        Op::generic, sections.empty() ? hint::btf_file : hint::corrupt_btf);
  LibbpfLog log;
  errno = 0;
  btf* b = btf_or_null(btf__new(data.data(), static_cast<__u32>(data.size())));
  if (!b) fail(errno ? errno : EINVAL, describe, Op::generic, &log);
  return share_btf(b);
}

// --- describing one type ------------------------------------------------------------------------

/// libbpf's C printer (btf_dump) over one BTF, printing into a string. Not movable: libbpf holds
/// the address of `out_`.
class CPrinter {
public:
  explicit CPrinter(const btf* b) {
    errno = 0;
    d_ = btf_dump__new(b, &print, &out_, nullptr);
    if (libbpf_get_error(d_)) {
      d_ = nullptr;
      fail(errno ? errno : ENOMEM, [] { return std::string("start libbpf's BTF-to-C printer"); });
    }
  }
  CPrinter(const CPrinter&) = delete;
  CPrinter& operator=(const CPrinter&) = delete;
  ~CPrinter() { btf_dump__free(d_); }

  /// Type `id` as C spells it in a declaration without a name: "struct list_head", "char[16]",
  /// "void (*)(int)", "struct {...}"; "void" for 0.
  std::string declaration(std::uint32_t id) {
    if (id == 0) return "void";
    out_.clear();
    btf_dump_emit_type_decl_opts opts;
    init_opts(opts);
    opts.field_name = "";
    if (const int err = btf_dump__emit_type_decl(d_, id, &opts); err < 0) return "?";
    // An anonymous struct or union is printed whole, over lines: "struct {...}" says enough.
    const auto open = out_.find('{'), close = out_.rfind('}');
    if (open != std::string::npos && close != std::string::npos && open < close)
      out_.replace(open + 1, close - open - 1, "...");
    return std::move(out_);
  }
  /// Type `id` defined in C, after the types it needs that were not printed yet (as bpftool btf
  /// dump ... format c prints them); returns the error of a failed print (< 0), else 0.
  int definition(std::uint32_t id, std::string& text) {
    out_.clear();
    const int err = btf_dump__dump_type(d_, id);
    text = std::move(out_);
    return err;
  }

private:
  static void print(void* ctx, const char* format, va_list args) {
    try {
      static_cast<std::string*>(ctx)->append(format_message(format, args));
    } catch (...) { // out of memory inside a C callback: the text is cut short
    }
  }

  std::string out_;
  btf_dump* d_ = nullptr;
};

/// BtfType of id `id` (which must exist in `b`): its kind, name, size, what it refers to, and
/// its members or enum values.
inline BtfType describe_btf_type(const btf* b, std::uint32_t id, CPrinter& c) {
  const btf_type* t = btf__type_by_id(b, id);
  BtfType out;
  out.id = id;
  if (!t) return out;
  const std::uint16_t kind = btf_kind(t);
  out.kind = kind <= static_cast<std::uint16_t>(BtfKind::enum64) ? static_cast<BtfKind>(kind)
                                                                 : BtfKind::unknown;
  if (const char* name = btf__name_by_offset(b, t->name_off)) out.name = name;
  if (const __s64 size = btf__resolve_size(b, id); size > 0)
    out.size = static_cast<std::uint32_t>(size);
  switch (out.kind) {
  case BtfKind::integer:
    out.is_signed = (btf_int_encoding(t) & BTF_INT_SIGNED) != 0;
    break;
  case BtfKind::pointer:
  case BtfKind::typedef_:
  case BtfKind::volatile_:
  case BtfKind::const_:
  case BtfKind::restrict_:
  case BtfKind::function:
  case BtfKind::function_proto: // its return type
  case BtfKind::variable:
  case BtfKind::decl_tag:
  case BtfKind::type_tag:
    out.type_id = t->type;
    break;
  case BtfKind::array:
    out.type_id = btf_array(t)->type;
    out.count = btf_array(t)->nelems;
    break;
  case BtfKind::struct_:
  case BtfKind::union_: {
    const struct ::btf_member* m = btf_members(t);
    for (std::uint32_t i = 0; i < btf_vlen(t); ++i, ++m) {
      const char* name = btf__name_by_offset(b, m->name_off);
      out.members.push_back({name ? name : "", m->type, c.declaration(m->type),
                             btf_member_bit_offset(t, i), btf_member_bitfield_size(t, i)});
    }
    break;
  }
  case BtfKind::enum_:
  case BtfKind::enum64: {
    // BTF's kflag says signed (LLVM 15+, pahole 1.24+); else the values are unsigned.
    out.is_signed = btf_kflag(t);
    const auto add = [&](std::uint32_t name_off, std::int64_t value) {
      const char* name = btf__name_by_offset(b, name_off);
      out.values.push_back({name ? name : "", value});
    };
    // The two record layouts: a 32-bit value (sign-extended only when signed), or 64 bits.
    if (out.kind == BtfKind::enum_) {
      for (const struct ::btf_enum* e = btf_enum(t); e != btf_enum(t) + btf_vlen(t); ++e)
        add(e->name_off, out.is_signed ? std::int64_t{e->val}
                                       : std::int64_t{static_cast<std::uint32_t>(e->val)});
    } else {
      for (const struct ::btf_enum64* e = btf_enum64(t); e != btf_enum64(t) + btf_vlen(t); ++e)
        add(e->name_off, static_cast<std::int64_t>(btf_enum64_value(e)));
    }
    break;
  }
  default:
    break;
  }
  return out;
}

} // namespace ebpfpp::detail
