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
	const char *path = s->lock_path;
	int64_t deadline = persist__mono_ms() + PERSIST_SESSION_DEADLINE_MS, ms = 1;

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

/* The first request on a new connection, a getpid, proves that we are
 * served; the thread is closed when it fails.  Returns: 0; -errno (the
 * connection's: getpid itself cannot fail). */
static int served(struct persist_session *s)
{
	long pid;

	transport_set_timeout(s->t.conn, PERSIST_SESSION_DEADLINE_MS);
	pid = handle_getpid(&s->t.task);
	if (pid > 0) {
		s->connected = 1;
		return 0;
	}
	persist_thread_close(&s->t);
	return pid < 0 ? (int)pid : -EPROTO;
}

/* How long a connect through a kept forward may wait for its hello before
 * the far side is set up anew (a nudge's own ssh, bounded apart, may add
 * to it): a live forward answers in milliseconds, a server stuck in a
 * syscall for a dead controller within a nudge or two, and a forward
 * frozen while we slept never. */
#define KEPT_FORWARD_MS 10000

/* Connect through the forward kept while a wait slept, once.
 * Returns: 0 (served); -errno. */
static int connect_kept(struct persist_session *s)
{
	const struct persist__far_nudge nudge = { persist__ssh_nudge, s };
	int r = persist__thread_connect_far(&s->t, s->sock, KEPT_FORWARD_MS, &nudge, NULL, 0);

	return r < 0 ? r : served(s);
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
	int r;

	const struct persist__far_nudge nudge = { persist__ssh_nudge, s };

	for (int tries = 0;; tries++) {
		if (s->far && s->relay) {
			int fd;
			persist__ssh_stop(s); /* a relay is one connection's */
			r = persist__ssh_relay(s, s->start, &fd, why, whylen);
			if (r == 0)
				r = persist__thread_attach_far(&s->t, fd, "relay",
							       PERSIST_SESSION_DEADLINE_MS, &nudge,
							       why, whylen);
			if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE) {
				/* Its ssh's last words say whether the relay found
				 * no server (they are all there once it ended). */
				int x;
				persist__ssh_stop(s);
				x = persist__ssh_refused(s, why, whylen);
				if (x < 0)
					return x;
			}
		} else if (s->far)
			r = persist__thread_connect_far(&s->t, s->sock, PERSIST_SESSION_DEADLINE_MS,
							&nudge, why, whylen);
		else
			r = persist_thread_connect(&s->t, s->sock, 1, PERSIST_SESSION_DEADLINE_MS,
						   why, whylen);
		if (r < 0 && s->far && (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE)) {
			/* ssh accepted for the far socket, then closed: it says
			 * why on its stderr (nothing listens there, or the far
			 * sshd forbids the forward). */
			int x = persist__ssh_refused(s, why, whylen);
			if (x < 0)
				return x;
			if (tries < 20) {
				nap(10 + rand_r(&seed) % 40);
				continue;
			}
			if (!s->relay) {
				/* The far sshd may refuse unix-socket forwarding:
				 * the relay through ssh's stdio is tried instead. */
				s->relay = 1;
				tries = -1;
				continue;
			}
			/* ssh accepts, then closes every connection: nothing
			 * listens at the far socket (a dead server), or the far
			 * sshd forbids the forward. */
			persist__say(why, whylen, "no server answers at %s:%s/sock through the "
				     "ssh forward (a dead server there, or a far sshd that refuses "
				     "unix-socket forwarding: AllowStreamLocalForwarding)", s->host,
				     s->rdir);
			return -ECONNREFUSED;
		}
		if ((r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE) && !s->far &&
		    persist__mono_ms() <= deadline) {
			nap(10 + rand_r(&seed) % 40);
			continue;
		}
		if (r < 0)
			return r;
		r = served(s);
		if (r == 0)
			return 0;
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

/* The recorded far thread old, replaced by the connected one on its host:
 * after a reboot of the host (another boot id) nothing of it is left, and
 * its live children are lost; else the old thread is looked up (dead, or
 * alive but no longer at its socket) through the new one's /proc, which
 * is the same pid namespace when the recorded one is. */
static int settle_far(struct persist_session *s, const struct persist_thread_rec *old,
		      char *why, size_t whylen)
{
	struct persist_recover_ops ops = { .sysif = s->t.task.sysif };
	struct persist_recover_report rep;
	int r;

	if (!old->boot_id || strcmp(old->boot_id, s->boot_id) != 0 || !old->pidns ||
	    strcmp(old->pidns, s->pidns) != 0) {
		struct persist_thread_rec gone = *old;
		/* A pid that no process of the new thread's namespace can be
		 * compared with: recovery against an empty view (a thread
		 * that is not alive) marks every live record lost. */
		gone.starttime = ~0ULL >> 1;
		r = persist_recover(s->st, &gone, &ops, &rep);
	} else {
		r = persist_recover(s->st, old, &ops, &rep);
	}
	if (r < 0) {
		persist__say(why, whylen, "recovery of the replaced server pid %d on %s failed: "
			     "%s (%s)", old->pid, s->host, strerror(-r), persist_store_errmsg(s->st));
		return r;
	}
	r = report_add(&s->rep, &rep);
	persist_recover_report_free(&rep);
	return r;
}

/* The recorded server of this directory, if it is not the one connected:
 * it died (or was replaced), and its live records are settled against the
 * kernel (they become lost: no one can collect them) before the record
 * names the new server. */
static int settle_old_thread(struct persist_session *s, int new_pid,
			     unsigned long long new_start, char *why, size_t whylen)
{
	struct persist_thread_rec old = { 0 };
	int r = persist_store_thread_find(s->st, s->key, &old);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		persist__say(why, whylen, "cannot read the store %s: %s", s->db,
			     persist_store_errmsg(s->st));
		return r;
	}
	if ((old.pid != new_pid || old.starttime != new_start) && old.host) {
		/* A far thread that was replaced: only its host can tell what
		 * became of its processes, and the new thread is on it. */
		r = settle_far(s, &old, why, whylen);
	} else if (old.pid != new_pid || old.starttime != new_start) {
		if (persist__thread_alive(&old))
			snprintf(s->notice, sizeof s->notice, "server pid %d, recorded for %.300s, still "
				 "runs but no longer answers there; its children are out of reach",
				 old.pid, s->dir);
		r = recover(s, &old, 0, why, whylen);
	}
	/* Either way the old server's kept fds are out of reach for good. */
	if (r >= 0 && (old.pid != new_pid || old.starttime != new_start) &&
	    (r = persist__fds_forget(s, old.id)) < 0)
		persist__say(why, whylen, "cannot forget the kept fds of the old server in %s: %s",
			     s->db, persist_store_errmsg(s->st));
	persist_thread_rec_clear(&old);
	return r;
}

