/* SPDX-License-Identifier: MIT */
/* Test peers: the real server loop in a forked child (another address
 * space: process_vm or in-band) or in a CLONE_VM child (ours: local). */
#ifndef TRANSPORT_TESTS_PEER_H
#define TRANSPORT_TESTS_PEER_H

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <near/syscall.h>
#include <pserver/pserver.h>
#include <transport/conn.h>

struct peer {
	pid_t pid;
	void *stack;
	struct transport_conn *c;
};

enum { PEER_FORK, PEER_CLONE_VM };
#define PEER_STACK (256 * 1024)

static struct pserver peer_srv; /* a CLONE_VM child uses it in our memory */

/* Start a server loop on a socketpair and connect to it. */
static inline int peer_start(struct peer *p, int how)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pserver_init(&peer_srv);
	peer_srv.conn_fd = sv[1];
	p->stack = NULL;
	if (how == PEER_FORK) {
		p->pid = fork();
		if (p->pid == 0) {
			close(sv[0]);
			_exit(pserver_run(&peer_srv) == 0 ? 0 : 1);
		}
	} else {
		p->stack = mmap(NULL, PEER_STACK, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p->pid = (pid_t)near_clone(CLONE_VM | SIGCHLD, (char *)p->stack + PEER_STACK,
					   pserver_clone_main, &peer_srv);
	}
	close(sv[1]);
	r = transport_attach(sv[0], 5000, &p->c, NULL, 0);
	if (r == 0 && how == PEER_CLONE_VM) {
		/* The child copied our fd table: let it drop its copy of our
		 * end so that closing ours is an end of file for it. */
		int64_t res;
		struct near_request q = { __NR_close, { sv[0] } };
		r = transport_call(p->c, &q, &res);
	}
	return r;
}

/* Close the connection and reap the server; returns its wait status. */
static inline int peer_stop(struct peer *p)
{
	int status = -1;

	transport_close(p->c);
	waitpid(p->pid, &status, 0);
	if (p->stack)
		munmap(p->stack, PEER_STACK);
	return status;
}

#endif
