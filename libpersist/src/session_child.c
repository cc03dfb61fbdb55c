// SPDX-License-Identifier: MIT
/* The session's children: run (intent -> spawn -> record), wait and settle
 * (waitid WNOWAIT -> record -> reap), kill, and stop.  Every operation on a
 * child goes through the thread's task: waitid and kill run in the thread,
 * and a pidfd in this process is only an optimisation for sleeping, taken
 * when libhandle proves the thread shares our pid namespace.
 *
 * Why holding the session makes a pid safe to use: only a controller that
 * holds the lock reaps the thread's children (the server never does, see
 * docs/design.md on exit statuses), so while we hold it a running record's
 * pid names that child, alive or a zombie, and cannot be reused. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <handle/child.h>
#include <handle/process.h>
#include "session_internal.h"

static int final(const struct persist_child_rec *r)
{
	return r->state == PERSIST_CHILD_EXITED || r->state == PERSIST_CHILD_KILLED ||
	       r->state == PERSIST_CHILD_LOST;
}

static int reread(struct persist_session *s, struct persist_child_rec *r)
{
	int64_t id = r->id;

	persist_child_rec_clear(r);
	return persist_store_child_get(s->st, id, r);
}

static void crash_at(const char *who, const char *what)
{
	char point[64];

	snprintf(point, sizeof point, "%s:%s", who, what);
	persist__crash_point(point);
}

int persist__settle(struct persist_session *s, struct persist_child_rec *r, const char *who)
{
	struct persist_exit e;
	int x;

	if (r->state != PERSIST_CHILD_RUNNING)
		return 1;
	if (!s->connected || r->thread_id != s->rec.id)
		return -ENOTCONN;
	x = persist_child_wait(&s->t, r->pid, 1, 0, &e);
	if (x == -ECHILD) {
		/* Settled by someone else meanwhile, or not the server's. */
		x = reread(s, r);
		return x < 0 ? x : r->state == PERSIST_CHILD_RUNNING ? -ECHILD : 1;
	}
	if (x < 0)
		return x;
	if (!e.exited)
		return 0;
	crash_at(who, "after-wnowait");
	x = persist_store_ended(s->st, r->id, e.code, e.killed, 0);
	if (x == -EINVAL) {
		/* No longer running in the store: reap only if its end is kept. */
		x = reread(s, r);
		if (x < 0)
			return x;
		if (r->state != PERSIST_CHILD_EXITED && r->state != PERSIST_CHILD_KILLED)
			return 1;
	} else if (x < 0) {
		return x; /* it stays unreaped: the next controller records it */
	}
	crash_at(who, "after-record");
	persist_child_wait(&s->t, r->pid, 0, 0, &e); /* the real reap */
	x = reread(s, r);
	return x < 0 ? x : 1;
}

struct birth {
	struct persist_session *s;
	int64_t id;
	unsigned long long start; /* the child's, once born */
};

/* The child exists and has not exec'd: its identity goes into the intent
 * before the execve (the crash point between is run:after-born). */
static int born(void *arg, int pid)
{
	struct birth *b = arg;
	struct persist_proc_stat ps;
	int r = persist__thread_stat(b->s, pid, &ps);

	if (r == 0)
		r = persist_store_born(b->s->st, b->id, pid, b->start = ps.starttime);
	if (r == 0)
		persist__crash_point("run:after-born");
	return r;
}

static int name_ok(const char *name)
{
	return !name || (*name && !(*name >= '0' && *name <= '9'));
}

PERSIST_EXPORT int persist_session_run(struct persist_session *s, const char *name,
				       const struct persist_spawn *sp, int64_t *id,
				       char *why, size_t whylen)
{
	return persist__run(s, name, sp, 0, id, why, whylen);
}

