// SPDX-License-Identifier: MIT
/* Defaults for a struct pserver.  Runs in the caller's ordinary context, so
 * unlike the loop it may use libc. */
#include <stddef.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <pserver/pserver.h>

int pserver_init(struct pserver *s)
{
	/* Not the buffers at the end: they hold nothing until the loop fills
	 * them, and zeroing them would dirty three more pages of every idle
	 * server (README, "Benchmarks"). */
	memset(s, 0, offsetof(struct pserver, out));
	s->listen_fd = -1;
	s->conn_fd = -1;
	s->pending_fd = -1;
	s->n_uids = 1;
	s->uids[0] = (uint32_t)geteuid();
	s->page_size = (uint32_t)getauxval(AT_PAGESZ);
	return 0;
}
