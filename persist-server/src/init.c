// SPDX-License-Identifier: MIT
/* Defaults for a struct pserver.  Runs in the caller's ordinary context, so
 * unlike the loop it may use libc. */
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <pserver/pserver.h>

int pserver_init(struct pserver *s)
{
	memset(s, 0, sizeof *s);
	s->listen_fd = -1;
	s->conn_fd = -1;
	s->pending_fd = -1;
	s->n_uids = 1;
	s->uids[0] = (uint32_t)geteuid();
	s->page_size = (uint32_t)getauxval(AT_PAGESZ);
	return 0;
}
