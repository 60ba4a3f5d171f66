// ebpfpp-skel: a BPF object's BTF -> a typed C++ skeleton, <name>.skel.hpp, beside bpftool's
// <name>.skel.h.
//
//   ebpfpp-skel [--namespace NS] [--skeleton-header FILE] [--skeleton-struct NAME] NAME.bpf.o
//
// The header it writes on stdout has, in `namespace NS` (default: the object's name without
// .bpf.o, so `hello_map.bpf.o` gives `hello_map`):
//   - the C types that the maps' keys and values, the globals and the events use, emitted from
//     BTF by libbpf's btf_dump (so they are exactly what the BPF side compiled), each struct,
//     union, enum and typedef followed by static_asserts on its size and its members' offsets;
//   - `map::<name>`, one tag per map, that names the map in a wrong key's compile error, and
//     `prog::<name>`, one per program, that names a program given where a map is expected;
//   - `Maps`: each map as the ebpfpp view of its kind, key and value from BTF (an event stream's
//     record type from the EBPFPP_EVENT mark of ebpfpp.bpf.h, which BTF does not record itself);
//   - `Programs`: each program as an ebpfpp::SkeletonProgram<prog::<name>> (a Program);
//   - `Skeleton`: ebpfpp::Skeleton<bpftool's struct> with `progs` (from open), `maps` (made by
//     load) and the global sections `rodata()`, `data()`, `bss()`.
// The namespace keeps the emitted C types apart from vmlinux.h's, bpftool's and the tool's own.
// It includes only the ebpfpp headers of the kinds the object uses (compile cost).

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

namespace {

constexpr std::string_view usage =
    "usage: ebpfpp-skel [--namespace NS] [--skeleton-header FILE] [--skeleton-struct NAME] "
    "NAME.bpf.o > NAME.skel.hpp\n";

// The mark EBPFPP_EVENT(map, type) leaves: a static function `void __ebpfpp_event__<map>(type *)`
// whose BTF prototype names the event type. A function (not a global) costs no memory in the
// loaded object, libbpf 1.1 ignores an uncalled static function without a word, and clang keeps
// it in BTF because it is marked used.
constexpr std::string_view event_mark = "__ebpfpp_event__";

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool is_cpp_keyword(std::string_view s) {
  static const std::set<std::string_view> words = {"alignas",
                                                   "alignof",
                                                   "and",
                                                   "asm",
                                                   "auto",
                                                   "bool",
                                                   "break",
                                                   "case",
                                                   "catch",
                                                   "char",
                                                   "class",
                                                   "concept",
                                                   "const",
                                                   "consteval",
                                                   "constexpr",
                                                   "constinit",
                                                   "const_cast",
                                                   "continue",
                                                   "co_await",
                                                   "co_return",
                                                   "co_yield",
                                                   "decltype",
                                                   "default",
                                                   "delete",
                                                   "do",
                                                   "double",
                                                   "dynamic_cast",
                                                   "else",
                                                   "enum",
                                                   "explicit",
                                                   "export",
                                                   "extern",
                                                   "false",
                                                   "float",
                                                   "for",
                                                   "friend",
                                                   "goto",
                                                   "if",
                                                   "inline",
                                                   "int",
                                                   "long",
                                                   "mutable",
                                                   "namespace",
                                                   "new",
                                                   "noexcept",
                                                   "not",
                                                   "nullptr",
                                                   "operator",
                                                   "or",
                                                   "private",
                                                   "protected",
                                                   "public",
                                                   "register",
                                                   "reinterpret_cast",
                                                   "requires",
                                                   "return",
                                                   "short",
                                                   "signed",
                                                   "sizeof",
                                                   "static",
                                                   "static_assert",
                                                   "static_cast",
                                                   "struct",
                                                   "switch",
                                                   "template",
                                                   "this",
                                                   "throw",
                                                   "true",
                                                   "try",
                                                   "typedef",
                                                   "typeid",
                                                   "typename",
                                                   "union",
                                                   "unsigned",
                                                   "using",
                                                   "virtual",
                                                   "void",
                                                   "volatile",
                                                   "while",
                                                   "xor"};
  return words.contains(s);
}

// A C name as a C++ member name: a C++ keyword gets a trailing underscore.
std::string member_name(std::string_view c_name) {
  std::string s(c_name);
  if (is_cpp_keyword(s)) s += '_';
  return s;
}

class Generator {
public:
  Generator(bpf_object* obj, std::string ns, std::string skel_header, std::string skel_struct)
      : obj_(obj), btf_(bpf_object__btf(obj)), ns_(std::move(ns)),
        skel_header_(std::move(skel_header)), skel_struct_(std::move(skel_struct)) {
    if (!btf_)
      throw Failure("the object has no BTF (compile it with clang -g; keep .BTF when stripping)");
  }

