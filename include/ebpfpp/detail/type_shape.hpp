#pragma once
// What C++ can tell about a map key or value type, written out for the BTF check (map_check.hpp):
// integers (size, sign), bool, enums (the underlying type's size and sign), floats, pointers,
// arrays (std::array and C arrays: element and count), unions (size only) and structs. A struct's
// members come from structured bindings: the members are counted by aggregate-initialisation
// probing, each member's type is the binding's type, and its place is found in a zeroed instance
// (the address for most members; for integers and enums, which may be bitfields, the bits an
// all-ones assignment sets, so a bitfield's position and width are known exactly).
//
// C++ cannot list the members of every struct: not those with a base class, a union member
// (anonymous unions cannot be bound, and a named one cannot be told from them), a const or
// reference member, private members or constructors (not aggregates), or more than
// max_members members. Such a struct is an `opaque` record: only its kind and size are checked.
//
// Cost: one function per type, the binding code of one member count per struct; no <tuple>.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ebpfpp::detail {

/// The spelling of T as the compiler prints it ("unsigned int"), for error messages.
template <class T>
constexpr std::string_view type_name() noexcept {
  // g++: "... type_name() [with T = unsigned int; std::string_view = ...]"
  // clang: "... type_name() [T = unsigned int]" (a type may hold ']': "char[4]")
  constexpr std::string_view p = __PRETTY_FUNCTION__;
  constexpr auto start = p.find("T = ") + 4;
  constexpr auto semicolon = p.find("; ", start);
  constexpr auto end = semicolon != std::string_view::npos ? semicolon : p.size() - 1;
  return p.substr(start, end - start);
}

/// One node of a type's description. A type is written out in pre-order: a record node is
/// followed by its `count` members' nodes, an array node by its element's nodes.
struct TypeNode {
  enum Kind : std::uint8_t {
    integer,
    boolean,
    enumeration,
    floating,
    pointer,
    array,
    union_,
    record, // members follow
    opaque, // a struct/class whose members C++ cannot list
  };
  Kind kind = opaque;
  bool is_signed = false;       // integers; enums: the underlying type's sign
  bool is_char = false;         // plain char, whose sign is the platform's, not the program's
  std::uint32_t size = 0;       // sizeof
  std::uint32_t count = 0;      // record: members; array: elements
  std::uint32_t bit_offset = 0; // a record member: from the record's start (in BTF's bit order)
  std::uint32_t bit_size = 0;   // a bitfield member: its width; else 0
  std::string_view name;        // the C++ spelling
};

/// Writes out T's description at `bit_offset` in its enclosing record (0 elsewhere).
using DescribeFn = void (*)(std::vector<TypeNode>&, std::uint32_t bit_offset,
                            std::uint32_t bit_size);

// --- counting and binding a struct's members --------------------------------------------------

// Past this many members a struct is opaque (the binding code is written out per count).
inline constexpr std::size_t max_members = 24;

template <std::size_t>
struct AnyMember {
  template <class U>
  operator U() const noexcept; // declared only: used in unevaluated probes
};
template <class T>
struct AnyBase {
  template <class U>
  requires(std::is_base_of_v<U, T> && !std::is_same_v<U, T>) operator U() const noexcept;
};
struct AnyUnion {
  template <class U>
  requires std::is_union_v<U>
  operator U() const noexcept;
};

// T{{m}, {m}, ...} with n braced members: each brace initialises one member (never elided into a
// C array member), so the largest n that compiles is the member count.
template <class T, std::size_t... I>
constexpr bool takes_members(std::index_sequence<I...>) {
  return requires {
    T{{AnyMember<I>{}}...};
  };
}
// Member n (after n braced ones) can be made from a union: it is one, or starts with one.
template <class T, std::size_t... I>
constexpr bool union_at(std::index_sequence<I...>) {
  return requires {
    T{{AnyMember<I>{}}..., AnyUnion{}};
  };
}
template <class T, std::size_t... I>
constexpr bool any_union(std::index_sequence<I...>) {
  return (union_at<T>(std::make_index_sequence<I>{}) || ...);
}
template <class T, std::size_t N = 0>
constexpr std::size_t member_count() {
  if constexpr (N > max_members || !takes_members<T>(std::make_index_sequence<N + 1>{}))
    return N;
  else
    return member_count<T, N + 1>();
}

