// SPDX-License-Identifier: MIT
/* The local sysif: syscalls in the calling process. */
#include <errno.h>
#include <string.h>
#include <near/sysif.h>
#include "internal.h"

static struct near_local_sysif *local(struct near_sysif *s)
{
	return (struct near_local_sysif *)s;
}

static int64_t local_syscall(struct near_sysif *s, const struct near_request *r)
{
	(void)s;
	if (r->nr < 0)
		return -ENOSYS; /* protocol operations have no local meaning */
	return near__syscall6(r->nr, r->args[0], r->args[1], r->args[2],
			      r->args[3], r->args[4], r->args[5]);
}

static int local_submit(struct near_sysif *s, const struct near_request *r)
{
	struct near_local_sysif *l = local(s);

	if (l->count == NEAR_LOCAL_QUEUE)
		return -EAGAIN;
	l->results[(l->head + l->count) % NEAR_LOCAL_QUEUE] = local_syscall(s, r);
	l->count++;
	return 0;
}

static int local_complete(struct near_sysif *s, int64_t *result)
{
	struct near_local_sysif *l = local(s);

	if (l->count == 0)
		return -EAGAIN;
	*result = l->results[l->head];
	l->head = (l->head + 1) % NEAR_LOCAL_QUEUE;
	l->count--;
	return 0;
}

static int local_read_mem(struct near_sysif *s, void *dst, uint64_t src,
			  size_t len)
{
	(void)s;
	memcpy(dst, (const void *)(uintptr_t)src, len);
	return 0;
}

static int local_write_mem(struct near_sysif *s, uint64_t dst, const void *src,
			   size_t len)
{
	(void)s;
	memcpy((void *)(uintptr_t)dst, src, len);
	return 0;
}

static void local_close(struct near_sysif *s)
{
	local(s)->count = 0;
}

static const struct near_sysif_ops local_ops = {
	.syscall = local_syscall,
	.submit = local_submit,
	.complete = local_complete,
	.read_mem = local_read_mem,
	.write_mem = local_write_mem,
	.close = local_close,
};

NEAR_EXPORT struct near_sysif *near_local_sysif_init(struct near_local_sysif *l)
{
	l->base.ops = &local_ops;
	l->base.failed = 0; /* and it stays 0: nothing here can fail to carry */
	l->head = 0;
	l->count = 0;
	return &l->base;
}
