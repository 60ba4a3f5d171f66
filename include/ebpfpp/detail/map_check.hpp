#pragma once
// Checking a typed view against the kernel's map: the map type, the key and value sizes, and what
// the map's BTF says about the types, member by member (see "checking C++ types against the
// map's BTF" below; what C++ can tell of a type is in type_shape.hpp). Also how errors name keys,
// checking a map by id before it is opened, and finding a global of an object (a variable in a
// data section's map) with the same BTF checks.

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>
#include <unistd.h>

#include "../error.hpp"
#include "../map_data.hpp"
#include "../map_info.hpp"
#include "btf_handle.hpp"
#include "format.hpp"
#include "map_iter.hpp"
#include "map_views.hpp"
#include "type_shape.hpp"
#include "uapi.hpp"

namespace ebpfpp::detail {

// --- naming things in errors ------------------------------------------------------------------

inline std::string map_type_str(bpf_map_type type) {
  const char* s = libbpf_bpf_map_type_str(type);
  return s ? s : detail::format("type {}", static_cast<int>(type));
}

/// "key 42" for integer keys, else the key's bytes in hex: "key {2a 00 00 00}".
template <class K>
std::string describe_key(const K& key) {
  if constexpr (std::is_same_v<K, bool>) {
    return detail::format("key {}", key);
  } else if constexpr (std::is_integral_v<K> && std::is_signed_v<K>) {
    return detail::format("key {}", static_cast<long long>(key));
  } else if constexpr (std::is_integral_v<K>) {
    return detail::format("key {}", static_cast<unsigned long long>(key));
  } else {
    const auto* b = reinterpret_cast<const unsigned char*>(&key);
    std::string out = "key {";
    const std::size_t shown = std::min<std::size_t>(sizeof(K), 32);
    for (std::size_t i = 0; i < shown; ++i) out += detail::format("{}{:02x}", i ? " " : "", b[i]);
    if (shown < sizeof(K)) out += " ...";
    return out + "}";
  }
}

// --- checking C++ types against the map's BTF -------------------------------------------------
//
// The C++ type's description (type_shape.hpp) and the BTF type are walked side by side, place by
// place: two structs member by member in offset order, a struct on one side opened up (its
// members take its place) where the other side has a smaller part at the same place, so grouping
// does not matter ({u32 a, b} matches {struct {u32 a, b} inner}). What must agree:
// - every part's place: byte offset; for bitfields bit offset and width;
// - integers: size and sign (plain char on either side: size only, its sign is the platform's);
//   bool against any 1-byte integer; an integer for a pointer of its size;
// - enums: BTF records an enum's sign (kflag) since LLVM 15; older producers leave kflag 0 for
//   every enum, so kflag 0 with an enumerator whose top bit is set leaves the sign unknown. An
//   integer of an enum's size and sign matches the enum: C++ code often lacks the enum (it is in
//   the BPF side's header or vmlinux.h) and such an integer holds exactly its values. An enum
//   against an enum: size only (for the same enumerators C picks unsigned int and C++'s
//   `enum class` int; the enumerators carry the meaning);
// - arrays: element count (nested arrays multiplied out) and element type;
// - a struct whose only member fills it stands for that member (a struct around an array);
// - a BTF union matches a C++ union of its size, or C++ parts that match one of its full-size
//   members;
// - what C++ cannot list (an opaque struct, a union's members) matches by kind and size.
// A member on one side where the other has padding is a difference: an update through the C++
// type would overwrite a BTF member it lacks, and a C++ member where BTF has none reads nothing
// the BPF side wrote. Padding on both sides agrees; anonymous BTF bitfields (`int :16;`, padding)
// and zero-size members (flexible arrays) are skipped. Hostile BTF (loops, absurd depth) stops
// the comparison, never the process: what was not compared passes.

/// Where two types differ (empty: the key or value itself) and how.
struct TypeDiff {
  std::string where, what;
  explicit operator bool() const noexcept { return !what.empty(); }
};

/// BTF's sign of an enum: 1 signed, 0 unsigned, -1 unknown (see above).
inline int btf_enum_sign(const btf_type* t) noexcept {
  if (btf_kflag(t)) return 1;
  const int n = btf_vlen(t);
  for (int i = 0; i < n; ++i)
    if (btf_is_enum(t) ? btf_enum(t)[i].val < 0 : (btf_enum64(t)[i].val_hi32 >> 31) != 0) return -1;
  return 0;
}

// The comparison, btf_mismatch, map_btf and validate below are templates over a parameter nobody
// gives: compiled only in a file that makes a typed map view, not in every file that includes a
// map header (the umbrella does).
template <class = void>
class BasicTypeComparison {
public:
  BasicTypeComparison(const btf* b, const std::vector<TypeNode>& cpp) noexcept
      : btf_(b), cpp_(cpp) {}

