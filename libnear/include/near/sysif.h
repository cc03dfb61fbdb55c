/* SPDX-License-Identifier: MIT */
/* The syscall interface: how a higher layer runs syscalls in some process
 * without caring whether that process is this one (the local sysif) or one at
 * the other end of a socket (libtransport).  Results follow the kernel
 * convention: >= 0 on success, -errno on failure.
 *
 * A sysif that carries requests somewhere can fail on its own: the request
 * was not sent, or its answer never came.  Its -errno then comes back where
 * the syscall's result would, and a remote close() that "returned
 * -ECONNRESET" would be ambiguous (recv, send and connect can return that
 * too).  So the sysif records such failures in s->failed, and
 * near_sysif_failed(s) tells a transport failure from a syscall's error.
 * The local sysif never fails. */
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

/* Every operation that fails for a reason of the sysif's own (not the
 * target's answer) records that -errno with near_sysif_fail before
 * returning it; -EAGAIN from submit and complete is flow control, not a
 * failure, and is not recorded. */
struct near_sysif_ops {
	/* Run one syscall and wait for it.  Returns its result or -errno:
	 * the syscall's, or the sysif's own (then recorded). */
	int64_t (*syscall)(struct near_sysif *, const struct near_request *);
	/* Queue a request.  Returns 0, or -errno if it was not queued. */
	int (*submit)(struct near_sysif *, const struct near_request *);
	/* Result of the oldest submitted request.  Returns 0 with *result set,
	 * -EAGAIN if nothing is outstanding, or another -errno. */
	int (*complete)(struct near_sysif *, int64_t *result);
	/* Copy len bytes from the target's address src into dst.
	 * Returns 0, -EFAULT if the target's memory there is not accessible,
	 * or the sysif's own -errno. */
	int (*read_mem)(struct near_sysif *, void *dst, uint64_t src, size_t len);
	/* Copy len bytes from src into the target's address dst.
	 * Returns 0, -EFAULT, or the sysif's own -errno. */
	int (*write_mem)(struct near_sysif *, uint64_t dst, const void *src,
			 size_t len);
	/* Release the interface; it may not be used afterwards. */
	void (*close)(struct near_sysif *);
};

struct near_sysif {
	const struct near_sysif_ops *ops;
	/* 0, or the sysif's latest own failure since the last reset (a
	 * negative errno).  Read it with near_sysif_failed. */
	int failed;
};

/* Did s fail to carry a request or its answer since it was made or last
 * reset?  Sticky, like ferror(3), so a caller may check once after several
 * calls; it holds the latest failure, so right after a call that failed it
 * is that call's.  0 after a call means every result s gave came from the
 * target (a syscall's own -errno is then the syscall's).  A transport's values:
 * -ENOTCONN the request was not sent, so it did not run; -ECONNRESET it
 * was sent and the connection ended before the answer: it may have run;
 * -ETIMEDOUT no answer in time: it may have run; -EBUSY or -ENOMEM it was
 * refused before sending.  A connection that has ended fails every later
 * request (-ENOTCONN) whether or not the field is reset.
 * Returns: 0 or that -errno. */
static inline int near_sysif_failed(const struct near_sysif *s)
{
	return s->failed;
}

/* Forget a recorded failure, e.g. once its consequences are dealt with.
 * Returns: nothing. */
static inline void near_sysif_reset(struct near_sysif *s)
{
	s->failed = 0;
}

/* For implementations: record the sysif's own failure err (< 0).  The
 * latest one is kept, so that right after a failed call the field names
 * that call's fate.  Returns: err, to be returned in turn. */
static inline int near_sysif_fail(struct near_sysif *s, int err)
{
	s->failed = err;
	return err;
}

/* Run syscall nr with six arguments through s.
 * Returns: the syscall's result or -errno; when near_sysif_failed(s) is
 * < 0 afterwards, a negative result may be the sysif's own failure. */
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
