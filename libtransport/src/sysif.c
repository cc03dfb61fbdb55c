// SPDX-License-Identifier: MIT
/* The connection as a libnear sysif, so layers above need not know whether
 * a task is this process or one at the other end of a socket. */
#include <errno.h>
#include "internal.h"

static struct transport_conn *conn(struct near_sysif *s)
{
	return (struct transport_conn *)s; /* the sysif is the first member */
}

/* Everything below that fails for the connection's sake records it with
 * near_sysif_fail, so that callers can tell it from the syscall's own
 * -errno (a remote recv can answer -ECONNRESET too). */

static int64_t sys_syscall(struct near_sysif *s, const struct near_request *req)
{
	int64_t result;
	int r = transport_call(conn(s), req, &result);

	/* Any error of transport_call's own is not the syscall's: not sent
	 * (-ENOTCONN, -EBUSY, -ENOMEM), sent without an answer, or answered
	 * by a server that broke the protocol (-EPROTO). */
	return r < 0 ? near_sysif_fail(s, r) : result;
}

static int sys_submit(struct near_sysif *s, const struct near_request *req)
{
	int r = transport_submit(conn(s), req);

	return r < 0 ? near_sysif_fail(s, r) : 0;
}

static int sys_complete(struct near_sysif *s, int64_t *result)
{
	int r = transport_wait(conn(s), result);

	/* -EAGAIN: nothing outstanding, which is no failure. */
	return r < 0 && r != -EAGAIN ? near_sysif_fail(s, r) : r;
}

/* A memory operation's only answer of the server's is -EFAULT (-EPROTO
 * is the connection's: the server broke the protocol). */
static int mem_result(struct near_sysif *s, int r)
{
	return r < 0 && r != -EFAULT ? near_sysif_fail(s, r) : r;
}

static int sys_read_mem(struct near_sysif *s, void *dst, uint64_t src, size_t len)
{
	return mem_result(s, transport_read_mem(conn(s), dst, src, len));
}

static int sys_write_mem(struct near_sysif *s, uint64_t dst, const void *src, size_t len)
{
	return mem_result(s, transport_write_mem(conn(s), dst, src, len));
}

static void sys_close(struct near_sysif *s)
{
	transport_close(conn(s));
}

static const struct near_sysif_ops ops = {
	.syscall = sys_syscall,
	.submit = sys_submit,
	.complete = sys_complete,
	.read_mem = sys_read_mem,
	.write_mem = sys_write_mem,
	.close = sys_close,
};

void transport__sysif_init(struct transport_conn *c)
{
	c->sysif.ops = &ops;
	c->sysif.failed = 0;
}

TRANSPORT_EXPORT struct near_sysif *transport_sysif(struct transport_conn *c)
{
	return &c->sysif;
}
