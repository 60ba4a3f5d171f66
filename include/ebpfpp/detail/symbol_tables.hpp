#pragma once
// What Symbolizer (symbolizer.hpp) reads, each a table it caches: the kernel's symbols from
// /proc/kallsyms, one ELF file's function symbols (.symtab and .dynsym, through libelf) with the
// layout that maps file offsets to its addresses, and a process's file mappings from
// /proc/PID/maps. Also demangle(), and the kernel's function names by glob (kernel_functions()).
// Uprobe tools use ElfSymbols to find a function's file offset.
//
// Everything here is a template over a parameter nobody gives (SymbolTable is
// BasicSymbolTable<>, ElfSymbols is BasicElfSymbols<>, load_kallsyms<>() ...): a file that
// includes symbolizer.hpp or multi_probe.hpp (the umbrella does both) and never reads a symbol
// compiles none of the reading, sorting and caching below, only their declarations. As plain
// classes and inline functions they cost every such file a sixth of the umbrella's own compile.
// The types the bodies use are named through that parameter too (BasicSymbolTable<T> in
// BasicElfSymbols<T>, BasicFileMapping<T> ...), and the C handles are closed by small owners
// of their own rather than std::unique_ptr<X, Deleter>: GCC instantiates a standard template
// over a type a template's body names without the parameter even where nothing calls the body.

#include "config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cxxabi.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "../error.hpp"
#include "format.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

/// Demangles a C++ symbol name; returns it unchanged when it is not a mangled name.
template <class = void>
std::string demangle(std::string_view name) {
  if (!name.starts_with("_Z")) return std::string(name);
  int status = 0;
  struct Owned { // frees what __cxa_demangle malloc'd
    char* text;
    ~Owned() { std::free(text); }
  } const out{abi::__cxa_demangle(std::string(name).c_str(), nullptr, nullptr, &status)};
  return status == 0 && out.text ? std::string(out.text) : std::string(name);
}

/// A sorted table of [start, start+size) ranges with names: the kernel's or one ELF file's.
template <class = void>
class BasicSymbolTable {
public:
  struct Entry {
    std::uint64_t start;
    std::uint64_t size; // 0: up to the next symbol (kallsyms has no sizes)
    std::uint32_t name; // offset into names_
    std::uint32_t module;
  };

  void add(std::uint64_t start, std::uint64_t size, std::string_view name,
           std::string_view module = {}) {
    const auto name_off = static_cast<std::uint32_t>(names_.size());
    names_.append(name);
    names_.push_back('\0');
    std::uint32_t mod = 0; // 0: none, else modules_[mod - 1]
    if (!module.empty()) {
      // kallsyms lists a module's symbols together: the last module is almost always the one;
      // a few hundred modules at most, so a walk finds the others.
      mod = static_cast<std::uint32_t>(modules_.size());
      while (mod > 0 && modules_[mod - 1] != module) --mod;
      if (mod == 0) {
        modules_.emplace_back(module);
        mod = static_cast<std::uint32_t>(modules_.size());
      }
    }
    entries_.push_back({start, size, name_off, mod});
  }

  /// Sorts by address; among symbols at one address, the sized one (a function over an alias)
  /// comes first.
  void finish() {
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return a.start != b.start ? a.start < b.start : a.size > b.size;
    });
  }

  /// The entry covering `addr`, or nullptr.
  const Entry* find(std::uint64_t addr) const noexcept {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), addr,
                               [](std::uint64_t a, const Entry& e) { return a < e.start; });
    if (it == entries_.begin()) return nullptr;
    --it;
    // Several symbols may start at one address: step back to the first of them (sorted best
    // first).
    while (it != entries_.begin() && std::prev(it)->start == it->start) --it;
    if (it->size != 0 && addr >= it->start + it->size) {
      // Inside no sized symbol: a sized symbol that started earlier may still cover it (nested
      // or overlapping symbols are rare; look back a few).
      for (int back = 0; back < 8 && it != entries_.begin(); ++back) {
        --it;
        if (it->size != 0 && addr < it->start + it->size) return &*it;
      }
      return nullptr;
    }
    return &*it;
  }

  std::string_view name(const Entry& e) const noexcept { return names_.data() + e.name; }
  std::string_view module(const Entry& e) const noexcept {
    return e.module == 0 ? std::string_view{} : std::string_view(modules_[e.module - 1]);
  }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  const std::vector<Entry>& entries() const noexcept { return entries_; }

