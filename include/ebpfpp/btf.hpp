#pragma once
/// @file
/// Btf: the types a BTF describes, looked up by name: the running kernel's, a module's, a file's
/// or a BPF object's. A type's kind, size, members (name, bit offset, type) and enum values, and
/// the type printed as C.
///
///     const auto vmlinux = ebpfpp::Btf::kernel();
///     const ebpfpp::BtfType task = vmlinux.type("task_struct", ebpfpp::BtfKind::struct_);
///     for (const ebpfpp::BtfMember& m : task.members)
///       fmt::print("{} {} at byte {}\n", m.type, m.name, m.offset());
///     fmt::print("{}", vmlinux.dump_c("sock_type")); // enum sock_type { SOCK_STREAM = 1, ...
///
/// What a tool asks before it relies on a kernel's layout (does this struct have that member,
/// and where; what is this enum's value here), and what bpftool btf dump shows, as values.
/// A Btf is parsed once and owned: nothing of it is in the kernel, and it holds no fd. The
/// kernel's and modules' BTF come from /sys/kernel/btf (CONFIG_DEBUG_INFO_BTF, 5.4+; modules'
/// CONFIG_DEBUG_INFO_BTF_MODULES, 5.11+); a module's types are split on the kernel's (its ids
/// continue after vmlinux's, and its members may be of vmlinux types). Files this process did
/// not make are checked before libbpf parses them, as Object::open_file checks an object's .BTF.

#include "detail/config.hpp"

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "detail/format.hpp"
#include "error.hpp"
#include "kernel.hpp"

namespace ebpfpp {

/// What a BTF type is (BTF_KIND_*, same numbers): C's kinds of type, and BTF's records of
/// functions, variables and data sections.
enum class BtfKind : std::uint8_t {
  void_ = 0,           ///< type id 0
  integer = 1,         ///< int, char, _Bool (is_signed says the sign)
  pointer = 2,         ///< type_id is the pointee
  array = 3,           ///< type_id is the element, count the elements
  struct_ = 4,         ///< members
  union_ = 5,          ///< members (all at bit offset 0)
  enum_ = 6,           ///< values (32-bit)
  forward = 7,         ///< `struct x;`, declared, not defined
  typedef_ = 8,        ///< type_id is the type named
  volatile_ = 9,       ///< type_id is the qualified type
  const_ = 10,         ///< type_id is the qualified type
  restrict_ = 11,      ///< type_id is the qualified type
  function = 12,       ///< a function; type_id is its function_proto
  function_proto = 13, ///< a function's signature; type_id is the return type
  variable = 14,       ///< a global variable; type_id is its type
  data_section = 15,   ///< a section's variables (.data, .bss, .rodata, .kconfig)
  floating = 16,       ///< float, double
  decl_tag = 17,       ///< an attribute on a declaration; type_id is what it tags
  type_tag = 18,       ///< an attribute on a pointee (__user, __rcu); type_id is the tagged type
  enum64 = 19,         ///< values (64-bit)
  unknown = 255,       ///< a kind newer than libbpf 1.1
};

/// "struct", "typedef", "enum64": the kind as BTF documentation and bpftool name it (lower case).
constexpr std::string_view to_string(BtfKind kind) noexcept {
  constexpr std::string_view names[] = {"void",    "int",      "ptr",      "array",      "struct",
                                        "union",   "enum",     "fwd",      "typedef",    "volatile",
                                        "const",   "restrict", "func",     "func_proto", "var",
                                        "datasec", "float",    "decl_tag", "type_tag",   "enum64"};
  const auto i = static_cast<std::size_t>(kind);
  return i <= static_cast<std::size_t>(BtfKind::enum64) ? names[i] : "unknown";
}

/// A member of a struct or union.
struct BtfMember {
  std::string name;             ///< "" for an anonymous struct or union (look into type_id)
  std::uint32_t type_id = 0;    ///< its type, in the same Btf
  std::string type;             ///< as C spells it: "pid_t", "char[16]", "struct {...}"
  std::uint32_t bit_offset = 0; ///< from the start of the struct, in bits
  std::uint32_t bit_size = 0;   ///< a bitfield's width in bits; 0 for a whole member
  /// The offset in bytes (of the byte holding a bitfield's first bit).
  std::uint32_t offset() const noexcept { return bit_offset / 8; }
};

/// One enumerator. `value` of an unsigned enum above INT64_MAX: read it as std::uint64_t.
struct BtfEnumValue {
  std::string name;
  std::int64_t value = 0;
};

/// One type of a BTF, copied out of it (valid after the Btf is gone).
struct BtfType {
  std::uint32_t id = 0; ///< its id in the Btf it came from
  BtfKind kind = BtfKind::void_;
  std::string name; ///< "" for an anonymous type
  /// Bytes, through typedefs, qualifiers and arrays; 0 for void, functions, forward declarations.
  std::uint32_t size = 0;
  std::uint32_t type_id = 0;        ///< what it refers to (see BtfKind); else 0
  std::uint32_t count = 0;          ///< an array's elements
  bool is_signed = false;           ///< an integer's or enum's sign
  std::vector<BtfMember> members;   ///< a struct's or union's, in BTF's order
  std::vector<BtfEnumValue> values; ///< an enum's, in BTF's order

