/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The event of hello-buffer and hello-ringbuf-config, shared by the BPF side and the C++ side
 * (plain C types: it is included both after vmlinux.h and from C++). */
#ifndef HELLO_BUFFER_H
#define HELLO_BUFFER_H

#define HELLO_MESSAGE_LEN 12

struct hello_event {
	int pid;
	int uid;
	char command[16];
	char message[HELLO_MESSAGE_LEN];
};

/* hello-ringbuf-config's config map value, keyed by uid. */
struct hello_config {
	char message[HELLO_MESSAGE_LEN];
};

#endif
