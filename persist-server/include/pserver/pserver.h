/* SPDX-License-Identifier: MIT */
/* The persist server loop.
 *
 * pserver_run() serves controllers on a listening unix socket, one at a
 * time: it sends the hello, executes the requests of <near/proto.h> with raw
 * syscalls, and when the controller goes away it waits, inert, for the next.
 * It calls no libc function and touches no TLS, so it runs in the standalone
 * persist-server executable and equally in a CLONE_VM child that shares the
 * controller's memory and thread pointer (pserver_clone_main).
 *
 * Everything it needs lives in the caller-owned struct pserver. */
#ifndef PSERVER_PSERVER_H
#define PSERVER_PSERVER_H

#include <stddef.h>
#include <stdint.h>
#include <near/proto.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PSERVER_MAX_UIDS 16
#define PSERVER_BATCH 128 /* requests read and answered per batch */

enum pserver_state {
	PSERVER_IDLE,    /* waiting for a controller */
	PSERVER_SERVING, /* a controller is connected */
};

struct pserver;
typedef void pserver_state_cb(struct pserver *, enum pserver_state);

struct pserver {
	/* Set by the caller before pserver_run (pserver_init fills defaults). */
	int listen_fd;   /* listening unix socket, or -1 */
	int conn_fd;     /* a connected socket to serve first, or -1 */
	unsigned n_uids; /* peers of these uids are served; others refused */
	uint32_t uids[PSERVER_MAX_UIDS];
	uint64_t entry_clone, entry_serve; /* advertised in the hello */
	pserver_state_cb *on_state;        /* may be NULL; called from the loop */
	void *user;

	/* Private. */
	int pending_fd;       /* an accepted controller waiting its turn */
	int pending_quiet;    /* its first request is not a takeover */
	int forked;           /* a NEAR_OP_FORK child: exits when done */
	int spawned;          /* a NEAR_OP_SPAWN child: tells the server how it
				 ended on spawn_fd, unless it execs */
	int spawn_fd;
	int accept_paused;    /* accept ran out of fds: retry after a pause */
	int pid;
	uint32_t page_size;
	uint64_t epoch;       /* epoch of conn_fd */
	uint64_t pending_epoch;
	uint64_t last_epoch;  /* last epoch handed out */
	unsigned in_len;
	unsigned out_n;
	/* The buffers last, out first: a controller's first small batch then
	 * touches only the page the fields above are on (an idle server's
	 * memory: README, "Benchmarks"). */
	int64_t out[PSERVER_BATCH];
	int64_t in[PSERVER_BATCH * 7];
	unsigned char scratch[4096];
};

/* Fill s with defaults: no sockets, the caller's own uid allowed.
 * Returns: 0, or -errno. */
int pserver_init(struct pserver *s);

/* Serve s->conn_fd (if >= 0), then every controller that connects to
 * s->listen_fd (if >= 0), until there is neither.  A child started with
 * NEAR_OP_FORK never returns: it exits with status 0 when its connection
 * ends (it is a copy of the caller, whose code after this call is not its
 * to run).
 * Returns: 0 when there is nothing left to serve, or -errno if the listening
 * socket failed. */
int pserver_run(struct pserver *s);

/* Listen on a unix socket at path for pserver_run, after checking that its
 * directory has mode 0700 and belongs to us (anyone who can enter it could
 * replace the socket), and removing a socket file left by a dead server.
 * The socket is created 0600, close-on-exec.  Uses libc (not the loop).
 * Returns: the listening fd; -EPERM (directory mode or owner), -ENOTDIR,
 * -ENOENT, -ENAMETOOLONG, -EEXIST (not a socket), -EADDRINUSE (a server
 * answers there), or another -errno; why gets a message for the user. */
int pserver_listen(const char *path, char *why, size_t whylen);

/* Entry point for near_clone(CLONE_VM | SIGCHLD, stack, pserver_clone_main, s):
 * runs pserver_run(s).  Returns: pserver_run's result (the exit status). */
int pserver_clone_main(void *s);

#ifdef __cplusplus
}
#endif
#endif