  std::string run() {
    collect_events();
    collect_maps();
    collect_globals();
    collect_programs();
    for (const std::string& name :
         {std::string("Skeleton"), std::string("Maps"), std::string("Programs"), std::string("map"),
          std::string("prog")})
      if (emitted_names_.contains(name))
        throw Failure(fmt::format("a BTF type is named '{}', which the generated header uses for "
                                  "itself; give another --namespace or rename the type",
                                  name));
    return header();
  }

private:
  struct MapEntry {
    std::string name;
    bpf_map_type type;
    std::string view;     // "ebpfpp::Map<__u32, __u64>"
    std::string header;   // "hash_map.hpp"
    bool keyed = false;   // a key-value view: wrapped in SkeletonMap
    bool by_name = false; // a stream whose companions (<name>_drops, ...) are found by name
  };

  const btf_type* type(std::uint32_t id) const { return btf__type_by_id(btf_, id); }
  std::string_view name_of(const btf_type* t) const {
    const char* s = btf__name_by_offset(btf_, t->name_off);
    return s ? s : "";
  }

  std::uint32_t skip_mods(std::uint32_t id) const {
    for (const btf_type* t = type(id); t && (btf_is_mod(t) && !btf_is_typedef(t)); t = type(id))
      id = t->type;
    return id;
  }

  // Emits type `id` and what it needs (btf_dump) and records the static_asserts for it.
  void use_type(std::uint32_t id) {
    if (id == 0) return;
    if (!dump_) {
      dump_ = btf_dump__new(btf_, &Generator::print_cb, this, nullptr);
      if (!dump_) throw Failure("btf_dump__new failed");
    }
    if (int err = btf_dump__dump_type(dump_, id); err)
      throw Failure(fmt::format("btf_dump of type {} failed: {}", id, std::strerror(-err)));
    collect_asserts(id);
  }

  static void print_cb(void* ctx, const char* fmt, va_list args) {
    auto* self = static_cast<Generator*>(ctx);
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    std::string s(static_cast<std::size_t>(n), '\0');
    std::vsnprintf(s.data(), s.size() + 1, fmt, args);
    self->types_ += s;
  }

  // The static_asserts for every type `id` reaches by value (pointers excluded: their pointee
  // may be a forward declaration).
  void collect_asserts(std::uint32_t id) {
    if (id == 0 || !asserted_.insert(id).second) return;
    const btf_type* t = type(id);
    const std::string name(name_of(t));
    if (btf_is_mod(t) && !btf_is_typedef(t)) return collect_asserts(t->type);
    if (btf_is_array(t)) return collect_asserts(btf_array(t)->type);
    if (btf_is_typedef(t)) {
      emitted_names_.insert(name);
      const long size = btf__resolve_size(btf_, id);
      if (size >= 0 && !btf_is_func_proto(type(skip_mods(t->type))))
        asserts_ += fmt::format("static_assert(sizeof({}) == {});\n", name, size);
      return collect_asserts(t->type);
    }
    if (btf_is_enum(t) && !name.empty()) {
      emitted_names_.insert(name);
      asserts_ += fmt::format("static_assert(sizeof(enum {}) == {});\n", name, t->size);
      return;
    }
    if (!btf_is_composite(t)) return;
    if (!name.empty()) {
      emitted_names_.insert(name);
      const char* kw = btf_is_struct(t) ? "struct" : "union";
      asserts_ += fmt::format("static_assert(sizeof({} {}) == {});\n", kw, name, t->size);
      member_offsets(fmt::format("{} {}", kw, name), t, 0);
    }
    const btf_member* m = btf_members(t);
    for (unsigned i = 0; i < btf_vlen(t); ++i, ++m) collect_asserts(m->type);
  }