  /// The first difference between the C++ type and BTF type `id`; blind to the sign of the
  /// type itself unless check_sign (array indexes: BPF code often declares them int).
  TypeDiff run(std::uint32_t id, bool check_sign) {
    if (cpp_.empty()) return {};
    const std::uint64_t bits = std::uint64_t{cpp_[0].size} * 8;
    end_ = bits;
    TypeDiff d =
        compare(Part{0, bits, false, 0, 0, {}}, Part{0, bits, false, id, 0, {}}, check_sign);
    return gave_up_ ? TypeDiff{} : d;
  }

private:
  static constexpr int max_depth = 32;
  static constexpr unsigned max_steps = 100000;

  struct Part {
    std::uint64_t bit, width; // where it starts, from the compared type's start, and its bits
    bool bitfield;
    std::uint32_t ref; // C++: node index; BTF: type id
    int depth;         // how many structs and arrays were opened to reach it
    std::string path;  // C++: "1.0", "2[]"; BTF: "hdr.len", "comm[]"
  };

  const btf* btf_;
  const std::vector<TypeNode>& cpp_;
  std::uint64_t end_ = 0; // of the key or value, in bits
  unsigned steps_ = 0;
  bool gave_up_ = false;

  const btf_type* type(std::uint32_t id) const noexcept { return btf__type_by_id(btf_, id); }
  // Through typedefs and qualifiers (const, volatile, type tags), which say nothing of layout.
  std::uint32_t resolve(std::uint32_t id) const noexcept {
    for (int hop = 0; hop < max_depth; ++hop) {
      const btf_type* t = type(id);
      if (!t || !(btf_is_mod(t) || btf_is_typedef(t))) return id;
      id = t->type;
    }
    return id;
  }
  std::string name_of(const btf_type* t) const {
    const char* s = btf__name_by_offset(btf_, t->name_off);
    return s ? s : "";
  }
  // "__u8[4]", "pair", "char *", as C spells it.
  std::string spell(std::uint32_t id, int depth = 0) const {
    const btf_type* t = type(id);
    if (id == 0) return "void";
    if (!t || depth > max_depth) return "?";
    if (std::string n = name_of(t); !n.empty()) return n;
    if (btf_is_array(t))
      return detail::format("{}[{}]", spell(btf_array(t)->type, depth + 1), btf_array(t)->nelems);
    if (btf_is_ptr(t)) return spell(t->type, depth + 1) + " *";
    if (btf_is_mod(t)) return spell(t->type, depth + 1);
    if (btf_is_struct(t)) return "(anonymous struct)";
    if (btf_is_union(t)) return "(anonymous union)";
    return "(anonymous)";
  }
  // "__u32 = unsigned int": the declared name, and what it stands for when that differs.
  std::string btf_name(std::uint32_t id) const {
    std::string shown = spell(id);
    const std::string resolved = spell(resolve(id));
    if (resolved != shown) shown += " = " + resolved;
    return shown;
  }
  std::string btf_desc(const btf_type* t, const Part& b) const {
    std::string d;
    if (btf_is_int(t)) {
      const auto enc = btf_int_encoding(t);
      d = enc & BTF_INT_BOOL ? "a bool"
          : enc & BTF_INT_CHAR
              ? "a char"
              : detail::format("a{} {}-bit integer",
                               enc & BTF_INT_SIGNED ? " signed" : "n unsigned", btf_int_bits(t));
    } else if (btf_is_any_enum(t)) {
      const int sign = btf_enum_sign(t);
      d = detail::format("a{} {}-bit enum",
                         sign < 0 ? ""
                         : sign   ? " signed"
                                  : "n unsigned",
                         t->size * 8);
    } else if (btf_is_ptr(t)) {
      d = "a pointer";
    } else if (btf_is_struct(t)) {
      d = "a struct";
    } else if (btf_is_union(t)) {
      d = detail::format("a union of {} members", btf_vlen(t));
    } else if (btf_is_array(t)) {
      d = detail::format("an array of {}", btf_array(t)->nelems);
    } else if (btf_is_float(t)) {
      d = detail::format("a {}-bit floating-point type", t->size * 8);
    } else if (btf_is_fwd(t)) {
      d = "an incomplete type";
    } else {
      d = detail::format("a type of BTF kind {}", btf_kind(t));
    }
    return b.bitfield ? detail::format("a {}-bit bitfield ({})", b.width, d) : d;
  }
  std::string cpp_desc(const TypeNode& n, const btf_type* t, const Part& c) const {
    // The width when BTF has an integer or enum of another: the sign alone when it has one.
    const bool width = !t || ((btf_is_int(t) || btf_is_any_enum(t)) && t->size != n.size);
    const std::string d = cpp_kind(n, width);
    return c.bitfield ? detail::format("a {}-bit bitfield ({})", c.width, d) : d;
  }
  // What a C++ type node is, as errors say it: one phrase per kind.
  static std::string cpp_kind(const TypeNode& n, bool width) {
    switch (n.kind) {
    case TypeNode::integer:
      if (width)
        return detail::format("a{} {}-bit integer", n.is_signed ? " signed" : "n unsigned",
                              n.size * 8);
      return n.is_signed ? "a signed integer" : "an unsigned integer";
    case TypeNode::boolean:
      return "a bool";
    case TypeNode::enumeration:
      return detail::format("an enum of {} {}-bit integers", n.is_signed ? "signed" : "unsigned",
                            n.size * 8);
    case TypeNode::floating:
      return detail::format("a {}-bit floating-point type", n.size * 8);
    case TypeNode::pointer:
      return "a pointer";
    case TypeNode::array:
      return detail::format("an array of {}", n.count);
    case TypeNode::union_:
      return "a union";
    case TypeNode::record:
      return detail::format("a struct/class type with {} members", n.count);
    case TypeNode::opaque:
      return "a struct/class type";
    }
    return {};
  }
  // "member 1 ('b' in BTF) at offset 4"
  static std::string where(const std::string& cpp, const std::string& btf, std::uint64_t bit) {
    if (cpp.empty() && btf.empty()) return {};
    std::string s = cpp.empty() ? "member" : (cpp[0] == '[' ? "element " : "member ") + cpp;
    if (!btf.empty()) s += cpp.empty() ? " '" + btf + "' in BTF" : " ('" + btf + "' in BTF)";
    s += detail::format(" at offset {}", bit / 8);
    if (bit % 8) s += detail::format(" (bit {})", bit % 8);
    return s;
  }
  TypeDiff mismatch(const Part& c, const Part& b, const btf_type* t) const {
    const TypeNode& n = cpp_[c.ref];
    return {where(c.path, b.path, c.bit),
            detail::format("BTF says '{}', {}, but the C++ {} '{}' is {}", btf_name(b.ref),
                           btf_desc(t, b), noun(c), n.name, cpp_desc(n, t, c))};
  }
  static std::string_view noun(const Part& c) noexcept {
    return c.path.empty() ? "type" : c.path.back() == ']' ? "element" : "member";
  }