/* A short text file of ours (the boot id), its first line into buf.
 * Returns: 0; -errno. */
static int read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* The thread's host and pid namespace, read THROUGH the thread (its boot
 * id, its /proc/self/ns/pid), into s->boot_id and s->pidns: what the
 * record keeps and what decides whether our /proc is its /proc.
 * Returns: 0; the sysif's -errno. */
static int read_identity(struct persist_session *s)
{
	struct persist__pfile f[2] = {
		{ "/proc/sys/kernel/random/boot_id", PERSIST__PF_READ, 64, NULL, 0, 0, 0, NULL },
		{ "/proc/self/ns/pid", PERSIST__PF_LINK, 64, NULL, 0, 0, 0, NULL },
	};
	struct persist__procio io;
	int r;

	persist__procio_init(&io, s->t.task.sysif);
	r = persist__read_files(&io, f, 2, NULL, NULL, 0);
	persist__procio_fini(&io);
	s->boot_id[0] = s->pidns[0] = 0;
	if (r == 0 && f[0].data && f[0].len > 0)
		snprintf(s->boot_id, sizeof s->boot_id, "%.*s", (int)strcspn(f[0].data, "\n"),
			 f[0].data);
	if (r == 0 && f[1].data && f[1].len > 0)
		snprintf(s->pidns, sizeof s->pidns, "%s", f[1].data);
	free(f[0].data);
	free(f[1].data);
	return r;
}

/* Whether our /proc is the thread's /proc (and a pid of its is ours):
 * the same host (boot id), the same pid namespace, both read through the
 * thread, and the namespace our /proc gives its pid is ours too.  Never
 * for a far session, whatever the ids say. */
static int same_pidns(struct persist_session *s)
{
	char boot[40], ns[40];
	struct far_ns ours;
	ssize_t n;

	if (s->far || !s->boot_id[0] || !s->pidns[0])
		return 0;
	if (read_line("/proc/sys/kernel/random/boot_id", boot, sizeof boot) < 0 ||
	    strcmp(boot, s->boot_id) != 0)
		return 0;
	n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
	if (n <= 0)
		return 0;
	ns[n] = 0;
	return strcmp(ns, s->pidns) == 0 && far_ns_of(0, FAR_NS_PID, &ours) == 0 &&
	       far_ns_equal(&ours, &s->t.task.pidns);
}

