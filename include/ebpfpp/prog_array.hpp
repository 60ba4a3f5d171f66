#pragma once
/// @file
/// ProgArray: the table a BPF program tail-calls through (BPF_MAP_TYPE_PROG_ARRAY).
///
/// On the BPF side, `bpf_tail_call(ctx, &table, index)` jumps to the program in slot `index`
/// and never returns; when the slot is empty (or out of range) the call falls through to the
/// next instruction. User space fills the slots:
///
///     ebpfpp::ProgArray table(skel, "syscall");
///     table.fill(skel.program("ignore_opcode"));           // every slot
///     table.set(SYS_execve, skel.program("hello_exec"));   // one slot
///
/// Fill the table before attaching the program that jumps through it, so no event sees a
/// half-filled table. A prog array accepts only programs of the type of those that use it (a
/// raw tracepoint program tail-calls only into raw tracepoint programs); set() says so instead
/// of the kernel's bare EINVAL. The kernel empties the slots when the last user-space reference
/// to the map is closed: the ProgArray and the Object or Skeleton both hold one.

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detail/format.hpp"
#include "detail/id_walk.hpp"
#include "detail/map_ops.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "map_base.hpp"
#include "program.hpp"
#include "program_info.hpp"

namespace ebpfpp {

/// A typed view of a BPF_MAP_TYPE_PROG_ARRAY map: slots 0..size()-1, each empty or holding a
/// program. Made from any MapSource (see map_base.hpp): ProgArray(skel.map("table")),
/// ProgArray(skel, "table"), ProgArray::open_pinned(path). It owns a duplicate of the map's fd,
/// so the slots stay filled while it lives, even after the Object is gone. Kernel 4.2+;
/// contains() and program_id() read slots back, which needs 4.13+.
class ProgArray : public detail::MapBase<ProgArray> {
public:
  using MapBase::MapBase;

  /// The number of slots (the map's max_entries).
  std::uint32_t size() const noexcept { return max_entries(); }

  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_PROG_ARRAY};
    // Keys are slot indexes, values program fds (ids when read back): both u32.
    auto spec = detail::key_value_spec<std::uint32_t, std::uint32_t>("ProgArray", types, true);
    spec.view_name = "ProgArray";
    return spec;
  }

  /// Puts `prog` in slot `index`, replacing what was there. Throws Error: index out of range
  /// (ERANGE, naming the map and its size), the map or the program not loaded (EINVAL), a
  /// program the array cannot hold (EINVAL, saying which type it holds).
  void set(std::uint32_t index, const Program& prog) {
    const auto action = [&] {
      return detail::format("set slot {} of prog array '{}' to program '{}'", index, name(),
                            prog ? prog.name() : "<empty Program>");
    };
    require_in_range(index, action);
    require_loaded(prog, action);
    update(index, prog, action);
  }

  /// Puts `prog` in slots [first, last). The range is checked before any slot changes; a
  /// failure later (an incompatible program fails at the first slot) leaves earlier slots set.
  /// Throws as set().
  void fill(std::uint32_t first, std::uint32_t last, const Program& prog) {
    const auto action = [&] {
      return detail::format("fill slots [{}, {}) of prog array '{}' with program '{}'", first, last,
                            name(), prog ? prog.name() : "<empty Program>");
    };
    if (first > last) throw Error(EINVAL, action(), std::string(detail::hint::reversed_range));
    if (last > size())
      throw Error(ERANGE, action(),
                  detail::format("the map has {} slots (0..{}); slots end at {}", size(),
                                 size() == 0 ? 0 : size() - 1, size()));
    require_loaded(prog, action);
    for (std::uint32_t i = first; i < last; ++i) update(i, prog, action);
  }

  /// Puts `prog` in every slot. Throws as set().
  void fill(const Program& prog) { fill(0, size(), prog); }

  /// Empties slot `index`; returns whether it held a program. Throws Error: index out of range
  /// (ERANGE), map not loaded (EINVAL), other kernel failures.
  bool erase(std::uint32_t index) {
    const auto action = [&] {
      return detail::format("empty slot {} of prog array '{}'", index, name());
    };
    require_in_range(index, action);
    require_map_loaded(action);
    const int ret = bpf_map_delete_elem(fd(), &index);
    if (ret == -ENOENT) return false;
    detail::check(ret, action, detail::Op::map_access);
    return true;
  }

  /// Empties every slot.
  void clear() {
    for (std::uint32_t i = 0; i < size(); ++i) erase(i);
  }

  /// The id of the program in slot `index`; nullopt when the slot is empty or out of range.
  /// Throws Error when the map is not loaded. Kernel 4.13+.
  std::optional<std::uint32_t> program_id(std::uint32_t index) const {
    if (index >= size()) return std::nullopt;
    const auto action = [&] {
      return detail::format("read slot {} of prog array '{}'", index, name());
    };
    require_map_loaded(action);
    std::uint32_t id = 0;
    if (!detail::found(bpf_map_lookup_elem(fd(), &index, &id), action)) return std::nullopt;
    return id;
  }

  /// Whether slot `index` holds a program (false when out of range). Kernel 4.13+.
  bool contains(std::uint32_t index) const { return program_id(index).has_value(); }

