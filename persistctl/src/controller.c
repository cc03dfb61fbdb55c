// SPDX-License-Identifier: MIT
/* persistctl: becoming the controller.  Take DIR/lock, connect to the
 * server at DIR/sock without taking over (starting it first if asked),
 * record it in the store, then run recovery over the connection: zombies'
 * statuses are collected with waitid WNOWAIT in the server, recorded, and
 * only then reaped; children the store never heard of are adopted. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <near/proto.h>
#include <transport/conn.h>
#include "ctl.h"

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

/* One controller at a time per state directory, queued by the kernel: the
 * server keeps a single waiting controller (a newer one supersedes it), so
 * without this lock concurrent invocations would cut each other off. */
static void take_lock(struct ctl *c)
{
	struct sigaction sa = { 0 }, old;
	struct itimerval it = { { 0, 0 }, { CTL_DEADLINE_MS / 1000, 0 } }, off = { 0 };
	char path[PATH_MAX + 32];
	int r, e;

	snprintf(path, sizeof path, "%s/lock", c->dir);
	c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lock_fd < 0)
		ctl_die(EXIT_RUNTIME, "cannot open the controller lock %s: %s", path, strerror(errno));
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return;
	sa.sa_handler = on_alarm; /* no SA_RESTART: flock returns EINTR */
	sigaction(SIGALRM, &sa, &old);
	alarmed = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	do {
		r = flock(c->lock_fd, LOCK_EX);
		e = errno;
	} while (r < 0 && e == EINTR && !alarmed);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	if (r < 0 && alarmed)
		ctl_die(EXIT_RUNTIME, "another persistctl has held %s for %d s; it is released when "
			"that process ends (find it with 'fuser %s')", path, CTL_DEADLINE_MS / 1000,
			path);
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "cannot lock %s: %s", path, strerror(e));
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect without takeover.  A controller waiting at a busy server can be
 * superseded by a newer one and dropped before any of its requests ran:
 * the first request is a getpid that proves we are served, and a drop
 * before its answer is retried until the deadline. */
static int connect_server(struct ctl *c, char *why, size_t whylen)
{
	int64_t deadline = mono_ms() + CTL_DEADLINE_MS, res;
	struct near_request q;
	int r;

	for (;;) {
		r = persist_thread_connect(&c->t, c->sock, 0, CTL_DEADLINE_MS, why, whylen);
		if (r < 0)
			return r;
		transport_set_timeout(c->t.conn, CTL_DEADLINE_MS);
		r = transport_call(c->t.conn, near_request_set(&q, __NR_getpid, 0, 0, 0, 0, 0, 0),
				   &res);
		if (r == 0) {
			c->connected = 1;
			return 0;
		}
		persist_thread_close(&c->t);
		if ((r != -ECONNRESET && r != -ENOTCONN) || mono_ms() > deadline) {
			snprintf(why, whylen, "the server at %s did not serve us: %s", c->sock,
				 strerror(-r));
			return r;
		}
		usleep(10000 + (unsigned)(rand() % 40000));
	}
}

int ctl_thread_alive(const struct persist_thread_rec *th)
{
	struct persist_proc_stat ps;

	/* A zombie server has ended: its parent (often init) reaps it. */
	return th->pid > 0 && persist_proc_stat(th->pid, &ps) == 0 &&
	       ps.starttime == th->starttime && ps.state != 'Z' && ps.state != 'X';
}

void ctl_report_notes(struct ctl *c, const struct persist_recover_report *rep)
{
	for (size_t i = 0; i < rep->n && !c->quiet_notes; i++) {
		const struct persist_recover_entry *e = &rep->entries[i];
		const char *found = persist_found_name(e->found);
		if (e->error)
			ctl_note("recovery: child %" PRId64 " (pid %d, %s): not settled: %s",
				 e->child_id, e->pid, found, strerror(-e->error));
		else if (e->found == PERSIST_FOUND_MATCHED)
			ctl_note("recovery: child %" PRId64 " was spawned as pid %d before its "
				 "controller died; recorded now", e->child_id, e->pid);
		else if (e->found == PERSIST_FOUND_ADOPTED)
			ctl_note("recovery: adopted pid %d, a child of the server no record knew, "
				 "as child %" PRId64, e->pid, e->child_id);
		else if (e->after == PERSIST_CHILD_LOST && e->before != PERSIST_CHILD_LOST)
			ctl_note("recovery: child %" PRId64 " is lost: %s", e->child_id,
				 e->detail ? e->detail : found);
	}
}

static int collect(void *arg, int pid, int *code, int *killed)
{
	struct ctl *c = arg;
	struct persist_exit e;
	int r = persist_child_wait(&c->t, pid, 1, 0, &e);

	if (r < 0)
		return r;
	if (!e.exited)
		return -EAGAIN;
	*code = e.code;
	*killed = e.killed;
	return 0;
}

