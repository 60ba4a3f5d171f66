/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ebpfpp's kernel side of ebpfpp::RingBuffer<Event> (ring_buffer.hpp): a ring buffer map that
 * never drops silently, and a wake-up policy that does not cost an interrupt per event.
 *
 *   EBPFPP_RINGBUF(events, 256 * 1024);            // the ring, its drop counter, its policy
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
 * Wake-ups. The kernel's own policy wakes the consumer whenever it had caught up, which on a
 * busy ring means one interrupt (~6 us in a VM) per event. The helpers here instead wake only
 * when the unread data crosses 1/N of the ring (N = <name>_wakeup_divisor, default 8): a
 * sleeping consumer is woken well before the ring fills, and a consumer that keeps up never pays
 * for a wake-up at all. A trickle below the threshold wakes no one: ebpfpp::RingBuffer bounds
 * its sleep (RingBufferOptions::max_latency, default 10 ms), so such events arrive within that
 * latency. Set skel->rodata-><name>_wakeup_divisor = 0 before load for the kernel's policy
 * (lowest latency, one wake-up per event when the consumer is idle).
 *
 * Known limit: the crossing test reads the unread amount at submit time, so two producers on
 * different CPUs that both reserve before either submits can each see the threshold already
 * crossed, and neither wakes the consumer. It then wakes at its bounded wait (max_latency): a
 * burst can fill a small ring meanwhile, and those drops are counted, never silent. A fix that
 * wakes once per consumer position needs BPF compare-and-swap (clang -mcpu=v3, kernel 5.12+).
 *
 * Needs: BPF_MAP_TYPE_RINGBUF (5.8+). Include after vmlinux.h (or linux/bpf.h) and
 * bpf/bpf_helpers.h. */
#ifndef EBPFPP_RING_BUFFER_BPF_H
#define EBPFPP_RING_BUFFER_BPF_H

#ifndef EBPFPP_RINGBUF_WAKEUP_DIVISOR
#define EBPFPP_RINGBUF_WAKEUP_DIVISOR 8
#endif

/* A ring buffer map <name> of <bytes> (a power-of-two multiple of the page size), its drop
 * counter <name>_drops (per-CPU: producers on different CPUs never share a cache line) and its
 * wake-up policy <name>_wakeup_divisor (.rodata, settable before load). */
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
	const volatile __u32 name##_wakeup_divisor = EBPFPP_RINGBUF_WAKEUP_DIVISOR

static __always_inline void ebpfpp_ringbuf_count_drop_(void *drops)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(drops, &zero);

	/* Atomic although per-CPU: a program interrupted by another one (an NMI-driven perf
	 * program, say) on the same CPU must not lose its increment. */
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* Flags for submitting a record of `record_bytes` (header included) when `avail` bytes,
 * this record included, are unread: wake only the producer whose record crossed the threshold. */
static __always_inline __u64 ebpfpp_ringbuf_wakeup_flags_(void *ring, __u32 divisor, __u64 avail,
							  __u64 record_bytes)
{
	__u64 threshold;

	if (divisor == 0)
		return 0; /* the kernel's policy */
	threshold = bpf_ringbuf_query(ring, BPF_RB_RING_SIZE) / divisor;
	if (avail >= threshold && avail - record_bytes < threshold)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Bytes a record of `size` occupies in the ring: 8 B header, data rounded up to 8. */
#define EBPFPP_RINGBUF_RECORD_BYTES(size) ((((__u64)(size)) + 8 + 7) & ~7ULL)

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

/* Submits a record from EBPFPP_RINGBUF_RESERVE with the ring's wake-up policy. The producer
 * position already includes the reserved record, so the unread amount read now is what the
 * consumer will see once it is committed. */
#define EBPFPP_RINGBUF_SUBMIT(name, rec)                                                           \
	bpf_ringbuf_submit(                                                                        \
	    rec, ebpfpp_ringbuf_wakeup_flags_(&name, name##_wakeup_divisor,                        \
					      bpf_ringbuf_query(&name, BPF_RB_AVAIL_DATA),         \
					      EBPFPP_RINGBUF_RECORD_BYTES(sizeof(*(rec)))))

/* Discards a reserved record (the consumer skips it; not a drop). */
#define EBPFPP_RINGBUF_DISCARD(name, rec) bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP)

static __always_inline long ebpfpp_ringbuf_output_(void *ring, void *drops, __u32 divisor,
						   void *data, __u64 size)
{
	__u64 bytes = EBPFPP_RINGBUF_RECORD_BYTES(size);
	/* Not yet reserved here: the record is counted as if it were already in. */
	__u64 avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) + bytes;
	long err = bpf_ringbuf_output(ring, data, size,
				      ebpfpp_ringbuf_wakeup_flags_(ring, divisor, avail, bytes));

	if (err)
		ebpfpp_ringbuf_count_drop_(drops);
	return err;
}

/* Copies `size` bytes (a variable size is fine if the verifier can bound it) into ring `name`
 * as one record; returns 0, or a negative error with the drop counted. */
#define EBPFPP_RINGBUF_OUTPUT(name, data, size)                                                    \
	ebpfpp_ringbuf_output_(&name, &name##_drops, name##_wakeup_divisor, data, size)

#endif /* EBPFPP_RING_BUFFER_BPF_H */