  // offsetof for each named member that is not a bit field; the members of an anonymous struct or
  // union member are the enclosing type's in C++ too, at their offset plus the member's.
  void member_offsets(const std::string& owner, const btf_type* t, std::uint32_t base_bits) {
    const btf_member* m = btf_members(t);
    for (unsigned i = 0; i < btf_vlen(t); ++i, ++m) {
      const std::uint32_t bits = base_bits + btf_member_bit_offset(t, i);
      const std::string_view mname = btf__name_by_offset(btf_, m->name_off);
      const btf_type* mt = type(skip_mods(m->type));
      if (mname.empty()) {
        if (btf_is_composite(mt) && name_of(mt).empty()) member_offsets(owner, mt, bits);
        continue;
      }
      if (btf_member_bitfield_size(t, i) != 0 || bits % 8 != 0) continue;
      asserts_ += fmt::format("static_assert(offsetof({}, {}) == {});\n", owner, mname, bits / 8);
    }
  }

  // How generated code names type `id`: a fixed-width integer for a base type, the BTF name for a
  // typedef, struct, union or enum (they are in our namespace), else a generated typedef.
  std::string cpp_name(std::uint32_t id, std::string_view alias) {
    if (id == 0) return "void";
    std::uint32_t bare = skip_mods(id);
    use_type(bare);
    // An integer typedef (__u64, u32, pid_t) as its fixed-width type: std::uint64_t is what the
    // tool's own code writes, and on x86-64 it is unsigned long, not __u64's unsigned long long.
    for (std::uint32_t i = bare; btf_is_typedef(type(i));) {
      i = skip_mods(type(i)->type);
      if (btf_is_int(type(i))) bare = i;
      if (!btf_is_typedef(type(i))) break;
    }
    const btf_type* t = type(bare);
    const std::string name(name_of(t));
    if (btf_is_int(t)) {
      const std::uint8_t enc = btf_int_encoding(t);
      if (enc & BTF_INT_BOOL) return "bool";
      if (name == "char") return "char";
      const bool is_signed = enc & BTF_INT_SIGNED;
      if (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8)
        return fmt::format("std::{}int{}_t", is_signed ? "" : "u", t->size * 8);
    }
    if (!name.empty() && (btf_is_typedef(t) || btf_is_composite(t) || btf_is_enum(t))) return name;
    // Anonymous or derived (an array, say): a typedef names it.
    std::string decl;
    std::swap(decl, types_);
    std::string alias_copy(alias);
    btf_dump_emit_type_decl_opts opts{};
    opts.sz = sizeof(opts);
    opts.field_name = alias_copy.c_str();
    if (int err = btf_dump__emit_type_decl(dump_, bare, &opts); err)
      throw Failure(fmt::format("cannot name BTF type {} for '{}'", bare, alias));
    std::swap(decl, types_);
    types_ += fmt::format("typedef {};\n", decl);
    return alias_copy;
  }

  void collect_events() {
    const std::uint32_t n = btf__type_cnt(btf_);
    for (std::uint32_t id = 1; id < n; ++id) {
      const btf_type* t = type(id);
      if (!btf_is_func(t)) continue;
      const std::string_view name = name_of(t);
      if (!name.starts_with(event_mark)) continue;
      const btf_type* proto = type(t->type);
      if (!proto || !btf_is_func_proto(proto) || btf_vlen(proto) != 1)
        throw Failure(fmt::format("{}: not the one-argument function EBPFPP_EVENT makes", name));
      const btf_type* ptr = type(skip_mods(btf_params(proto)[0].type));
      if (!btf_is_ptr(ptr)) throw Failure(fmt::format("{}: its argument is no pointer", name));
      events_[std::string(name.substr(event_mark.size()))] = ptr->type;
    }
  }