int persist__run(struct persist_session *s, const char *name, const struct persist_spawn *sp,
		 int64_t restart_of, int64_t *id, char *why, size_t whylen)
{
	char out[PATH_MAX + 48], err[PATH_MAX + 48], spawn_why[512] = "";
	int fds[PERSIST_SPAWN_MAX_FDS];
	struct birth bb;
	struct persist_spawn use;
	int64_t cid = 0;
	int r, pid;

	if (why && whylen)
		*why = 0;
	if (id)
		*id = 0;
	if (!sp || !sp->argv || !sp->argv[0] || !*sp->argv[0]) {
		persist__say(why, whylen, "no command to run");
		return -EINVAL;
	}
	if (!name_ok(name)) {
		persist__say(why, whylen, "name '%s' must be non-empty and not start with a digit",
			     name);
		return -EINVAL;
	}
	if (!s->connected) {
		persist__say(why, whylen, "no server answers for %s: open the session with "
			     "PERSIST_SESSION_START", s->dir);
		return -ENOTCONN;
	}
	persist__crash_point("run:before-intent");
	{
		/* All that starting it again the same way needs. */
		struct persist_child_spec spec = {
			.envp = sp->envp, .stdin_path = sp->stdin_path,
			.stdout_path = sp->stdout_path, .stderr_path = sp->stderr_path,
			.fd_names = sp->fd_names, .nfds = sp->fd_names ? sp->nfds : 0,
			.new_session = sp->new_session, .restart_of = restart_of,
		};
		r = persist_store_intent_spec(s->st, s->rec.id, name, sp->argv, sp->cwd, &spec,
					      &cid);
	}
	if (r == -EEXIST) {
		struct persist_child_rec other = { 0 };
		persist_store_child_find(s->st, s->rec.id, name, &other);
		persist__say(why, whylen, "a running child is already named '%s' (child %lld): "
			     "choose another name, or end it first", name, (long long)other.id);
		persist_child_rec_clear(&other);
		return r;
	}
	if (r < 0) {
		persist__say(why, whylen, "cannot record the intent to run %s in %s: %s",
			     sp->argv[0], s->db, persist_store_errmsg(s->st));
		return r;
	}
	if (id)
		*id = cid;
	persist__crash_point("run:after-intent");

	use = *sp;
	bb.s = s;
	bb.id = cid;
	use.born = born;
	use.born_arg = &bb;
	if (use.nfds && !use.fds) {
		/* Kept fds by name, each proven to be its file first. */
		if (use.nfds > PERSIST_SPAWN_MAX_FDS || !use.fd_names) {
			persist__say(why, whylen, "at most %d named fds, each named",
				     PERSIST_SPAWN_MAX_FDS);
			r = -EINVAL;
			goto lost;
		}
		for (size_t i = 0; i < use.nfds; i++) {
			const struct handle_fd *h;
			r = persist_session_fd_get(s, use.fd_names[i], &h);
			if (r < 0) {
				persist__say(why, whylen, "fd '%s': %s", use.fd_names[i],
					     r == -ENOENT ? "no fd is kept under that name" :
					     r == -ESTALE ? "stale: its number no longer names the "
							    "file it was kept for" : strerror(-r));
				goto lost;
			}
			fds[i] = h->fd;
		}
		use.fds = fds;
	}
	if (!use.stdout_path || !use.stderr_path) {
		r = persist__logs_dir(s, why, whylen);
		if (r < 0)
			goto lost;
		persist_session_log_path(s, cid, 1, out, sizeof out);
		persist_session_log_path(s, cid, 2, err, sizeof err);
		/* The id is new: a file by its name is a leftover of another
		 * store (a rebuilt one starts its ids afresh). */
		if (!use.stdout_path)
			s->far ? persist__far_unlink(s, out) : unlink(out);
		if (!use.stderr_path)
			s->far ? persist__far_unlink(s, err) : unlink(err);
		if (!use.stdout_path)
			use.stdout_path = out;
		if (!use.stderr_path)
			use.stderr_path = err;
	}
	r = persist_spawn(&s->t, &use, &pid, spawn_why, sizeof spawn_why);
	if (r < 0) {
		persist__say(why, whylen, "cannot run %s: %s%s", sp->argv[0],
			     *spawn_why ? spawn_why : strerror(-r),
			     r == -ENOENT ? " (check the name and PATH)" : "");
		goto lost;
	}
	persist__crash_point("run:after-spawn");

	/* Its start time was read at its birth (execve keeps it). */
	r = persist_store_started(s->st, cid, pid, bb.start);
	if (r < 0)
		persist__say(why, whylen, "child %lld runs as pid %d but could not be recorded: %s "
			     "(the next session adopts it)", (long long)cid, pid,
			     persist_store_errmsg(s->st));
	return r;
lost:
	{
		char reason[700];
		snprintf(reason, sizeof reason, "spawn failed: %s", why && *why ? why : strerror(-r));
		persist_store_lost(s->st, cid, reason); /* else recovery marks it lost */
	}
	return r;
}

