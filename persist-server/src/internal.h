/* SPDX-License-Identifier: MIT */
/* Shared between the server loop's files; never installed. */
#ifndef PSERVER_INTERNAL_H
#define PSERVER_INTERNAL_H

#include "sys.h"
#include <pserver/pserver.h>

/* Byte helpers the loop uses instead of libc (the build keeps gcc from
 * turning them back into memcpy/memset calls). */
void pserver__copy(void *dst, const void *src, unsigned long n);
void pserver__zero(void *dst, unsigned long n);

/* Wait until the served connection reports one of events, while accepting
 * new controllers and honouring takeovers.
 * Returns: the connection's revents (> 0); -ECONNABORTED if another
 * controller took over (s->conn_fd is now that one, s->out holds the answer
 * to its takeover), or if the served one left for good while a newcomer
 * came (waiting for POLLIN with nothing owed: s->conn_fd is the newcomer,
 * greeted as served, or -1 if it was refused); or another -errno. */
int pserver__wait(struct pserver *s, short events);

/* Wait, idle, until there is a controller to serve (a promoted pending one
 * or a new one).  Returns: 0 with s->conn_fd set; -ENOTCONN if there is no
 * listening socket; another -errno if it failed. */
int pserver__next_conn(struct pserver *s);

/* Send the hello on a new connection.  Returns: 0 or -errno. */
int pserver__hello(struct pserver *s, int fd, uint64_t epoch, uint32_t flags,
		   int refusal, const char *reason);

/* Send all of buf on the served connection, waiting as needed.
 * Returns: 0, -ECONNABORTED (taken over), or -errno (-EFAULT: buf could not
 * be read; *sent says how much was). */
int pserver__send_all(struct pserver *s, const void *buf, unsigned long len,
		      unsigned long *sent);

/* Execute the complete requests in s->in.  Returns: 0 to go on reading;
 * 1 if the controller ended the connection; -errno to drop it. */
int pserver__run_batch(struct pserver *s);

#endif