  void collect_maps() {
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, obj_) {
      if (bpf_map__is_internal(m)) continue; // .rodata, .data, .bss, .kconfig: see globals
      MapEntry e;
      e.name = bpf_map__name(m);
      e.type = bpf_map__type(m);
      const std::uint32_t key = bpf_map__btf_key_type_id(m);
      const std::uint32_t value = bpf_map__btf_value_type_id(m);
      const auto k = [&] {
        return key ? cpp_name(key, e.name + "_key") : sized(bpf_map__key_size(m));
      };
      const auto v = [&] {
        return value ? cpp_name(value, e.name + "_value") : sized(bpf_map__value_size(m));
      };
      const auto event = [&] {
        const auto it = events_.find(e.name);
        if (it == events_.end()) return std::string("ebpfpp::Bytes");
        used_events_.insert(e.name);
        return cpp_name(it->second, e.name + "_event");
      };
      // BPF_MAP_TYPE_CGRP_STORAGE (6.2) is not in 6.1's enum, which a case label would need.
      if (e.type == static_cast<bpf_map_type>(32)) {
        e.view = fmt::format("ebpfpp::CgroupStorageMap<{}>", v());
        e.header = "local_storage_map.hpp";
        maps_.push_back(std::move(e));
        continue;
      }
      switch (e.type) {
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_LRU_HASH:
        e.view = fmt::format("ebpfpp::Map<{}, {}>", k(), v()), e.header = "hash_map.hpp";
        e.keyed = true;
        break;
      case BPF_MAP_TYPE_ARRAY:
        // A BPF_F_MMAPABLE array is mapped into the process: its values in place.
        if (bpf_map__map_flags(m) & BPF_F_MMAPABLE)
          e.view = fmt::format("ebpfpp::MmapArray<{}>", v()), e.header = "mmap_array.hpp";
        else
          e.view = fmt::format("ebpfpp::ArrayMap<{}>", v()), e.header = "array_map.hpp";
        e.keyed = true;
        break;
      case BPF_MAP_TYPE_PERCPU_ARRAY:
        e.view = fmt::format("ebpfpp::PerCpuArrayMap<{}>", v());
        e.header = "per_cpu_array_map.hpp", e.keyed = true;
        break;
      case BPF_MAP_TYPE_PERCPU_HASH:
        e.view = fmt::format("ebpfpp::PerCpuHashMap<{}, {}>", k(), v());
        e.header = "per_cpu_hash_map.hpp", e.keyed = true;
        break;
      case BPF_MAP_TYPE_LRU_PERCPU_HASH:
        e.view = fmt::format("ebpfpp::LruPerCpuHashMap<{}, {}>", k(), v());
        e.header = "lru_per_cpu_hash_map.hpp", e.keyed = true;
        break;
      case BPF_MAP_TYPE_LPM_TRIE:
        e.view = fmt::format("ebpfpp::LpmTrieMap<{}, {}>", lpm_key(key).value_or(k()), v());
        e.header = "lpm_trie_map.hpp", e.keyed = true;
        break;
      case BPF_MAP_TYPE_QUEUE:
        e.view = fmt::format("ebpfpp::QueueMap<{}>", v()), e.header = "queue_map.hpp";
        break;
      case BPF_MAP_TYPE_STACK:
        e.view = fmt::format("ebpfpp::StackMap<{}>", v()), e.header = "stack_map.hpp";
        break;
      case BPF_MAP_TYPE_BLOOM_FILTER:
        e.view = fmt::format("ebpfpp::BloomFilterMap<{}>", v());
        e.header = "bloom_filter_map.hpp";
        break;
      case BPF_MAP_TYPE_TASK_STORAGE:
        e.view = fmt::format("ebpfpp::TaskStorageMap<{}>", v());
        e.header = "local_storage_map.hpp";
        break;
      case BPF_MAP_TYPE_SK_STORAGE:
        e.view = fmt::format("ebpfpp::SocketStorageMap<{}>", v());
        e.header = "local_storage_map.hpp";
        break;
      case BPF_MAP_TYPE_INODE_STORAGE:
        e.view = fmt::format("ebpfpp::InodeStorageMap<{}>", v());
        e.header = "local_storage_map.hpp";
        break;
      case BPF_MAP_TYPE_DEVMAP:
        e.view = fmt::format("ebpfpp::DevMap<{}>", v()), e.header = "dev_map.hpp";
        break;
      case BPF_MAP_TYPE_DEVMAP_HASH:
        e.view = fmt::format("ebpfpp::DevMapHash<{}>", v()), e.header = "dev_map.hpp";
        break;
      case BPF_MAP_TYPE_CPUMAP:
        e.view = fmt::format("ebpfpp::CpuMap<{}>", v()), e.header = "cpu_map.hpp";
        break;
      case BPF_MAP_TYPE_XSKMAP:
        e.view = "ebpfpp::XskMap", e.header = "xsk_map.hpp";
        break;
      case BPF_MAP_TYPE_SOCKMAP:
        e.view = fmt::format("ebpfpp::SockMap<{}>", v()), e.header = "sock_map.hpp";
        break;
      case BPF_MAP_TYPE_SOCKHASH:
        e.view = fmt::format("ebpfpp::SockHash<{}, {}>", k(), v()), e.header = "sock_map.hpp";
        break;
      case BPF_MAP_TYPE_REUSEPORT_SOCKARRAY:
        e.view = fmt::format("ebpfpp::ReuseportSockArray<{}>", v());
        e.header = "sk_reuseport.hpp";
        break;
      case BPF_MAP_TYPE_STACK_TRACE:
        e.view = fmt::format("ebpfpp::StackTraceMap<{}>", bpf_map__value_size(m) / 8);
        e.header = "stack_trace_map.hpp";
        break;
      case BPF_MAP_TYPE_PROG_ARRAY:
        e.view = "ebpfpp::ProgArray", e.header = "prog_array.hpp";
        break;
      case BPF_MAP_TYPE_RINGBUF:
        e.view = fmt::format("ebpfpp::RingBuffer<{}>", event()), e.header = "ring_buffer.hpp";
        e.by_name = true;
        break;
      case BPF_MAP_TYPE_USER_RINGBUF:
        e.view = fmt::format("ebpfpp::UserRingBuffer<{}>", event());
        e.header = "user_ring_buffer.hpp", e.by_name = true;
        break;
      case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
        // PerfBuffer reads records of one type only: without a mark, an untyped MapRef.
        if (events_.contains(e.name))
          e.view = fmt::format("ebpfpp::PerfBuffer<{}>", event()), e.header = "perf_buffer.hpp";
        else
          e.view = "ebpfpp::MapRef";
        break;
      default:
        // Maps of maps (their inner map's kind is a BTF map definition of its own), cgroup
        // arrays, struct_ops: an untyped MapRef for now.
        e.view = "ebpfpp::MapRef";
        break;
      }
      maps_.push_back(std::move(e));
    }
    for (const auto& [map, id] : events_)
      if (!used_events_.contains(map)) {
        // A mark for no stream map (a typo, or a map of another object): still a type to check.
        (void)cpp_name(id, map + "_event");
        fmt::print(stderr, "ebpfpp-skel: EBPFPP_EVENT({}, ...) names no ring or perf buffer map\n",
                   map);
      }
  }