static void fill_exit(const struct persist_child_rec *r, struct persist_exit *st)
{
	memset(st, 0, sizeof *st);
	if (r->state == PERSIST_CHILD_EXITED || r->state == PERSIST_CHILD_KILLED) {
		st->exited = 1;
		st->killed = r->state == PERSIST_CHILD_KILLED;
		st->code = st->killed ? r->signal : r->exit_code;
	}
}

/* Sleep until running child r ends, or ms pass (< 0: no limit), or a slice
 * of *slice ms passes where the end cannot be watched, without holding the
 * thread: the lock and the connection are let go meanwhile, so other
 * controllers work, and taken back (with recovery) before it returns.
 * Watching needs a pidfd in this process, which libhandle makes only for a
 * thread proven to share our pid namespace; elsewhere (another pid
 * namespace, no pidfds) the caller looks again after each slice, which
 * grows from 50 ms to 1 s.  Returns: 0 (look again); an error of taking the
 * thread back. */
static int sleep_on(struct persist_session *s, const struct persist_child_rec *r, int64_t ms,
		    int64_t *slice)
{
	struct handle_child hc;
	int64_t deadline = ms < 0 ? -1 : persist__mono_ms() + ms, id = r->id;
	int ended = 0, x;

	x = handle_child_init(&hc, &s->t.task, r->pid);
	if (x < 0)
		hc.pidfd = -1;
	persist__release(s, 1);
	if (hc.pidfd >= 0) {
		for (;;) {
			struct pollfd p = { hc.pidfd, POLLIN, 0 };
			int64_t left = deadline < 0 ? 3600000 : deadline - persist__mono_ms();
			if (left <= 0)
				break;
			/* poll takes an int: long waits go in slices of an hour. */
			x = poll(&p, 1, left > 3600000 ? 3600000 : (int)left);
			if (x > 0) {
				ended = 1;
				break;
			}
			if (x < 0 && errno != EINTR)
				break;
		}
		handle_child_close(&hc);
	} else {
		int64_t left = deadline < 0 ? *slice : deadline - persist__mono_ms();
		struct timespec ts;
		if (left > *slice)
			left = *slice;
		if (left > 0) {
			ts.tv_sec = (time_t)(left / 1000);
			ts.tv_nsec = (long)(left % 1000) * 1000000;
			nanosleep(&ts, NULL);
		}
		*slice = *slice * 2 > 1000 ? 1000 : *slice * 2;
		ended = 1; /* perhaps: wait's crash points apply if it did */
	}
	/* OFFLINE: a server that died meanwhile leaves the store to answer
	 * (its children lost), not an error. */
	return persist__acquire(s, PERSIST_SESSION_OFFLINE, ended ? id : 0, NULL, 0);
}

/* Whether x is a connection that dropped (a killed ssh, a server taken
 * over), not an answer. */
static int dropped(int x)
{
	return x == -ECONNRESET || x == -EPIPE || x == -ENOTCONN;
}

