// SPDX-License-Identifier: GPL-2.0
// Globals in every data section, for the kernel tests of globals.hpp: `observe` (raw_tp, run
// with BPF_PROG_TEST_RUN) reads what user space wrote and writes what user space reads.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct pair {
	__u32 a;
	__u32 b;
};

const volatile __u32 multiplier = 1; // .rodata
__u32 step = 1;			     // .data
struct pair pair_g = {1, 2};	     // .data
__u64 counter = 0;		     // .bss
__s32 last_seen = 0;		     // .bss

// counter += step * multiplier; last_seen = pair_g.a + pair_g.b; returns counter.
SEC("raw_tp")
int observe(void *ctx)
{
	counter += step * multiplier;
	last_seen = pair_g.a + pair_g.b;
	return (int)counter;
}
