// SPDX-License-Identifier: MIT
/* Named fds: an fd the thread holds, kept under a name across crashes.
 *
 * rsyscall leaves open whether a database of a thread's resources can be
 * trusted after a crash: a number recorded for an fd may since have been
 * closed and reused for another file, and a handle made from the number
 * alone would then be a handle to the wrong file.  Here a kept fd is
 * recorded with the identity of its open file (st_dev, st_ino and the file
 * type, read by fstat in the thread), and a handle is made for it only
 * after the thread has shown, by another fstat, that the number still
 * names that same file; otherwise the record is reported stale.  Sockets
 * have an inode of their own (sockfs), so a listening socket is told apart
 * from any socket that might take its number. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <asm/unistd.h>
#include <near/proto.h>
#include <handle/fd.h>
#include <handle/ptr.h>
#include <transport/mem.h>
#include "session_internal.h"

struct persist__kept {
	struct persist__kept *next;
	char *name;
	struct handle_fd h; /* linked into the task: never moved */
};

/* fstat fd in the thread.  Returns: 0 with *out; the syscall's -errno
 * (-EBADF: not open); a transport error. */
static int thread_fstat(struct persist_session *s, int fd, struct stat *out)
{
	struct near_sysif *sys = s->t.task.sysif;
	struct near_request q;
	struct handle_ptr p;
	uint64_t at;
	int64_t res;
	int r = transport_alloc(s->t.conn, sizeof *out, &at);

	if (r < 0)
		return r;
	r = handle_ptr_init(&p, &s->t.task, at, sizeof *out);
	/* The identity check comes before any handle exists: a plain request. */
	res = sys->ops->syscall(sys, near_request_set(&q, __NR_fstat, fd, (int64_t)at, 0, 0, 0, 0));
	if (r == 0 && res < 0)
		r = (int)res;
	if (r == 0)
		r = handle_ptr_read(&p, &s->t.task, 0, out, sizeof *out);
	transport_free(s->t.conn, at);
	return r;
}

/* Does rec's number still name rec's file?  Returns: 1; 0 (stale: closed,
 * or another file); a transport error. */
static int verify(struct persist_session *s, const struct persist_fd_rec *rec)
{
	struct stat st;
	int r;

	if (!rec->type)
		return 0; /* kept without identity: never trusted */
	r = thread_fstat(s, rec->fd, &st);
	if (r == -EBADF)
		return 0;
	if (r < 0)
		return r;
	return (uint64_t)st.st_dev == rec->dev && (uint64_t)st.st_ino == rec->ino &&
	       (unsigned)(st.st_mode & S_IFMT) == rec->type;
}

static struct persist__kept *kept_find(struct persist_session *s, const char *name)
{
	for (struct persist__kept *k = s->kept; k; k = k->next)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

void persist__kept_free(struct persist_session *s)
{
	while (s->kept) {
		struct persist__kept *k = s->kept;
		s->kept = k->next;
		free(k->name);
		free(k);
	}
}

/* The store's record of name.  Returns: 0 with *out (free its strings);
 * -ENOENT; store errors. */
static int rec_find(struct persist_session *s, const char *name, struct persist_fd_rec *out)
{
	struct persist_fd_rec *recs;
	size_t n;
	int r = persist_store_fd_list(s->st, s->rec.id, &recs, &n);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(recs[i].name, name) == 0) {
			*out = recs[i];
			recs[i].name = recs[i].description = NULL;
			r = 0;
		}
	}
	persist_fd_recs_free(recs, n);
	return r;
}

PERSIST_EXPORT int persist_session_fd_keep(struct persist_session *s, const char *name,
					   struct handle_fd *fd, const char *description,
					   char *why, size_t whylen)
{
	struct persist_fd_rec rec = { 0 };
	struct persist__kept *k;
	struct stat st;
	int r;

	if (why && whylen)
		*why = 0;
	if (!name || !*name || strchr(name, ':') || (*name >= '0' && *name <= '9')) {
		persist__say(why, whylen, "a kept fd's name must be non-empty, without ':', and not "
			     "start with a digit");
		return -EINVAL;
	}
	if (!s->connected)
		return -ENOTCONN;
	if (!fd || !handle_fd_valid(fd) || fd->task != &s->t.task)
		return -EBADF;
	r = thread_fstat(s, fd->fd, &st);
	if (r < 0) {
		persist__say(why, whylen, "cannot read the identity of fd %d in the thread: %s",
			     fd->fd, strerror(-r));
		return r;
	}
	k = calloc(1, sizeof *k);
	if (!k || !(k->name = strdup(name))) {
		free(k);
		return -ENOMEM;
	}
	rec.name = (char *)name;
	rec.fd = fd->fd;
	rec.description = (char *)description;
	rec.dev = (uint64_t)st.st_dev;
	rec.ino = (uint64_t)st.st_ino;
	rec.type = (unsigned)(st.st_mode & S_IFMT);
	r = persist_store_fd_add(s->st, s->rec.id, &rec);
	if (r < 0) {
		persist__say(why, whylen, r == -EEXIST ? "an fd is already kept as '%s': close it "
			     "first" : "cannot record fd '%s': %s", name, persist_store_errmsg(s->st));
		free(k->name);
		free(k);
		return r;
	}
	handle_fd_move(&k->h, fd, &s->t.task);
	k->next = s->kept;
	s->kept = k;
	return 0;
}