/* Take the thread back after a drop, as after a sleep, again while that
 * drops too, *drops counting every drop of the wait (at most 3).
 * Returns: 0; the last error. */
static int take_back(struct persist_session *s, int *drops)
{
	int x;

	do {
		persist__release(s, 0);
		x = persist__acquire(s, PERSIST_SESSION_OFFLINE, 0, NULL, 0);
	} while (dropped(x) && (*drops)++ < 3);
	return x;
}

PERSIST_EXPORT int persist_session_wait(struct persist_session *s, int64_t id, int timeout_ms,
					struct persist_exit *st)
{
	struct persist_child_rec r = { 0 };
	int64_t deadline = timeout_ms < 0 ? -1 : persist__mono_ms() + timeout_ms, slice = 50;
	int x, drops = 0;

	memset(st, 0, sizeof *st);
	for (;;) {
		int64_t left = deadline < 0 ? -1 : deadline - persist__mono_ms();
		persist_child_rec_clear(&r);
		x = persist_store_child_get(s->st, id, &r);
		if (x < 0)
			return x;
		if (final(&r))
			break;
		if (!s->connected) {
			x = -ENOTCONN;
			goto out;
		}
		if (r.state == PERSIST_CHILD_INTENT) {
			x = -EAGAIN;
			goto out;
		}
		x = persist__settle(s, &r, "wait");
		if ((x == -ECONNRESET || x == -EPIPE) && drops++ < 3) {
			/* The connection dropped during the look (a killed ssh,
			 * a server taken over): take the thread back as after a
			 * sleep; its recovery settles what the look began. */
			x = take_back(s, &drops);
			if (x < 0)
				goto out;
			continue;
		}
		if (x < 0)
			goto out;
		if (x == 1)
			break;
		if (deadline >= 0 && left <= 0) {
			x = -ETIMEDOUT;
			goto out;
		}
		x = sleep_on(s, &r, left, &slice);
		/* Taking the thread back after the sleep may drop too (an ssh
		 * killed while the identity or the recovery is read). */
		if (dropped(x) && drops++ < 3)
			x = take_back(s, &drops);
		if (x < 0)
			goto out;
	}
	fill_exit(&r, st);
	x = r.state == PERSIST_CHILD_LOST ? -ENODATA : 0;
out:
	persist_child_rec_clear(&r);
	return x;
}

/* A running child of the connected thread, as a handle (pidfd when local).
 * Returns: 0; -ENOENT; -ESRCH (not running); -ENOTCONN. */
static int child_handle(struct persist_session *s, int64_t id, struct handle_child *hc,
			struct persist_child_rec *r)
{
	int x = persist_store_child_get(s->st, id, r);

	if (x < 0)
		return x;
	if (r->state != PERSIST_CHILD_RUNNING)
		return -ESRCH;
	if (!s->connected || r->thread_id != s->rec.id)
		return -ENOTCONN;
	return handle_child_init(hc, &s->t.task, r->pid);
}

PERSIST_EXPORT int persist_session_kill(struct persist_session *s, int64_t id, int sig)
{
	struct persist_child_rec r = { 0 };
	struct handle_child hc;
	int x;

	if (sig < 0 || sig > 64)
		return -EINVAL;
	x = child_handle(s, id, &hc, &r);
	persist_child_rec_clear(&r);
	if (x < 0)
		return x;
	x = handle_child_signal(&hc, sig);
	handle_child_close(&hc);
	if (x == 0)
		persist__crash_point("kill:after-signal");
	return x;
}

/* Signal a child and, if it leads its own process group (a session's
 * children usually do), the group: a shell's children go too.  The child
 * is unreaped, so its pid, which names the group, is not reused. */
int persist__signal_child(struct persist_session *s, struct handle_child *hc, int sig)
{
	int r = handle_child_signal(hc, sig);

	if (r == 0)
		handle_kill(&s->t.task, -hc->pid, sig); /* -ESRCH: no such group */
	return r;
}

