// SPDX-License-Identifier: MIT
/* libpersist, as a controller uses it: reconnect to a persistent thread,
 * spawn in it, the RSS of a thread after make_persistent, and recovery of
 * its children from the state store.  The RSS is not a timing and recovery
 * consumes its input, so those two are measured without calibration
 * (struct bench's custom; struct side's fixed and prep). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <near/proto.h>
#include <near/syscall.h>
#include <transport/conn.h>
#include <persist/thread.h>
#include <persist/store.h>
#include <persist/recover.h>
#include "../tests/lib/spawn.h" /* not <spawn.h>: no -I, so both can be included */
#include "harness.h"

extern char **environ;

static struct server srv3;        /* real persist-server */
static struct persist_thread pt;  /* connected to srv3 */
static struct {                   /* the floor of reconnect */
	pid_t pid;
	char dir[64], path[108];
} fdsrv;

#define CONNECT_TIMEOUT_MS 5000 /* what a controller would pass */

/* Value: reconnect to the persistent thread (taking over), and its first
 * syscall answered. */
static int val_reconnect(const void *arg, long iters)
{
	char why[256] = "";
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++) {
		int64_t ret;
		struct near_request q;

		r = persist_reconnect(&pt, CONNECT_TIMEOUT_MS, why, sizeof why);
		if (r == 0)
			r = transport_call(pt.conn, near_request_set(&q, __NR_getpid, 0, 0, 0,
								 0, 0, 0), &ret);
		if (r == 0 && ret != srv3.pid)
			r = -EPROTO;
	}
	if (r < 0 && why[0])
		fprintf(stderr, "bench: reconnect: %s\n", why);
	return r;
}

/* The floor's server: on each connection, one byte with an fd (SCM_RIGHTS),
 * then echo 8 bytes: connect + SCM_RIGHTS + reply. */
static void fdsrv_main(int lfd)
{
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		char byte = 'f';
		struct iovec iov = { &byte, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof u.buf };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		uint64_t v;
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &devnull, sizeof(int));
		if (sendmsg(c, &mh, MSG_NOSIGNAL) == 1 && read_full(c, &v, 8) == 0)
			write_full(c, &v, 8);
		close(c);
	}
}

/* Floor: connect, receive an fd with SCM_RIGHTS, one 8-byte round trip. */
static int floor_connect_rights(const void *arg, long iters)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r = 0;

	(void)arg;
	memcpy(sa.sun_path, fdsrv.path, strlen(fdsrv.path) + 1);
	for (long i = 0; i < iters && r == 0; i++) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		char byte;
		struct iovec iov = { &byte, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof u.buf };
		struct cmsghdr *cm;
		uint64_t v = (uint64_t)i;
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), got = -1;

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    recvmsg(fd, &mh, MSG_CMSG_CLOEXEC) != 1)
			r = -errno ? -errno : -EPROTO;
		cm = r == 0 ? CMSG_FIRSTHDR(&mh) : NULL;
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&got, CMSG_DATA(cm), sizeof got);
		if (r == 0 && got < 0)
			r = -EPROTO;
		if (got >= 0)
			close(got);
		if (r == 0)
			r = write_full(fd, &v, 8);
		if (r == 0)
			r = read_full(fd, &v, 8);
		if (r == 0 && v != (uint64_t)i)
			r = -EPROTO;
		close(fd);
	}
	return r;
}

int spawn_true(struct persist_thread *t, long iters)
{
	static const char *const argv[] = { "/bin/true", NULL };
	struct persist_spawn s = { .argv = argv };
	char why[256] = "";
	int r = 0;

	for (long i = 0; i < iters && r == 0; i++) {
		struct persist_exit st;
		int pid;

		r = persist_spawn(t, &s, &pid, why, sizeof why);
		if (r == 0)
			r = persist_child_wait(t, pid, 0, 1, &st);
		if (r == 0 && (!st.exited || st.killed || st.code != 0))
			r = -EPROTO;
	}
	if (r < 0 && why[0])
		fprintf(stderr, "bench: spawn: %s\n", why);
	return r;
}

/* Value: spawn /bin/true in the persistent thread, reap it there. */
static int val_spawn(const void *arg, long iters)
{
	(void)arg;
	return spawn_true(&pt, iters);
}