  // The end of node i's subtree in cpp_.
  std::uint32_t skip(std::uint32_t i) const noexcept {
    const TypeNode& n = cpp_[i];
    if (n.kind == TypeNode::array) return skip(i + 1);
    std::uint32_t j = i + 1;
    if (n.kind == TypeNode::record)
      for (std::uint32_t m = 0; m < n.count; ++m) j = skip(j);
    return j;
  }
  // Parts are kept as stacks: the next one (lowest offset) at the back.
  static void flip(std::vector<Part>& parts, std::size_t from) {
    for (std::size_t i = from, j = parts.size(); i + 1 < j; ++i, --j)
      std::swap(parts[i], parts[j - 1]);
  }
  // Pushes a record's members on `parts`.
  void open_cpp(const Part& c, std::vector<Part>& parts) const {
    const std::size_t from = parts.size();
    std::uint32_t j = c.ref + 1;
    for (std::uint32_t m = 0; m < cpp_[c.ref].count; ++m) {
      const TypeNode& n = cpp_[j];
      parts.push_back({c.bit + n.bit_offset, n.bit_size ? n.bit_size : std::uint64_t{n.size} * 8,
                       n.bit_size != 0, j, c.depth + 1,
                       c.path.empty() ? std::to_string(m) : c.path + "." + std::to_string(m)});
      j = skip(j);
    }
    flip(parts, from);
  }
  // Pushes a BTF struct's or union's members on `parts`, without padding and zero-size members.
  void open_btf(const Part& b, const btf_type* t, std::vector<Part>& parts) {
    const std::size_t from = parts.size();
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++m) {
      const char* raw = btf__name_by_offset(btf_, m->name_off);
      const std::string name = raw ? raw : "";
      const std::uint32_t bits = btf_member_bitfield_size(t, static_cast<std::uint32_t>(i));
      if (name.empty() && bits != 0) continue; // `int :8;`: padding
      const __s64 size = btf__resolve_size(btf_, m->type);
      if (size < 0) gave_up_ = true;
      if (size <= 0 && bits == 0) continue;
      const std::string shown = name.empty() ? "(anonymous)" : name;
      parts.push_back({b.bit + btf_member_bit_offset(t, static_cast<std::uint32_t>(i)),
                       bits ? bits : static_cast<std::uint64_t>(size) * 8, bits != 0, m->type,
                       b.depth + 1, b.path.empty() ? shown : b.path + "." + shown});
    }
    flip(parts, from);
  }
  // Whether a struct's members are one that fills it.
  static bool fills(const std::vector<Part>& parts, const Part& whole) noexcept {
    return parts.size() == 1 && parts[0].bit == whole.bit && parts[0].width == whole.width &&
           !parts[0].bitfield;
  }