  // An LPM trie's key as ebpfpp's LpmKey<N> (Ipv4Prefix, Ipv6Prefix: parse("10.0.0.0/8"), str())
  // when BTF has it as the kernel wants it, whatever the BPF side named it: a struct of a 32-bit
  // prefixlen and then N address bytes, `struct { __u32 prefixlen; __u8 addr[N]; }`.
  std::optional<std::string> lpm_key(std::uint32_t id) const {
    const btf_type* t = id ? type(skip_typedefs(id)) : nullptr;
    if (!t || !btf_is_struct(t) || btf_vlen(t) != 2) return std::nullopt;
    const btf_member* m = btf_members(t);
    const btf_type* len = type(skip_typedefs(m[0].type));
    const btf_type* bytes = type(skip_typedefs(m[1].type));
    if (!btf_is_int(len) || len->size != 4 || btf_member_bit_offset(t, 0) != 0 ||
        btf_member_bitfield_size(t, 0) != 0 || !btf_is_array(bytes) ||
        btf_member_bit_offset(t, 1) != 32)
      return std::nullopt;
    const btf_type* byte = type(skip_typedefs(btf_array(bytes)->type));
    const std::uint32_t n = btf_array(bytes)->nelems;
    // LpmKey<N>'s size: 4 + N rounded up to prefixlen's alignment, as the C struct's.
    if (!btf_is_int(byte) || byte->size != 1 || n == 0 || t->size != (4 + n + 3) / 4 * 4)
      return std::nullopt;
    if (n == 4) return "ebpfpp::Ipv4Prefix";
    if (n == 16) return "ebpfpp::Ipv6Prefix";
    return fmt::format("ebpfpp::LpmKey<{}>", n);
  }