/* Wait until every child in hcs has ended or ms pass. */
void persist__wait_all(struct persist_session *s, struct handle_child *hcs, const int *live,
		       size_t n, int64_t ms)
{
	int64_t deadline = persist__mono_ms() + ms;

	for (size_t i = 0; i < n; i++) {
		if (!live[i])
			continue;
		for (;;) {
			struct persist_exit e;
			int64_t left = deadline - persist__mono_ms();
			if (hcs[i].pidfd >= 0) {
				struct pollfd p = { hcs[i].pidfd, POLLIN, 0 };
				poll(&p, 1, left > 0 ? (int)left : 0);
				break;
			}
			if (persist_child_wait(&s->t, hcs[i].pid, 1, 0, &e) < 0 || e.exited ||
			    left <= 0)
				break;
			poll(NULL, 0, left < 20 ? (int)left : 20);
		}
	}
}


PERSIST_EXPORT int persist_session_stop(struct persist_session *s, int grace_ms,
					char *why, size_t whylen)
{
	struct persist_child_rec *recs = NULL;
	struct handle_child *hcs = NULL;
	int *live = NULL, x;
	size_t n = 0, unsettled = 0, killed = 0;

	if (why && whylen)
		*why = 0;
	if (!s->connected) {
		persist__say(why, whylen, "no server answers for %s: nothing to stop", s->dir);
		return -ENOTCONN;
	}
	x = persist_store_children(s->st, s->rec.id, &recs, &n);
	if (x < 0) {
		persist__say(why, whylen, "cannot read the children from %s: %s", s->db,
			     persist_store_errmsg(s->st));
		return x;
	}
	hcs = calloc(n ? n : 1, sizeof *hcs);
	live = calloc(n ? n : 1, sizeof *live);
	if (!hcs || !live) {
		x = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (recs[i].state != PERSIST_CHILD_RUNNING)
			continue;
		if (handle_child_init(&hcs[i], &s->t.task, recs[i].pid) < 0)
			continue;
		live[i] = persist__signal_child(s, &hcs[i], SIGTERM) == 0;
		if (!live[i])
			handle_child_close(&hcs[i]);
	}
	persist__crash_point("stop:after-term");
	persist__wait_all(s, hcs, live, n, grace_ms < 0 ? 0 : grace_ms);
	for (size_t i = 0; i < n; i++) {
		struct persist_exit e;
		if (live[i] && persist_child_wait(&s->t, recs[i].pid, 1, 0, &e) == 0 && !e.exited &&
		    persist__signal_child(s, &hcs[i], SIGKILL) == 0)
			killed++;
	}
	if (killed)
		persist__wait_all(s, hcs, live, n, PERSIST__KILL_WAIT_MS);
	for (size_t i = 0; i < n; i++) {
		if (live[i])
			handle_child_close(&hcs[i]);
		if (recs[i].state != PERSIST_CHILD_RUNNING)
			continue;
		x = persist__settle(s, &recs[i], "stop");
		if (x <= 0)
			unsettled++;
	}
	if (unsettled) {
		persist__say(why, whylen, "%zu children could not be settled; the server stays up "
			     "(stop again)", unsettled);
		x = -EBUSY;
		goto out;
	}
	/* Anything unrecorded that appeared meanwhile is adopted and settled
	 * by the next recovery: stop only a thread with no unknown child. */
	{
		struct persist__pids kids = { 0 };
		size_t nk = 0;
		if (persist__thread_children(s, &kids) == 0)
			nk = kids.n;
		persist__pids_free(&kids);
		if (nk) {
			persist__say(why, whylen, "the server still has %zu children no record "
				     "knows; open a session again (it adopts them) and stop again",
				     nk);
			x = -EBUSY;
			goto out;
		}
	}
	x = persist__thread_end(s, why, whylen);
out:
	free(live);
	free(hcs);
	persist_child_recs_free(recs, n);
	return x;
}
