// SPDX-License-Identifier: GPL-2.0
// For the kernel tests of mmap_array.hpp: BPF_F_MMAPABLE arrays that one process's getppid calls
// read and write while user space reads and writes the same memory in place.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct slot {
	__u64 hits;
	__u64 limit;
};

// [0].hits: the calls; [1].limit: [2].limit * 2, from what user space wrote in [2].
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct slot);
} slots SEC(".maps");

// 4-byte values, laid out 8 bytes apart: [i] = i * 10 + the calls.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} words SEC(".maps");

// An array of the same shape without the flag: not mappable.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, struct slot);
} plain SEC(".maps");

const volatile int target_tgid = 0;

SEC("tp/syscalls/sys_enter_getppid")
int touch_slots(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	__u32 i0 = 0, i1 = 1, i2 = 2;
	struct slot *calls = bpf_map_lookup_elem(&slots, &i0);
	struct slot *out = bpf_map_lookup_elem(&slots, &i1);
	struct slot *in = bpf_map_lookup_elem(&slots, &i2);
	if (!calls || !out || !in)
		return 0;
	__sync_fetch_and_add(&calls->hits, 1);
	out->limit = in->limit * 2;
	for (__u32 i = 0; i < 5; i++) {
		__u32 *w = bpf_map_lookup_elem(&words, &i);
		if (w)
			*w = i * 10 + (__u32)calls->hits;
	}
	return 0;
}
