// SPDX-License-Identifier: MIT
/* The session: becoming the controller of a state directory's thread.
 * Take DIR/lock, connect to the server at DIR/sock without taking over
 * (starting it first if asked), prove we are served, record it in the
 * store, then run recovery over the connection, so that the crash-recovery
 * path is the everyday path.  The children's operations (run, wait, kill,
 * stop) are in session_child.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <far/far.h>
#include <handle/child.h>
#include <handle/process.h>
#include "session_internal.h"

int64_t persist__mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* One controller at a time per state directory: the server keeps a single
 * waiting controller (a newer one supersedes it), so without this lock
 * concurrent controllers would cut each other off.  The lock is polled
 * rather than waited for with a signal-interrupted flock: a library must
 * not take SIGALRM from its program. */
static int take_lock(struct persist_session *s, char *why, size_t whylen)
{
	char path[PATH_MAX + 8];
	int64_t deadline = persist__mono_ms() + PERSIST_SESSION_DEADLINE_MS, ms = 1;

	snprintf(path, sizeof path, "%s/lock", s->dir);
	if (s->lock_fd < 0)
		s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0) {
		int r = -errno;
		persist__say(why, whylen, "cannot open the controller lock %s: %s", path, strerror(-r));
		return r;
	}
	while (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		if (r != -EWOULDBLOCK && r != -EINTR) {
			persist__say(why, whylen, "cannot lock %s: %s", path, strerror(-r));
			return r;
		}
		if (persist__mono_ms() > deadline) {
			persist__say(why, whylen, "another controller has held %s for %d s; it is "
				     "released when that process ends (find it with 'fuser %s')",
				     path, PERSIST_SESSION_DEADLINE_MS / 1000, path);
			return -ETIMEDOUT;
		}
		nap(ms);
		ms = ms < 16 ? ms * 2 : 16;
	}
	return 0;
}

static void drop_lock(struct persist_session *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* the lock goes with the last fd */
	s->lock_fd = -1;
}

/* Connect, taking over.  We hold the lock, so whoever the server still
 * serves is no live session: a controller that died (perhaps inside a
 * blocking syscall, which the takeover interrupts: docs/design.md,
 * decision 6) or a program that went around the lock.  The first request,
 * a getpid, proves that we are served; a drop before its answer is
 * retried until the deadline, and so is a drop while we connect: a server
 * ending under us (a stop whose controller died after asking for the
 * exit) then refuses the retry, and is started anew if asked. */
static int connect_server(struct persist_session *s, char *why, size_t whylen)
{
	int64_t deadline = persist__mono_ms() + PERSIST_SESSION_DEADLINE_MS;
	unsigned seed = (unsigned)getpid() ^ (unsigned)deadline;
	long pid;
	int r;

	for (;;) {
		r = persist_thread_connect(&s->t, s->sock, 1, PERSIST_SESSION_DEADLINE_MS, why,
					   whylen);
		if ((r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE) &&
		    persist__mono_ms() <= deadline) {
			nap(10 + rand_r(&seed) % 40);
			continue;
		}
		if (r < 0)
			return r;
		transport_set_timeout(s->t.conn, PERSIST_SESSION_DEADLINE_MS);
		/* getpid cannot fail: any error is the connection's. */
		pid = handle_getpid(&s->t.task);
		if (pid > 0) {
			s->connected = 1;
			return 0;
		}
		persist_thread_close(&s->t);
		r = (int)pid;
		if ((r != -ECONNRESET && r != -ENOTCONN) || persist__mono_ms() > deadline) {
			persist__say(why, whylen, "the server at %s did not serve us: %s", s->sock,
				     strerror(-r));
			return r;
		}
		nap(10 + rand_r(&seed) % 40);
	}
}

/* Recovery's collect and reap, through the thread, with the crash points
 * of the instants between them. */
static int collect(void *arg, int pid, int *code, int *killed)
{
	struct persist_session *s = arg;
	struct persist_exit e;
	int r = persist_child_wait(&s->t, pid, 1, 0, &e);

	if (r < 0)
		return r;
	if (!e.exited)
		return -EAGAIN;
	*code = e.code;
	*killed = e.killed;
	persist__crash_point("recover:after-collect");
	return 0;
}

