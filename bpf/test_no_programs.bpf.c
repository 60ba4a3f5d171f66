// SPDX-License-Identifier: GPL-2.0
// An object with maps and no programs (a valid ELF that libbpf opens and loads): the bad-input
// tests ask it for a program and check that the Error says it has none.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} only_map SEC(".maps");