  // Through modifiers and typedefs to the type itself.
  std::uint32_t skip_typedefs(std::uint32_t id) const {
    for (const btf_type* t = type(id); t && (btf_is_mod(t) || btf_is_typedef(t)); t = type(id))
      id = t->type;
    return id;
  }

  // A map declared with key_size/value_size rather than __type: bytes.
  std::string sized(std::uint32_t size) {
    switch (size) {
    case 1:
      return "std::uint8_t";
    case 2:
      return "std::uint16_t";
    case 4:
      return "std::uint32_t";
    case 8:
      return "std::uint64_t";
    default:
      return fmt::format("std::array<std::byte, {}>", size);
    }
  }

  // The global sections bpftool types as skel->rodata, ->data, ->bss: their variables' types.
  void collect_globals() {
    const std::uint32_t n = btf__type_cnt(btf_);
    for (std::uint32_t id = 1; id < n; ++id) {
      const btf_type* t = type(id);
      if (!btf_is_datasec(t)) continue;
      const std::string sec(name_of(t));
      if (sec != ".rodata" && sec != ".data" && sec != ".bss") continue;
      sections_.insert(sec.substr(1));
      const btf_var_secinfo* v = btf_var_secinfos(t);
      for (unsigned i = 0; i < btf_vlen(t); ++i, ++v) {
        const btf_type* var = type(v->type);
        if (!btf_is_var(var)) continue;
        const std::uint32_t vt = skip_mods(var->type);
        const btf_type* bare = type(vt);
        // Types with a name are emitted; a plain integer needs nothing.
        if (!btf_is_int(bare)) use_type(vt);
      }
    }
  }

