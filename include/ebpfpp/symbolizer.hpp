#pragma once
/// @file
/// Symbolizer: turns the addresses of a stack (StackTraceMap, bpf_get_stack) into function
/// names.
///
///     ebpfpp::Symbolizer sym;
///     for (std::uint64_t ip : stacks.lookup(kernel_id)) fmt::print("{}\n", sym.kernel(ip).name);
///     for (std::uint64_t ip : stacks.lookup(user_id)) fmt::print("{}\n", sym.user(pid, ip).name);
///
/// Kernel addresses resolve through /proc/kallsyms (read once, sorted, binary search; needs
/// root or kernel.kptr_restrict=0 to see real addresses). User addresses resolve through the
/// process's /proc/PID/maps and the ELF symbol tables (.symtab and .dynsym) of the mapped files,
/// read with libelf: each file once (keyed by device and inode), each process's mappings once
/// (re-read when an address falls outside them). C++ names are demangled. A process's mappings
/// go when it exits: symbolize its stacks while it lives, or call track(pid) as soon as you
/// learn of it (a profiler's usual target is a short-lived process), which keeps what its stacks
/// need for after it is gone.
///
/// Why symbol tables and not DWARF (file:line): a stripped distribution library still has
/// .dynsym, and reading symbol tables is cheap enough to symbolize thousands of stacks in
/// milliseconds; a profile's folded stacks need function names, not lines.

#include "detail/config.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "detail/format.hpp"
#include "detail/symbol_tables.hpp"
#include "error.hpp"

namespace ebpfpp {

/// One symbolized address.
struct Symbol {
  /// The function ("do_syscall_64", "std::vector<int>::push_back(int const&)"), or "" when no
  /// symbol covers the address.
  std::string name;
  /// The address's distance from the function's start.
  std::uint64_t offset = 0;
  /// The kernel module ("" for the kernel itself), or the mapped file's path for user addresses
  /// ("" when the address is in no file mapping: JIT code, the heap, a gone process).
  std::string module;
  /// The address itself.
  std::uint64_t address = 0;

  /// Whether a symbol was found.
  bool found() const noexcept { return !name.empty(); }
  /// The name, or "[unknown]" (as perf and the flame graph tools print it); for an unknown user
  /// address in a file, "[libc.so.6+0x1234]" (the file's base name and the file offset).
  std::string display() const {
    if (found()) return name;
    if (module.empty()) return "[unknown]";
    const auto slash = module.rfind('/');
    return detail::format("[{}+{:#x}]",
                          slash == std::string::npos ? module : module.substr(slash + 1), offset);
  }
  /// "name+0x12" (or display() when unknown).
  std::string str() const { return found() ? detail::format("{}+{:#x}", name, offset) : display(); }
};

/// Symbolizes kernel and user addresses, caching what it reads: /proc/kallsyms on the first
/// kernel address, each ELF file on its first address, each process's mappings on its first
/// address. Not thread-safe (use one per thread). Needs no BPF; /proc/kallsyms shows real
/// addresses only to root (CAP_SYSLOG).
///
/// (Symbolizer is BasicSymbolizer<>, a template over a parameter nobody gives, as are the tables
/// it reads (detail/symbol_tables.hpp), which it names through that parameter: a file that
/// includes this header and never makes a Symbolizer compiles none of it, not even the vectors
/// and owners of its caches.)
template <class T = void>
class BasicSymbolizer {
public:
  BasicSymbolizer() = default;

  /// The kernel symbol covering `addr` (name, offset, module). Throws Error on the first call
  /// when /proc/kallsyms cannot be read or hides its addresses.
  Symbol kernel(std::uint64_t addr) {
    const SymbolTable& table = kallsyms();
    Symbol s;
    s.address = addr;
    if (const auto* e = table.find(addr)) {
      s.name = std::string(table.name(*e));
      s.offset = addr - e->start;
      s.module = std::string(table.module(*e));
    }
    return s;
  }

  /// The user-space symbol covering `addr` in process `pid`. Never throws for a gone process or
  /// an unreadable file: the Symbol is then not found() (module says which file, when known).
  Symbol user(pid_t pid, std::uint64_t addr) {
    Symbol s;
    s.address = addr;
    const FileMapping* m = mapping(pid, addr);
    if (!m) return s;
    s.module = m->path;
    const std::uint64_t file_offset = addr - m->start + m->offset;
    s.offset = file_offset;
    ElfSymbols* elf = elf_for(pid, *m);
    if (!elf) return s;
    const auto elf_addr = elf->address_of(file_offset);
    if (!elf_addr) return s;
    if (auto found = elf->find(*elf_addr)) {
      s.name = std::string(found->name);
      s.offset = found->offset;
    }
    return s;
  }

  /// Symbolizes a whole stack (innermost frame first): kernel addresses (at or above the
  /// kernel's start) through kallsyms, the others as user addresses of `pid`.
  ///
  /// Every frame but the innermost is a return address: it points just past its call, and when
  /// that call is the caller's last instruction (a call to a function that never returns) it
  /// points into the next function. So those frames are looked up one byte earlier, inside the
  /// call, as perf and BCC do; each Symbol's address and offset still describe the address given.
  std::vector<Symbol> stack(pid_t pid, const std::vector<std::uint64_t>& addrs) {
    std::vector<Symbol> out;
    out.reserve(addrs.size());
    for (std::size_t i = 0; i < addrs.size(); ++i) {
      const std::uint64_t a = addrs[i];
      const std::uint64_t at = i == 0 || a == 0 ? a : a - 1;
      Symbol s = is_kernel(at) ? kernel(at) : user(pid, at);
      s.address = a;
      if (s.found() || !s.module.empty()) s.offset += a - at; // else offset is unused
      out.push_back(std::move(s));
    }
    return out;
  }

