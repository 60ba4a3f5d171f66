#pragma once
// The one room for kernel ABI facts newer than what ebpfpp may be built with: Debian 12 ships
// 6.1's linux/bpf.h and libbpf 1.1, which know neither the values below nor the links that use
// them. Here are those values (each once, with the kernel that added it), the raw bpf() syscall,
// and BPF_LINK_CREATE's attribute for each link shape libbpf 1.1 cannot make, one function per
// shape. A header that needs a newer value or a raw link takes it from here.

#include "config.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unique_fd.hpp"

namespace ebpfpp::detail::uapi {

// --- values (enum bpf_cmd, bpf_prog_type, bpf_map_type, bpf_attach_type, flags) ---------------

inline constexpr int cmd_token_create = 36;        // BPF_TOKEN_CREATE, 6.9
inline constexpr int cmd_prog_stream_read = 37;    // BPF_PROG_STREAM_READ_BY_FD, 6.17
inline constexpr int prog_type_netfilter = 32;     // BPF_PROG_TYPE_NETFILTER, 6.4
inline constexpr int map_type_user_ringbuf = 31;   // BPF_MAP_TYPE_USER_RINGBUF, 6.1
inline constexpr int map_type_cgrp_storage = 32;   // BPF_MAP_TYPE_CGRP_STORAGE, 6.2
inline constexpr int map_type_arena = 33;          // BPF_MAP_TYPE_ARENA, 6.9
inline constexpr int attach_netfilter = 45;        // BPF_NETFILTER, 6.4
inline constexpr int attach_tcx_ingress = 46;      // BPF_TCX_INGRESS, 6.6
inline constexpr int attach_tcx_egress = 47;       // BPF_TCX_EGRESS, 6.6
inline constexpr int attach_uprobe_multi = 48;     // BPF_TRACE_UPROBE_MULTI, 6.6
inline constexpr int attach_netkit_primary = 54;   // BPF_NETKIT_PRIMARY, 6.7
inline constexpr int attach_netkit_peer = 55;      // BPF_NETKIT_PEER, 6.7
inline constexpr int attach_kprobe_session = 56;   // BPF_TRACE_KPROBE_SESSION, 6.10
inline constexpr int attach_uprobe_session = 57;   // BPF_TRACE_UPROBE_SESSION, 6.13
inline constexpr std::uint32_t f_before = 1u << 3; // BPF_F_BEFORE (tcx anchors), 6.6
inline constexpr std::uint32_t f_after = 1u << 4;  // BPF_F_AFTER, 6.6
inline constexpr std::uint32_t f_link = 1u << 13;  // BPF_F_LINK: the anchor fd is a link's, 6.6
inline constexpr std::uint32_t netfilter_ip_defrag = 1u << 0; // BPF_F_NETFILTER_IP_DEFRAG, 6.6
inline constexpr std::uint32_t uprobe_multi_return = 1u << 0; // BPF_F_UPROBE_MULTI_RETURN, 6.6
// ENOTSUPP, the kernel's internal "not supported": it reaches user space (a test run of a type
// without one, batch operations on a map type without them), but errno.h does not name it.
inline constexpr int enotsupp = 524;
inline constexpr std::uint16_t ifla_netkit_peer_info = 1; // IFLA_NETKIT_PEER_INFO (rtnetlink), 6.7

/// bpf(2) itself, for the commands libbpf 1.1 has no function for. -1 with errno on failure.
inline long sys_bpf(int cmd, void* attr, unsigned size) noexcept {
  return ::syscall(__NR_bpf, cmd, attr, size);
}

// --- BPF tokens (6.9) --------------------------------------------------------------------------
// A token (BPF_TOKEN_CREATE on the root of a bpffs mounted with delegate_* options, by root of
// the user namespace that owns the mount) lets that namespace create maps, load programs and
// load BTF of the kinds the mount delegates. The three commands take it in a field after those
// 6.1's linux/bpf.h knows, with BPF_F_TOKEN_FD in the command's flags: the flag came with the
// token fields (bpf-next, December 2023) before tokens first shipped in 6.9, and a kernel with
// tokens reads the fd only when the flag is set. No other command takes a token.

inline constexpr std::uint32_t f_token_fd = 1u << 16; // BPF_F_TOKEN_FD, 6.9
// BPF_MAP_CREATE: map_extra (u64), value_type_btf_obj_fd (s32), map_token_fd (s32).
inline constexpr std::size_t map_token_fd_off = offsetof(bpf_attr, map_extra) + 8 + 4;
// BPF_PROG_LOAD: core_relo_rec_size (u32), log_true_size (u32), prog_token_fd (s32).
inline constexpr std::size_t prog_token_fd_off = offsetof(bpf_attr, core_relo_rec_size) + 4 + 4;
// BPF_BTF_LOAD: btf_log_level (u32), btf_log_true_size (u32), btf_flags (u32), btf_token_fd.
inline constexpr std::size_t btf_flags_off = offsetof(bpf_attr, btf_log_level) + 4 + 4;
inline constexpr std::size_t btf_token_fd_off = btf_flags_off + 4;
static_assert(map_token_fd_off == 76 && prog_token_fd_off == 144 && btf_token_fd_off == 36);

/// A token from the bpffs whose root directory is open at `bpffs_fd` (O_RDONLY, not O_PATH):
/// its fd, or -1 with errno (ENOENT: the mount delegates nothing; EPERM: not root of the user
/// namespace that owns the mount; EINVAL: not a bpffs root; EOPNOTSUPP: the initial user
/// namespace, which needs no token).
inline int token_create(int bpffs_fd) noexcept {
  struct {
    std::uint32_t flags, bpffs_fd;
  } attr{0, static_cast<std::uint32_t>(bpffs_fd)};
  return static_cast<int>(sys_bpf(cmd_token_create, &attr, sizeof attr));
}

// --- BPF_PROG_STREAM_READ_BY_FD (6.17) --------------------------------------------------------
// Each program has two text streams in the kernel, written by the bpf_stream_vprintk kfunc
// (named bpf_stream_vprintk_impl from 6.18) and by the kernel's own reports of a program's faults
// (stderr: a may_goto timeout, a deadlock, an arena fault). A read moves up to `len` bytes out
// of one stream: it consumes them, never blocks, and returns 0 when the stream is empty. The
// stream has no fd to poll: its reader has to look again.

inline constexpr std::uint32_t stream_stdout = 1; // BPF_STDOUT (enum bpf_stream_id)
inline constexpr std::uint32_t stream_stderr = 2; // BPF_STDERR

// union bpf_attr's prog_stream_read. The kernel refuses (EINVAL) an attr whose bytes after
// prog_fd are not zero, so the size passed is up to prog_fd's end, not sizeof with padding.
struct ProgStreamReadAttr {
  std::uint64_t stream_buf;
  std::uint32_t stream_buf_len;
  std::uint32_t stream_id;
  std::uint32_t prog_fd;
};
inline constexpr unsigned prog_stream_read_size = offsetof(ProgStreamReadAttr, prog_fd) + 4;
static_assert(prog_stream_read_size == 20);

/// Reads up to `len` bytes of stream `stream_id` of the program `prog_fd` into `buf`: how many
/// (0: the stream is empty), or -1 with errno (EBADF: not an fd; EINVAL: not a program's fd, or
/// a kernel without streams; ENOENT: no such stream).
inline long prog_stream_read(int prog_fd, std::uint32_t stream_id, void* buf,
                             std::uint32_t len) noexcept {
  ProgStreamReadAttr attr{reinterpret_cast<std::uintptr_t>(buf), len, stream_id,
                          static_cast<std::uint32_t>(prog_fd)};
  return sys_bpf(cmd_prog_stream_read, &attr, prog_stream_read_size);
}

// --- BPF_LINK_CREATE --------------------------------------------------------------------------
// union bpf_attr's link_create: a common head, then a tail of the attach type's shape at offset
// 16. Each function below fills one shape and returns the link's fd, empty with errno set on
// failure (what detail::attach_link expects of a raw attach).

struct LinkCreateHead {
  std::uint32_t prog_fd;
  std::uint32_t target; // target_fd or target_ifindex
  std::uint32_t attach_type;
  std::uint32_t flags;
};

template <class Tail>
UniqueFd link_create(int prog_fd, std::uint32_t target, int attach_type, std::uint32_t flags,
                     const Tail& tail) noexcept {
  struct {
    LinkCreateHead head;
    Tail tail;
  } attr{
      {static_cast<std::uint32_t>(prog_fd), target, static_cast<std::uint32_t>(attach_type), flags},
      tail};
  static_assert(offsetof(decltype(attr), tail) == 16);
  return UniqueFd(static_cast<int>(sys_bpf(BPF_LINK_CREATE, &attr, sizeof attr)));
}

/// A link placed among the others on its hook (6.6: link_create.tcx, whose shape netkit's shares)
/// by `flags` (f_before, f_after, f_link) relative to `relative_fd`, refused with ESTALE unless
/// the hook is at `expected_revision` (0: any).
inline UniqueFd link_create_ordered(int prog_fd, int ifindex, int attach_type, std::uint32_t flags,
                                    int relative_fd, std::uint64_t expected_revision) noexcept {
  struct {
    std::uint32_t relative_fd; // or relative_id with BPF_F_ID
    std::uint64_t expected_revision;
  } tail{static_cast<std::uint32_t>(relative_fd), expected_revision};
  return link_create(prog_fd, static_cast<std::uint32_t>(ifindex), attach_type, flags, tail);
}

/// A tcx link (6.6) on `ifindex`'s ingress or egress, placed as link_create_ordered places.
inline UniqueFd link_create_tcx(int prog_fd, int ifindex, bool egress, std::uint32_t flags,
                                int relative_fd, std::uint64_t expected_revision) noexcept {
  return link_create_ordered(prog_fd, ifindex, egress ? attach_tcx_egress : attach_tcx_ingress,
                             flags, relative_fd, expected_revision);
}

/// A netkit link (6.7) on the netkit device `ifindex` (always the primary's), for its primary
/// or, with `peer`, its peer; placed as link_create_ordered places.
inline UniqueFd link_create_netkit(int prog_fd, int ifindex, bool peer, std::uint32_t flags,
                                   int relative_fd, std::uint64_t expected_revision) noexcept {
  return link_create_ordered(prog_fd, ifindex, peer ? attach_netkit_peer : attach_netkit_primary,
                             flags, relative_fd, expected_revision);
}

/// A netfilter link (6.4: link_create.netfilter) on hook `hooknum` of family `pf` in the
/// caller's network namespace; `flags` may hold netfilter_ip_defrag (6.6).
inline UniqueFd link_create_netfilter(int prog_fd, std::uint32_t pf, std::uint32_t hooknum,
                                      std::int32_t priority, std::uint32_t flags) noexcept {
  struct {
    std::uint32_t pf, hooknum;
    std::int32_t priority;
    std::uint32_t flags;
  } tail{pf, hooknum, priority, flags};
  return link_create(prog_fd, 0, attach_netfilter, 0, tail);
}

/// A uprobe.multi link (6.6: link_create.uprobe_multi) at `offsets` of the file at `path`, with
/// one cookie per offset (or none), for process `pid` (0: every process); `flags` may hold
/// uprobe_multi_return. A uprobe session (6.13) is the same shape with attach_uprobe_session
/// as `attach_type` and no flags.
inline UniqueFd link_create_uprobe_multi(int prog_fd, const char* path,
                                         std::span<const std::uint64_t> offsets,
                                         const std::uint64_t* cookies, std::uint32_t flags,
                                         std::uint32_t pid,
                                         int attach_type = attach_uprobe_multi) noexcept {
  struct {
    std::uint64_t path, offsets, ref_ctr_offsets, cookies;
    std::uint32_t cnt, flags, pid;
  } tail{reinterpret_cast<std::uintptr_t>(path),
         reinterpret_cast<std::uintptr_t>(offsets.data()),
         0,
         reinterpret_cast<std::uintptr_t>(cookies),
         static_cast<std::uint32_t>(offsets.size()),
         flags,
         pid};
  return link_create(prog_fd, 0, attach_type, 0, tail);
}

/// A kprobe.multi link (5.18: link_create.kprobe_multi) on the kernel functions `syms`, with one
/// cookie per symbol (or none). libbpf 1.1 makes kprobe.multi links itself
/// (bpf_program__attach_kprobe_multi_opts); the feature probes and kprobe sessions (6.10: the
/// same shape with attach_kprobe_session as `attach_type` and no flags) need it raw.
inline UniqueFd link_create_kprobe_multi(int prog_fd, std::span<const char* const> syms,
                                         std::uint32_t flags,
                                         const std::uint64_t* cookies = nullptr,
                                         int attach_type = BPF_TRACE_KPROBE_MULTI) noexcept {
  struct {
    std::uint32_t flags, cnt;
    std::uint64_t syms, addrs, cookies;
  } tail{flags, static_cast<std::uint32_t>(syms.size()),
         reinterpret_cast<std::uintptr_t>(syms.data()), 0,
         reinterpret_cast<std::uintptr_t>(cookies)};
  return link_create(prog_fd, 0, attach_type, 0, tail);
}

// --- link info and hook queries (link_info.hpp, attached.hpp) --------------------------------

// Link types after 6.1's BPF_LINK_TYPE_STRUCT_OPS (9), and the kinds of a perf-event link (6.6).
inline constexpr int link_type_netfilter = 10;
inline constexpr int link_type_tcx = 11;
inline constexpr int link_type_uprobe_multi = 12;
inline constexpr int link_type_netkit = 13;
inline constexpr int link_type_sockmap = 14;
inline constexpr std::uint32_t perf_event_uprobe = 1;
inline constexpr std::uint32_t perf_event_uretprobe = 2;
inline constexpr std::uint32_t perf_event_kprobe = 3;
inline constexpr std::uint32_t perf_event_kretprobe = 4;
inline constexpr std::uint32_t perf_event_tracepoint = 5;
inline constexpr std::uint32_t perf_event_event = 6;

// struct bpf_link_info as of 6.18 (6.1's lacks perf_event, tcx, netkit, sockmap, the multi-probe
// members and the cookies). The kernel fills what it knows and zeroes the rest; an older kernel
// takes a larger struct as long as the bytes it does not know are zero. Pointers (tp_name,
// file_name, ...) are buffers we provide, with their length in the member after.
// Written as the kernel writes it, with unnamed structs inside anonymous unions: clang calls
// that an extension under -Wpedantic (g++ does not), so its warning is off for this struct.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wnested-anon-types"
#endif
struct LinkInfoRaw {
  std::uint32_t type;
  std::uint32_t id;
  std::uint32_t prog_id;
  union {
    struct {
      std::uint64_t tp_name;
      std::uint32_t tp_name_len;
      std::uint64_t cookie;
    } raw_tracepoint;
    struct {
      std::uint32_t attach_type, target_obj_id, target_btf_id;
      std::uint64_t cookie;
    } tracing;
    struct {
      std::uint64_t cgroup_id;
      std::uint32_t attach_type;
    } cgroup;
    struct {
      std::uint64_t target_name;
      std::uint32_t target_name_len;
      std::uint32_t map_id;
      union {
        struct {
          std::uint64_t cgroup_id;
          std::uint32_t order;
        } cgroup;
        struct {
          std::uint32_t tid, pid;
        } task;
      };
    } iter;
    struct {
      std::uint32_t netns_ino, attach_type;
    } netns;
    struct {
      std::uint32_t ifindex;
    } xdp;
    struct {
      std::uint32_t map_id;
    } struct_ops;
    struct {
      std::uint32_t pf, hooknum;
      std::int32_t priority;
      std::uint32_t flags;
    } netfilter;
    struct {
      std::uint64_t addrs;
      std::uint32_t count, flags;
      std::uint64_t missed, cookies;
    } kprobe_multi;
    struct {
      std::uint64_t path, offsets, ref_ctr_offsets, cookies;
      std::uint32_t path_size, count, flags, pid;
    } uprobe_multi;
    struct {
      std::uint32_t type;
      union {
        struct {
          std::uint64_t file_name;
          std::uint32_t name_len, offset;
          std::uint64_t cookie, ref_ctr_offset;
        } uprobe;
        struct {
          std::uint64_t func_name;
          std::uint32_t name_len, offset;
          std::uint64_t addr, missed, cookie;
        } kprobe;
        struct {
          std::uint64_t tp_name;
          std::uint32_t name_len;
          std::uint64_t cookie;
        } tracepoint;
        struct {
          std::uint64_t config;
          std::uint32_t type;
          std::uint64_t cookie;
        } event;
      };
    } perf_event;
    struct {
      std::uint32_t ifindex, attach_type;
    } tcx, netkit;
    struct {
      std::uint32_t map_id, attach_type;
    } sockmap;
  };
};
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
static_assert(sizeof(LinkInfoRaw) == 64);

// BPF_PROG_QUERY's attr as of 6.6 (6.1's lacks link_ids, link_attach_flags and revision, which
// tcx fills: the programs in run order, each with its link).
struct ProgQueryAttr {
  std::uint32_t target; // fd, or ifindex for tcx
  std::uint32_t attach_type;
  std::uint32_t query_flags;
  std::uint32_t attach_flags;
  std::uint64_t prog_ids;
  std::uint32_t count;
  std::uint32_t pad;
  std::uint64_t prog_attach_flags;
  std::uint64_t link_ids;
  std::uint64_t link_attach_flags;
  std::uint64_t revision;
};
static_assert(sizeof(ProgQueryAttr) == 64);

} // namespace ebpfpp::detail::uapi
