/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The key of profile's sample counts, shared by the BPF side and the C++ side. */
#ifndef PROFILE_H
#define PROFILE_H

#define PROFILE_STACK_DEPTH 127

/* One distinct (process, user stack, kernel stack); the map's value counts its samples. */
struct profile_key {
	unsigned int tgid;
	int user_stack_id;   /* bpf_get_stackid() result: < 0 when there is no user stack */
	int kernel_stack_id; /* < 0 when the sample hit user mode */
	char comm[16];
};

#endif
