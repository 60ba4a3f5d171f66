// SPDX-License-Identifier: GPL-2.0
// profiler's kernel side: run by a perf event on every CPU some 99 times a second, it records
// the interrupted thread's user and kernel stacks and counts the samples of each distinct
// (process, user stack, kernel stack).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/count.bpf.h>

char LICENSE[] SEC("license") = "GPL";

// 0: every process; else only this one. Set by user space before load.
const volatile __u32 target_pid = 0;

// Stacks by id, as bpf_get_stackid() stores them: up to 127 return addresses, innermost first.
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
	__uint(max_entries, 16384);
} stacks SEC(".maps");

// What a sample saw. User space gets this type from the object's BTF (the typed skeleton's
// profiler::sample_key): no header is shared by hand.
struct sample_key {
	__u32 pid;
	__s32 user_stack;   // an id in `stacks`; < 0 when there is none (a kernel thread)
	__s32 kernel_stack; // < 0 when the sample interrupted user code
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sample_key);
	__type(value, __u64);
} samples SEC(".maps");

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32; // the process (tgid); the low half is the thread

	if ((__u32)id == 0)
		return 0; // the idle task: a CPU with nothing to do is no one's cost
	if (target_pid && pid != target_pid)
		return 0;

	struct sample_key key = {.pid = pid};
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.user_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	key.kernel_stack = bpf_get_stackid(ctx, &stacks, 0);
	// Two CPUs can see a new key at once: ebpfpp_count adds to the entry the other one made.
	ebpfpp_count(&samples, &key, 1);
	return 0;
}
