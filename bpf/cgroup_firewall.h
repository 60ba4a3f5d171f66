/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The refusal event of cgroup-firewall, shared by the BPF side and the C++ side. */
#ifndef CGROUP_FIREWALL_H
#define CGROUP_FIREWALL_H

struct firewall_event {
	unsigned int pid;
	char command[16];
	unsigned int addr; /* IPv4, network order */
	unsigned short port; /* host order */
	unsigned short pad;
};

#endif