/// The member count when structured bindings can list T's members, else 0 (or more than
/// max_members).
template <class T>
constexpr std::size_t bindable_members() {
  if constexpr (!std::is_aggregate_v<T> || std::is_union_v<T> || requires { T{AnyBase<T>{}}; }) {
    return 0;
  } else {
    constexpr std::size_t n = member_count<T>();
    if constexpr (n == 0 || n > max_members || any_union<T>(std::make_index_sequence<n>{}))
      return 0;
    else
      return n;
  }
}

template <class T>
struct StdArray : std::false_type {};
template <class E, std::size_t N>
struct StdArray<std::array<E, N>> : std::true_type {
  using element = E;
  static constexpr std::size_t count = N;
};

// All bits set (bool: true), to find where an integer or enum member sits.
template <class M>
M all_ones(M v) noexcept {
  if constexpr (std::is_same_v<M, bool>)
    return !v;
  else if constexpr (std::is_enum_v<M>)
    return static_cast<M>(~static_cast<std::underlying_type_t<M>>(v));
  else
    return static_cast<M>(~v);
}

/// The first set bit of `size` bytes at p and how many bits follow it up to the last set one,
/// numbered as BTF numbers bitfields (little endian: from the first byte's lowest bit; big
/// endian: from its highest).
struct SetBits {
  std::uint32_t first = 0, count = 0;
};
inline SetBits set_bits(const void* p, std::size_t size) noexcept {
  const auto* b = static_cast<const unsigned char*>(p);
  std::uint32_t first = ~0u, last = 0;
  for (std::size_t i = 0; i < size; ++i)
    for (std::uint32_t bit = 0; bit < 8; ++bit)
      if (b[i] & (1u << bit)) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        const std::uint32_t n = static_cast<std::uint32_t>(i) * 8 + bit;
#else
        const std::uint32_t n = static_cast<std::uint32_t>(i) * 8 + 7 - bit;
#endif
        first = n < first ? n : first;
        last = n > last ? n : last;
      }
  return first == ~0u ? SetBits{} : SetBits{first, last - first + 1};
}

// Whether the bits an all-ones M set are a whole M (else a bitfield). A bool sets one bit, the
// lowest of its byte: C++ cannot tell it from a 1-bit bool bitfield there.
template <class M>
bool is_whole(SetBits bits) noexcept {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  constexpr std::uint32_t lowest = 0;
#else
  constexpr std::uint32_t lowest = 7;
#endif
  if constexpr (std::is_same_v<M, bool>)
    return bits.count == 1 && bits.first % 8 == lowest;
  else
    return bits.count == 8 * sizeof(M) && bits.first % 8 == 0;
}

// A member that can be placed: not a reference (bound to something else), not a const integer
// (which cannot be set to find its bits).
template <class M>
inline constexpr bool placeable =
    !std::is_reference_v<M> && !(std::is_const_v<M> && std::is_integral_v<std::remove_cv_t<M>>)&&!(
                                   std::is_const_v<M> && std::is_enum_v<std::remove_cv_t<M>>);

// Where a member is in its record, in bits.
inline std::uint32_t bit_offset_of(const volatile void* member, const void* record) noexcept {
  return static_cast<std::uint32_t>(static_cast<const volatile unsigned char*>(member) -
                                    static_cast<const unsigned char*>(record)) *
         8;
}

template <class T>
void describe(std::vector<TypeNode>& out, std::uint32_t bit_offset, std::uint32_t bit_size);

// Describes an integer or enum member from the bits an all-ones value of it set; false if none.
template <class M>
bool describe_bits(std::vector<TypeNode>& out, SetBits bits, M) {
  if (bits.count == 0) return false;
  const bool whole = is_whole<M>(bits);
  describe<M>(out, whole ? bits.first / 8 * 8 : bits.first, whole ? 0 : bits.count);
  return true;
}

// Describes a member by its address (not an integer or enum: those may be bitfields, which have
// none); false for a member that cannot be placed. B is the binding's decltype.
template <class B>
bool describe_at(std::vector<TypeNode>& out, const volatile void* member, const void* record) {
  if constexpr (!placeable<B>) {
    return false;
  } else {
    describe<std::remove_cv_t<B>>(out, bit_offset_of(member, record), 0);
    return true;
  }
}
// Whether a member is found by the bits it sets: a placeable integer or enum.
template <class B>
inline constexpr bool found_by_bits = placeable<B> && (std::is_integral_v<std::remove_cv_t<B>> ||
                                                       std::is_enum_v<std::remove_cv_t<B>>);

