// SPDX-License-Identifier: GPL-2.0
// Keys and values of many shapes, for the kernel tests of the BTF type check (detail/map_check.hpp):
// a typed view whose C++ type has the same size but another meaning must be refused with an Error
// naming the member that differs, and one with the same layout accepted. No program uses them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct pair {
	__u32 a;
	__u32 b;
};

// No negative enumerator: C makes it unsigned.
enum color { RED, GREEN, BLUE };

// Every rule the check has, in one value: typedefs, qualifiers, _Bool, implicit padding, a char
// array, an anonymous struct, bitfields and a padding bitfield, an enum, a union.
struct rich {
	__u32 id;
	const volatile __u16 port;
	_Bool flag;
	__u64 ts;
	char comm[8];
	struct {
		__u8 lo;
		__u8 hi;
	} nested;
	__u32 kind : 4, level : 12;
	int : 16;
	enum color color;
	union {
		int fd;
		__u32 prog_id;
	} prog;
};

// An LPM key whose prefix length is in a header struct.
struct lpm_key {
	struct bpf_lpm_trie_key_hdr hdr;
	__u8 addr[4];
};

typedef char name4[4];

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pair);
} by_pair SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, name4);
	__type(value, __u32);
} by_name SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, enum color);
} by_color SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rich);
} by_rich SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct lpm_key);
	__type(value, struct bpf_devmap_val);
} by_lpm_key SEC(".maps");
