#pragma once
// Describing maps: one from its fd (BPF_OBJ_GET_INFO_BY_FD), and every map without opening any:
// a BPF map iterator (bpf_iter__bpf_map, kernel 5.8+) that ebpfpp writes at run time reads each
// map's type, sizes, flags, ids and name from the kernel's struct bpf_map and hands them to user
// space, so no map is opened by id.
//
// Why not open each id and ask (BPF_MAP_GET_FD_BY_ID + BPF_OBJ_GET_INFO_BY_FD, what bpftool
// does): an open by id takes a user reference on the map. A prog_array's slots are emptied when
// its last user reference (fd or pin) goes, which is what lets the array and the programs that
// tail-call through it free each other; on 6.18, a prog_array opened by id while its owner
// closes its last fd was leaked for good (15 of 50 tries with raw libbpf), with its programs.
// A poller such as bpf-top that opens every map would leak other processes' prog arrays. The
// iterator takes no user reference (the kernel holds each map by its plain refcount while the
// program runs), so it cannot meet that release.
//
// The program is built from instructions here (no BPF object to ship with a header-only
// library); the offsets of struct bpf_map's fields come from the running kernel's BTF
// (/sys/kernel/btf/vmlinux), read once per process. Loading it needs what reading map ids
// already needs (CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON).

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include "../kernel.hpp"
#include "../map_info.hpp"
#include "format.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

/// A MapInfo from the kernel's description of a map: a bpf_map_info, or a MapIterRecord (below),
/// which has the same fields.
template <class Kernel>
MapInfo map_info_from(const Kernel& k) {
  MapInfo out;
  out.type = static_cast<bpf_map_type>(k.type);
  out.id = k.id;
  out.key_size = k.key_size;
  out.value_size = k.value_size;
  out.max_entries = k.max_entries;
  out.map_flags = k.map_flags;
  out.btf_id = k.btf_id;
  out.btf_key_type_id = k.btf_key_type_id;
  out.btf_value_type_id = k.btf_value_type_id;
  out.name.assign(k.name, strnlen(k.name, sizeof k.name));
  return out;
}

/// Asks the kernel about the map behind `fd`; `what` names it in the Error.
inline MapInfo query_map_info(int fd, std::string_view what) {
  bpf_map_info info{};
  __u32 len = sizeof info;
  check(bpf_obj_get_info_by_fd(fd, &info, &len),
        [&] { return detail::format("read the kernel's info on map {}", what); });
  return map_info_from(info);
}

/// Where the iterator reads each field, from the running kernel's BTF; ok false (with why) when
/// this kernel has no map iterator or no BTF, or a field is not where the program expects it.
struct MapIterLayout {
  bool ok = false;
  std::string why;
  std::uint32_t attach_btf_id = 0; // the FUNC bpf_iter_bpf_map
  // Byte offsets in struct bpf_map, and of id in struct btf.
  std::uint32_t id = 0, type = 0, key_size = 0, value_size = 0, max_entries = 0, map_flags = 0,
                btf_key = 0, btf_value = 0, btf = 0, name = 0, btf_id = 0;
};

// The record the program writes per map (what MapInfo needs): nine u32, the name, padding.
struct MapIterRecord {
  std::uint32_t id, type, key_size, value_size, max_entries, map_flags, btf_id, btf_key_type_id,
      btf_value_type_id;
  char name[16];
  std::uint32_t pad;
};
static_assert(sizeof(MapIterRecord) == 56);

template <class = void>
MapIterLayout load_map_iter_layout() {
  MapIterLayout out;
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) {
    out.why = "the kernel's BTF (/sys/kernel/btf/vmlinux) cannot be read";
    return out;
  }
  const auto member = [&](const char* strct, const char* name, std::uint32_t size,
                          std::uint32_t& offset) {
    const int sid = btf__find_by_name_kind(vmlinux, strct, BTF_KIND_STRUCT);
    if (sid <= 0) return false;
    const btf_type* t = btf__type_by_id(vmlinux, static_cast<__u32>(sid));
    const btf_member* m = btf_members(t);
    for (unsigned i = 0; i < btf_vlen(t); ++i, ++m) {
      const char* n = btf__name_by_offset(vmlinux, m->name_off);
      if (!n || std::strcmp(n, name) != 0) continue;
      const std::uint32_t bits = btf_member_bit_offset(t, i);
      if (bits % 8 != 0 || btf_member_bitfield_size(t, i) != 0 ||
          btf__resolve_size(vmlinux, m->type) != static_cast<long>(size))
        return false;
      offset = bits / 8;
      return true;
    }
    return false;
  };
  const int func = btf__find_by_name_kind(vmlinux, "bpf_iter_bpf_map", BTF_KIND_FUNC);
  const bool fields = member("bpf_map", "id", 4, out.id) &&
                      member("bpf_map", "map_type", 4, out.type) &&
                      member("bpf_map", "key_size", 4, out.key_size) &&
                      member("bpf_map", "value_size", 4, out.value_size) &&
                      member("bpf_map", "max_entries", 4, out.max_entries) &&
                      member("bpf_map", "map_flags", 4, out.map_flags) &&
                      member("bpf_map", "btf_key_type_id", 4, out.btf_key) &&
                      member("bpf_map", "btf_value_type_id", 4, out.btf_value) &&
                      member("bpf_map", "btf", 8, out.btf) &&
                      member("bpf_map", "name", 16, out.name) && member("btf", "id", 4, out.btf_id);
  btf__free(vmlinux);
  if (func <= 0) {
    out.why = detail::format("this kernel has no BPF map iterator (bpf_iter_bpf_map, kernel {}+)",
                             kernel::info(kernel::Feature::iterators).min_kernel.str());
    return out;
  }
  if (!fields) {
    out.why = "struct bpf_map in this kernel's BTF lacks a field the map iterator reads";
    return out;
  }
  out.attach_btf_id = static_cast<std::uint32_t>(func);
  out.ok = true;
  return out;
}