  void collect_programs() {
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj_) programs_.emplace_back(bpf_program__name(p));
  }

  std::string header() {
    std::set<std::string> headers = {"object.hpp"};
    bool keyed = false;
    for (const MapEntry& e : maps_) {
      if (!e.header.empty()) headers.insert(e.header);
      keyed |= e.keyed;
    }
    if (keyed || !programs_.empty()) headers.insert("typed_skeleton.hpp");
    std::string out;
    out += fmt::format("// Generated by ebpfpp-skel from the BTF of {}'s object: do not edit.\n"
                       "// Types, maps, programs and globals of the object, typed (see "
                       "include/ebpfpp/typed_skeleton.hpp).\n#pragma once\n\n",
                       skel_struct_);
    out += "#include <array>\n#include <cstddef>\n#include <cstdint>\n#include <utility>\n\n";
    for (const std::string& h : headers) out += fmt::format("#include <ebpfpp/{}>\n", h);
    out += fmt::format("\n#include \"{}\"\n\nnamespace {} {{\n\n", skel_header_, ns_);
    if (!types_.empty()) {
      // btf_dump spells C's boolean `_Bool`, which C++ does not know; `bool` has its layout.
      std::string types;
      for (std::size_t at = 0;;) {
        const std::size_t found = types_.find("_Bool", at);
        if (found == std::string::npos) {
          types += types_.substr(at);
          break;
        }
        types += types_.substr(at, found - at);
        const bool word =
            (found == 0 || !(std::isalnum(types_[found - 1]) || types_[found - 1] == '_')) &&
            !(std::isalnum(types_[found + 5]) || types_[found + 5] == '_');
        types += word ? "bool" : "_Bool";
        at = found + 5;
      }
      // vmlinux.h's `typedef _Bool bool;` is now `typedef bool bool;`, which C++ refuses.
      for (std::size_t at; (at = types.find("typedef bool bool;\n")) != std::string::npos;)
        types.erase(at, std::strlen("typedef bool bool;\n"));
      out += "// The types the maps, events and globals use, as the BPF side compiled them.\n";
      out += types;
      out += "\n// Their layout is the BPF side's, or this does not compile.\n";
      out += asserts_;
      out += "\n";
    }
    out +=
        "/// One tag per map: it names the map in the compile error for a key of another type.\n";
    out += "namespace map {\n";
    for (const MapEntry& e : maps_) out += fmt::format("struct {};\n", member_name(e.name));
    out += "} // namespace map\n\n";
    out +=
        "/// One tag per program: it names the program in the compile error for a program given\n"
        "/// where a map is expected.\n";
    out += "namespace prog {\n";
    for (const std::string& p : programs_) out += fmt::format("struct {};\n", member_name(p));
    out += "} // namespace prog\n\n";

    out += "/// The object's maps as typed views: empty until Skeleton::load() makes them.\n";
    out += "struct Maps {\n";
    for (const MapEntry& e : maps_) {
      out += fmt::format("  /// BPF_MAP_TYPE_{}\n", upper(libbpf_bpf_map_type_str(e.type)));
      out += fmt::format("  {} {};\n", member_type(e), member_name(e.name));
    }
    out += "};\n\n";

    out += "/// The object's programs, by their function names.\nstruct Programs {\n";
    for (const std::string& p : programs_)
      out += fmt::format("  ebpfpp::SkeletonProgram<prog::{0}> {0};\n", member_name(p));
    out += "};\n\n";

    out += fmt::format(
        "/// bpftool's skeleton ({0}, owned by ebpfpp::Skeleton) with typed members:\n"
        "///\n"
        "///     auto skel = {1}::Skeleton::open();   // progs are there from open\n"
        "///     skel.load();                          // maps are made by load\n"
        "class Skeleton : public ebpfpp::Skeleton<{0}> {{\n"
        "public:\n"
        "  using Base = ebpfpp::Skeleton<{0}>;\n\n"
        "  /// The programs; valid from open() while the Skeleton lives.\n"
        "  Programs progs;\n"
        "  /// The maps as typed views; empty until load(). Each owns its map's fd, so it may\n"
        "  /// be moved out and outlive the Skeleton.\n"
        "  Maps maps;\n\n"
        "  Skeleton() noexcept = default;\n"
        "  /// Opens the embedded object (Skeleton<T>::open) with `options` (open_options.hpp);\n"
        "  /// .rodata is writable until load().\n"
        "  static Skeleton open(const ebpfpp::OpenOptions& options = {{}}) {{\n"
        "    return Skeleton(Base::open(options));\n"
        "  }}\n"
        "  /// open(options) then load().\n"
        "  static Skeleton open_and_load(const ebpfpp::OpenOptions& options = {{}}) {{\n"
        "    Skeleton s = open(options);\n"
        "    s.load();\n"
        "    return s;\n"
        "  }}\n"
        "  /// Loads the object (Skeleton<T>::load), then makes the typed map views.\n"
        "  void load() {{\n"
        "    Base::load();\n",
        skel_struct_, ns_);
    for (const MapEntry& e : maps_) {
      const std::string m = member_name(e.name);
      if (e.view == "ebpfpp::MapRef")
        out += fmt::format("    maps.{} = ebpfpp::MapRef((*this)->maps.{});\n", m, e.name);
      else if (e.by_name)
        out += fmt::format("    maps.{} = {}(static_cast<const Base&>(*this), \"{}\");\n", m,
                           e.view, e.name);
      else if (e.keyed)
        out += fmt::format("    maps.{} = {}({}((*this)->maps.{}));\n", m, member_type(e), e.view,
                           e.name);
      else
        out += fmt::format("    maps.{} = {}((*this)->maps.{});\n", m, e.view, e.name);
    }
    out += "  }\n\n";
    for (const std::string& s : sections_)
      out +=
          fmt::format("  /// The .{0} globals (bpftool's struct); nullptr when empty.\n"
                      "  auto* {0}() const noexcept {{ return get() ? get()->{0} : nullptr; }}\n",
                      s);
    out += "\nprivate:\n  explicit Skeleton(Base base) noexcept : Base(std::move(base)) {\n";
    for (const std::string& p : programs_)
      out +=
          fmt::format("    progs.{0} = ebpfpp::SkeletonProgram<prog::{0}>(ebpfpp::Program((*this)->"
                      "progs.{1}));\n",
                      member_name(p), p);
    out += "  }\n};\n\n";
    out += fmt::format("}} // namespace {}\n", ns_);
    return out;
  }

  static std::string upper(const char* s) {
    std::string out = s ? s : "UNSPEC";
    for (char& c : out) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
    return out;
  }

  std::string member_type(const MapEntry& e) const {
    return e.keyed ? fmt::format("ebpfpp::SkeletonMap<map::{}, {}>", member_name(e.name), e.view)
                   : e.view;
  }

  bpf_object* obj_;
  const btf* btf_;
  std::string ns_, skel_header_, skel_struct_;
  btf_dump* dump_ = nullptr;
  std::string types_, asserts_;
  std::set<std::uint32_t> asserted_;
  std::set<std::string> emitted_names_, sections_, used_events_;
  std::map<std::string, std::uint32_t> events_;
  std::vector<MapEntry> maps_;
  std::vector<std::string> programs_;