static int reap(void *arg, int pid)
{
	struct ctl *c = arg;
	struct persist_exit e;
	int r = persist_child_wait(&c->t, pid, 0, 0, &e);

	return r < 0 ? r : e.exited ? 0 : -EAGAIN;
}

static void recover(struct ctl *c, const struct persist_thread_rec *th, int connected)
{
	struct persist_recover_ops ops = { collect, reap, c };
	struct persist_recover_report rep;
	int r = persist_recover(c->st, th, connected ? &ops : NULL, &rep);

	if (r < 0)
		ctl_die(EXIT_RUNTIME, "recovery of the children of server pid %d failed: %s (%s)",
			th->pid, strerror(-r), persist_store_errmsg(c->st));
	ctl_report_notes(c, &rep);
	persist_recover_report_free(&rep);
}

/* The recorded server of this directory, if it is not the one connected:
 * it died (or was replaced), and its live records must be settled against
 * the kernel (they become lost: no one can collect them) before the record
 * names the new server. */
static void settle_old_thread(struct ctl *c, int new_pid, unsigned long long new_start)
{
	struct persist_thread_rec old = { 0 };
	int r = persist_store_thread_find(c->st, c->sock, &old);

	if (r == -ENOENT)
		return;
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "cannot read the store %s: %s", c->db, persist_store_errmsg(c->st));
	if (old.pid != new_pid || old.starttime != new_start) {
		if (ctl_thread_alive(&old) && !c->quiet_notes)
			ctl_note("server pid %d, recorded for %s, still runs but no longer answers "
				 "there; its children are out of reach", old.pid, c->dir);
		recover(c, &old, 0);
	}
	persist_thread_rec_clear(&old);
}

static void record_thread(struct ctl *c)
{
	unsigned long long start;
	int r = persist_proc_starttime(c->t.pid, &start);

	if (r < 0)
		ctl_die(EXIT_RUNTIME, "the server at %s says it is pid %d, which this process "
			"cannot see (%s): run persistctl in the server's pid namespace", c->sock,
			c->t.pid, strerror(-r));
	settle_old_thread(c, c->t.pid, start);
	persist_thread_rec_clear(&c->thread);
	memset(&c->thread, 0, sizeof c->thread);
	c->thread.socket_path = strdup(c->sock);
	c->thread.pid = c->t.pid;
	c->thread.starttime = start;
	c->thread.epoch = transport_hello(c->t.conn)->epoch;
	if (!c->thread.socket_path)
		ctl_die(EXIT_RUNTIME, "out of memory");
	r = persist_store_thread_put(c->st, &c->thread);
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "cannot record the server in %s: %s", c->db,
			persist_store_errmsg(c->st));
}

/* No server answers: show the store, settled against the kernel when the
 * recorded server is gone (then its live children are lost). */
static void offline(struct ctl *c)
{
	int r = persist_store_thread_find(c->st, c->sock, &c->thread);

	if (r == -ENOENT) {
		memset(&c->thread, 0, sizeof c->thread);
		return;
	}
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "cannot read the store %s: %s", c->db, persist_store_errmsg(c->st));
	if (ctl_thread_alive(&c->thread)) {
		if (!c->quiet_notes)
			ctl_note("server pid %d runs but does not answer at %s; showing the store "
				 "as recorded", c->thread.pid, c->sock);
		return;
	}
	recover(c, &c->thread, 0);
}

int ctl_begin(struct ctl *c, enum ctl_need need)
{
	char why[512] = "", err[512] = "";
	int r, pid;

	if (c->st) /* again, after ctl_release */
		goto locked;
	ctl_statedir(c, c->state_opt);
	srand((unsigned)getpid() ^ (unsigned)mono_ms());
	r = persist_store_open(c->db, PERSIST_STORE_CREATE, &c->st, err, sizeof err);
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "cannot open the store %s: %s%s", c->db, err,
			r == -EUCLEAN ? " (move it away to start afresh)" : "");
locked:
	take_lock(c);
	r = connect_server(c, why, sizeof why);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		if (need == CTL_SERVER_OPTIONAL) {
			offline(c);
			return 0;
		}
		if (need == CTL_SERVER_REQUIRED)
			ctl_die(EXIT_RUNTIME, "no server runs for %s (start one with '%s start')",
				c->dir, ctl_prog);
		/* Settle what the dead one left before a new one takes its name. */
		settle_old_thread(c, 0, 0);
		r = persist_server_start(c->sock, CTL_DEADLINE_MS, &pid, why, sizeof why);
		if (r < 0 && r != -EADDRINUSE)
			ctl_die(EXIT_RUNTIME, "cannot start %s for %s: %s (set PERSIST_SERVER_EXE to "
				"the persist-server executable)", persist_server_exe(), c->dir, why);
		r = connect_server(c, why, sizeof why);
	}
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "cannot connect to the server at %s: %s (is it hung? "
			"'%s status' shows its pid)", c->sock, *why ? why : strerror(-r), ctl_prog);
	record_thread(c);
	if (c->settle_first)
		c->settle_result = ctl_settle(c, c->settle_first, c->settle_who);
	recover(c, &c->thread, 1);
	return 1;
}