  TypeDiff compare(const Part& c, const Part& b, bool check_sign) {
    if (c.depth > max_depth || b.depth > max_depth || ++steps_ > max_steps) {
      gave_up_ = true;
      return {};
    }
    const TypeNode& n = cpp_[c.ref];
    const std::uint32_t id = resolve(b.ref);
    const btf_type* t = type(id);
    if (!t) {
      gave_up_ = true;
      return {};
    }
    const bool bitfield = c.bitfield || b.bitfield;
    if (!bitfield) {
      std::vector<Part> cs, bs;
      if (n.kind == TypeNode::record) open_cpp(c, cs);
      if (btf_is_struct(t) && n.kind != TypeNode::opaque) open_btf(b, t, bs);
      if (n.kind == TypeNode::record && btf_is_struct(t)) return merge(cs, bs);
      if (fills(cs, c)) return compare(cs[0], b, check_sign);
      if (fills(bs, b)) return compare(c, bs[0], check_sign);
      if (btf_is_union(t) && n.kind != TypeNode::union_ && n.kind != TypeNode::opaque) {
        cs.assign(1, c);
        return one_of(cs, b, t);
      }
      if (n.kind == TypeNode::array && btf_is_array(t)) return arrays(c, b, t);
    }
    if (matches(n, t, check_sign, bitfield)) return {};
    return mismatch(c, b, t);
  }