/* Close every fd from 3 up except keep (-1: none). */
static void keep_only(int keep)
{
	if (keep < 0) {
		near_syscall3(__NR_close_range, 3, ~0U, 0);
		return;
	}
	if (keep > 3)
		near_syscall3(__NR_close_range, 3, keep - 1, 0);
	near_syscall3(__NR_close_range, keep + 1, ~0U, 0);
}

static long status_kib(pid_t pid, const char *field)
{
	return proc_kib(pid, "status", field);
}

/* Returns: the KiB that pid alone maps (no other process shares them), or
 * -errno. */
static long private_kib(pid_t pid)
{
	long c = proc_kib(pid, "smaps_rollup", "Private_Clean");
	long d = proc_kib(pid, "smaps_rollup", "Private_Dirty");

	return c < 0 ? c : d < 0 ? d : c + d;
}

static long vmrss_kib(pid_t pid)
{
	return status_kib(pid, "VmRSS");
}

#define RSS_RUNS 3
#define BIG (1UL << 30)

struct rss_report {
	long thread_kib, controller_kib, anon_kib, file_kib, private_kib;
	int err;
	char why[200];
};

/* In a forked controller: hold BIG touched, clone_persistent +
 * make_persistent, and report the thread's RSS and our own. */
static void rss_controller(int wfd, const char *path)
{
	struct rss_report rep = { 0 };
	struct persist_thread self, t;
	char *big;
	int r;

	keep_only(wfd);
	big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED) {
		rep.err = -errno;
		snprintf(rep.why, sizeof rep.why, "mmap of 1 GiB");
		goto out;
	}
	memset(big, 0x5a, BIG);
	r = persist_thread_local(&self);
	if (r == 0)
		r = persist_clone_persistent(&self, path, &t, rep.why, sizeof rep.why);
	if (r == 0) {
		r = persist_make_persistent(&t, rep.why, sizeof rep.why);
		if (r == 0 && transport_syscall(t.conn, __NR_getpid, 0, 0, 0, 0, 0, 0) != t.pid)
			r = -EPROTO;
		rep.thread_kib = vmrss_kib(t.pid);
		rep.private_kib = private_kib(t.pid);
		rep.anon_kib = status_kib(t.pid, "RssAnon");
		rep.file_kib = status_kib(t.pid, "RssFile");
		rep.controller_kib = vmrss_kib(getpid());
		persist_thread_exit(&t, 0);
	}
	rep.err = r;
out:
	if (write(wfd, &rep, sizeof rep) != sizeof rep)
		_exit(1);
	_exit(0);
}

/* What rss_after_make_persistent measured of private memory, for
 * private_after_make_persistent: the thread's, a fresh server's (medians),
 * and the noise. */
static struct {
	int done;
	double value, floor, noise;
} priv;