private:
  template <class Action>
  void require_in_range(std::uint32_t index, const Action& action) const {
    if (index < size()) return;
    throw Error(ERANGE, action(),
                detail::format("prog array '{}' has {} slots (0..{}); raise its max_entries in the "
                               ".bpf.c, or with bpf_map__set_max_entries() before load",
                               name(), size(), size() == 0 ? 0 : size() - 1));
  }

  template <class Action>
  void require_map_loaded(const Action& action) const {
    require_not_empty(action);
  }

  template <class Action>
  void require_loaded(const Program& prog, const Action& action) const {
    require_map_loaded(action);
    if (prog && prog.fd() >= 0) return;
    throw Error(
        EINVAL, action(),
        prog ? detail::format("program '{}' is not loaded: load it (its autoload may be off)",
                              prog.name())
             : std::string(detail::hint::empty_view));
  }

  template <class Action>
  void update(std::uint32_t index, const Program& prog, const Action& action) {
    const std::uint32_t prog_fd = static_cast<std::uint32_t>(prog.fd());
    const int ret = bpf_map_update_elem(fd(), &index, &prog_fd, BPF_ANY);
    if (ret >= 0) return;
    const int err = detail::errno_of(ret);
    detail::fail(err, action, detail::Op::map_access,
                 err == EINVAL ? incompatible_hint(prog) : std::string());
  }

  // The kernel says EINVAL without saying why; the usual reason is a program of another type
  // than the array's users. Find one such user and name both types. (A template over a
  // parameter nobody gives, as update(), its caller: the search compiles only where a slot is
  // written.)
  template <class = void>
  std::string incompatible_hint(const Program& prog) const {
    bpf_map_info map_info{};
    __u32 len = sizeof map_info;
    std::optional<detail::ProgArrayOwner> owner;
    if (bpf_obj_get_info_by_fd(fd(), &map_info, &len) == 0)
      owner = detail::find_prog_array_user(map_info.id);
    if (!owner) {
      // No loaded program uses the array; a program put into it earlier fixed its type.
      for (std::uint32_t i = 0; i < size() && !owner; ++i) {
        std::uint32_t id = 0;
        if (bpf_map_lookup_elem(fd(), &i, &id) != 0) continue;
        detail::UniqueFd held(bpf_prog_get_fd_by_id(id));
        if (!held) continue;
        try {
          const ProgramInfo info = program_info(held.get());
          owner = detail::ProgArrayOwner{info.id, info.name, info.type};
        } catch (const Error&) {
        }
      }
    }
    if (owner && owner->type != prog.type()) {
      const char* owner_type = libbpf_bpf_prog_type_str(owner->type);
      return detail::format("program '{}' is a {} program, but prog array '{}' holds {} programs "
                            "(it is used by '{}', id {}): a tail call jumps only between programs "
                            "of one type; put a {} program here",
                            prog.name(), prog.type_name(), name(), owner_type ? owner_type : "?",
                            owner->name, owner->id, owner_type ? owner_type : "?");
    }
    return detail::format("the kernel refused program '{}' ({}) for this prog array: a tail-call "
                          "target must match the programs that use the array in type, in being "
                          "JIT-compiled or not, and (for fentry/fexit, xdp) in attach target and "
                          "flags",
                          prog.name(), prog.type_name());
  }
};

} // namespace ebpfpp
