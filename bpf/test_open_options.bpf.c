// SPDX-License-Identifier: GPL-2.0
// Open options (tests/kernel/open_options_test.cpp): a CO-RE read of the current task, loaded
// against a BTF file given at open; a map pinned by name under the pin root; maps to resize and
// to reuse before load. Both programs are raw_tp, run with BPF_PROG_TEST_RUN.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Pinned at <pin root>/shared: every object opened with the same pin root uses this one map. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared SEC(".maps");

/* Resized (max_entries) and reused (by fd, from another Object) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* A ring buffer to resize (one page as declared). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* An array whose value size is set at open: `bump` writes its first 8 bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

/* What read_task saw of the task that ran it. */
__u32 task_tgid = 0;
__u32 task_ppid = 0;

/* The only CO-RE relocations of the object (task_struct's tgid and real_parent): a BTF without
 * task_struct fails here and nowhere else. */
SEC("raw_tp")
int read_task(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	task_tgid = BPF_CORE_READ(t, tgid);
	task_ppid = BPF_CORE_READ(t, real_parent, tgid);
	return 0;
}

static __always_inline void add_one(void *map, __u32 *key)
{
	__u64 one = 1;
	__u64 *v = bpf_map_lookup_elem(map, key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

/* shared[key] += 1, counts[key] += 1, values[0] = key; key is the first argument. The context is
 * read as the raw u64 array it is (no CO-RE: see read_task). */
SEC("raw_tp")
int bump(__u64 *ctx)
{
	__u32 key = (__u32)ctx[0];
	__u32 zero = 0;
	add_one(&shared, &key);
	add_one(&counts, &key);
	__u64 *slot = bpf_map_lookup_elem(&values, &zero);
	if (slot)
		*slot = key;
	return 0;
}
