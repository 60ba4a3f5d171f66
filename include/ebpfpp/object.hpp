#pragma once
/// @file
/// Object (owns a bpf_object), Program and MapRef (views into it), and Skeleton<T> (owns a
/// bpftool-generated skeleton).
///
/// The life of a BPF object: open (parse the ELF; nothing is in the kernel yet; OpenOptions in
/// open_options.hpp: a BTF file for CO-RE, a pin root, the verifier's log level, map sizes,
/// maps to reuse, a BPF token), adjust (set .rodata constants, autoload), load (maps created, programs
/// verified), then attach programs with the link types of link.hpp. Views stay valid while their Object lives; a view
/// that outlives it keeps its name and reads as empty (never freed memory).
///
/// Objects ebpfpp did not build: open_file and open_memory check what libbpf 1.1 takes on trust
/// before it parses a byte (detail/object_check.hpp): the ELF section headers, the .BTF (every
/// type id and string offset in range, no loops of typedefs and modifiers), the .BTF.ext
/// records, and the size of global data (OpenOptions::max_data_size). One that fails is an
/// Error naming the section and the fault (LIBBPF_ERRNO__FORMAT; E2BIG for data over the
/// limit), and leaves nothing behind; a fuzz corpus in the tests holds this. Not covered: the
/// sizes of the maps an object declares (the kernel and the memory cgroup bound them; read
/// MapRef::max_entries() before load()), what its programs do once loaded (the verifier checks
/// that they are safe, not that they are wanted), and Skeleton<T> (its object is built in).

#include "detail/config.hpp"

#include <concepts>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/format.hpp"
#include "detail/lifetime.hpp"
#include "detail/object_check.hpp"
#include "detail/object_load.hpp"
#include "detail/object_options.hpp"
#include "error.hpp"
#include "map_data.hpp"
#include "map_ref.hpp"
#include "open_options.hpp" // IWYU pragma: export
#include "program.hpp"
#include "program_info.hpp" // IWYU pragma: export (Program::info())
#include "test_run.hpp"     // IWYU pragma: export (Program::test_run())

namespace ebpfpp {

template <MapData T>
class Variable;

/// Owns a bpf_object: a parsed BPF ELF file and, after load(), its maps and programs in the
/// kernel. Move-only; the destructor unloads and frees everything (links you made stay valid
/// and keep their program alive in the kernel until they are destroyed).
class Object : private detail::OwnedObject<bpf_object, &bpf_object__close> {
  using Owner = detail::OwnedObject<bpf_object, &bpf_object__close>;

public:
  Object() noexcept = default;
  /// Takes ownership of an open bpf_object (closing it if this throws std::bad_alloc).
  explicit Object(bpf_object* obj) : Owner(obj) {}
  Object(Object&&) noexcept = default;
  Object& operator=(Object&&) noexcept = default;

  /// Opens (parses) a .bpf.o file: reads it once, checks it (see the file comment) and hands
  /// those bytes to libbpf, then applies `options` (open_options.hpp). Throws Error: ENOENT,
  /// EACCES, EISDIR with a hint about the file (its path; its mode and owner);
  /// LIBBPF_ERRNO__FORMAT for a file that is no object or whose BTF is corrupt; E2BIG for global
  /// data over `options.max_data_size`; an option that does not fit (see OpenOptions).
  /// (open_file, open_memory and load are templates so that a file that only names an Object,
  /// or opens a Skeleton, does not compile the object checks and their errors.)
  template <class = void>
  static Object open_file(const std::filesystem::path& path, const OpenOptions& options = {}) {
    const auto action = [&] { return detail::format("open BPF object file '{}'", path.string()); };
    detail::require_no_nul(path.native(), action);
    // Checked before reading, to say what is wrong with the file rather than only the errno.
    if (detail::FileProblem file = detail::file_problem(path); file.err)
      detail::fail(file.err, action, detail::Op::open_object, file.hint);
    const std::vector<std::byte> bytes = detail::read_object_file(path, action);
    if (bytes.empty())
      detail::fail(
          LIBBPF_ERRNO__FORMAT, [&] { return detail::format("{}: the file is empty", action()); },
          detail::Op::open_object);
    return open_checked(bytes, detail::object_name_of(path), options, action);
  }

