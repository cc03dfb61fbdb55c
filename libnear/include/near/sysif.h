/* SPDX-License-Identifier: MIT */
/* The syscall interface: how a higher layer runs syscalls in some process
 * without caring whether that process is this one (the local sysif) or one at
 * the other end of a socket (libtransport).  Results follow the kernel
 * convention: >= 0 on success, -errno on failure. */
#ifndef NEAR_SYSIF_H
#define NEAR_SYSIF_H

#include <stddef.h>
#include <stdint.h>
#include <near/export.h>
#include <near/proto.h>

#ifdef __cplusplus
extern "C" {
#endif

struct near_sysif;

struct near_sysif_ops {
	/* Run one syscall and wait for it.  Returns its result or -errno. */
	int64_t (*syscall)(struct near_sysif *, const struct near_request *);
	/* Queue a request.  Returns 0, or -errno if it was not queued. */
	int (*submit)(struct near_sysif *, const struct near_request *);
	/* Result of the oldest submitted request.  Returns 0 with *result set,
	 * -EAGAIN if nothing is outstanding, or another -errno. */
	int (*complete)(struct near_sysif *, int64_t *result);
	/* Copy len bytes from the target's address src into dst.
	 * Returns 0 or -errno. */
	int (*read_mem)(struct near_sysif *, void *dst, uint64_t src, size_t len);
	/* Copy len bytes from src into the target's address dst.
	 * Returns 0 or -errno. */
	int (*write_mem)(struct near_sysif *, uint64_t dst, const void *src,
			 size_t len);
	/* Release the interface; it may not be used afterwards. */
	void (*close)(struct near_sysif *);
};

struct near_sysif {
	const struct near_sysif_ops *ops;
};

/* Run syscall nr with six arguments through s.
 * Returns: the syscall's result, -errno on failure. */
static inline int64_t near_sysif_syscall(struct near_sysif *s, int64_t nr,
					 int64_t a, int64_t b, int64_t c,
					 int64_t d, int64_t e, int64_t f)
{
	struct near_request req;
	return s->ops->syscall(s, near_request_set(&req, nr, a, b, c, d, e, f));
}

/* The local sysif runs syscalls in the calling process.  Submitted requests
 * run at once and their results wait in a ring of NEAR_LOCAL_QUEUE entries
 * until completed, so code written for pipelining runs unchanged. */
#define NEAR_LOCAL_QUEUE 256

struct near_local_sysif {
	struct near_sysif base;
	unsigned head, count; /* private */
	int64_t results[NEAR_LOCAL_QUEUE]; /* private */
};

/* Initialise a caller-owned local sysif.  Returns: &l->base. */
NEAR_EXPORT struct near_sysif *near_local_sysif_init(struct near_local_sysif *l);

#ifdef __cplusplus
}
#endif
#endif
