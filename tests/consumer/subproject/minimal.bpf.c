// SPDX-License-Identifier: GPL-2.0
// A user's BPF program built with ebpfpp's recipe: counts this process's getppid calls.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ebpfpp.bpf.h>

char LICENSE[] SEC("license") = "GPL";

EBPFPP_DECLARE_TGID_FILTER();
__u64 calls = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void* ctx) {
  if (EBPFPP_TGID_MATCHES()) __sync_fetch_and_add(&calls, 1);
  return 0;
}