/// The layout, found once per process. (This and map_iter_program() are templates over a
/// parameter nobody gives, as describe_maps_unopened(), their one caller: as plain inline
/// functions they compiled the layout's reading and the program's vector in every file.)
template <class = void>
const MapIterLayout& map_iter_layout() {
  static const MapIterLayout layout = load_map_iter_layout();
  return layout;
}

// The iterator program: for each map, copy its fields into a MapIterRecord on the stack and
// bpf_seq_write() it.
template <class = void>
std::vector<bpf_insn> map_iter_program(const MapIterLayout& l) {
  std::vector<bpf_insn> p;
  const auto insn = [&](std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
                        std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    p.push_back(i);
  };
  constexpr std::int16_t rec = -static_cast<std::int16_t>(sizeof(MapIterRecord)); // r10 + rec
  const auto slot = [](std::size_t field) { return static_cast<std::int16_t>(rec + field); };
  const auto off16 = [](std::uint32_t off) { return static_cast<std::int16_t>(off); };
  insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_6, BPF_REG_1, 0, 0); // r6 = ctx->meta
  insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_7, BPF_REG_1, 8, 0); // r7 = ctx->map
  const std::size_t skip = p.size();
  insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_7, 0, 0, 0); // if !map: done (patched below)
  const struct {
    std::uint32_t from;
    std::size_t to;
  } words[] = {{l.id, offsetof(MapIterRecord, id)},
               {l.type, offsetof(MapIterRecord, type)},
               {l.key_size, offsetof(MapIterRecord, key_size)},
               {l.value_size, offsetof(MapIterRecord, value_size)},
               {l.max_entries, offsetof(MapIterRecord, max_entries)},
               {l.map_flags, offsetof(MapIterRecord, map_flags)},
               {l.btf_key, offsetof(MapIterRecord, btf_key_type_id)},
               {l.btf_value, offsetof(MapIterRecord, btf_value_type_id)}};
  for (const auto& w : words) {
    insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_7, off16(w.from), 0);
    insn(BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_2, slot(w.to), 0);
  }
  // map->btf->id, 0 when the map has no BTF.
  insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_3, BPF_REG_7, off16(l.btf), 0);
  insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 0);
  insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_3, 0, 1, 0);
  insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_3, off16(l.btf_id), 0);
  insn(BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_2, slot(offsetof(MapIterRecord, btf_id)), 0);
  // The name byte by byte: the verifier allows loads from a char array one element at a time.
  for (std::int16_t i = 0; i < 16; ++i) {
    insn(BPF_LDX | BPF_MEM | BPF_B, BPF_REG_2, BPF_REG_7, static_cast<std::int16_t>(l.name + i), 0);
    insn(BPF_STX | BPF_MEM | BPF_B, BPF_REG_10, BPF_REG_2,
         static_cast<std::int16_t>(slot(offsetof(MapIterRecord, name)) + i), 0);
  }
  insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, slot(offsetof(MapIterRecord, pad)), 0);
  // bpf_seq_write(meta->seq, &record, sizeof record)
  insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_6, 0, 0);
  insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
  insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, rec);
  insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, sizeof(MapIterRecord));
  insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_seq_write);
  p[skip].off = static_cast<std::int16_t>(p.size() - skip - 1);
  insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
  insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return p;
}

/// Every map on the machine, described by the iterator without opening any; nullopt when the
/// iterator cannot run here (`why` says why: an old kernel, no BTF, a refusal).
template <class = void>
std::optional<std::vector<MapInfo>> describe_maps_unopened(std::string* why = nullptr) {
  const auto no = [&](std::string reason) -> std::optional<std::vector<MapInfo>> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  const MapIterLayout& layout = map_iter_layout();
  if (!layout.ok) return no(layout.why);
  const std::vector<bpf_insn> insns = map_iter_program(layout);
  bpf_prog_load_opts opts;
  init_opts(opts);
  opts.expected_attach_type = BPF_TRACE_ITER;
  opts.attach_btf_id = layout.attach_btf_id;
  // GPL: bpf_seq_write is a GPL-only helper (the program is ebpfpp's own, built here).
  UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_TRACING, "ebpfpp_maps", "GPL", insns.data(),
                              insns.size(), &opts));
  if (!prog) return no(detail::format("load the map iterator: errno {}", errno));
  UniqueFd link(bpf_link_create(prog.get(), 0, BPF_TRACE_ITER, nullptr));
  if (!link) return no(detail::format("attach the map iterator: errno {}", errno));
  UniqueFd iter(bpf_iter_create(link.get()));
  if (!iter) return no(detail::format("start the map iterator: errno {}", errno));
  std::string bytes;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(iter.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return no(detail::format("read the map iterator: errno {}", errno));
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  std::vector<MapInfo> out;
  for (std::size_t at = 0; at + sizeof(MapIterRecord) <= bytes.size();
       at += sizeof(MapIterRecord)) {
    MapIterRecord r;
    std::memcpy(&r, bytes.data() + at, sizeof r);
    out.push_back(map_info_from(r));
  }
  return out;
}

} // namespace ebpfpp::detail
