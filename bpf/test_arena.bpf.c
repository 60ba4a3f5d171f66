// SPDX-License-Identifier: GPL-2.0
// For the kernel tests of arena.hpp: a linked list that a BPF program builds in an arena and
// user space walks with ordinary pointers, and a program that walks it after user space changed
// it. Both are SEC("syscall") programs, run by BPF_PROG_TEST_RUN: sleepable, as
// bpf_arena_alloc_pages requires.
//
// clang 14 and arena pointers. BPF code reaches arena memory through pointers the verifier types
// as arena pointers. bpf_arena_alloc_pages returns a user-space address, declared void * (a
// kfunc's void * result is a plain number to the verifier), and a `next` read from the arena is
// a plain number too: no program may dereference either as it is. The one instruction that
// turns such a number into an arena pointer is addr_space_cast (BPF_ALU64 | BPF_MOV | BPF_X with
// off = 1, imm = 1: from address space 1 to 0; the JIT keeps its low 32 bits, and accesses add
// the kernel's base of the arena). clang 18+ emits it for pointers in
// __attribute__((address_space(1))); clang 14 has neither the attribute's casts nor the
// instruction's assembler syntax. Its assembler does take raw data in .text, so arena_access()
// encodes the instruction as the 8 bytes it is (.quad), on r0, and moves its operand and result
// through r0. The alternative, keeping 32-bit offsets and writing only through the page's first
// pointer, would still need one cast for that pointer, and could not follow a `next` the other
// side wrote: the cast is needed either way, so the list's links are what both sides use as
// pointers, user-space addresses.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "test_arena.h"

char LICENSE[] SEC("license") = "GPL";

// BPF_MAP_TYPE_ARENA (6.9) as a number: the object then builds against an older vmlinux.h.
struct {
	__uint(type, 33);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4); // pages
} arena SEC(".maps");

// The kfunc (6.9), as the kernel declares it: `page_cnt` pages at `addr` (NULL: anywhere),
// zeroed; their user-space address, or NULL.
extern void *bpf_arena_alloc_pages(void *map, void *addr, __u32 page_cnt, int node_id,
				   __u64 flags) __ksym;

// The list's first node, a user-space address (0 before build_list runs), and what walk_list
// found.
__u64 head;
__u64 walked_sum;

// addr_space_cast r0 = r0 from address space 1 to 0 (see above): bytes bf 00 01 00 01 00 00 00.
static __always_inline void *arena_access(__u64 user_address)
{
	void *p;

	asm volatile("r0 = %[in]\n\t"
		     ".quad 0x00000001000100bf\n\t"
		     "%[out] = r0"
		     : [out] "=r"(p)
		     : [in] "r"(user_address)
		     : "r0");
	return p;
}

// Builds args->count nodes in one new page, linked from the page's end to its start: node i
// lies at slot count - 1 - i, so following `next` walks backwards through the page.
SEC("syscall")
int build_list(struct arena_list_args *args)
{
	__u32 count = args->count;
	__u32 seed = args->seed;
	__u64 page;
	struct arena_node *nodes;

	if (count == 0 || count > ARENA_MAX_NODES)
		return 1;
	page = (__u64)bpf_arena_alloc_pages(&arena, NULL, 1, -1 /* NUMA_NO_NODE */, 0);
	if (!page)
		return 2;
	nodes = arena_access(page);
	for (__u32 i = 0; i < ARENA_MAX_NODES && i < count; i++) {
		__u32 slot = count - 1 - i;
		struct arena_node *n = &nodes[slot];

		n->index = i;
		n->slot = slot;
		n->value = (__u64)seed * 1000 + (__u64)i * i;
		// The next node lies one slot lower; the last one links nowhere.
		n->next = i + 1 < count
			      ? (struct arena_node *)(page + (__u64)(slot - 1) * sizeof(*n))
			      : 0;
	}
	head = page + (__u64)(count - 1) * sizeof(struct arena_node);
	return 0;
}

// Follows the list from `head` through the `next` pointers as stored (by build_list, or changed
// by user space), summing the values: the node count is the return value, the sum walked_sum.
SEC("syscall")
int walk_list(void *ctx)
{
	__u64 at = head;
	__u64 sum = 0;
	int n = 0;

	// The kernel lets only a program that uses an arena map cast into it: name the map.
	asm volatile("" : : "r"(&arena));
	for (int i = 0; i < ARENA_MAX_NODES && at; i++) {
		struct arena_node *node = arena_access(at);

		sum += node->value;
		at = (__u64)node->next;
		n++;
	}
	walked_sum = sum;
	return n;
}