  /// The member named `name` (not looking into anonymous members), or nullptr.
  const BtfMember* member(std::string_view name) const noexcept {
    for (const BtfMember& m : members)
      if (m.name == name) return &m;
    return nullptr;
  }
};

} // namespace ebpfpp

// The functions Btf's lookups use, after the types they fill in.
#include "detail/btf_read.hpp"

namespace ebpfpp {

/// Owns one parsed BTF (libbpf's struct btf; for a module, with the kernel's it is split on).
/// Move-only; a moved-from or default-constructed Btf is empty and throws on lookups.
class Btf {
public:
  Btf() noexcept = default;
  Btf(Btf&&) noexcept = default;
  Btf& operator=(Btf&&) noexcept = default;
  Btf(const Btf&) = delete;
  Btf& operator=(const Btf&) = delete;

  /// The running kernel's BTF (/sys/kernel/btf/vmlinux). Throws FeatureError where the kernel
  /// has none (CONFIG_DEBUG_INFO_BTF, 5.4+).
  static Btf kernel() {
    const auto action = [] { return std::string("load the kernel's BTF"); };
    detail::LibbpfLog log;
    errno = 0;
    btf* b = detail::btf_or_null(btf__load_vmlinux_btf());
    if (!b && !ebpfpp::kernel::has(ebpfpp::kernel::Feature::btf))
      throw ebpfpp::kernel::missing(ebpfpp::kernel::Feature::btf, action(),
                                    detail::hint::no_kernel_btf);
    if (!b) detail::fail(errno ? errno : ENOENT, action, detail::Op::generic, &log);
    return Btf(detail::share_btf(b), {}, "the kernel (/sys/kernel/btf/vmlinux)");
  }

  /// A loaded module's BTF (/sys/kernel/btf/<name>), split on the kernel's: `vmlinux` when
  /// given (shared, not copied: reading several modules parses vmlinux once), else
  /// Btf::kernel(). Throws Error: ENOENT for a module that is not loaded or has no BTF, EINVAL for
  /// a name that is no module's.
  static Btf module(std::string_view name) { return module(name, kernel()); }
  static Btf module(std::string_view name, const Btf& vmlinux) {
    const std::string path = detail::format("/sys/kernel/btf/{}", name);
    const auto action = [&] {
      return detail::format("load the BTF of module '{}' ({})", name, path);
    };
    if (!detail::is_module_name(name))
      throw Error(EINVAL, action(), std::string(detail::hint::btf_module_name));
    vmlinux.require("load a module's BTF on");
    detail::LibbpfLog log;
    errno = 0;
    btf* b =
        detail::btf_or_null(btf__load_module_btf(std::string(name).c_str(), vmlinux.btf_.get()));
    if (!b && (errno == ENOENT || errno == 0))
      throw Error(ENOENT, action(), std::string(detail::hint::btf_module_missing), log.take());
    if (!b) detail::fail(errno, action, detail::Op::generic, &log);
    return Btf(detail::share_btf(b), vmlinux.btf_, detail::format("module '{}' ({})", name, path));
  }

  /// The BTF in a file: an ELF file's .BTF section (a .bpf.o, a vmlinux) or a raw BTF file.
  /// Throws Error: the file's problem (ENOENT, EACCES, ...: which, and what to do), ENODATA for
  /// an ELF file without .BTF, LIBBPF_ERRNO__FORMAT for what is no sound BTF.
  /// (A template over a parameter nobody gives: the file's reading and checks compile only where
  /// a file is read, not in every file that includes this header.)
  template <class = void>
  static Btf file(const std::filesystem::path& path) {
    return Btf(
        detail::read_btf_file(
            path, [&] { return detail::format("read the BTF of file '{}'", path.string()); }),
        {}, detail::format("file '{}'", path.string()));
  }

  /// A BPF object's BTF (its own types: maps' keys and values, globals, events), copied: the
  /// Btf outlives the Object. Throws Error: EBADF for an empty Object, ENOENT for an object built
  /// without -g.
  /// (Templates over what the Object and the Skeleton give, so that this header need not
  /// include object.hpp: a file that reads BTF does not compile objects.)
  template <class O>
  requires requires(const O& o) {
    { o.get() } -> std::same_as<bpf_object*>;
  }
  static Btf of(const O& object) { return of_object(object.get()); }
  /// As of(Object), for a skeleton's object (Skeleton<T>, object.hpp).
  template <class S>
  requires requires(const S& s) {
    { s.object() } -> std::same_as<bpf_object*>;
  }
  static Btf of(const S& skeleton) { return of_object(skeleton.object()); }

