// SPDX-License-Identifier: MIT
/* Tracing remote syscalls, strace-style, on request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

TRANSPORT_EXPORT void transport_trace_stderr(void *arg, const struct transport_conn *c,
					     const struct near_request *req,
					     int64_t result)
{
	const char *name = near_syscall_name((long)req->nr);
	char num[32];

	(void)arg;
	if (!name) {
		snprintf(num, sizeof num, "syscall_%lld", (long long)req->nr);
		name = num;
	}
	/* The protocol does not carry arity: all six arguments are shown. */
	if (result < 0 && result > -4096)
		fprintf(stderr, "[persist %d] %s(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx) = -1 %s (%s)\n",
			c->hello.pid, name, (unsigned long long)req->args[0],
			(unsigned long long)req->args[1], (unsigned long long)req->args[2],
			(unsigned long long)req->args[3], (unsigned long long)req->args[4],
			(unsigned long long)req->args[5], near_errno_name(result) ? near_errno_name(result) : "?",
			strerror((int)-result));
	else
		fprintf(stderr, "[persist %d] %s(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx) = %lld\n",
			c->hello.pid, name, (unsigned long long)req->args[0],
			(unsigned long long)req->args[1], (unsigned long long)req->args[2],
			(unsigned long long)req->args[3], (unsigned long long)req->args[4],
			(unsigned long long)req->args[5], (long long)result);
}

void transport__trace_init(struct transport_conn *c)
{
	const char *v = getenv("PERSIST_TRACE");

	if (v && *v && strcmp(v, "0") != 0)
		transport_set_trace(c, transport_trace_stderr, NULL);
}

TRANSPORT_EXPORT int transport_set_trace(struct transport_conn *c,
					 transport_trace_fn *fn, void *arg)
{
	c->trace = fn;
	c->trace_arg = arg;
	return 0;
}
