/* SPDX-License-Identifier: MIT */
/* libhandle internals: fd table records and the argument checks every
 * wrapper shares.  Never installed. */
#ifndef HANDLE_INTERNAL_H
#define HANDLE_INTERNAL_H

#include <errno.h>
#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <handle/handle.h>

/* One fd number of a table, with the number of handles owning it.  An
 * entry with no handles is a tombstone: kept only in a table that is a copy,
 * so that inheriting a number the copy has since closed is refused. */
struct handle__entry {
	RB_ENTRY(handle__entry) node;
	struct handle_fd_table *table;
	int fd;
	unsigned refs;
	int copied;   /* the copy of the parent's fd, made by handle_fd_inherit */
	uint64_t seq; /* the table's generation when the number was adopted */
};
RB_HEAD(handle__tree, handle__entry);

struct handle_fd_table {
	struct far_fd_table far;
	unsigned tasks; /* task records using it */
	struct handle__tree tree;
	uint64_t gen;
	/* A copy of another table: its id and generation at the copy. */
	uint64_t parent_id, parent_gen;
};

LIST_HEAD(handle__fdlist, handle_fd);

/* table.c */
struct handle_fd_table *handle__table_new(int pid, const struct handle_fd_table *parent);
void handle__table_unref(struct handle_fd_table *t);
struct handle__entry *handle__entry_find(struct handle_fd_table *t, int fd);
struct handle__entry *handle__entry_first(struct handle_fd_table *t);
struct handle__entry *handle__entry_next(struct handle__entry *e);
/* Find or create the entry for fd.  Returns: it, or NULL for -ENOMEM. */
struct handle__entry *handle__entry_get(struct handle_fd_table *t, int fd);
/* Drop one handle's reference; removes (or tombstones) an unowned entry. */
void handle__entry_put(struct handle__entry *e);

/* fd.c: link / unlink a handle with an entry and its task. */
void handle__fd_bind(struct handle_fd *h, struct handle_task *t, struct handle__entry *e);
void handle__fd_unbind(struct handle_fd *h);

/* The state of one wrapper call: the task it runs in, and the first error
 * met while checking arguments (then the syscall is not made). */
struct handle__call {
	struct handle_task *task;
	long err;
};

static inline long handle__fail(struct handle__call *c, long err)
{
	if (!c->err)
		c->err = err;
	return -1;
}

/* The near number of fd for a syscall in c's task; the first fd of a call
 * made without a task chooses the task. */
long handle__fdarg(struct handle__call *c, const struct handle_fd *fd);
/* Like handle__fdarg; NULL is AT_FDCWD. */
long handle__dirarg(struct handle__call *c, const struct handle_fd *fd);
/* The address of p for c's task, requiring need bytes; NULL is 0. */
long handle__ptrarg(struct handle__call *c, const struct handle_ptr *p, size_t need);
/* Adopt fd number r (a syscall's result) into out, closing it if that fails.
 * Returns: 0, or r when it is an error. */
long handle__adopt(struct handle__call *c, long r, struct handle_fd *out);

/* r, a result from t's sysif, or the sysif's own failure: a negative r
 * while the sysif has failed may be the transport's error rather than the
 * syscall's, and is reported as the transport's (near_sysif_failed). */
static inline long handle__checked(const struct handle_task *t, long r)
{
	int f = near_sysif_failed(t->sysif);

	return r < 0 && f < 0 ? f : r;
}

/* Did the call that just gave r fail in the transport rather than in the
 * task?  Returns: that -errno, or 0 if r is the task's own answer. */
static inline int handle__transport_failed(const struct handle_task *t, long r)
{
	return r < 0 ? near_sysif_failed(t->sysif) : 0;
}

static inline long handle__run(struct handle__call *c, long nr, long a, long b,
			       long d, long e, long f, long g)
{
	if (c->err)
		return c->err;
	return handle__checked(c->task, near_sysif_syscall(c->task->sysif, nr, a, b,
							   d, e, f, g));
}

/* A syscall in t, outside the wrapper machinery. */
static inline long handle__sys(struct handle_task *t, long nr, long a, long b, long d,
			       long e)
{
	return handle__checked(t, near_sysif_syscall(t->sysif, nr, a, b, d, e, 0, 0));
}

/* The shapes most wrappers share (call.c):
 *   fd_buf  nr(fd, buf, buf's size, a)
 *   fd_ptr  nr(fd, ptr, a)
 *   fd_int  nr(fd, a, b)
 *   at      nr(dirfd, path, a, b)       in task t */
long handle__fd_buf(long nr, const struct handle_fd *fd, const struct handle_ptr *buf,
		    size_t need, long a);
long handle__fd_ptr(long nr, const struct handle_fd *fd, const struct handle_ptr *p,
		    size_t need, long a);
long handle__fd_int(long nr, const struct handle_fd *fd, long a, long b);
long handle__at(long nr, struct handle_task *t, const struct handle_fd *dirfd,
		const struct handle_ptr *path, long a, long b);
/* Adopt the two fds a pipe2 / socketpair wrote at scratch.
 * Returns: 0 or -errno (both closed). */
long handle__adopt_pair(struct handle__call *c, long r, const struct handle_ptr *scratch,
			struct handle_fd out[2]);

#define HANDLE__MIN(a, b) ((a) < (b) ? (a) : (b))

#endif