public:
  ~Generator() {
    if (dump_) btf_dump__free(dump_);
  }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;
};

int quiet_libbpf(libbpf_print_level level, const char* fmt, va_list args) {
  return level == LIBBPF_WARN ? std::vfprintf(stderr, fmt, args) : 0;
}

} // namespace

int main(int argc, char** argv) try {
  std::string ns, header, skel_struct, path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Failure(fmt::format("{} needs a value\n{}", arg, usage));
      return argv[++i];
    };
    if (arg == "--namespace")
      ns = value();
    else if (arg == "--skeleton-header")
      header = value();
    else if (arg == "--skeleton-struct")
      skel_struct = value();
    else if (arg == "-h" || arg == "--help") {
      fmt::print("{}", usage);
      return 0;
    } else if (!arg.starts_with('-') && path.empty())
      path = arg;
    else
      throw Failure(fmt::format("unexpected argument '{}'\n{}", arg, usage));
  }
  if (path.empty()) throw Failure(std::string(usage));
  // hello_map.bpf.o -> stem hello_map: bpftool's struct hello_map_bpf (the recipe names it after
  // the source, hello_map.bpf.c), its header hello_map.bpf.skel.h, our namespace hello_map.
  std::string file = path.substr(path.find_last_of('/') + 1);
  std::string stem = file;
  for (std::string_view suffix : {".o", ".bpf"})
    if (stem.ends_with(suffix)) stem.resize(stem.size() - suffix.size());
  const auto c_name = [](std::string s) {
    for (char& c : s)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return s;
  };
  if (ns.empty()) ns = c_name(stem);
  if (skel_struct.empty()) skel_struct = c_name(stem) + "_bpf";
  if (header.empty()) header = stem + ".bpf.skel.h";

  libbpf_set_print(quiet_libbpf);
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj)
    throw Failure(fmt::format("cannot open BPF object '{}': {}", path, std::strerror(errno)));
  std::string out;
  try {
    Generator g(obj, ns, header, skel_struct);
    out = g.run();
  } catch (...) {
    bpf_object__close(obj);
    throw;
  }
  bpf_object__close(obj);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
} catch (const std::exception& e) {
  fmt::print(stderr, "ebpfpp-skel: {}: {}\n", argc > 1 ? argv[argc - 1] : "", e.what());
  return 1;
}