  // Kinds, sizes and signs of two parts in the same place (a bitfield's bits, not its type's).
  bool matches(const TypeNode& n, const btf_type* t, bool check_sign, bool bitfield) const {
    const bool same_size = bitfield || n.size == t->size;
    const bool is_int = btf_is_int(t);
    const auto enc = is_int ? btf_int_encoding(t) : 0;
    const bool sign_blind =
        !check_sign || n.is_char || (enc & BTF_INT_CHAR) || (is_int && name_of(t) == "char");
    switch (n.kind) {
    case TypeNode::integer:
    case TypeNode::enumeration:
      if (is_int && (enc & BTF_INT_BOOL)) return n.kind == TypeNode::integer && n.size == 1;
      if (is_int) return same_size && (sign_blind || n.is_signed == ((enc & BTF_INT_SIGNED) != 0));
      if (btf_is_any_enum(t)) {
        const int sign = btf_enum_sign(t);
        return same_size && (n.kind == TypeNode::enumeration || sign_blind || sign < 0 ||
                             n.is_signed == (sign == 1));
      }
      return btf_is_ptr(t) && n.kind == TypeNode::integer;
    case TypeNode::boolean:
      return is_int && (bitfield || t->size == 1);
    case TypeNode::floating:
      return btf_is_float(t) && t->size == n.size;
    case TypeNode::pointer:
      return btf_is_ptr(t) || is_int;
    case TypeNode::union_:
      return btf_is_union(t);
    case TypeNode::opaque:
      return btf_is_composite(t) || btf_is_array(t);
    case TypeNode::array:
    case TypeNode::record:
      return false;
    }
    return false;
  }

  // Arrays: the count (nested arrays multiplied out), then one element against one.
  TypeDiff arrays(const Part& c, const Part& b, const btf_type* t) {
    std::uint64_t cn = 1, bn = 1;
    std::uint32_t ci = c.ref, bi = resolve(b.ref);
    for (; cpp_[ci].kind == TypeNode::array; ++ci) cn *= cpp_[ci].count;
    const btf_type* e = type(bi);
    for (int depth = 0; e && btf_is_array(e) && depth < max_depth; ++depth) {
      bn *= btf_array(e)->nelems;
      bi = btf_array(e)->type;
      e = type(resolve(bi));
    }
    if (cn != bn) return mismatch(c, b, t);
    if (cn == 0) return {};
    const std::uint64_t width = c.width / cn;
    return compare(Part{c.bit, width, false, ci, c.depth + 1, c.path + "[]"},
                   Part{b.bit, width, false, bi, b.depth + 1, b.path + "[]"}, true);
  }

  // C++ parts against a BTF union: they match if they match one of its full-size members.
  TypeDiff one_of(const std::vector<Part>& cs, const Part& b, const btf_type* t) {
    std::vector<Part> alts;
    open_btf(b, t, alts);
    for (const Part& alt : alts) {
      if (alt.bit != b.bit || alt.width != b.width || alt.bitfield) continue;
      std::vector<Part> c2 = cs, b2(1, alt);
      if (!merge(c2, b2)) return {};
    }
    const Part& c = cs.back();
    const TypeNode& n = cpp_[c.ref];
    return {where(c.path, b.path, c.bit),
            detail::format("BTF says '{}', {}, none of which matches the C++ {} '{}' ({})",
                           btf_name(b.ref), btf_desc(type(resolve(b.ref)), b), noun(c), n.name,
                           cpp_desc(n, type(resolve(b.ref)), c))};
  }

  // A C++ part where BTF has no member: padding, or the middle of `next` member's place.
  TypeDiff extra_cpp(const Part& c, const Part* next) const {
    const TypeNode& n = cpp_[c.ref];
    const std::string has =
        detail::format("the C++ {} is '{}', {}", noun(c), n.name, cpp_desc(n, nullptr, c));
    if (!next || c.bit + c.width <= next->bit)
      return {where(c.path, {}, c.bit), detail::format("BTF has padding there, but {}", has)};
    return {where(c.path, {}, c.bit),
            detail::format("BTF has no member starting there (its '{}' is at offset {}), but {}",
                           next->path, next->bit / 8, has)};
  }