  /// The type named `name` of kind `kind` (`name` as C has it without a keyword: "task_struct";
  /// an enum may be enum_ or enum64), or nullopt.
  std::optional<BtfType> find(std::string_view name, BtfKind kind) const {
    require("find a type in");
    if (name.empty() || name.find('\0') != std::string_view::npos) return std::nullopt;
    const __s32 id =
        btf__find_by_name_kind(btf_.get(), std::string(name).c_str(), static_cast<__u32>(kind));
    if (id < 0 || (id == 0 && kind != BtfKind::void_)) return std::nullopt;
    return describe(static_cast<std::uint32_t>(id));
  }
  /// The type named `name`: a struct, union, enum or typedef of that name (in that order), else
  /// the first type of any kind with it; or nullopt.
  std::optional<BtfType> find(std::string_view name) const {
    for (const BtfKind kind :
         {BtfKind::struct_, BtfKind::union_, BtfKind::enum_, BtfKind::enum64, BtfKind::typedef_})
      if (auto t = find(name, kind)) return t;
    if (name.empty() || name.find('\0') != std::string_view::npos) return std::nullopt;
    const __s32 id = btf__find_by_name(btf_.get(), std::string(name).c_str());
    if (id < 0) return std::nullopt;
    return describe(static_cast<std::uint32_t>(id));
  }

  /// As find(name, kind), but a type that is not there is an Error (ENOENT) naming the type and
  /// this BTF, and, where the name is of another kind here, that kind.
  BtfType type(std::string_view name, BtfKind kind) const {
    if (auto t = find(name, kind)) return *std::move(t);
    const auto other = find(name);
    throw not_found(detail::format(
        "find {} '{}' in the BTF of {}{}", to_string(kind), name, source_,
        other ? detail::format(": '{}' is a {} there", name, to_string(other->kind)) : ""));
  }
  /// As find(name), but a type that is not there is an Error (ENOENT).
  BtfType type(std::string_view name) const {
    if (auto t = find(name)) return *std::move(t);
    throw not_found(detail::format("find type '{}' in the BTF of {}", name, source_));
  }
  /// The type with this id (0 is void). Throws Error (ENOENT) for an id past the last.
  BtfType type(std::uint32_t id) const {
    require("read a type of");
    if (id >= btf__type_cnt(btf_.get()))
      throw Error(ENOENT,
                  detail::format("read type [{}] of the BTF of {}: its ids run from 0 to {}", id,
                                 source_, btf__type_cnt(btf_.get()) - 1),
                  std::string(detail::hint::btf_type_id));
    return describe(id);
  }

  /// Type `id` as C: its definition (a struct with its members, an enum with its values, a
  /// typedef), after the definitions of the types it needs, as `bpftool btf dump ... format c`
  /// prints them. Throws Error as type(id).
  std::string dump_c(std::uint32_t id) const {
    type(id); // the checks
    detail::CPrinter printer(btf_.get());
    std::string text;
    if (const int err = printer.definition(id, text); err < 0)
      detail::fail(-err, [&] { return detail::format("print type [{}] of {} as C", id, source_); });
    return text;
  }
  /// The type that type(name) finds, as C.
  std::string dump_c(std::string_view name) const { return dump_c(type(name).id); }
  /// The type that type(name, kind) finds, as C.
  std::string dump_c(std::string_view name, BtfKind kind) const {
    return dump_c(type(name, kind).id);
  }

  /// The number of ids, void's included: ids run from 0 to type_count() - 1 (a module's
  /// include the kernel's).
  std::uint32_t type_count() const noexcept { return btf_ ? btf__type_cnt(btf_.get()) : 0; }
  /// Where it came from, as errors name it: "the kernel (/sys/kernel/btf/vmlinux)", "module
  /// 'nf_tables' (...)", "file '...'", "BPF object 'hello'".
  const std::string& source() const noexcept { return source_; }
  /// The libbpf BTF, for libbpf's btf__* functions; nullptr when empty.
  const btf* get() const noexcept { return btf_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(btf_); }

private:
  Btf(detail::SharedBtf b, detail::SharedBtf base, std::string source) noexcept
      : btf_(std::move(b)), base_(std::move(base)), source_(std::move(source)) {}

  static Btf of_object(bpf_object* obj) {
    if (!obj)
      throw Error(EBADF, "read the BTF of an empty Object or Skeleton",
                  std::string(detail::hint::empty_view));
    const std::string name = bpf_object__name(obj);
    return Btf(detail::copy_object_btf(obj, name), {}, detail::format("BPF object '{}'", name));
  }

  void require(std::string_view what) const {
    if (!btf_)
      throw Error(EBADF, detail::format("{} an empty Btf", what),
                  std::string(detail::hint::empty_view));
  }
  BtfType describe(std::uint32_t id) const {
    detail::CPrinter printer(btf_.get());
    return detail::describe_btf_type(btf_.get(), id, printer);
  }
  Error not_found(std::string action) const {
    return Error(ENOENT, std::move(action), std::string(detail::hint::btf_type_missing));
  }

  detail::SharedBtf btf_;
  detail::SharedBtf base_; // what a module's BTF is split on: it reads the base's types
  std::string source_;
};

} // namespace ebpfpp