static int reap(void *arg, int pid)
{
	struct persist_session *s = arg;
	struct persist_exit e;
	int r;

	persist__crash_point("recover:after-record");
	r = persist_child_wait(&s->t, pid, 0, 0, &e);
	return r < 0 ? r : e.exited ? 0 : -EAGAIN;
}

/* Append what one recovery found to the session's report: an open may
 * recover the dead server of the directory and then the new one, and
 * both are worth telling. */
static int report_add(struct persist_recover_report *to, struct persist_recover_report *r)
{
	struct persist_recover_entry *e;

	if (!to->n && !to->entries) {
		*to = *r;
		memset(r, 0, sizeof *r);
		return 0;
	}
	e = realloc(to->entries, (to->n + r->n + 1) * sizeof *e);
	if (!e)
		return -ENOMEM;
	memcpy(e + to->n, r->entries, r->n * sizeof *e);
	to->entries = e;
	to->n += r->n;
	to->thread_alive = r->thread_alive;
	to->kernel_children = r->kernel_children;
	to->records += r->records;
	to->running += r->running;
	to->ended += r->ended;
	to->lost += r->lost;
	to->matched += r->matched;
	to->adopted += r->adopted;
	to->reaped += r->reaped;
	to->errors += r->errors;
	to->in_progress += r->in_progress;
	to->half_spawned += r->half_spawned;
	free(r->entries); /* the entries' strings moved with them */
	memset(r, 0, sizeof *r);
	return 0;
}

/* Recovery of the recorded thread th, through the connection if it is the
 * one connected. */
static int recover(struct persist_session *s, const struct persist_thread_rec *th,
		   int connected, char *why, size_t whylen)
{
	struct persist_recover_ops ops = { .collect = collect, .reap = reap, .arg = s,
					   .sysif = s->local_pidns ? NULL : s->t.task.sysif };
	struct persist_recover_report rep;
	int r;

	r = persist_recover(s->st, th, connected ? &ops : NULL, &rep);
	if (r < 0) {
		persist__say(why, whylen, "recovery of the children of server pid %d failed: %s "
			     "(%s)", th->pid, strerror(-r), persist_store_errmsg(s->st));
		return r;
	}
	r = report_add(&s->rep, &rep);
	persist_recover_report_free(&rep);
	return r;
}

int persist__thread_alive(const struct persist_thread_rec *th)
{
	return th->pid > 0 && persist__proc_alive(NULL, th->pid, th->starttime) == 1;
}

static struct persist__procio *thread_io(struct persist_session *s)
{
	if (!s->io_ready) {
		persist__procio_init(&s->io, s->local_pidns ? NULL : s->t.task.sysif);
		s->io_ready = 1;
	}
	return &s->io;
}

int persist__thread_stat(struct persist_session *s, int pid, struct persist_proc_stat *out)
{
	if (s->local_pidns)
		return persist_proc_stat(pid, out); /* the same file, one syscall away */
	return persist__proc_stat_at(thread_io(s), pid, out);
}

int persist__thread_children(struct persist_session *s, struct persist__pids *v)
{
	return persist__proc_children_at(thread_io(s), s->t.pid, v);
}

/* The recorded server of this directory, if it is not the one connected:
 * it died (or was replaced), and its live records are settled against the
 * kernel (they become lost: no one can collect them) before the record
 * names the new server. */
static int settle_old_thread(struct persist_session *s, int new_pid,
			     unsigned long long new_start, char *why, size_t whylen)
{
	struct persist_thread_rec old = { 0 };
	int r = persist_store_thread_find(s->st, s->sock, &old);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		persist__say(why, whylen, "cannot read the store %s: %s", s->db,
			     persist_store_errmsg(s->st));
		return r;
	}
	if (old.pid != new_pid || old.starttime != new_start) {
		if (persist__thread_alive(&old))
			snprintf(s->notice, sizeof s->notice, "server pid %d, recorded for %.300s, still "
				 "runs but no longer answers there; its children are out of reach",
				 old.pid, s->dir);
		r = recover(s, &old, 0, why, whylen);
	}
	persist_thread_rec_clear(&old);
	return r;
}

