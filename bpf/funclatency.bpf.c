// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* funclatency: a user function's latency as a log2 histogram (the funclatency example).
 * A uprobe stamps each call's start per thread; the uretprobe adds the elapsed time's log2
 * bucket to `hist`. User space reads (and clears) the histogram every interval. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "funclatency.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* 0: every process; else only this one. */
const volatile __u32 target_tgid = 0;
/* Divide nanoseconds by this before bucketing (1: ns, 1000: us, 1000000: ms). */
const volatile __u64 unit_ns = 1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 10240);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, FUNCLATENCY_SLOTS);
} hist SEC(".maps");

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;
	shift = (v > 0xffffffffULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

SEC("uprobe")
int BPF_KPROBE(func_entry)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (target_tgid && (id >> 32) != target_tgid)
		return 0;
	__u32 tid = (__u32)id;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &tid, &now, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(func_exit)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *start = bpf_map_lookup_elem(&starts, &tid);
	if (!start)
		return 0; /* entered before we attached, or filtered out */
	__u64 delta = (bpf_ktime_get_ns() - *start) / unit_ns;
	bpf_map_delete_elem(&starts, &tid);
	/* Bucket b holds [2^b, 2^(b+1)); bucket 0 also holds 0. */
	__u32 slot = delta ? log2_u64(delta) : 0;
	if (slot >= FUNCLATENCY_SLOTS)
		slot = FUNCLATENCY_SLOTS - 1;
	__u64 *count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}