  // Two stacks of parts: pairs them place by place.
  TypeDiff merge(std::vector<Part>& cs, std::vector<Part>& bs) {
    while (!cs.empty() || !bs.empty()) {
      if (++steps_ > max_steps) {
        gave_up_ = true;
        return {};
      }
      if (bs.empty()) return extra_cpp(cs.back(), nullptr);
      // Too deep, or a BTF member past the end of the type: hostile BTF.
      if (bs.back().depth >= max_depth || (!cs.empty() && cs.back().depth >= max_depth) ||
          bs.back().bit + bs.back().width > end_) {
        gave_up_ = true;
        return {};
      }
      const Part b = bs.back();
      const btf_type* bt = type(resolve(b.ref));
      if (!bt) {
        gave_up_ = true;
        return {};
      }
      const auto open_b = [&] {
        bs.pop_back();
        open_btf(b, bt, bs);
      };
      if (cs.empty()) {
        if (btf_is_struct(bt) && !b.bitfield) {
          open_b();
          continue;
        }
        return {where({}, b.path, b.bit),
                detail::format("BTF has '{}', {}, where the C++ type has padding", btf_name(b.ref),
                               btf_desc(bt, b))};
      }
      const Part c = cs.back();
      const TypeNode& n = cpp_[c.ref];
      const auto open_c = [&] {
        cs.pop_back();
        open_cpp(c, cs);
      };
      if (c.bit == b.bit && c.width == b.width) {
        if (TypeDiff d = compare(c, b, true)) return d;
        cs.pop_back();
        bs.pop_back();
        continue;
      }
      const bool c_opens = n.kind == TypeNode::record;
      const bool b_opens = btf_is_struct(bt) && !b.bitfield;
      if (c.bit == b.bit && c.width > b.width && c_opens) {
        open_c();
      } else if (c.bit == b.bit && c.width < b.width && b_opens) {
        open_b();
      } else if (c.bit == b.bit && c.width < b.width && btf_is_union(bt) && !b.bitfield) {
        std::vector<Part> in;
        while (!cs.empty() && cs.back().bit < b.bit + b.width) {
          in.push_back(cs.back());
          cs.pop_back();
        }
        flip(in, 0);
        if (TypeDiff d = one_of(in, b, bt)) return d;
        bs.pop_back();
      } else if (c.bit == b.bit) {
        return mismatch(c, b, bt);
      } else if (c.bit > b.bit && b_opens) {
        open_b();
      } else if (c.bit > b.bit) {
        return {where({}, b.path, b.bit),
                c.bit >= b.bit + b.width
                    ? detail::format("BTF has '{}', {}, where the C++ type has padding",
                                     btf_name(b.ref), btf_desc(bt, b))
                    : detail::format("BTF has '{}', {}, where the C++ type has no member (its "
                                     "member {} starts at offset {})",
                                     btf_name(b.ref), btf_desc(bt, b), c.path, c.bit / 8)};
      } else if (c_opens) {
        open_c();
      } else {
        return extra_cpp(c, &b);
      }
    }
    return {};
  }
};
using TypeComparison = BasicTypeComparison<>;

/// The first difference between a C++ type (described by `describe`) and BTF type `id`.
template <class = void>
TypeDiff btf_mismatch(const btf* b, std::uint32_t id, DescribeFn describe, bool check_sign) {
  if (!describe) return {};
  std::vector<TypeNode> nodes;
  describe(nodes, 0, 0);
  return TypeComparison(b, nodes).run(id, check_sign);
}

/// The BTF object with this id, parsed; null when it cannot be read. From the kernel by id
/// (BPF_BTF_GET_FD_BY_ID, which needs CAP_SYS_ADMIN), else from a BTF fd this process already
/// holds with that id: libbpf keeps one for each Object or Skeleton it loaded, so maps of those
/// are checked without CAP_SYS_ADMIN. Reading a held fd's BTF (BPF_OBJ_GET_INFO_BY_FD) needs no
/// capability beyond being allowed the bpf() call.
template <class = void>
BtfPtr map_btf(std::uint32_t btf_id) {
  LibbpfLog quiet; // an EPERM here is expected without CAP_SYS_ADMIN, not news
  if (btf* b = btf__load_from_kernel_by_id(btf_id)) return BtfPtr(b);
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    int fd = -1;
    const std::string name = it->path().filename().string();
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc{}) continue;
    std::array<char, 32> target{};
    const ssize_t n = ::readlink(it->path().c_str(), target.data(), target.size() - 1);
    if (n <= 0 || std::string_view(target.data(), static_cast<std::size_t>(n)) != "anon_inode:btf")
      continue;
    bpf_btf_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.id != btf_id) continue;
    // Again with a buffer for the raw BTF, now that its size is known.
    std::vector<std::uint8_t> data(info.btf_size);
    const __u32 size = info.btf_size;
    info = bpf_btf_info{};
    info.btf = reinterpret_cast<std::uintptr_t>(data.data());
    info.btf_size = size;
    len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.btf_size != size) continue;
    if (btf* b = btf__new(data.data(), size); !libbpf_get_error(b)) return BtfPtr(b);
  }
  return {};
}

