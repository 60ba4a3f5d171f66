// SPDX-License-Identifier: GPL-2.0
// hello-map: the chapter's second program. Counts syscalls in a hash map, by the caller's uid
// (the chapter's key) or by syscall number (by_syscall, set from user space before load).
// Three hooks for the same work; user space loads and attaches one of them:
//   count_kprobe     a syscall kprobe, attached once per syscall with the syscall number as the
//                    link's cookie (the chapter's choice; needs kprobes and kernel 5.15+)
//   count_tracepoint syscalls/sys_enter_<name> tracepoints, for kernels without kprobes
//   count_raw_tp     the raw tracepoint sys_enter: every syscall
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/count.bpf.h>

char LICENSE[] SEC("license") = "GPL";

const volatile bool by_syscall = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);   // uid, or syscall number
	__type(value, __u64); // calls
} counter_table SEC(".maps");

static __always_inline void count(__u32 syscall_nr)
{
	// The low 32 bits of bpf_get_current_uid_gid() are the uid.
	__u32 key = by_syscall ? syscall_nr : (__u32)bpf_get_current_uid_gid();

	// counter_table[key] += 1. The chapter looks the key up, adds 1 if it is there and inserts
	// 1 if not; ebpfpp_count does the same, and also counts right when another CPU inserts the
	// same new key between the lookup and the insert (see ebpfpp/count.bpf.h).
	ebpfpp_count(&counter_table, &key, 1);
}

SEC("ksyscall")
int count_kprobe(void *ctx)
{
	count(by_syscall ? (__u32)bpf_get_attach_cookie(ctx) : 0);
	return 0;
}

// The start of every syscalls/sys_enter_* record (see its format file). Not vmlinux.h's
// trace_event_raw_sys_enter: the kernel refuses to attach a program that reads past the end of
// the record, and the record of a syscall without arguments (getppid) ends after the number.
struct sys_enter_record {
	__u64 common; // struct trace_entry
	int syscall_nr;
};

SEC("tracepoint")
int count_tracepoint(struct sys_enter_record *ctx)
{
	count((__u32)ctx->syscall_nr);
	return 0;
}

SEC("raw_tp/sys_enter")
int count_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	// sys_enter(struct pt_regs *regs, long id)
	count((__u32)ctx->args[1]);
	return 0;
}