private:
  std::vector<Entry> entries_;
  std::string names_;
  std::vector<std::string> modules_;
};
using SymbolTable = BasicSymbolTable<>;

/// Reads /proc/kallsyms into a SymbolTable (text symbols only). Throws Error when it cannot be
/// read or shows only zero addresses (kernel.kptr_restrict hides them from this process).
template <class T = void>
BasicSymbolTable<T> load_kallsyms(const char* path = "/proc/kallsyms") {
  std::ifstream in(path);
  if (!in)
    fail(
        errno ? errno : ENOENT, [&] { return detail::format("read kernel symbols from {}", path); },
        Op::generic, hint::proc_unmounted);
  BasicSymbolTable<T> table;
  bool nonzero = false;
  for (std::string line; std::getline(in, line);) {
    // "ffffffff81000000 T _text" or "ffffffffc0a01000 t foo\t[module]"
    std::uint64_t addr = 0;
    const char* p = line.data();
    const char* end = p + line.size();
    auto [q, ec] = std::from_chars(p, end, addr, 16);
    if (ec != std::errc() || q + 3 > end) continue;
    const char type = q[1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    std::string_view rest(q + 3, static_cast<std::size_t>(end - q - 3));
    std::string_view module;
    if (const auto tab = rest.find('\t'); tab != std::string_view::npos) {
      module = rest.substr(tab + 1);
      if (module.starts_with('[') && module.ends_with(']'))
        module = module.substr(1, module.size() - 2);
      rest = rest.substr(0, tab);
    }
    nonzero = nonzero || addr != 0;
    table.add(addr, 0, rest, module);
  }
  // Not an errno from the read: the kernel's answer to this process is zeros, as if EPERM.
  if (!nonzero)
    fail(
        EPERM, [&] { return detail::format("read kernel symbols from {}", path); }, Op::generic,
        hint::kptr_restrict);
  table.finish();
  return table;
}

/// The kernel functions matching `pattern` (a glob), each once, sorted: the traceable ones
/// (available_filter_functions) when `tracefs` is where tracefs is mounted, else every function
/// of /proc/kallsyms. What KprobeMulti attaches a session to.
template <class = void>
std::vector<std::string> kernel_functions(const std::optional<std::filesystem::path>& tracefs,
                                          const std::string& pattern) {
  std::vector<std::string> found;
  std::ifstream in(tracefs ? *tracefs / "available_filter_functions"
                           : std::filesystem::path("/proc/kallsyms"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string name, type;
    if (!tracefs) words >> name >> type; // address and type first; functions are t or T
    if (!tracefs && type != "t" && type != "T") continue;
    words >> name;
    if (name.starts_with("__pfx_")) continue; // a function's padding, not traceable
    if (::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

template <class = void>
void elf_init() {
  static const bool ok = elf_version(EV_CURRENT) != EV_NONE;
  if (!ok) fail(EINVAL, [] { return detail::format("initialize libelf ({})", elf_errmsg(-1)); });
}

/// One ELF file's function symbols and the layout that maps file offsets to its addresses.
template <class T = void>
class BasicElfSymbols {
public:
  /// Reads `path`'s .symtab and .dynsym. Throws Error when it cannot be opened or is not ELF.
  explicit BasicElfSymbols(const std::string& path) : path_(path) {
    elf_init();
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) fail(errno, [&] { return detail::format("open '{}' to read its symbols", path); });
    struct Handle { // libelf's handle on the file, ended with the constructor
      Elf* elf;
      ~Handle() { elf_end(elf); }
      Elf* get() const noexcept { return elf; }
    } const elf{elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr)};
    if (!elf.get() || elf_kind(elf.get()) != ELF_K_ELF)
      fail(EINVAL, [&] {
        return detail::format("read the symbols of '{}': not an ELF file ({})", path,
                              elf_errmsg(-1));
      });
    std::size_t phnum = 0;
    if (elf_getphdrnum(elf.get(), &phnum) == 0) {
      for (std::size_t i = 0; i < phnum; ++i) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf.get(), static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
          loads_.push_back({ph.p_offset, ph.p_vaddr, ph.p_filesz});
      }
    }
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf.get(), scn)) != nullptr;) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
        continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (!data || sh.sh_entsize == 0) continue;
      const std::size_t count = sh.sh_size / sh.sh_entsize;
      for (std::size_t i = 0; i < count; ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
        const int type = GELF_ST_TYPE(sym.st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_value == 0 ||
            sym.st_shndx == SHN_UNDEF)
          continue;
        const char* name = elf_strptr(elf.get(), sh.sh_link, sym.st_name);
        if (!name || !*name) continue;
        table_.add(sym.st_value, sym.st_size, name);
      }
    }
    table_.finish();
  }

  /// The ELF virtual address of file offset `offset` (through the PT_LOAD segments).
  std::optional<std::uint64_t> address_of(std::uint64_t offset) const noexcept {
    for (const auto& l : loads_)
      if (offset >= l.offset && offset < l.offset + l.filesz) return offset - l.offset + l.vaddr;
    return std::nullopt;
  }

  /// The file offset of ELF address `vaddr` (the inverse of address_of), where uprobes attach.
  std::optional<std::uint64_t> file_offset_of(std::uint64_t vaddr) const noexcept {
    for (const auto& l : loads_)
      if (vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz) return vaddr - l.vaddr + l.offset;
    return std::nullopt;
  }

  /// Calls `fn(name, address, size)` for each function symbol (raw, not demangled), in address
  /// order; a function in both .symtab and .dynsym comes twice.
  template <class Fn>
  void for_each_function(Fn&& fn) const {
    for (const auto& e : table_.entries()) fn(table_.name(e), e.start, e.size);
  }

  /// What find() found: a function's demangled name (valid until the next find()), and the
  /// address's offset into it.
  struct Found {
    std::string_view name;
    std::uint64_t offset;
  };

  /// The function covering ELF address `addr`.
  std::optional<Found> find(std::uint64_t addr) {
    const typename BasicSymbolTable<T>::Entry* e = table_.find(addr);
    if (!e) return std::nullopt;
    // Each name is demangled once, on its first find().
    auto it =
        std::lower_bound(demangled_.begin(), demangled_.end(), e->name,
                         [](const Demangled& d, std::uint32_t name) { return d.name < name; });
    if (it == demangled_.end() || it->name != e->name)
      it = demangled_.insert(it, Demangled{e->name, demangle(table_.name(*e))});
    return Found{it->text, addr - e->start};
  }

  const std::string& path() const noexcept { return path_; }
  std::size_t symbol_count() const noexcept { return table_.size(); }