/// Which typed view fits a map type, for the hint when the wrong one was used (the one list,
/// map_views.hpp, which ebpfpp-skel writes generated skeletons from too).
inline std::string_view view_for(bpf_map_type type, std::uint32_t map_flags = 0) noexcept {
  const MapViewRow* row = map_view_for(type, map_flags);
  return row ? row->view : std::string_view();
}

/// What a typed view requires of a map.
struct ViewSpec {
  std::string view_name;                  // "Map<unsigned int, unsigned long>"
  std::span<const bpf_map_type> accepted; // map types it works with
  std::uint32_t key_size;                 // sizeof(K), 0 for queues and stacks
  std::uint32_t value_size;               // sizeof(V)
  std::string_view key_name, value_name;  // the C++ type names
  DescribeFn key_type, value_type;        // null: not checked against BTF
  bool key_sign_matters;                  // false for array indexes (BPF code often uses int)
};

// Checks a map against a view: type, sizes, then BTF. Throws Error (EINVAL) naming the map and
// what differs.
template <class = void>
void validate(const MapInfo& info, std::string_view name, const ViewSpec& spec,
              TypeCheck check_level) {
  const auto action = [&] {
    return detail::format("view map '{}' ({}) as ebpfpp::{}", name, map_type_str(info.type),
                          spec.view_name);
  };
  if (std::find(spec.accepted.begin(), spec.accepted.end(), info.type) == spec.accepted.end()) {
    std::string accepted;
    for (auto t : spec.accepted) accepted += (accepted.empty() ? "" : ", ") + map_type_str(t);
    const std::string_view fits = view_for(info.type, info.map_flags);
    throw Error(EINVAL, detail::format("{}: the map type does not fit", action()),
                detail::format("{} works with maps of type {}; {}", spec.view_name, accepted,
                               fits.empty()
                                   ? std::string("ebpfpp has no typed view of this map type "
                                                 "yet: use its fd() with libbpf")
                                   : detail::format("use ebpfpp::{} for maps of type {}", fits,
                                                    map_type_str(info.type))));
  }
  const auto size_error = [&](std::string_view what, std::uint32_t kernel, std::uint32_t cpp,
                              std::string_view cpp_name) {
    return Error(
        EINVAL,
        detail::format("{}: the {} size is {} bytes in the kernel but sizeof({}) is {}", action(),
                       what, kernel, cpp_name, cpp),
        detail::format("declare a C++ {} type with the BPF side's layout (bpftool map show "
                       "name {} and bpftool btf dump show it)",
                       what, name));
  };
  if (info.key_size != spec.key_size)
    throw size_error("key", info.key_size, spec.key_size, spec.key_name);
  if (info.value_size != spec.value_size)
    throw size_error("value", info.value_size, spec.value_size, spec.value_name);

  if (check_level != TypeCheck::btf || info.btf_id == 0) return;
  if (info.btf_key_type_id == 0 && info.btf_value_type_id == 0) return;
  const BtfPtr b = map_btf(info.btf_id);
  if (!b) {
    // Said once per process: a tool that makes many views would otherwise repeat it.
    static std::atomic<bool> said{false};
    if (!said.exchange(true))
      log_message(LogLevel::warn,
                  detail::format("the BTF type check of map '{}' ({}) is skipped, only its key and "
                                 "value sizes are checked: its BTF (id {}) is not held by this "
                                 "process, and reading it by id needs CAP_SYS_ADMIN (maps of an "
                                 "Object or Skeleton this process loaded are always checked); said "
                                 "once",
                                 name, spec.view_name, info.btf_id));
    return;
  }
  TypeDiff diff;
  std::string_view what;
  if (info.btf_key_type_id != 0 && spec.key_size != 0) {
    diff = btf_mismatch(b.get(), info.btf_key_type_id, spec.key_type, spec.key_sign_matters);
    what = "key";
  }
  if (!diff && info.btf_value_type_id != 0) {
    diff = btf_mismatch(b.get(), info.btf_value_type_id, spec.value_type, true);
    what = "value";
  }
  if (diff)
    throw Error(EINVAL,
                detail::format("{}: the {}{}{}: {}", action(), what, diff.where.empty() ? "" : " ",
                               diff.where, diff.what),
                "use a C++ type that matches the BPF declaration, or pass TypeCheck::size_only "
                "if the reinterpretation is intended");
}