static int record_thread(struct persist_session *s, char *why, size_t whylen)
{
	struct persist_proc_stat ps;
	unsigned long long start;
	int r;

	r = read_identity(s);
	if (r < 0) {
		persist__say(why, whylen, "cannot read the identity of the server at %s through "
			     "it: %s", s->far ? s->host : s->sock, strerror(-r));
		return r;
	}
	/* Our /proc serves for the thread's processes only when the thread is
	 * proven to be on our host and in our pid namespace.  Elsewhere its
	 * task must never be taken for one of ours: a pid namespace with dev
	 * 0 equals none of ours, so libhandle opens no pidfd for its
	 * children. */
	s->local_pidns = same_pidns(s);
	if (!s->local_pidns) {
		const char *ino = strchr(s->pidns, '[');
		s->t.task.pidns.dev = 0;
		s->t.task.pidns.ino = ino ? strtoull(ino + 1, NULL, 10) : 0;
		s->t.task.local_ = 0;
	}
	if (s->far) {
		int n = snprintf(s->key, sizeof s->key, "%s:%s/sock", s->host, s->rdir);
		if (n < 0 || (size_t)n >= sizeof s->key)
			return -ENAMETOOLONG;
	}
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
	s->rec.socket_path = strdup(s->key);
	s->rec.host = s->far ? strdup(s->host) : NULL;
	s->rec.boot_id = s->boot_id[0] ? strdup(s->boot_id) : NULL;
	s->rec.pidns = s->pidns[0] ? strdup(s->pidns) : NULL;
	if (!s->rec.socket_path || (s->far && !s->rec.host) || (s->boot_id[0] && !s->rec.boot_id) ||
	    (s->pidns[0] && !s->rec.pidns))
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

/* The newest record of a thread on s->host, into rec: its far directory
 * is where to look first.  Returns: 0; -ENOENT; a store error. */
static int far_record(struct persist_session *s, struct persist_thread_rec *rec)
{
	struct persist_thread_rec *a;
	size_t n, found = (size_t)-1;
	int r = persist_store_thread_list(s->st, &a, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (a[i].host && strcmp(a[i].host, s->host) == 0)
			found = i;
	if (found == (size_t)-1) {
		persist_thread_recs_free(a, n);
		return -ENOENT;
	}
	*rec = a[found];
	memset(&a[found], 0, sizeof a[found]);
	persist_thread_recs_free(a, n);
	return 0;
}

/* No server answers: the store as recorded, settled against the kernel
 * when the recorded server is gone (then its live children are lost). */
static int offline(struct persist_session *s, char *why, size_t whylen)
{
	int r;

	/* A session taken back offline (after a wait slept) still holds the
	 * record of its connected days. */
	persist_thread_rec_clear(&s->rec);
	r = s->far ? far_record(s, &s->rec) : persist_store_thread_find(s->st, s->key, &s->rec);
	if (r == -ENOENT) {
		memset(&s->rec, 0, sizeof s->rec);
		return 0;
	}
	if (r < 0) {
		persist__say(why, whylen, "cannot read the store %s: %s", s->db,
			     persist_store_errmsg(s->st));
		return r;
	}
	if (s->rec.host) {
		/* Another host: our /proc says nothing of it. */
		snprintf(s->notice, sizeof s->notice, "no server answers on %s; the store is "
			 "shown as recorded", s->host);
		return 0;
	}
	if (persist__thread_alive(&s->rec)) {
		snprintf(s->notice, sizeof s->notice, "server pid %d runs but does not answer at "
			 "%s; the store is shown as recorded", s->rec.pid, s->sock);
		return 0;
	}
	return recover(s, &s->rec, 0, why, whylen);
}

/* The far side set up and connected: the far directory is the option's,
 * else the newest record's for this host, else the host's default (ssh
 * asks).  Returns: as connect_server; -ENOENT also when the host has no
 * persist-server. */
static int far_connect(struct persist_session *s, unsigned flags, char *why, size_t whylen)
{
	int r;

	if (!s->rdir[0]) {
		struct persist_thread_rec rec = { 0 };
		if (far_record(s, &rec) == 0) {
			const char *colon = strrchr(rec.socket_path, ':');
			size_t n = colon ? strlen(colon + 1) : 0;
			if (n > 5 && strcmp(colon + 1 + n - 5, "/sock") == 0 && n - 5 < sizeof s->rdir)
				snprintf(s->rdir, sizeof s->rdir, "%.*s", (int)(n - 5), colon + 1);
		}
		persist_thread_rec_clear(&rec);
	}
	s->start = !!(flags & PERSIST_SESSION_START);
	if (persist__ssh_forward_alive(s)) {
		/* The forward a sleeping wait kept: connecting through it is
		 * all it takes.  Whatever fails, the far side is set up anew
		 * (the setup's own messages say what is wrong there). */
		if (connect_kept(s) == 0)
			return 0;
		persist__ssh_stop(s);
	}
	s->relay = getenv("PERSIST_SSH_RELAY") && strcmp(getenv("PERSIST_SSH_RELAY"), "1") == 0;
	if (!s->relay) {
		r = persist__ssh_connect(s, s->start, why, whylen);
		if (r < 0)
			return r;
	}
	r = connect_server(s, why, whylen);
	if (r == -ECONNREFUSED && !(flags & (PERSIST_SESSION_START | PERSIST_SESSION_OFFLINE)))
		persist__say(why, whylen, "no server runs on %s in %s (start one)", s->host,
			     s->rdir);
	return r;
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
	if (s->far)
		r = far_connect(s, flags, why, whylen);
	else
		r = connect_server(s, why, whylen);
	if (s->far && r == -ECONNREFUSED && flags & PERSIST_SESSION_OFFLINE)
		return offline(s, why, whylen);
	if (!s->far && (r == -ENOENT || r == -ECONNREFUSED)) {
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

void persist__release(struct persist_session *s, int keep_forward)
{
	if (s->io_ready)
		persist__procio_fini(&s->io); /* unmaps its scratch in the thread */
	s->io_ready = 0;
	if (s->connected)
		persist_thread_close(&s->t);
	s->connected = 0;
	persist__kept_free(s);
	if (s->far && !(keep_forward && persist__ssh_forward_alive(s)))
		persist__ssh_stop(s);
	drop_lock(s);
}

int persist__thread_end(struct persist_session *s, char *why, size_t whylen)
{
	struct handle_child server;
	int pid = s->t.pid, r, fd = -1;

	/* The server is no child of ours: a pidfd (when it shares our pid
	 * namespace) tells when it has really ended. */
	if (s->local_pidns && handle_child_init(&server, &s->t.task, pid) == 0)
		fd = server.pidfd;
	if (s->io_ready)
		persist__procio_fini(&s->io);
	s->io_ready = 0;
	r = persist_thread_exit(&s->t, 0);
	s->connected = 0;
	persist__kept_free(s);
	/* Its kept fds end with it.  A failure here leaves records that the
	 * next start forgets (settle_old_thread): not the stop's failure. */
	persist__fds_forget(s, s->rec.id);
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

/* Both opens: host NULL for the thread of dir itself. */
static int open_session(const struct persist_host *host, const char *dir, unsigned flags,
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
	if (host && (!host->dest || !*host->dest || *host->dest == '-' ||
		     strlen(host->dest) >= sizeof s->host || strpbrk(host->dest, " \t\n'\"") ||
		     (host->far_dir && (*host->far_dir != '/' || strlen(host->far_dir) > 90)) ||
		     (host->server && strlen(host->server) >= PATH_MAX))) {
		persist__say(why, whylen, "bad host: a destination as ssh takes it ([user@]host or "
			     "ssh://[user@]host[:port], no spaces or quotes, not starting with '-'), "
			     "an absolute far directory of at most 90 bytes");
		return -EINVAL;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->lock_fd = -1;
	s->ssh_in = s->ssh_out = s->ssh_relay_fd = s->ssh_ship_fd = s->ssh_err_fd = -1;
	r = persist__statedir(s, dir, why, whylen);
	if (r < 0)
		goto fail;
	if (host) {
		s->far = 1;
		snprintf(s->host, sizeof s->host, "%s", host->dest);
		if (host->far_dir)
			snprintf(s->rdir, sizeof s->rdir, "%s", host->far_dir);
		if (host->server)
			snprintf(s->far_server, sizeof s->far_server, "%s", host->server);
		r = persist__ssh_paths(s, why, whylen);
		if (r < 0)
			goto fail;
	} else {
		snprintf(s->lock_path, sizeof s->lock_path, "%s/lock", s->dir);
		snprintf(s->key, sizeof s->key, "%s", s->sock);
	}
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

PERSIST_EXPORT int persist_session_open(const char *dir, unsigned flags,
					struct persist_session **out, char *why, size_t whylen)
{
	return open_session(NULL, dir, flags, out, why, whylen);
}

PERSIST_EXPORT int persist_session_open_host(const struct persist_host *host, const char *dir,
					     unsigned flags, struct persist_session **out,
					     char *why, size_t whylen)
{
	if (!host) {
		if (out)
			*out = NULL;
		return -EINVAL;
	}
	return open_session(host, dir, flags, out, why, whylen);
}

PERSIST_EXPORT const char *persist_session_host(const struct persist_session *s)
{
	return s->far ? s->host : NULL;
}

PERSIST_EXPORT const char *persist_session_far_dir(const struct persist_session *s)
{
	return s->far && s->rdir[0] ? s->rdir : NULL;
}

PERSIST_EXPORT void persist_session_close(struct persist_session *s)
{
	if (!s)
		return;
	persist__release(s, 0);
	if (s->far)
		persist__ssh_forget(s);
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