  /// Opens (parses) a BPF ELF image in memory, e.g. one embedded in the binary, after the same
  /// checks as open_file(). The bytes are copied; `name` names the object in errors.
  template <class = void> // (as open_file)
  static Object open_memory(std::span<const std::byte> elf, std::string_view name = "memory",
                            const OpenOptions& options = {}) {
    return open_checked(elf, std::string(name), options, [&] {
      return detail::format("open BPF object '{}' from memory ({} bytes)", name, elf.size());
    });
  }

  /// Creates the maps and loads the programs into the kernel. A verifier rejection throws an
  /// Error naming the program whose log() is the whole verifier log; a CO-RE read that the
  /// kernel's BTF (or OpenOptions::btf_custom_path) cannot resolve names the type and field.
  template <class = void> // (as open_file)
  void load() {
    require_open("load");
    detail::load_with_log(
        handle_, [&] { return bpf_object__load(handle_); }, load_);
  }

  /// The object's name (the file name without .o, or the name given to open_memory); "" when
  /// empty.
  std::string_view name() const noexcept { return handle_ ? bpf_object__name(handle_) : ""; }

  /// The program with this function name; throws an Error listing the programs that exist.
  /// (program, map, programs and maps are templates too, as open_file: a file that includes
  /// object.hpp and calls none of them does not compile their lists and errors.)
  template <class = void>
  Program program(std::string_view name) const {
    require_open("find a program in");
    return detail::find_program(handle_, name, life_.watch());
  }
  /// The map with this name; throws an Error listing the maps that exist.
  template <class = void>
  MapRef map(std::string_view name) const {
    require_open("find a map in");
    return detail::find_map(handle_, name, life_.watch());
  }
  /// All programs, in ELF order (none for an empty Object).
  template <class = void>
  std::vector<Program> programs() const {
    return handle_ ? detail::programs_of(handle_, life_.watch()) : std::vector<Program>{};
  }
  /// All maps, including the internal .rodata/.data/.bss ones (none for an empty Object).
  template <class = void>
  std::vector<MapRef> maps() const {
    return handle_ ? detail::maps_of(handle_, life_.watch()) : std::vector<MapRef>{};
  }
  /// The global variable `name` (.bss, .data, .rodata) as a T checked against the object's BTF;
  /// see globals.hpp. Throws Error (no such global, listing those there are; a size or kind
  /// mismatch).
  template <MapData T>
  Variable<T> variable(std::string_view name) const;

  using Owner::get;
  using Owner::operator bool;
  /// Gives up ownership; the caller must bpf_object__close() it. Views taken so far are then
  /// the caller's to keep valid, as views of a raw pointer are.
  using Owner::release;
  /// Closes the object; its views expire (see Program, MapRef).
  using Owner::reset;

private:
  template <class Action>
  static Object open_checked(std::span<const std::byte> elf, const std::string& name,
                             const OpenOptions& options, const Action& action) {
    detail::require_sound_object(elf, options.max_data_size, action);
    detail::check_open_options(options, action);
    detail::LoadContext context = detail::load_context(options, action);
    bpf_object_open_opts opts;
    detail::to_libbpf(options, opts);
    opts.object_name = name.c_str();
    detail::LibbpfLog log;
    Object obj(detail::check_ptr(bpf_object__open_mem(elf.data(), elf.size(), &opts), action,
                                 detail::Op::open_object, &log));
    obj.load_ = std::move(context);
    detail::apply_map_options(obj.handle_, options);
    return obj;
  }