static int bench_rss(struct bench *b)
{
	double val[RSS_RUNS], flo[RSS_RUNS], pval[RSS_RUNS], pflo[RSS_RUNS], s1, s2;
	char dir[64], path[108];
	int r = 0;

	snprintf(dir, sizeof dir, "/tmp/persist-bench-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(path, sizeof path, "%s/sock", dir);
	for (int i = 0; i < RSS_RUNS && r == 0; i++) {
		struct rss_report rep;
		struct server fresh;
		int p[2], status;
		pid_t pid;

		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		pid = fork();
		if (pid == 0)
			rss_controller(p[1], path);
		close(p[1]);
		if (pid < 0 || read_full(p[0], &rep, sizeof rep) < 0)
			r = -ECHILD;
		close(p[0]);
		if (pid > 0)
			waitpid(pid, &status, 0);
		unlink(path);
		if (r == 0 && rep.err < 0) {
			fprintf(stderr, "bench: make_persistent: %s\n", rep.why);
			r = rep.err;
		}
		if (r == 0 && rep.controller_kib < (long)(BIG >> 10))
			r = -EPROTO; /* the controller did not hold its 1 GiB */
		if (r == 0 && rep.thread_kib <= 0)
			r = rep.thread_kib < 0 ? (int)rep.thread_kib : -EPROTO;
		if (r == 0 && rep.private_kib <= 0)
			r = rep.private_kib < 0 ? (int)rep.private_kib : -EPROTO;
		val[i] = (double)rep.thread_kib;
		pval[i] = (double)rep.private_kib;
		/* What the RSS is made of: the thread's own pages, and the
		 * pages of its executable and libraries it maps from the page
		 * cache (shared with every process that maps them). */
		if (r == 0 && i == 0)
			fprintf(stderr, "bench: the thread after make_persistent: VmRSS %ld KiB ="
				" RssAnon %ld + RssFile %ld (+ RssShmem); its controller: %ld KiB\n",
				rep.thread_kib, rep.anon_kib, rep.file_kib, rep.controller_kib);
		/* The floor: a standalone server, just started. */
		if (r == 0 && (r = server_start(&fresh, NULL)) == 0) {
			long kib = vmrss_kib(fresh.pid), pkib = private_kib(fresh.pid);
			server_stop(&fresh);
			if (kib <= 0 || pkib <= 0)
				r = kib < 0 ? (int)kib : pkib < 0 ? (int)pkib : -EPROTO;
			flo[i] = (double)kib;
			pflo[i] = (double)pkib;
		}
	}
	rmdir(dir);
	if (r < 0)
		return r;
	b->value = median_of(val, RSS_RUNS, &s1);
	b->floor_value = median_of(flo, RSS_RUNS, &s2);
	b->noise = s1 > s2 ? s1 : s2;
	b->ratio = b->value / b->floor_value;
	priv.value = median_of(pval, RSS_RUNS, &s1);
	priv.floor = median_of(pflo, RSS_RUNS, &s2);
	priv.noise = s1 > s2 ? s1 : s2;
	priv.done = 1;
	return 0;
}

/* The private memory (Private_Clean + Private_Dirty) of the thread after
 * make_persistent of a 1 GiB controller against a fresh server's, from
 * the runs of rss_after_make_persistent (made here if that row did not
 * run). */
static int bench_private(struct bench *b)
{
	struct bench rss = *b;
	int r = priv.done ? 0 : bench_rss(&rss);

	if (r < 0)
		return r;
	b->value = priv.value;
	b->floor_value = priv.floor;
	b->noise = priv.noise;
	b->ratio = b->value / b->floor_value;
	return 0;
}

/* Recovery over 10,000 child records: 10 of live children of the thread
 * (a forked process of ours), the rest of processes long gone.  The store
 * is built once through the store's API (on /dev/shm when there is one:
 * 20,000 synchronous commits on a disk take seconds), then every run works
 * on a fresh copy of it in a directory on /tmp, since recovery settles the
 * records it examines. */
#define REC_N 10000
#define REC_LIVE 10

static struct {
	pid_t thread;
	char sdir[64], dir[64], tmpl[128], run[128];
	const char *sock;
} rc = { .sock = "/run/persist-bench/thread.sock" };

static void rthread_main(int wfd)
{
	pid_t me = getpid(), kids[REC_LIVE];

	keep_only(wfd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int k = 0; k < REC_LIVE; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != me)
				_exit(0);
			close(wfd);
			for (;;)
				pause();
		}
	}
	if (write(wfd, kids, sizeof kids) != sizeof kids)
		_exit(1);
	close(wfd);
	for (;;)
		pause();
}

static int copy_file(const char *from, const char *to)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC), out, r = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while (r == 0 && (n = read(in, buf, sizeof buf)) != 0)
		r = n < 0 ? -errno : write_full(out, buf, (size_t)n);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	return r;
}