// One member, bound as `m` in a zeroed `t`: an integer or enum is set to all ones and back to
// find its bits (it may be a bitfield, which has no address); anything else by its address.
// Returns false from the enclosing function for a member that cannot be placed. (It is expanded
// 300 times, once per member of every member count, in a template that every map header
// includes: it names as few templates as it can, and deduces the rest. Each template named here
// was a dependent specialization made 300 times: 1 MB of GCC's memory in every such file.)
#define EBPFPP_DETAIL_MEMBER(m)                                                                    \
  if constexpr (found_by_bits<decltype(m)>) {                                                      \
    (m) = all_ones(m);                                                                             \
    const SetBits bits = set_bits(&t, sizeof t);                                                   \
    (m) = {};                                                                                      \
    if (!describe_bits(out, bits, m)) return false;                                                \
  } else if (!describe_at<decltype(m)>(out, &(m), &t))                                             \
    return false;

// The bindings of n members (B<n>) and their descriptions (D<n>).
#define EBPFPP_DETAIL_B1 m0
#define EBPFPP_DETAIL_B2 EBPFPP_DETAIL_B1, m1
#define EBPFPP_DETAIL_B3 EBPFPP_DETAIL_B2, m2
#define EBPFPP_DETAIL_B4 EBPFPP_DETAIL_B3, m3
#define EBPFPP_DETAIL_B5 EBPFPP_DETAIL_B4, m4
#define EBPFPP_DETAIL_B6 EBPFPP_DETAIL_B5, m5
#define EBPFPP_DETAIL_B7 EBPFPP_DETAIL_B6, m6
#define EBPFPP_DETAIL_B8 EBPFPP_DETAIL_B7, m7
#define EBPFPP_DETAIL_B9 EBPFPP_DETAIL_B8, m8
#define EBPFPP_DETAIL_B10 EBPFPP_DETAIL_B9, m9
#define EBPFPP_DETAIL_B11 EBPFPP_DETAIL_B10, m10
#define EBPFPP_DETAIL_B12 EBPFPP_DETAIL_B11, m11
#define EBPFPP_DETAIL_B13 EBPFPP_DETAIL_B12, m12
#define EBPFPP_DETAIL_B14 EBPFPP_DETAIL_B13, m13
#define EBPFPP_DETAIL_B15 EBPFPP_DETAIL_B14, m14
#define EBPFPP_DETAIL_B16 EBPFPP_DETAIL_B15, m15
#define EBPFPP_DETAIL_B17 EBPFPP_DETAIL_B16, m16
#define EBPFPP_DETAIL_B18 EBPFPP_DETAIL_B17, m17
#define EBPFPP_DETAIL_B19 EBPFPP_DETAIL_B18, m18
#define EBPFPP_DETAIL_B20 EBPFPP_DETAIL_B19, m19
#define EBPFPP_DETAIL_B21 EBPFPP_DETAIL_B20, m20
#define EBPFPP_DETAIL_B22 EBPFPP_DETAIL_B21, m21
#define EBPFPP_DETAIL_B23 EBPFPP_DETAIL_B22, m22
#define EBPFPP_DETAIL_B24 EBPFPP_DETAIL_B23, m23
#define EBPFPP_DETAIL_D1 EBPFPP_DETAIL_MEMBER(m0)
#define EBPFPP_DETAIL_D2 EBPFPP_DETAIL_D1 EBPFPP_DETAIL_MEMBER(m1)
#define EBPFPP_DETAIL_D3 EBPFPP_DETAIL_D2 EBPFPP_DETAIL_MEMBER(m2)
#define EBPFPP_DETAIL_D4 EBPFPP_DETAIL_D3 EBPFPP_DETAIL_MEMBER(m3)
#define EBPFPP_DETAIL_D5 EBPFPP_DETAIL_D4 EBPFPP_DETAIL_MEMBER(m4)
#define EBPFPP_DETAIL_D6 EBPFPP_DETAIL_D5 EBPFPP_DETAIL_MEMBER(m5)
#define EBPFPP_DETAIL_D7 EBPFPP_DETAIL_D6 EBPFPP_DETAIL_MEMBER(m6)
#define EBPFPP_DETAIL_D8 EBPFPP_DETAIL_D7 EBPFPP_DETAIL_MEMBER(m7)
#define EBPFPP_DETAIL_D9 EBPFPP_DETAIL_D8 EBPFPP_DETAIL_MEMBER(m8)
#define EBPFPP_DETAIL_D10 EBPFPP_DETAIL_D9 EBPFPP_DETAIL_MEMBER(m9)
#define EBPFPP_DETAIL_D11 EBPFPP_DETAIL_D10 EBPFPP_DETAIL_MEMBER(m10)
#define EBPFPP_DETAIL_D12 EBPFPP_DETAIL_D11 EBPFPP_DETAIL_MEMBER(m11)
#define EBPFPP_DETAIL_D13 EBPFPP_DETAIL_D12 EBPFPP_DETAIL_MEMBER(m12)
#define EBPFPP_DETAIL_D14 EBPFPP_DETAIL_D13 EBPFPP_DETAIL_MEMBER(m13)
#define EBPFPP_DETAIL_D15 EBPFPP_DETAIL_D14 EBPFPP_DETAIL_MEMBER(m14)
#define EBPFPP_DETAIL_D16 EBPFPP_DETAIL_D15 EBPFPP_DETAIL_MEMBER(m15)
#define EBPFPP_DETAIL_D17 EBPFPP_DETAIL_D16 EBPFPP_DETAIL_MEMBER(m16)
#define EBPFPP_DETAIL_D18 EBPFPP_DETAIL_D17 EBPFPP_DETAIL_MEMBER(m17)
#define EBPFPP_DETAIL_D19 EBPFPP_DETAIL_D18 EBPFPP_DETAIL_MEMBER(m18)
#define EBPFPP_DETAIL_D20 EBPFPP_DETAIL_D19 EBPFPP_DETAIL_MEMBER(m19)
#define EBPFPP_DETAIL_D21 EBPFPP_DETAIL_D20 EBPFPP_DETAIL_MEMBER(m20)
#define EBPFPP_DETAIL_D22 EBPFPP_DETAIL_D21 EBPFPP_DETAIL_MEMBER(m21)
#define EBPFPP_DETAIL_D23 EBPFPP_DETAIL_D22 EBPFPP_DETAIL_MEMBER(m22)
#define EBPFPP_DETAIL_D24 EBPFPP_DETAIL_D23 EBPFPP_DETAIL_MEMBER(m23)
#define EBPFPP_DETAIL_CASE(n)                                                                      \
  if constexpr (N == (n)) {                                                                        \
    auto& [EBPFPP_DETAIL_B##n] = t;                                                                \
    EBPFPP_DETAIL_D##n return true;                                                                \
  }

/// Appends the descriptions of the N members of t (zeroed); false if one cannot be placed.
template <std::size_t N, class T>
bool describe_members(T& t, std::vector<TypeNode>& out) {
  static_assert(N >= 1 && N <= max_members);
  // clang-format off
  EBPFPP_DETAIL_CASE(1) EBPFPP_DETAIL_CASE(2) EBPFPP_DETAIL_CASE(3) EBPFPP_DETAIL_CASE(4)
  EBPFPP_DETAIL_CASE(5) EBPFPP_DETAIL_CASE(6) EBPFPP_DETAIL_CASE(7) EBPFPP_DETAIL_CASE(8)
  EBPFPP_DETAIL_CASE(9) EBPFPP_DETAIL_CASE(10) EBPFPP_DETAIL_CASE(11) EBPFPP_DETAIL_CASE(12)
  EBPFPP_DETAIL_CASE(13) EBPFPP_DETAIL_CASE(14) EBPFPP_DETAIL_CASE(15) EBPFPP_DETAIL_CASE(16)
  EBPFPP_DETAIL_CASE(17) EBPFPP_DETAIL_CASE(18) EBPFPP_DETAIL_CASE(19) EBPFPP_DETAIL_CASE(20)
  EBPFPP_DETAIL_CASE(21) EBPFPP_DETAIL_CASE(22) EBPFPP_DETAIL_CASE(23) EBPFPP_DETAIL_CASE(24)
  return true;
  // clang-format on
}

#undef EBPFPP_DETAIL_CASE
#undef EBPFPP_DETAIL_MEMBER
#undef EBPFPP_DETAIL_B1
#undef EBPFPP_DETAIL_B2
#undef EBPFPP_DETAIL_B3
#undef EBPFPP_DETAIL_B4
#undef EBPFPP_DETAIL_B5
#undef EBPFPP_DETAIL_B6
#undef EBPFPP_DETAIL_B7
#undef EBPFPP_DETAIL_B8
#undef EBPFPP_DETAIL_B9
#undef EBPFPP_DETAIL_B10
#undef EBPFPP_DETAIL_B11
#undef EBPFPP_DETAIL_B12
#undef EBPFPP_DETAIL_B13
#undef EBPFPP_DETAIL_B14
#undef EBPFPP_DETAIL_B15
#undef EBPFPP_DETAIL_B16
#undef EBPFPP_DETAIL_B17
#undef EBPFPP_DETAIL_B18
#undef EBPFPP_DETAIL_B19
#undef EBPFPP_DETAIL_B20
#undef EBPFPP_DETAIL_B21
#undef EBPFPP_DETAIL_B22
#undef EBPFPP_DETAIL_B23
#undef EBPFPP_DETAIL_B24
#undef EBPFPP_DETAIL_D1
#undef EBPFPP_DETAIL_D2
#undef EBPFPP_DETAIL_D3
#undef EBPFPP_DETAIL_D4
#undef EBPFPP_DETAIL_D5
#undef EBPFPP_DETAIL_D6
#undef EBPFPP_DETAIL_D7
#undef EBPFPP_DETAIL_D8
#undef EBPFPP_DETAIL_D9
#undef EBPFPP_DETAIL_D10
#undef EBPFPP_DETAIL_D11
#undef EBPFPP_DETAIL_D12
#undef EBPFPP_DETAIL_D13
#undef EBPFPP_DETAIL_D14
#undef EBPFPP_DETAIL_D15
#undef EBPFPP_DETAIL_D16
#undef EBPFPP_DETAIL_D17
#undef EBPFPP_DETAIL_D18
#undef EBPFPP_DETAIL_D19
#undef EBPFPP_DETAIL_D20
#undef EBPFPP_DETAIL_D21
#undef EBPFPP_DETAIL_D22
#undef EBPFPP_DETAIL_D23
#undef EBPFPP_DETAIL_D24

// --- describing a type ------------------------------------------------------------------------

template <class T>
void describe(std::vector<TypeNode>& out, std::uint32_t bit_offset, std::uint32_t bit_size) {
  TypeNode n;
  n.size = sizeof(T);
  n.bit_offset = bit_offset;
  n.bit_size = bit_size;
  n.name = type_name<T>();
  if constexpr (std::is_same_v<T, bool>) {
    n.kind = TypeNode::boolean;
  } else if constexpr (std::is_integral_v<T>) {
    n.kind = TypeNode::integer;
    n.is_signed = std::is_signed_v<T>;
    n.is_char = std::is_same_v<T, char>;
  } else if constexpr (std::is_enum_v<T>) {
    n.kind = TypeNode::enumeration;
    n.is_signed = std::is_signed_v<std::underlying_type_t<T>>;
  } else if constexpr (std::is_floating_point_v<T>) {
    n.kind = TypeNode::floating;
  } else if constexpr (std::is_pointer_v<T>) {
    n.kind = TypeNode::pointer;
  } else if constexpr (std::is_array_v<T>) {
    n.kind = TypeNode::array;
    n.count = static_cast<std::uint32_t>(std::extent_v<T>);
    out.push_back(n);
    describe<std::remove_cv_t<std::remove_extent_t<T>>>(out, 0, 0);
    return;
  } else if constexpr (StdArray<T>::value) {
    n.kind = TypeNode::array;
    n.count = static_cast<std::uint32_t>(StdArray<T>::count);
    out.push_back(n);
    describe<std::remove_cv_t<typename StdArray<T>::element>>(out, 0, 0);
    return;
  } else if constexpr (std::is_union_v<T>) {
    n.kind = TypeNode::union_;
  } else if constexpr (std::is_class_v<T> && std::is_trivially_copyable_v<T> &&
                       std::is_default_constructible_v<T>) {
    constexpr std::size_t members = bindable_members<T>();
    if constexpr (members != 0) {
      const std::size_t at = out.size();
      n.kind = TypeNode::record;
      n.count = static_cast<std::uint32_t>(members);
      out.push_back(n);
      T t;
      std::memset(static_cast<void*>(&t), 0, sizeof t);
      if (describe_members<members>(t, out)) return;
      out.resize(at); // a member could not be placed: the record is opaque after all
      n.kind = TypeNode::opaque;
      n.count = 0;
    }
  }
  out.push_back(n);
}

} // namespace ebpfpp::detail
