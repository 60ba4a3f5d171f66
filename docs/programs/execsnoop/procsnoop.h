/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procsnoop's exit event (its exec event is execsnoop.h's), shared by both sides. */
#ifndef PROCSNOOP_H
#define PROCSNOOP_H

struct exit_event {
	int pid;       /* the process that ended */
	int exit_code; /* its exit status, 0-255 */
	char comm[16]; /* its name */
};

#endif
