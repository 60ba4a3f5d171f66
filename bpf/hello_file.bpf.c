// SPDX-License-Identifier: GPL-2.0
// hello-file: on every openat, bpf_printk the command and the file name. The name is a pointer
// into the calling process's memory: it must be copied with bpf_probe_read_user_str before
// bpf_printk can print it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_enter_openat")
int hello_file(struct trace_event_raw_sys_enter *ctx)
{
	char command[16];
	char filename[128];

	bpf_get_current_comm(command, sizeof(command));
	if (bpf_probe_read_user_str(filename, sizeof(filename), (const char *)ctx->args[1]) < 0)
		filename[0] = '\0';
	bpf_printk("%s opened %s", command, filename);
	return 0;
}
