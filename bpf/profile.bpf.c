// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* profile: counts on-CPU stacks sampled by a perf event (the profile example and its tests).
 * Each sample records the process, its user and kernel stacks (ids into `stacks`) and bumps the
 * count of that combination in `counts`; user space symbolizes the stacks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <ebpfpp/count.bpf.h>
#include <ebpfpp/errno.bpf.h>

#include "profile.h"

/* 0: every process; else only this one. */
const volatile __u32 target_tgid = 0;
/* Count the idle task's samples too (off: an idle CPU is not a profile's subject). */
const volatile bool include_idle = false;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PROFILE_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct profile_key);
	__type(value, __u64);
	__uint(max_entries, 16384);
} counts SEC(".maps");

/* Samples whose stacks could not be stored (the stack map full or a hash collision). */
__u64 lost_stacks = 0;

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u32 tid = (__u32)id;

	if (tid == 0 && !include_idle)
		return 0;
	if (target_tgid && tgid != target_tgid)
		return 0;

	struct profile_key key = {};
	key.tgid = tgid;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.user_stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	key.kernel_stack_id = bpf_get_stackid(ctx, &stacks, 0);
	if (key.user_stack_id == -EEXIST || key.kernel_stack_id == -EEXIST ||
	    key.user_stack_id == -ENOMEM || key.kernel_stack_id == -ENOMEM)
		__sync_fetch_and_add(&lost_stacks, 1);

	ebpfpp_count(&counts, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