/// Checks the map with this id against `spec` from its description, without opening it; does
/// nothing when it cannot be described so (the open and the check after it then decide).
template <class = void>
void check_unopened(std::uint32_t id, const ViewSpec& spec, TypeCheck check) {
  const auto maps = describe_maps_unopened();
  if (!maps) return;
  for (const MapInfo& m : *maps)
    if (m.id == id) return validate(m, m.name, spec, check);
}

// --- a global of a BPF object (globals.hpp) ------------------------------------------------------

/// The data section of a global in `map` (an object's ".bss", ".data", ".rodata", ... map, whose
/// name is "<object>.bss"): ".bss", or the map's whole name if it has no dot.
inline std::string data_section(const bpf_map* map) {
  const std::string n = bpf_map__name(map);
  const auto dot = n.find('.');
  return dot == std::string::npos ? n : n.substr(dot);
}

/// Where a global lives: its data section's map and its offset in the section.
struct GlobalSlot {
  bpf_map* map = nullptr;
  std::size_t offset = 0;
};

/// Finds global `name` in the data sections of `obj` and checks T against its BTF, for
/// Object::variable<T> (globals.hpp). Throws Error (ENOENT listing the globals there are; EINVAL
/// for a size or BTF mismatch).
template <MapData T>
GlobalSlot find_global(bpf_object* obj, std::string_view name) {
  const btf* b = bpf_object__btf(obj);
  const auto action = [&] {
    return detail::format("find global '{}' in BPF object '{}'", name, bpf_object__name(obj));
  };
  if (!b) throw Error(ENOENT, action(), std::string(hint::no_btf));
  std::vector<std::string> globals;
  bpf_map* m = nullptr;
  while ((m = bpf_object__next_map(obj, m))) {
    if (!bpf_map__is_internal(m)) continue;
    const btf_type* sec = btf__type_by_id(b, bpf_map__btf_value_type_id(m));
    if (!sec || !btf_is_datasec(sec)) continue;
    const btf_var_secinfo* vsi = btf_var_secinfos(sec);
    for (int i = 0; i < btf_vlen(sec); ++i, ++vsi) {
      const btf_type* var = btf__type_by_id(b, vsi->type);
      if (!var || !btf_is_var(var)) continue;
      const std::string_view var_name = btf__name_by_offset(b, var->name_off);
      if (var_name != name) {
        globals.emplace_back(var_name);
        continue;
      }
      const auto mismatch = [&](std::string what) {
        return Error(EINVAL,
                     detail::format("view global '{}' ({}) as {}: {}", name, data_section(m),
                                    type_name<T>(), what),
                     std::string(hint::match_declaration));
      };
      if (vsi->size != sizeof(T))
        throw mismatch(detail::format("it is {} bytes but sizeof({}) is {}", vsi->size,
                                      type_name<T>(), sizeof(T)));
      if (const TypeDiff diff = btf_mismatch(b, var->type, &describe<T>, true))
        throw mismatch(diff.where.empty() ? diff.what : diff.where + ": " + diff.what);
      return {m, vsi->offset};
    }
  }
  std::string list;
  for (const auto& g : globals) list += detail::format("{}'{}'", list.empty() ? "" : ", ", g);
  throw Error(ENOENT, action(),
              list.empty() ? std::string(hint::no_globals)
                           : detail::format("its globals are: {}", list));
}

} // namespace ebpfpp::detail
