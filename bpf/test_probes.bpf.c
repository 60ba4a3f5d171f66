// SPDX-License-Identifier: GPL-2.0
// Programs for the user-space probe and BTF tracing tests: USDT, uprobe.multi, tp_btf.
// Each test loads only the program it attaches (set_autoload), so a kernel without one of the
// hooks does not fail the others' load.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int target_tgid = 0;

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == (__u64)target_tgid;
}

/* USDT ebpfpp_test:tick(i, i * 3): the arguments of each firing, in order. */
__u64 usdt_hits = 0;
long usdt_args[64][2] = {};
__u64 usdt_cookie = 0;

SEC("usdt")
int BPF_USDT(on_usdt_tick, long i, long j)
{
	if (!mine())
		return 0;
	/* Not an atomic fetch-add (BPF_FETCH needs 5.12): the test fires from one thread. */
	__u64 n = usdt_hits++;
	if (n < 64) {
		usdt_args[n][0] = i;
		usdt_args[n][1] = j;
	}
	usdt_cookie = bpf_usdt_cookie(ctx);
	return 0;
}

/* uprobe.multi: hits per cookie (the function's index). Loaded as SEC("uprobe") with the
 * expected attach type set from user space (libbpf 1.1 does not know SEC("uprobe.multi")). */
__u64 multi_hits[8] = {};

SEC("uprobe")
int count_uprobe_multi(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	if (mine() && cookie < 8)
		__sync_fetch_and_add(&multi_hits[cookie], 1);
	return 0;
}

/* tp_btf sched_process_exec: the first exec of a child of target_tgid. */
__u32 exec_pid = 0;
__u32 exec_old_pid = 0;
char exec_comm[16] = {};
__u64 exec_hits = 0;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (p->real_parent->tgid != target_tgid)
		return 0;
	if (exec_hits++ == 0) { /* one exec at a time in the test: no atomic needed */
		exec_pid = p->tgid;
		exec_old_pid = old_pid;
		bpf_probe_read_kernel_str(exec_comm, sizeof(exec_comm), p->comm);
	}
	return 0;
}

/* A map-element iterator (SEC("iter/bpf_map_elem"), 5.9+) over a hash map u32 -> u64 that user
 * space fills: one record {key, value} per element, and the element count and sums in .bss, so
 * the test can check the walk saw every element exactly once. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} iter_elems SEC(".maps");

__u64 iter_elem_count = 0;
__u64 iter_key_sum = 0;
__u64 iter_value_sum = 0;

SEC("iter/bpf_map_elem")
int dump_elems(struct bpf_iter__bpf_map_elem *ctx)
{
	__u32 *key = ctx->key;
	__u64 *value = ctx->value;
	if (!key || !value)
		return 0; /* the end of the walk */
	__u64 rec[2] = {*key, *value};
	iter_elem_count++;
	iter_key_sum += *key;
	iter_value_sum += *value;
	bpf_seq_write(ctx->meta->seq, rec, sizeof(rec));
	return 0;
}
