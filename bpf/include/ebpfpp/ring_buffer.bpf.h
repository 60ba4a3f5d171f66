/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ebpfpp's kernel side of ebpfpp::RingBuffer<Event> (ring_buffer.hpp): a ring buffer map that
 * never drops silently, and wake-ups only when the consumer asked for one.
 *
 *   EBPFPP_RINGBUF(events, 256 * 1024);            // the ring, its drop counter, its wake flag
 *
 *   struct event *e = EBPFPP_RINGBUF_RESERVE(events, struct event);
 *   if (!e) return 0;                               // counted in events_drops
 *   e->pid = ...;
 *   EBPFPP_RINGBUF_SUBMIT(events, e);
 *
 *   EBPFPP_RINGBUF_OUTPUT(events, buf, len);        // copy form; len may vary (bounded)
 *
 * User space: ebpfpp::RingBuffer<struct event> rb(skel, "events"); rb.drops() reads the count.
 *
 * Wake-ups (the need-wakeup protocol of AF_XDP and io_uring). A wake-up costs the producer an
 * interrupt (~6 us in a VM); the kernel's own policy pays it for every event a caught-up consumer
 * sees, so a busy ring pays it per event. Here the consumer says, in a flag it shares with the
 * producers (<name>_ctl, an mmap-able array), when it is about to sleep, and producers wake it only
 * then. A consumer that keeps up never sleeps and costs no interrupt; an idle one sleeps with no
 * timer at all; a lone event wakes it at once.
 *
 * Why no wake-up is lost (Dekker). Consumer: store flag = 1; full fence; look at the ring; sleep
 * only if it is empty. Producer: commit the record; load the flag; wake if it is 1. The commit is
 * bpf_ringbuf_submit's xchg of the record header, a full barrier in the kernel's memory model, so
 * the flag is loaded after the record is visible. Either the consumer sees the record before it
 * sleeps, or the producer sees the flag and wakes it: never neither. No BPF atomics are needed,
 * so this works on every kernel with ring buffers (5.8+; mmap-able arrays are 5.5+).
 *
 * The wake-up itself is a zero-length record reserved and discarded with BPF_RB_FORCE_WAKEUP:
 * the consumer skips discarded records, and the kernel folds wake-ups that are already pending.
 *
 * Needs: BPF_MAP_TYPE_RINGBUF (5.8+). Include after vmlinux.h (or linux/bpf.h) and
 * bpf/bpf_helpers.h. */
#ifndef EBPFPP_RING_BUFFER_BPF_H
#define EBPFPP_RING_BUFFER_BPF_H

/* What the consumer shares with the producers: ebpfpp::RingBuffer maps it. */
struct ebpfpp_ringbuf_ctl {
	__u32 need_wakeup; /* 1 while the consumer sleeps or is about to */
	__u32 pad_;
};

/* A ring buffer map <name> of <bytes> (a power-of-two multiple of the page size), its drop
 * counter <name>_drops (per-CPU: producers on different CPUs never share a cache line) and its
 * need-wakeup flag <name>_ctl. */
#define EBPFPP_RINGBUF(name, bytes)                                                                \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                                                \
		__uint(max_entries, bytes);                                                        \
	} name SEC(".maps");                                                                       \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                                           \
		__uint(max_entries, 1);                                                            \
		__type(key, __u32);                                                                \
		__type(value, __u64);                                                              \
	} name##_drops SEC(".maps");                                                               \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(max_entries, 1);                                                            \
		__uint(map_flags, BPF_F_MMAPABLE);                                                 \
		__type(key, __u32);                                                                \
		__type(value, struct ebpfpp_ringbuf_ctl);                                          \
	} name##_ctl SEC(".maps")

static __always_inline void ebpfpp_ringbuf_count_drop_(void *drops)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(drops, &zero);

	/* Atomic although per-CPU: a program interrupted by another one (an NMI-driven perf
	 * program, say) on the same CPU must not lose its increment. */
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* After a commit: wake the consumer if it asked. See the protocol above. */
static __always_inline void ebpfpp_ringbuf_wake_if_asked_(void *ring, void *ctl)
{
	__u32 zero = 0;
	struct ebpfpp_ringbuf_ctl *c = bpf_map_lookup_elem(ctl, &zero);
	void *w;

	/* A compiler barrier: the load below stays after the commit the caller just made. */
	asm volatile("" ::: "memory");
	if (c && *(volatile __u32 *)&c->need_wakeup) {
		w = bpf_ringbuf_reserve(ring, 0, 0);
		if (w)
			bpf_ringbuf_discard(w, BPF_RB_FORCE_WAKEUP);
	}
}

static __always_inline void *ebpfpp_ringbuf_reserve_(void *ring, void *drops, __u64 size)
{
	void *rec = bpf_ringbuf_reserve(ring, size, 0);

	if (!rec)
		ebpfpp_ringbuf_count_drop_(drops);
	return rec;
}

/* Reserves a `type` in ring `name`; NULL (and the drop counted) when the ring is full. */
#define EBPFPP_RINGBUF_RESERVE(name, type)                                                         \
	((type *)ebpfpp_ringbuf_reserve_(&name, &name##_drops, sizeof(type)))

/* Submits a record from EBPFPP_RINGBUF_RESERVE; wakes the consumer only if it sleeps. */
#define EBPFPP_RINGBUF_SUBMIT(name, rec)                                                           \
	do {                                                                                       \
		bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);                                         \
		ebpfpp_ringbuf_wake_if_asked_(&name, &name##_ctl);                                 \
	} while (0)

/* Discards a reserved record (the consumer skips it; not a drop). */
#define EBPFPP_RINGBUF_DISCARD(name, rec) bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP)

static __always_inline long ebpfpp_ringbuf_output_(void *ring, void *drops, void *ctl, void *data,
						   __u64 size)
{
	long err = bpf_ringbuf_output(ring, data, size, BPF_RB_NO_WAKEUP);

	if (err)
		ebpfpp_ringbuf_count_drop_(drops);
	else
		ebpfpp_ringbuf_wake_if_asked_(ring, ctl);
	return err;
}

/* Copies `size` bytes (a variable size is fine if the verifier can bound it) into ring `name`
 * as one record; returns 0, or a negative error with the drop counted. */
#define EBPFPP_RINGBUF_OUTPUT(name, data, size)                                                    \
	ebpfpp_ringbuf_output_(&name, &name##_drops, &name##_ctl, data, size)

#endif /* EBPFPP_RING_BUFFER_BPF_H */
