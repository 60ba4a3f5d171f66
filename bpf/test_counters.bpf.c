// SPDX-License-Identifier: GPL-2.0
/* Perf counters read from BPF (tests/kernel/perf_counters_test.cpp): user space puts counting
 * perf events into the perf event arrays (ebpfpp::PerfCounters); the test runs read_counter with
 * BPF_PROG_TEST_RUN on a CPU it chooses, and it reads the counter of the CPU it runs on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* One slot per possible CPU: libbpf sizes a perf event array without max_entries so. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} counters SEC(".maps");

/* One slot only: too few for a machine with two CPUs or more. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 1);
} one_slot SEC(".maps");

/* Not a perf event array. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} not_counters SEC(".maps");

struct bpf_perf_event_value counter_value = {};
long counter_ret = 1; /* bpf_perf_event_read_value's return: 0, or -errno (-ENOENT: empty slot) */
__u32 counter_cpu = ~0u;
__u32 read_one_slot = 0; /* read one_slot instead of counters */

SEC("raw_tp/sys_enter")
int read_counter(void *ctx)
{
	struct bpf_perf_event_value v = {};
	if (read_one_slot)
		counter_ret = bpf_perf_event_read_value(&one_slot, BPF_F_CURRENT_CPU, &v, sizeof(v));
	else
		counter_ret = bpf_perf_event_read_value(&counters, BPF_F_CURRENT_CPU, &v, sizeof(v));
	counter_value = v;
	counter_cpu = bpf_get_smp_processor_id();
	return 0;
}