static int record_thread(struct persist_session *s, char *why, size_t whylen)
{
	struct persist_proc_stat ps;
	struct far_ns ours;
	unsigned long long start;
	int r;

	/* Our /proc serves for the thread's processes only when the thread is
	 * proven to be in our pid namespace: its pid there is the one its
	 * hello gave, and its pid namespace is ours. */
	s->local_pidns = far_ns_of(0, FAR_NS_PID, &ours) == 0 &&
			 far_ns_equal(&ours, &s->t.task.pidns);
	r = persist__thread_stat(s, s->t.pid, &ps);
	if (r < 0) {
		persist__say(why, whylen, "cannot read the stat of the server at %s (pid %d) "
			     "through it: %s", s->sock, s->t.pid, strerror(-r));
		return r;
	}
	start = ps.starttime;
	r = settle_old_thread(s, s->t.pid, start, why, whylen);
	if (r < 0)
		return r;
	persist_thread_rec_clear(&s->rec);
	memset(&s->rec, 0, sizeof s->rec);
	s->rec.socket_path = strdup(s->sock);
	if (!s->rec.socket_path)
		return -ENOMEM;
	s->rec.pid = s->t.pid;
	s->rec.starttime = start;
	s->rec.epoch = transport_hello(s->t.conn)->epoch;
	r = persist_store_thread_put(s->st, &s->rec);
	if (r < 0)
		persist__say(why, whylen, "cannot record the server in %s: %s", s->db,
			     persist_store_errmsg(s->st));
	return r;
}

/* No server answers: the store as recorded, settled against the kernel
 * when the recorded server is gone (then its live children are lost). */
static int offline(struct persist_session *s, char *why, size_t whylen)
{
	int r = persist_store_thread_find(s->st, s->sock, &s->rec);

	if (r == -ENOENT) {
		memset(&s->rec, 0, sizeof s->rec);
		return 0;
	}
	if (r < 0) {
		persist__say(why, whylen, "cannot read the store %s: %s", s->db,
			     persist_store_errmsg(s->st));
		return r;
	}
	if (persist__thread_alive(&s->rec)) {
		snprintf(s->notice, sizeof s->notice, "server pid %d runs but does not answer at "
			 "%s; the store is shown as recorded", s->rec.pid, s->sock);
		return 0;
	}
	return recover(s, &s->rec, 0, why, whylen);
}

int persist__acquire(struct persist_session *s, unsigned flags, int64_t settle_first,
		     char *why, size_t whylen)
{
	int r, pid;

	s->notice[0] = 0;
	persist_recover_report_free(&s->rep);
	memset(&s->rep, 0, sizeof s->rep);
	r = take_lock(s, why, whylen);
	if (r < 0)
		return r;
	persist__crash_point("open:after-lock");
	r = connect_server(s, why, whylen);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		if (flags & PERSIST_SESSION_OFFLINE && !(flags & PERSIST_SESSION_START))
			return offline(s, why, whylen);
		if (!(flags & PERSIST_SESSION_START)) {
			persist__say(why, whylen, "no server runs for %s (start one)", s->dir);
			return -ENOENT;
		}
		/* Settle what the dead one left before a new one takes its name. */
		r = settle_old_thread(s, 0, 0, why, whylen);
		if (r < 0)
			return r;
		r = persist_server_start(s->sock, PERSIST_SESSION_DEADLINE_MS, &pid, why, whylen);
		if (r < 0 && r != -EADDRINUSE) {
			char inner[300];
			snprintf(inner, sizeof inner, "%s", why ? why : "");
			persist__say(why, whylen, "cannot start %s for %s: %s (set PERSIST_SERVER_EXE "
				     "to the persist-server executable)", persist_server_exe(), s->dir,
				     inner);
			return r;
		}
		r = connect_server(s, why, whylen);
	}
	if (r < 0)
		return r;
	persist__crash_point("open:after-connect");
	r = record_thread(s, why, whylen);
	if (r < 0)
		return r;
	persist__crash_point("open:after-record-thread");
	/* What no record names is not the thread's to keep: after a store is
	 * rebuilt, only the kept fds carried over survive (recover-store). */
	r = persist__fds_trim(s);
	if (r < 0 && r != -ENOSYS && r != -EINVAL) {
		persist__say(why, whylen, "cannot bring the fd table of the server at %s back to "
			     "what it owns: %s", s->sock, strerror(-r));
		return r;
	}
	if (settle_first > 0) {
		struct persist_child_rec c = { 0 };
		if (persist_store_child_get(s->st, settle_first, &c) == 0)
			persist__settle(s, &c, "wait");
		persist_child_rec_clear(&c);
	}
	return recover(s, &s->rec, 1, why, whylen);
}