private:
  struct Load {
    std::uint64_t offset, vaddr, filesz;
  };
  std::string path_;
  std::vector<Load> loads_;
  BasicSymbolTable<T> table_;
  struct Demangled {
    std::uint32_t name; // the name's offset in table_
    std::string text;
  };
  std::vector<Demangled> demangled_; // sorted by the name's offset
};
using ElfSymbols = BasicElfSymbols<>;

/// One line of /proc/PID/maps that maps a file.
template <class = void>
struct BasicFileMapping {
  std::uint64_t start, end, offset;
  dev_t dev;
  ino_t inode;
  std::string path;
};
using FileMapping = BasicFileMapping<>;

/// The file mappings of process `pid`, sorted by address; empty when the process is gone.
template <class T = void>
std::vector<BasicFileMapping<T>> read_mappings(pid_t pid) {
  std::vector<BasicFileMapping<T>> out;
  std::ifstream in(detail::format("/proc/{}/maps", pid));
  for (std::string line; std::getline(in, line);) {
    // "7f1c2a000000-7f1c2a028000 r-xp 00028000 08:01 1234  /usr/lib/x86_64-linux-gnu/libc.so.6"
    unsigned long start = 0, end = 0, offset = 0, inode = 0;
    unsigned major = 0, minor = 0;
    int path_at = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %x:%x %lu %n", &start, &end, perms, &offset,
                    &major, &minor, &inode, &path_at) < 7)
      continue;
    if (inode == 0 || path_at <= 0 || perms[2] != 'x') continue; // executable file mappings
    std::string path = line.substr(static_cast<std::size_t>(path_at));
    if (path.empty() || path[0] != '/') continue;
    // A file replaced since it was mapped: its old contents are gone, the path is the best guess.
    if (path.ends_with(" (deleted)")) path.resize(path.size() - 10);
    out.push_back({start, end, offset, makedev(major, minor), inode, std::move(path)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  return out;
}

} // namespace ebpfpp::detail
