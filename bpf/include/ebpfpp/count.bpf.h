/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Counting in a hash map without losing a count. Include after vmlinux.h and bpf_helpers.h:
 *
 *     ebpfpp_count(&counts, &key, 1);   // counts[key] += 1, the entry made when it is new
 *
 * The obvious code loses counts:
 *
 *     __u64 *v = bpf_map_lookup_elem(&counts, &key);
 *     if (v) __sync_fetch_and_add(v, 1);
 *     else bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);   // may fail: lost
 *
 * when two CPUs see the same new key at once, both miss the lookup and both insert; the second
 * insert fails with -EEXIST and its count is gone. (With BPF_ANY instead, the second insert
 * overwrites the first: a count is lost just the same.) ebpfpp_count adds to the entry the other
 * CPU made instead. User space reads the sum with ebpfpp::Map<K, std::uint64_t> (HashMap,
 * LruHashMap), or the per-CPU parts with PerCpuHashMap; on a per-CPU map the atomic add is not
 * needed but costs next to nothing, as each CPU's slot is its own cache line. */
#ifndef EBPFPP_COUNT_BPF_H
#define EBPFPP_COUNT_BPF_H

#include "errno.bpf.h"

/* Adds `amount` to the __u64 value at `key` in `map` (a hash, LRU hash or array of __u64, or
 * their per-CPU kinds), making the entry when there is none. Returns 0, or the negative errno of
 * the insert: -E2BIG when a (non-LRU) hash map is full, the one case where a count is lost, and
 * one the caller can count in turn. */
static __always_inline long ebpfpp_count(void *map, const void *key, __u64 amount)
{
	__u64 *value = bpf_map_lookup_elem(map, key);
	if (value) {
		__sync_fetch_and_add(value, amount);
		return 0;
	}
	long err = bpf_map_update_elem(map, key, &amount, BPF_NOEXIST);
	if (err != -EEXIST)
		return err;
	/* Another CPU made the entry between our lookup and our insert: add to it. */
	value = bpf_map_lookup_elem(map, key);
	if (!value)
		return -ENOENT; /* and deleted again (or evicted, in an LRU map) since */
	__sync_fetch_and_add(value, amount);
	return 0;
}

#endif /* EBPFPP_COUNT_BPF_H */