  /// Reads `pid`'s mappings and the symbols of every file it maps now, and keeps them after the
  /// process exits, so that its stacks still symbolize then. Call it while the process lives,
  /// as early as you can: a profiler when a new process shows up in its samples. Again for the
  /// same process, it reads the mappings afresh (after a dlopen, say). Returns false, and keeps
  /// what it had, when the process is gone. Never throws for a file it cannot read.
  bool track(pid_t pid) {
    auto it = find_process(processes_, pid);
    if (it == processes_.end() || it->pid != pid)
      it = processes_.insert(it, ProcessMaps{pid, {}, false, false});
    it->tracked = true;
    auto maps = detail::read_mappings<T>(pid);
    if (maps.empty()) return false;
    it->maps = std::move(maps);
    it->reread = false;
    for (const FileMapping& m : it->maps) elf_for(pid, m);
    return true;
  }

  /// Whether track(pid) was called (and forget(pid) not since).
  bool tracked(pid_t pid) const {
    const auto it = find_process(processes_, pid);
    return it != processes_.end() && it->pid == pid && it->tracked;
  }

  /// Forgets `pid`'s mappings (after it exited, or exec'd another program), tracked or not.
  void forget(pid_t pid) {
    const auto it = find_process(processes_, pid);
    if (it != processes_.end() && it->pid == pid) processes_.erase(it);
  }

  /// How many ELF files have been read (each once).
  std::size_t files_read() const noexcept { return elf_.size(); }

  /// Whether `addr` is a kernel address (the upper half on 64-bit machines).
  static bool is_kernel(std::uint64_t addr) noexcept {
    return sizeof(void*) == 8 ? (addr >> 63) != 0 : addr >= 0xc0000000u;
  }

private:
  using SymbolTable = detail::BasicSymbolTable<T>;
  using ElfSymbols = detail::BasicElfSymbols<T>;
  using FileMapping = detail::BasicFileMapping<T>;

  // A process's mappings, as read from /proc/PID/maps.
  struct ProcessMaps {
    pid_t pid = 0;
    std::vector<FileMapping> maps;
    bool reread = false;
    bool tracked = false; // track() was called: keep the mappings when the process is gone
  };
  // An ELF file's symbols, by device and inode (one file under several paths is read once).
  struct ElfFile {
    dev_t dev;
    ino_t inode;
    std::unique_ptr<ElfSymbols> elf; // null: the file could not be read
  };

  const SymbolTable& kallsyms() {
    if (!kallsyms_) kallsyms_ = std::make_unique<SymbolTable>(detail::load_kallsyms<T>());
    return *kallsyms_;
  }

  // Where `pid` is in processes_, or would be (sorted by pid). Processes_, const or not.
  template <class Processes>
  static auto find_process(Processes& processes, pid_t pid) -> decltype(processes.begin()) {
    return std::lower_bound(processes.begin(), processes.end(), pid,
                            [](const ProcessMaps& p, pid_t id) { return p.pid < id; });
  }

  const FileMapping* find_in(const std::vector<FileMapping>& maps, std::uint64_t addr) {
    auto it = std::upper_bound(maps.begin(), maps.end(), addr,
                               [](std::uint64_t a, const FileMapping& m) { return a < m.start; });
    if (it == maps.begin()) return nullptr;
    --it;
    return addr < it->end ? &*it : nullptr;
  }

  const FileMapping* mapping(pid_t pid, std::uint64_t addr) {
    auto it = find_process(processes_, pid);
    const bool known = it != processes_.end() && it->pid == pid;
    if (known) {
      if (const auto* m = find_in(it->maps, addr)) return m;
      if (it->reread) return nullptr; // read once more already: a gone mapping
    } else {
      it = processes_.insert(it, ProcessMaps{pid, {}, false, false});
    }
    // First address of this process, or one outside the mappings read: (re)read them once. A
    // tracked process keeps what it had if it is gone now.
    it->reread = known;
    auto maps = detail::read_mappings<T>(pid);
    if (!maps.empty() || !it->tracked) it->maps = std::move(maps);
    return find_in(it->maps, addr);
  }

  ElfSymbols* elf_for(pid_t pid, const FileMapping& m) {
    const auto key = std::make_pair(m.dev, m.inode);
    auto it = std::lower_bound(elf_.begin(), elf_.end(), key, [](const ElfFile& f, const auto& k) {
      return std::make_pair(f.dev, f.inode) < k;
    });
    if (it != elf_.end() && it->dev == m.dev && it->inode == m.inode) return it->elf.get();
    std::unique_ptr<ElfSymbols> elf;
    // Through the process's root first: the path is the one it sees (a container's).
    for (const std::string& path :
         {detail::format("/proc/{}/root{}", pid, m.path), std::string(m.path)}) {
      try {
        elf = std::make_unique<ElfSymbols>(path);
        break;
      } catch (const Error&) {
        // Try the next path; a file that cannot be read stays unsymbolized.
      }
    }
    return elf_.insert(it, ElfFile{m.dev, m.inode, std::move(elf)})->elf.get();
  }

  std::unique_ptr<SymbolTable> kallsyms_;
  std::vector<ProcessMaps> processes_; // sorted by pid
  std::vector<ElfFile> elf_;           // sorted by (dev, inode)
};
/// The Symbolizer (see BasicSymbolizer: a template only to be compiled where it is used).
using Symbolizer = BasicSymbolizer<>;

} // namespace ebpfpp