static void rm_store(const char *path)
{
	char p[160];

	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static int rec_prep(void)
{
	rm_store(rc.run);
	return copy_file(rc.tmpl, rc.run);
}

static int rec_setup(void)
{
	static const char *const argv[] = { "/bin/sleep", "1000", NULL };
	struct persist_thread_rec t = { 0 };
	struct persist_store *st;
	char err[256] = "";
	pid_t kids[REC_LIVE];
	int p[2], r, next = 300, pid_max = 32768;
	FILE *f;

	if (rc.thread)
		return 0;
	if ((f = fopen("/proc/sys/kernel/pid_max", "r"))) {
		if (fscanf(f, "%d", &pid_max) != 1)
			pid_max = 32768;
		fclose(f);
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rc.thread = fork();
	if (rc.thread == 0)
		rthread_main(p[1]);
	close(p[1]);
	r = rc.thread < 0 ? -errno : read_full(p[0], kids, sizeof kids);
	close(p[0]);
	if (r < 0)
		return r;
	snprintf(rc.dir, sizeof rc.dir, "/tmp/persist-bench-XXXXXX");
	snprintf(rc.sdir, sizeof rc.sdir, "/dev/shm/persist-bench-XXXXXX");
	if (!mkdtemp(rc.dir))
		return -errno;
	if (!mkdtemp(rc.sdir))
		snprintf(rc.sdir, sizeof rc.sdir, "%s", rc.dir);
	snprintf(rc.tmpl, sizeof rc.tmpl, "%s/template.db", rc.sdir);
	snprintf(rc.run, sizeof rc.run, "%s/run.db", rc.dir);
	r = persist_store_open(rc.tmpl, PERSIST_STORE_CREATE, &st, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "bench: store: %s\n", err);
		return r;
	}
	t.socket_path = (char *)rc.sock;
	t.pid = rc.thread;
	r = persist_proc_starttime(rc.thread, &t.starttime);
	if (r == 0)
		r = persist_store_thread_put(st, &t);
	for (int i = 0; i < REC_N && r == 0; i++) {
		unsigned long long start = 1;
		int64_t id;
		int pid;

		if (i < REC_LIVE) {
			pid = kids[i];
			r = persist_proc_starttime(pid, &start);
		} else {
			/* A pid no process has now. */
			while (next < pid_max && (kill(next, 0) == 0 || errno != ESRCH))
				next++;
			if (next >= pid_max)
				r = -ENOSPC;
			pid = next++;
		}
		if (r == 0)
			r = persist_store_intent(st, t.id, NULL, argv, "/", &id);
		if (r == 0)
			r = persist_store_started(st, id, pid, start);
	}
	if (r < 0)
		fprintf(stderr, "bench: store: %s\n", persist_store_errmsg(st));
	persist_store_close(st);
	return r;
}

/* Removes dir when it was made (mkdtemp filled it in). */
static void rm_dir(const char *dir)
{
	if (dir[0])
		rmdir(dir);
}

static void rec_cleanup(void)
{
	kill_reap(&rc.thread);
	if (rc.tmpl[0])
		rm_store(rc.tmpl);
	if (rc.run[0])
		rm_store(rc.run);
	rm_dir(rc.sdir);
	rm_dir(rc.dir);
}

static int rec_open(struct persist_store **st, struct persist_thread_rec *t)
{
	char err[256] = "";
	int r = persist_store_open(rc.run, 0, st, err, sizeof err);

	if (r < 0) {
		fprintf(stderr, "bench: store: %s\n", err);
		return r;
	}
	r = persist_store_thread_find(*st, rc.sock, t);
	if (r < 0)
		persist_store_close(*st);
	return r;
}

/* Value: open the store, recover the thread's children, close. */
static int val_recover(const void *arg, long iters)
{
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++) {
		struct persist_recover_report rep;
		struct persist_thread_rec t = { 0 };
		struct persist_store *st;

		if ((r = rec_open(&st, &t)) < 0)
			return r;
		r = persist_recover(st, &t, NULL, &rep);
		if (r == 0) {
			if (!rep.thread_alive || rep.records != REC_N ||
			    rep.running != REC_LIVE || rep.lost != REC_N - REC_LIVE ||
			    rep.errors)
				r = -EPROTO;
			persist_recover_report_free(&rep);
		}
		persist_thread_rec_clear(&t);
		persist_store_close(st);
	}
	return r;
}

/* Floor: open the store, read the same records, close. */
static int floor_read_records(const void *arg, long iters)
{
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++) {
		struct persist_thread_rec t = { 0 };
		struct persist_child_rec *recs;
		struct persist_store *st;
		size_t n;

		if ((r = rec_open(&st, &t)) < 0)
			return r;
		r = persist_store_children(st, t.id, &recs, &n);
		if (r == 0) {
			size_t running = 0;
			for (size_t k = 0; k < n; k++)
				running += recs[k].state == PERSIST_CHILD_RUNNING;
			if (n != REC_N || running != REC_N)
				r = -EPROTO;
			persist_child_recs_free(recs, n);
		}
		persist_thread_rec_clear(&t);
		persist_store_close(st);
	}
	return r;
}