PERSIST_EXPORT int persist_session_fd_get(struct persist_session *s, const char *name,
					  const struct handle_fd **out)
{
	struct persist_fd_rec rec = { 0 };
	struct persist__kept *k;
	int r;

	*out = NULL;
	if (!s->connected)
		return -ENOTCONN;
	k = kept_find(s, name);
	if (k) {
		*out = &k->h;
		return 0;
	}
	r = rec_find(s, name, &rec);
	if (r < 0)
		return r;
	r = verify(s, &rec);
	if (r == 0)
		r = -ESTALE;
	if (r < 0)
		goto out;
	k = calloc(1, sizeof *k);
	if (!k || !(k->name = strdup(name))) {
		free(k);
		r = -ENOMEM;
		goto out;
	}
	r = handle_fd_adopt(&k->h, &s->t.task, rec.fd);
	if (r < 0) {
		free(k->name);
		free(k);
		goto out;
	}
	k->next = s->kept;
	s->kept = k;
	*out = &k->h;
out:
	free(rec.name);
	free(rec.description);
	return r;
}

PERSIST_EXPORT int persist_session_fd_drop(struct persist_session *s, const char *name)
{
	struct persist__kept **pp, *k;
	const struct handle_fd *h;
	int r;

	if (!s->connected)
		return -ENOTCONN;
	r = persist_session_fd_get(s, name, &h);
	if (r == -ESTALE)
		return persist_store_fd_del(s->st, s->rec.id, name); /* nothing of ours to close */
	if (r < 0)
		return r;
	/* Forget first: a crash after it leaves an unrecorded fd, never a
	 * record naming a number that may be reused. */
	r = persist_store_fd_del(s->st, s->rec.id, name);
	if (r < 0)
		return r;
	for (pp = &s->kept; (k = *pp) && strcmp(k->name, name) != 0; pp = &k->next)
		;
	*pp = k->next;
	r = handle_fd_close(&k->h);
	free(k->name);
	free(k);
	return r;
}

PERSIST_EXPORT int persist_session_fd_list(struct persist_session *s,
					   struct persist_fd_rec **out, size_t *n)
{
	int r = persist_store_fd_list(s->st, s->rec.id, out, n);

	for (size_t i = 0; r == 0 && i < *n; i++) {
		int v = s->connected ? verify(s, &(*out)[i]) : 0;
		(*out)[i].verified = v > 0;
	}
	return r;
}

int persist__fds_forget(struct persist_session *s, int64_t thread_id)
{
	struct persist_fd_rec *recs;
	size_t n;
	int r = persist_store_fd_list(s->st, thread_id, &recs, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		r = persist_store_fd_del(s->st, thread_id, recs[i].name);
		if (r == -ENOENT)
			r = 0; /* forgotten meanwhile */
	}
	persist_fd_recs_free(recs, n);
	return r;
}

/* Bring the thread's fd table back to exactly what it owns (docs/design.md,
 * decision 15): its stdio, the server's own sockets, and the kept fds that
 * are still the files they were kept for.  Anything else was left by a
 * controller that died mid-way (or by a program that made fds in the
 * thread without keeping them) and is closed.  A thread that shares our
 * address space may share our fd table too: it is left alone.
 * Returns: the number of fds closed; -errno. */
int persist__fds_trim(struct persist_session *s)
{
	struct near_sysif *sys = s->t.task.sysif;
	struct persist_fd_rec *recs;
	struct near_request q;
	struct handle_ptr scratch;
	uint64_t at;
	int64_t own;
	size_t n;
	int r;

	if (handle_task_is_local(&s->t.task) != 0)
		return 0;
	own = sys->ops->syscall(sys, near_request_set(&q, NEAR_OP_OWN_FDS, 0, 0, 0, 0, 0, 0));
	if (own < 0)
		return (int)own; /* an older server: better keep too much */
	s->nown = 0;
	for (int fd = 0; fd <= 2; fd++)
		if (handle_fd_adopt(&s->own[s->nown], &s->t.task, fd) == 0)
			s->nown++;
	for (int i = 0; i < 3; i++) {
		int fd = NEAR_OWN_FD(own, i);
		if (fd > 2 && handle_fd_adopt(&s->own[s->nown], &s->t.task, fd) == 0)
			s->nown++;
	}
	r = persist_store_fd_list(s->st, s->rec.id, &recs, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct handle_fd *h;
		persist_session_fd_get(s, recs[i].name, &h); /* stale ones are not ours */
	}
	persist_fd_recs_free(recs, n);
	r = transport_alloc(s->t.conn, 4096, &at);
	if (r < 0)
		return r;
	r = handle_ptr_init(&scratch, &s->t.task, at, 4096);
	if (r == 0)
		r = handle_fd_table_gc(&s->t.task, &scratch);
	transport_free(s->t.conn, at);
	return r;
}