void ctl_release(struct ctl *c)
{
	if (c->connected)
		persist_thread_close(&c->t);
	c->connected = 0;
	if (c->lock_fd >= 0)
		close(c->lock_fd); /* the lock goes with the last fd */
	c->lock_fd = -1;
}

void ctl_end(struct ctl *c)
{
	ctl_release(c);
	persist_thread_rec_clear(&c->thread);
	persist_store_close(c->st);
	c->st = NULL;
}

void ctl_child(struct ctl *c, int64_t id, struct persist_child_rec *r)
{
	int e = persist_store_child_get(c->st, id, r);

	if (e == -ENOENT)
		ctl_die(EXIT_RUNTIME, "no child %" PRId64 " in %s (see '%s ps')", id, c->dir, ctl_prog);
	if (e < 0)
		ctl_die(EXIT_RUNTIME, "cannot read child %" PRId64 " from %s: %s", id, c->db,
			persist_store_errmsg(c->st));
}

int ctl_child_pidfd(const struct persist_child_rec *r)
{
	unsigned long long start;
	int fd, e;

	if (r->pid <= 0)
		return -ESRCH;
	fd = ctl_pidfd_open(r->pid);
	if (fd < 0)
		return fd;
	/* The pid is ours to trust only while it is the same process. */
	e = persist_proc_starttime(r->pid, &start);
	if (e < 0 || start != r->starttime) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

static void reread(struct ctl *c, struct persist_child_rec *r)
{
	int64_t id = r->id;

	persist_child_rec_clear(r);
	ctl_child(c, id, r);
}

int ctl_settle(struct ctl *c, struct persist_child_rec *r, const char *who)
{
	struct persist_exit e;
	char point[64];
	int x;

	if (r->state != PERSIST_CHILD_RUNNING)
		return 1;
	x = persist_child_wait(&c->t, r->pid, 1, 0, &e);
	if (x == -ECHILD) {
		/* Settled by someone else meanwhile, or not the server's. */
		reread(c, r);
		return r->state == PERSIST_CHILD_RUNNING ? -ECHILD : 1;
	}
	if (x < 0)
		return x;
	if (!e.exited)
		return 0;
	snprintf(point, sizeof point, "%s:after-wnowait", who);
	crash_point(point);
	x = persist_store_ended(c->st, r->id, e.code, e.killed, 0);
	if (x == -EINVAL) {
		/* No longer running in the store: reap only if its end is kept. */
		reread(c, r);
		if (r->state != PERSIST_CHILD_EXITED && r->state != PERSIST_CHILD_KILLED)
			return 1;
	} else if (x < 0) {
		ctl_die(EXIT_RUNTIME, "cannot record the end of child %" PRId64 " in %s: %s "
			"(it stays unreaped; the next persistctl records it)", r->id, c->db,
			persist_store_errmsg(c->st));
	}
	snprintf(point, sizeof point, "%s:after-record", who);
	crash_point(point);
	persist_child_wait(&c->t, r->pid, 0, 0, &e); /* the real reap */
	reread(c, r);
	return 1;
}

void ctl_child_arg(const char *cmd, const char *arg, struct ctl_ref *ref)
{
	ref->name = NULL;
	ref->id = 0;
	if (!arg || !*arg)
		ctl_usage_error(cmd, "needs a child id (see 'persistctl ps')");
	if (*arg >= '0' && *arg <= '9') {
		if (ctl_parse_id(arg, &ref->id) < 0)
			ctl_usage_error(cmd, "'%s' is not a child id (a positive number, or a name)", arg);
	} else {
		ref->name = arg;
	}
}

void ctl_child_ref(struct ctl *c, const struct ctl_ref *ref, struct persist_child_rec *r)
{
	int e;

	if (!ref->name) {
		ctl_child(c, ref->id, r);
		return;
	}
	e = persist_store_child_find(c->st, 0, ref->name, r);
	if (e == -ENOENT)
		ctl_die(EXIT_RUNTIME, "no child named '%s' in %s (see '%s ps')", ref->name, c->dir,
			ctl_prog);
	if (e < 0)
		ctl_die(EXIT_RUNTIME, "cannot read child '%s' from %s: %s", ref->name, c->db,
			persist_store_errmsg(c->st));
}
