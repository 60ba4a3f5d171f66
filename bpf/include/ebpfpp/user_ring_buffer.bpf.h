/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ebpfpp's kernel side of ebpfpp::UserRingBuffer<Event> (user_ring_buffer.hpp): a user ring
 * buffer whose drains are counted, so user space sees how many records were consumed and how
 * many drains failed.
 *
 *   EBPFPP_USER_RINGBUF(commands, 64 * 1024);      // the ring and its <name>_stats counters
 *
 *   static long on_command(struct bpf_dynptr *d, void *ctx)
 *   {
 *           struct command c;
 *           if (bpf_dynptr_read(&c, sizeof(c), d, 0, 0))
 *                   return 1;                        // stop draining
 *           ...
 *           return 0;                                // go on
 *   }
 *   EBPFPP_USER_RINGBUF_DRAIN(commands, on_command, &my_ctx, 0);
 *
 * User space: ebpfpp::UserRingBuffer<command> rb(skel, "commands"); rb.drained() and
 * rb.drain_failures() read the counters.
 *
 * Needs: BPF_MAP_TYPE_USER_RINGBUF and bpf_user_ringbuf_drain (6.1+). Include after vmlinux.h
 * (or linux/bpf.h) and bpf/bpf_helpers.h. */
#ifndef EBPFPP_USER_RING_BUFFER_BPF_H
#define EBPFPP_USER_RING_BUFFER_BPF_H

/* A user ring buffer map <name> of <bytes> (a power-of-two multiple of the page size) and its
 * counters <name>_stats: [0] records drained, [1] drains that failed. */
#define EBPFPP_USER_RINGBUF(name, bytes)                                                           \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_USER_RINGBUF);                                           \
		__uint(max_entries, bytes);                                                        \
	} name SEC(".maps");                                                                       \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(max_entries, 2);                                                            \
		__type(key, __u32);                                                                \
		__type(value, __u64);                                                              \
	} name##_stats SEC(".maps")

static __always_inline long ebpfpp_user_ringbuf_count_(void *stats, long ret)
{
	__u32 key = ret < 0 ? 1 : 0;
	__u64 *n = bpf_map_lookup_elem(stats, &key);

	/* Atomic: drains of the same ring on two CPUs may both count (one of them fails). */
	if (n)
		__sync_fetch_and_add(n, ret < 0 ? 1 : ret);
	return ret;
}

/* Drains <name> with bpf_user_ringbuf_drain and counts the result; returns it (the number of
 * records drained, or a negative errno). */
#define EBPFPP_USER_RINGBUF_DRAIN(name, callback, ctx, flags)                                      \
	ebpfpp_user_ringbuf_count_(&name##_stats,                                                  \
				   bpf_user_ringbuf_drain(&name, callback, ctx, flags))

#endif
