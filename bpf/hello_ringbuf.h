/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The event of hello-ringbuf, shared by the BPF side and the C++ side. */
#ifndef HELLO_RINGBUF_H
#define HELLO_RINGBUF_H

struct hello_file_event {
	char command[16];
	char filename[256];
	int dfd;
};

#endif