static int met_reconnect(const struct bench *b)
{
	return b->ratio <= 1.3;
}

static int met_spawn(const struct bench *b)
{
	return b->ratio <= 1.1;
}

static int met_private(const struct bench *b)
{
	return b->ratio <= 1;
}

static int met_recover(const struct bench *b)
{
	return b->value <= 100;
}

static int fdsrv_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	snprintf(fdsrv.dir, sizeof fdsrv.dir, "/tmp/persist-bench-XXXXXX");
	if (!mkdtemp(fdsrv.dir))
		return -errno;
	snprintf(fdsrv.path, sizeof fdsrv.path, "%s/sock", fdsrv.dir);
	memcpy(sa.sun_path, fdsrv.path, strlen(fdsrv.path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0)
		return -errno;
	fdsrv.pid = fork();
	if (fdsrv.pid == 0) {
		keep_only(lfd);
		fdsrv_main(lfd);
	}
	close(lfd);
	return fdsrv.pid < 0 ? -errno : 0;
}

static void persist_setup(void)
{
	char why[256] = "";
	int r;

	if ((r = server_start(&srv3, NULL)) < 0)
		die(server_exe(), r);
	if ((r = persist_thread_connect(&pt, srv3.path, 1, CONNECT_TIMEOUT_MS, why,
					sizeof why)) < 0) {
		fprintf(stderr, "bench: %s\n", why);
		die("persist_thread_connect", r);
	}
	if (pt.pid != srv3.pid)
		die("persist_thread_connect", -EPROTO);
	if ((r = fdsrv_start()) < 0)
		die("SCM_RIGHTS server", r);
}

static void persist_cleanup(void)
{
	if (pt.conn)
		persist_thread_close(&pt);
	if (srv3.pid > 0)
		server_stop(&srv3);
	kill_reap(&fdsrv.pid);
	if (fdsrv.path[0])
		unlink(fdsrv.path);
	rm_dir(fdsrv.dir);
	fdsrv.path[0] = fdsrv.dir[0] = '\0';
	rec_cleanup();
}

static struct bench rows[] = {
	/* Issue 4: libpersist. */
	{ .name = "reconnect", .unit = US_PER_OP,
	  .val = SIDE(val_reconnect, NULL, 1),
	  .floor = SIDE(floor_connect_rights, NULL, 1),
	  .floor_name = "connect + SCM_RIGHTS + reply",
	  .target = "ratio <= 1.3", .met = met_reconnect },
	{ .name = "spawn", .unit = US_PER_OP,
	  .val = SIDE(val_spawn, NULL, 1),
	  .floor = SIDE(floor_spawn, NULL, 1),
	  .floor_name = FLOOR_SPAWN,
	  .target = "ratio <= 1.1", .met = met_spawn },
	{ .name = "rss_after_make_persistent", .unit = KIB,
	  .floor_name = "ratio vs the RSS of a fresh standalone persist-server",
	  /* No target: shared pages of the executable count in full here.
	   * What an idle thread costs is thread_pss_100 (bench_many.c) and
	   * the row below (docs/design.md, "Targets"). */
	  .custom = bench_rss },
	{ .name = "private_after_make_persistent", .unit = KIB,
	  .floor_name = "ratio vs the private memory of a fresh standalone persist-server",
	  .target = "ratio <= 1", .met = met_private, .custom = bench_private },
	{ .name = "recover_10000", .unit = MS_PER_OP,
	  .val = { .fn = val_recover, .per_iter = 1, .fixed = 1, .prep = rec_prep },
	  .floor = { .fn = floor_read_records, .per_iter = 1, .fixed = 1,
		     .prep = rec_prep },
	  .floor_name = "open + read the 10,000 records, no reconciling",
	  .target = "<= 100 ms", .met = met_recover, .setup = rec_setup },
};

/* The recovery benchmark's thread is started by its setup, so it is only
 * killed by the watchdog, never pinned: it and its children just wait. */
const struct layer persist_layer = {
	.setup = persist_setup, .cleanup = persist_cleanup,
	.rows = rows, .n = sizeof rows / sizeof rows[0],
	.peers = { &srv3.pid, &fdsrv.pid, &rc.thread },
};