void persist__release(struct persist_session *s)
{
	if (s->io_ready)
		persist__procio_fini(&s->io); /* unmaps its scratch in the thread */
	s->io_ready = 0;
	if (s->connected)
		persist_thread_close(&s->t);
	s->connected = 0;
	persist__kept_free(s);
	drop_lock(s);
}

int persist__thread_end(struct persist_session *s, char *why, size_t whylen)
{
	struct handle_child server;
	int pid = s->t.pid, r, fd = -1;

	/* The server is no child of ours: a pidfd (when it shares our pid
	 * namespace) tells when it has really ended. */
	if (handle_child_init(&server, &s->t.task, pid) == 0)
		fd = server.pidfd;
	if (s->io_ready)
		persist__procio_fini(&s->io);
	s->io_ready = 0;
	r = persist_thread_exit(&s->t, 0);
	s->connected = 0;
	persist__kept_free(s);
	if (fd >= 0) {
		struct pollfd p = { fd, POLLIN, 0 };
		int x = poll(&p, 1, 10000);
		close(fd);
		if (x != 1) {
			persist__say(why, whylen, "server pid %d did not end (%s): end it with "
				     "'kill %d'", pid, r < 0 ? strerror(-r) : "exit_group sent", pid);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

PERSIST_EXPORT int persist_session_open(const char *dir, unsigned flags,
					struct persist_session **out, char *why, size_t whylen)
{
	struct persist_session *s;
	char err[256] = "";
	int r;

	if (why && whylen)
		*why = 0;
	if (!out || (flags & ~(PERSIST_SESSION_START | PERSIST_SESSION_OFFLINE)))
		return -EINVAL;
	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->lock_fd = -1;
	r = persist__statedir(s, dir, why, whylen);
	if (r < 0)
		goto fail;
	r = persist_store_open(s->db, PERSIST_STORE_CREATE, &s->st, err, sizeof err);
	if (r < 0) {
		persist__say(why, whylen, "cannot open the store %s: %s%s", s->db, err,
			     r == -EUCLEAN ? " (damaged: 'persistctl recover-store' rebuilds it from "
			     "the running server)" : "");
		goto fail;
	}
	r = persist__acquire(s, flags, 0, why, whylen);
	if (r < 0)
		goto fail;
	if (why && whylen)
		*why = 0; /* what a retry said on the way is no failure */
	*out = s;
	return 0;
fail:
	persist_session_close(s);
	return r;
}

PERSIST_EXPORT void persist_session_close(struct persist_session *s)
{
	if (!s)
		return;
	persist__release(s);
	persist_recover_report_free(&s->rep);
	persist_thread_rec_clear(&s->rec);
	persist_store_close(s->st);
	free(s);
}

PERSIST_EXPORT struct persist_store *persist_session_store(struct persist_session *s)
{
	return s->st;
}

PERSIST_EXPORT struct persist_thread *persist_session_thread(struct persist_session *s)
{
	return s->connected ? &s->t : NULL;
}

PERSIST_EXPORT int persist_session_connected(const struct persist_session *s)
{
	return s->connected;
}

PERSIST_EXPORT const struct persist_thread_rec *
persist_session_thread_rec(const struct persist_session *s)
{
	return &s->rec;
}

PERSIST_EXPORT const char *persist_session_dir(const struct persist_session *s)
{
	return s->dir;
}

PERSIST_EXPORT const struct persist_recover_report *
persist_session_report(const struct persist_session *s)
{
	return &s->rep;
}

PERSIST_EXPORT const char *persist_session_notice(const struct persist_session *s)
{
	return s->notice[0] ? s->notice : NULL;
}
