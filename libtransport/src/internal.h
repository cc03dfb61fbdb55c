/* SPDX-License-Identifier: MIT */
/* libtransport internals; never installed. */
#ifndef TRANSPORT_INTERNAL_H
#define TRANSPORT_INTERNAL_H

#include <poll.h>
#include <stdint.h>
#include <bsd/sys/tree.h>
#include <errno.h>
#include <near/io.h>
#include <near/syscall.h>
#include <transport/conn.h>
#include <transport/mem.h>

/* A request sent or queued, whose answer has not been collected. */
struct transport__pending {
	struct near_request req; /* kept for tracing and hangup rules */
	uint64_t rlen;           /* READ_MEM: data bytes before the result */
	void *dst;               /* where those bytes go */
	size_t end;              /* out-buffer offset just past this request */
	int64_t result;
	int state;               /* PENDING_* */
};
/* In this order: settled means >= PENDING_DONE. */
enum { PENDING_SENDING, PENDING_SENT, PENDING_DONE, PENDING_LOST };

/* One allocation in the server's memory. */
struct transport__block {
	RB_ENTRY(transport__block) link;
	uint64_t addr, len;
};
RB_HEAD(transport__blocks, transport__block);

struct transport__arena {
	struct transport__arena *next;
	uint64_t base, len;
};

struct transport_conn {
	struct near_sysif sysif; /* first: the sysif casts back to the conn */
	int fd;
	int timeout_ms;
	int64_t deadline;        /* CLOCK_MONOTONIC ns: when the current call
				  * gives up (transport__arm), if timeout_ms >= 0 */
	int broken;              /* 0, or the -errno that ended the connection */
	struct near_hello hello;

	/* Bytes queued for the server; out_off of them already sent. */
	unsigned char *out;
	size_t out_len, out_off, out_cap;

	/* Outstanding requests, oldest first (a ring). */
	struct transport__pending *q;
	unsigned q_head, q_count, q_cap;
	unsigned q_recv;         /* index (from head) of the first not DONE */
	size_t rx_got;           /* bytes of that one's answer received */
	unsigned char rx_res[8];

	enum transport_mem_kind mem;
	int local_ok, pvm_ok;    /* proven by decide() in mem.c */

	struct transport__arena *arenas;
	struct transport__blocks blocks;

	transport_trace_fn *trace;
	void *trace_arg;
};

RB_PROTOTYPE(transport__blocks, transport__block, link, transport__block_cmp)

/* pipeline.c */
int transport__queue(struct transport_conn *c, const struct near_request *req,
		     const void *payload, size_t plen, void *rdst, uint64_t rlen);
/* Start the deadline of a call that may wait: timeout_ms from now, for all
 * its waits together, so that a server trickling its bytes cannot stretch
 * it.  Every public function that waits calls it once, first. */
void transport__arm(struct transport_conn *c);
/* Wait for events until the deadline.  Returns: 0 when ready (also after
 * the deadline, if ready at once); -ETIMEDOUT; ppoll's -errno. */
int transport__poll(struct transport_conn *c, short events);
void transport__break(struct transport_conn *c, int err);
/* Before a request goes out while none is outstanding: the server owes us
 * nothing, so a byte waiting to be read is one nobody asked for (an extra
 * answer, the rest of an endless READ_MEM), which the next answer would be
 * taken from.  Returns: 0; -EPROTO, having broken the connection. */
int transport__quiet(struct transport_conn *c);
/* Wait for an answer without arming (the caller did). */
int transport__wait(struct transport_conn *c, int64_t *result);
/* Send what is queued without reading any answer: for calls whose answer
 * is not a plain result (an fd attached, a hello) and is read by them. */
int transport__send_only(struct transport_conn *c);
/* Read exactly len bytes of an answer by the connection's deadline (armed
 * by the caller).  Returns: 0; -ECONNRESET at end of file; -ETIMEDOUT;
 * another -errno.  Fds attached to these bytes are closed by the kernel
 * (no control buffer is given). */
int transport__read_exact(struct transport_conn *c, void *buf, size_t len);
/* A server's -errno as an int.  Returns: v if it is one (-4095..-1), else
 * -EPROTO: no server answers an error with another number, and a cast
 * would make -(2^32) + 1 a success of 1. */
static inline int transport__errno(int64_t v)
{
	return v < 0 && v >= -4095 ? (int)v : -EPROTO;
}

/* conn.c: check a hello from the server (near_hello_check, then a pid and
 * a page size a server can have), and terminate its reason.
 * Returns: 0 or near_hello_check's error; -EPROTO for an absurd pid or
 * page size. */
int transport__hello_ok(struct near_hello *h, char *why, size_t whylen);

/* alloc.c: after an execve the old arenas no longer exist. */
void transport__forget_memory(struct transport_conn *c);

/* sysif.c */
void transport__sysif_init(struct transport_conn *c);

/* trace.c */
void transport__trace_init(struct transport_conn *c);
static inline void transport__traced(struct transport_conn *c,
				     const struct near_request *req, int64_t result)
{
	if (c->trace && req->nr >= 0)
		c->trace(c->trace_arg, c, req, result);
}

#endif
