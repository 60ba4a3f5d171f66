#pragma once
// Kernel ABI values newer than the uapi headers ebpfpp may be built with (Debian 12 ships 6.1's
// linux/bpf.h), and the raw bpf() syscall for what libbpf 1.1 has no function for. The one place
// for them: a header that needs a newer value takes it from here.

#include "config.hpp"

#include <cstdint>

#include <sys/syscall.h>
#include <unistd.h>

namespace ebpfpp::kernel::detail {

// uapi values newer than the headers ebpfpp may be built with (Debian 12 ships 6.1's).
inline constexpr int attach_netfilter = 45;
inline constexpr int attach_tcx_ingress = 46;
inline constexpr int attach_uprobe_multi = 48;
inline constexpr int prog_type_netfilter = 32;
inline constexpr int map_type_user_ringbuf = 31;
inline constexpr int cmd_token_create = 36;

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

inline long sys_bpf(int cmd, void* attr, unsigned size) noexcept {
  return ::syscall(__NR_bpf, cmd, attr, size);
}

} // namespace ebpfpp::kernel::detail
