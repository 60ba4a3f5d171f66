// SPDX-License-Identifier: GPL-2.0
// A program the verifier must reject: it dereferences a map lookup's result without the NULL
// check (a hash map: newer verifiers know an array lookup with a constant in-range key cannot
// fail). The kernel tests assert that the load Error carries the verifier's complaint.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int missing_null_check(void *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&values, &key);
	return *value; // no NULL check: "invalid mem access 'map_value_or_null'"
}