  void require_open(std::string_view what) const {
    if (!handle_)
      throw Error(EBADF, detail::format("{} an empty Object", what),
                  std::string(detail::hint::empty_view));
  }
};

/// A bpftool-generated skeleton type (bpftool 7+): C++ static helpers open/load/attach/destroy.
template <class T>
concept SkeletonType = requires(T* skel) {
  { T::open(nullptr) } -> std::same_as<T*>;
  { T::load(skel) } -> std::same_as<int>;
  { T::attach(skel) } -> std::same_as<int>;
  T::detach(skel);
  T::destroy(skel);
  { skel->obj } -> std::convertible_to<bpf_object*>;
};

/// Owns a bpftool skeleton (`struct <name>_bpf` from `bpftool gen skeleton`).
///
///     auto skel = ebpfpp::Skeleton<hello_bpf>::open();
///     skel->rodata->target_pid = 42;   // between open and load
///     skel.load();
///     auto link = ebpfpp::Tracepoint(skel.program("hello"), "syscalls", "sys_enter_execve");
///
/// `->` reaches the skeleton struct (maps, progs, rodata, bss). Destroying it destroys the links
/// that attach() made; Links you made yourself must be destroyed first or outlive nothing that
/// they read (declare them after the skeleton).
template <SkeletonType T>
class Skeleton : private detail::OwnedObject<T, &T::destroy> {
  using Owner = detail::OwnedObject<T, &T::destroy>;
  using Owner::handle_, Owner::life_, Owner::load_;

public:
  Skeleton() noexcept = default;
  /// Takes ownership of an open skeleton (destroying it if this throws std::bad_alloc).
  explicit Skeleton(T* skel) : Owner(skel) {}
  Skeleton(Skeleton&&) noexcept = default;
  Skeleton& operator=(Skeleton&&) noexcept = default;

  /// Opens the embedded object with `options` (open_options.hpp; max_data_size does not apply:
  /// the object is built in); .rodata is writable until load(). Throws Error.
  static Skeleton open(const OpenOptions& options = {}) {
    const auto action = [] { return std::string("open BPF skeleton"); };
    detail::check_open_options(options, action);
    detail::LoadContext context = detail::load_context(options, action);
    bpf_object_open_opts opts;
    detail::to_libbpf(options, opts);
    detail::LibbpfLog log;
    errno = 0;
    Skeleton s(detail::check_ptr(T::open(&opts), action, detail::Op::generic, &log));
    s.load_ = std::move(context);
    detail::apply_map_options(s.handle_->obj, options);
    return s;
  }
  /// open(options) then load().
  static Skeleton open_and_load(const OpenOptions& options = {}) {
    Skeleton s = open(options);
    s.load();
    return s;
  }

  /// Loads into the kernel; a verifier rejection carries the program's log (see Object::load).
  void load() {
    require_open("load");
    detail::load_with_log(
        handle_->obj, [&] { return T::load(handle_); }, load_);
  }
  /// Attaches every program that has an auto-attachable SEC() (the links are the skeleton's).
  void attach() {
    require_open("attach the programs of");
    detail::LibbpfLog log;
    detail::check(
        T::attach(handle_),
        [&] { return detail::format("attach programs of skeleton '{}'", name()); },
        detail::Op::attach_tracing, &log);
  }
  /// Detaches what attach() attached.
  void detach() noexcept {
    if (handle_) T::detach(handle_);
  }

  /// The object's name; "" when empty.
  std::string_view name() const noexcept { return handle_ ? bpf_object__name(handle_->obj) : ""; }
  /// The program with this function name; throws an Error listing those that exist.
  Program program(std::string_view name) const {
    require_open("find a program in");
    return detail::find_program(handle_->obj, name, life_.watch());
  }
  /// The map with this name; throws an Error listing those that exist.
  MapRef map(std::string_view name) const {
    require_open("find a map in");
    return detail::find_map(handle_->obj, name, life_.watch());
  }
  std::vector<Program> programs() const {
    return handle_ ? detail::programs_of(handle_->obj, life_.watch()) : std::vector<Program>{};
  }
  std::vector<MapRef> maps() const {
    return handle_ ? detail::maps_of(handle_->obj, life_.watch()) : std::vector<MapRef>{};
  }
  /// The bpf_object; nullptr when empty.
  bpf_object* object() const noexcept { return handle_ ? handle_->obj : nullptr; }

  T* operator->() const noexcept { return handle_; }
  T& operator*() const noexcept { return *handle_; }
  using Owner::get;
  using Owner::operator bool;
  /// Destroys the skeleton; the views taken from it expire (see Program, MapRef).
  using Owner::reset;

private:
  void require_open(std::string_view what) const {
    if (!handle_)
      throw Error(EBADF, detail::format("{} an empty Skeleton", what),
                  std::string(detail::hint::empty_view));
  }
};

} // namespace ebpfpp

// Object::variable is defined with Variable, which needs Object complete.
#include "globals.hpp" // IWYU pragma: export
