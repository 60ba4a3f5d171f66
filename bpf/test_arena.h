/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The list bpf/test_arena.bpf.c builds in an arena, one type for both sides: the BPF program
 * writes it, tests/kernel/arena_test.cpp walks it with ordinary pointers. Pointers are 8 bytes
 * on both sides (BPF and x86-64/arm64), and `next` holds a user-space address: valid as it is
 * in the process that maps the arena, and turned by the BPF side into a pointer it may follow
 * (see arena_access() in the .bpf.c). */
#ifndef EBPFPP_TEST_ARENA_H
#define EBPFPP_TEST_ARENA_H

/* At most this many nodes: they fit in one page (ARENA_MAX_NODES * 24 < 4096). */
#define ARENA_MAX_NODES 128

struct arena_node {
	struct arena_node *next; /* the next node, 0 at the end */
	unsigned long long value;
	unsigned int index; /* the node's place in the list, from 0 */
	unsigned int slot;  /* where it lies in the page, in nodes: the list runs backwards */
};

/* The context of build_list (BPF_PROG_TEST_RUN's ctx_in). */
struct arena_list_args {
	unsigned int count; /* nodes, 1 to ARENA_MAX_NODES */
	unsigned int seed;  /* node i's value: seed * 1000 + i * i */
};

#endif
