// SPDX-License-Identifier: MIT
/* /proc as a thread sees it: the parsers as tables of lines, the reader
 * through the local sysif and through a real persist-server (counting its
 * round trips), and a server in a pid namespace of its own, whose pids
 * only its own /proc knows. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <cmocka.h>
#include <persist/recover.h>
#include "clock.h"
#include "server_fixture.h"

/* ---- parsers ---- */

#define STAT_TAIL " 0 0 0 0 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123456 0 0 18446744073709551615 0 0"

static const struct {
	const char *line;
	int r;
	const char *comm;
	char state;
	int ppid;
	unsigned long flags;
	unsigned long long start;
} stat_rows[] = {
	{ "42 (sleep) S 1" STAT_TAIL, 0, "sleep", 'S', 1, 4194560, 123456 },
	/* A name built to fool a parser that stops at the first ')'. */
	{ "42 (a) (b ) c) Z 7" STAT_TAIL, 0, "a) (b ) c", 'Z', 7, 4194560, 123456 },
	{ "42 () R 0" STAT_TAIL, 0, "", 'R', 0, 4194560, 123456 },
	{ "42 (x\ny) S 1" STAT_TAIL "\n", 0, "x\ny", 'S', 1, 4194560, 123456 },
	/* A fork that never ran execve: PF_FORKNOEXEC (0x40) in the flags. */
	{ "42 (persist-server) S 9 0 0 0 0 4194368 0 0 0 0 0 0 0 0 20 0 1 0 77", 0,
	  "persist-server", 'S', 9, 4194368, 77 },
	{ "42 (0123456789012345678901234567890123456789012345678901234567890123456789) S 1"
	  STAT_TAIL, 0, "012345678901234567890123456789012345678901234567890123456789012", 'S',
	  1, 4194560, 123456 },
	{ .line = "42 (sleep) S 1 0 0", .r = -EPROTO },           /* cut short */
	{ .line = "42 sleep S 1" STAT_TAIL, .r = -EPROTO },       /* no name */
	{ .line = "42 (sleep S 1" STAT_TAIL, .r = -EPROTO },      /* no ')' */
	{ .line = "42 (sleep) SS 1" STAT_TAIL, .r = -EPROTO },    /* a state of two letters */
	{ .line = "42 (sleep) S -1" STAT_TAIL, .r = -EPROTO },    /* a negative parent */
	{ .line = "42 (sleep) S x" STAT_TAIL, .r = -EPROTO },
	{ .line = "42 (sleep) S 1 0 0 0 0 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
	  "99999999999999999999999", .r = -EPROTO },     /* a start time past 64 bits */
	{ .line = "42 (sleep) S 1 0 0 0 0 -5 0 0 0 0 0 0 0 0 20 0 1 0 7", .r = -EPROTO }, /* bad flags */
	{ .line = "", .r = -EPROTO },
};

static void test_parse_stat(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof stat_rows / sizeof stat_rows[0]; i++) {
		struct persist_proc_stat ps;
		unsigned long flags = 0;
		const char *l = stat_rows[i].line;
		int r = persist__parse_stat(l, strlen(l), &ps, &flags);

		if (r != stat_rows[i].r)
			fail_msg("row %zu (%s): %d, wanted %d", i, l, r, stat_rows[i].r);
		if (r < 0)
			continue;
		assert_string_equal(ps.comm, stat_rows[i].comm);
		assert_int_equal(ps.state, stat_rows[i].state);
		assert_int_equal(ps.ppid, stat_rows[i].ppid);
		assert_int_equal(flags, stat_rows[i].flags);
		assert_true(ps.starttime == stat_rows[i].start);
		/* The length is the line's: a NUL is not needed. */
		assert_int_equal(persist__parse_stat(l, strlen(l), &ps, NULL), 0);
	}
	assert_int_equal(persist__parse_stat_pid("42 (x) S", 8), 42);
	assert_int_equal(persist__parse_stat_pid("42", 2), -EPROTO);
	assert_int_equal(persist__parse_stat_pid("0 (x) S", 7), -EPROTO);
	assert_int_equal(persist__parse_stat_pid("4x (x) S", 8), -EPROTO);
	assert_int_equal(persist__parse_stat_pid("99999999999 (x) S", 17), -EPROTO);
}

static const struct {
	const char *text;
	int r;
	int pids[4];
} pid_rows[] = {
	{ "12 34 56 ", 3, { 12, 34, 56 } },
	{ "7", 1, { 7 } },
	{ "7\n", 1, { 7 } },
	{ "  1   2\n", 2, { 1, 2 } },
	{ "", 0, { 0 } },
	{ " \n", 0, { 0 } },
	{ "12 x 5", -EPROTO, { 12 } },  /* the pids before the bad token stay */
	{ "-3", -EPROTO, { 0 } },
	{ "0", -EPROTO, { 0 } },
	{ "2147483648", -EPROTO, { 0 } },
	{ "2147483647", 1, { 2147483647 } },
};

static void test_parse_pids(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof pid_rows / sizeof pid_rows[0]; i++) {
		struct persist__pids v = { 0 };
		int r = persist__parse_pids(pid_rows[i].text, strlen(pid_rows[i].text), &v);

		if (r != pid_rows[i].r)
			fail_msg("row %zu (\"%s\"): %d, wanted %d", i, pid_rows[i].text, r,
				 pid_rows[i].r);
		for (size_t k = 0; k < v.n; k++)
			assert_int_equal(v.a[k], pid_rows[i].pids[k]);
		for (size_t k = v.n; k < 4; k++)
			assert_int_equal(pid_rows[i].pids[k], 0);
		persist__pids_free(&v);
	}
	/* Sorted and unique, for the binary searches. */
	{
		struct persist__pids v = { 0 };
		assert_int_equal(persist__parse_pids("9 3 9 1 3", 9, &v), 5);
		persist__pids_sort(&v);
		assert_int_equal(v.n, 3);
		assert_int_equal(v.a[0], 1);
		assert_int_equal(v.a[1], 3);
		assert_int_equal(v.a[2], 9);
		persist__pids_free(&v);
	}
}

static const struct {
	const char *bytes;
	size_t len;
	const char *blob;
	size_t bloblen;
	size_t argc;
} cmdline_rows[] = {
	{ "sleep\0" "600\0", 10, "sleep\0" "600\0", 10, 2 },
	/* setproctitle may leave the last NUL out: the blob has it. */
	{ "persist-server: /x (idle)", 25, "persist-server: /x (idle)\0", 26, 1 },
	{ "a\0" "b", 3, "a\0" "b\0", 4, 2 },
	{ "\0", 1, "\0", 1, 1 },
	{ "", 0, NULL, 0, 0 },           /* a zombie's */
};

static void test_parse_cmdline(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cmdline_rows / sizeof cmdline_rows[0]; i++) {
		char *blob, **argv;
		size_t len, argc;

		assert_int_equal(persist__parse_cmdline(cmdline_rows[i].bytes, cmdline_rows[i].len,
							&blob, &len), 0);
		assert_int_equal(len, cmdline_rows[i].bloblen);
		if (!cmdline_rows[i].blob) {
			assert_null(blob);
			continue;
		}
		assert_memory_equal(blob, cmdline_rows[i].blob, len);
		/* It decodes as the argv it stands for. */
		assert_int_equal(persist_argv_decode(blob, len, &argv, &argc), 0);
		assert_int_equal(argc, cmdline_rows[i].argc);
		free(argv);
		free(blob);
	}
}

static void test_stat_alive(void **state)
{
	static const struct {
		char st;
		unsigned long long have, want;
		int alive;
	} rows[] = {
		{ 'S', 100, 100, 1 }, { 'R', 100, 100, 1 }, { 'D', 100, 100, 1 },
		{ 'T', 100, 100, 1 }, { 'Z', 100, 100, 0 }, { 'X', 100, 100, 0 },
		{ 'S', 100, 101, 0 }, /* a reused pid */
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct persist_proc_stat ps = { .state = rows[i].st, .starttime = rows[i].have };
		assert_int_equal(persist__stat_alive(&ps, rows[i].want), rows[i].alive);
	}
}

/* ---- the reader, through the local sysif ---- */

static void test_read_files_local(void **state)
{
	char path[128], big[20000], cwd[4096];
	struct persist__pfile f[6];
	struct persist__procio io;
	struct near_request pre;
	int64_t pre_res = 0;
	FILE *fp;

	(void)state;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	snprintf(path, sizeof path, "%s/big", srv_dir);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(big, 1, sizeof big, fp), sizeof big);
	fclose(fp);
	/* A directory of more entries than its slot holds. */
	for (int i = 0; i < 300; i++) {
		char d[160];
		snprintf(d, sizeof d, "%s/dir-with-many-entries-%03d", srv_dir, i);
		assert_int_equal(mkdir(d, 0700), 0);
	}
	memset(f, 0, sizeof f);
	snprintf(f[0].path, sizeof f[0].path, "/proc/self/stat");
	f[0].slot = 1024;
	snprintf(f[1].path, sizeof f[1].path, "%.50s", path);
	f[1].slot = 64; /* far too small: read again alone, whole */
	snprintf(f[2].path, sizeof f[2].path, "%.40s/missing", srv_dir);
	f[2].slot = 64;
	snprintf(f[3].path, sizeof f[3].path, "/proc/self/cwd");
	f[3].kind = PERSIST__PF_LINK;
	f[3].slot = 4096;
	snprintf(f[4].path, sizeof f[4].path, "%.50s", srv_dir);
	f[4].kind = PERSIST__PF_DIR;
	f[4].slot = 1024;
	snprintf(f[5].path, sizeof f[5].path, "/proc/self/task");
	f[5].kind = PERSIST__PF_DIR;
	f[5].slot = 1024;
	near_request_set(&pre, __NR_getpid, 0, 0, 0, 0, 0, 0);

	persist__procio_init(&io, NULL);
	assert_int_equal(persist__read_files(&io, f, 6, &pre, &pre_res, 1), 0);
	assert_int_equal(pre_res, getpid());
	assert_true(f[0].len > 0);
	assert_int_equal(persist__parse_stat_pid(f[0].data, (size_t)f[0].len), getpid());
	assert_int_equal(f[1].len, sizeof big);
	assert_memory_equal(f[1].data, big, sizeof big);
	assert_int_equal(f[2].len, -ENOENT);
	assert_null(f[2].data);
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_string_equal(f[3].data, cwd);
	/* 300 directories and the file, "." and "..": every entry, though
	 * the slot held a fraction. */
	{
		size_t off = 0, n = 0;
		while (off < (size_t)f[4].len) {
			unsigned short reclen;
			memcpy(&reclen, f[4].data + off + 16, sizeof reclen);
			off += reclen;
			n++;
		}
		assert_int_equal(n, 303);
	}
	assert_true(f[5].len > 0);
	for (int i = 0; i < 6; i++)
		free(f[i].data);
	/* A slot larger than the scratch is refused, not overrun. */
	memset(f, 0, sizeof f);
	snprintf(f[0].path, sizeof f[0].path, "/proc/self/stat");
	f[0].slot = 1u << 30;
	assert_int_equal(persist__read_files(&io, f, 1, NULL, NULL, 0), -EFBIG);
	persist__procio_fini(&io);
}

/* A file whose path does not fit the 64-byte slot (a log in a far state
 * directory with a long name) is read alone, whole or from an offset, up
 * to a cap; such a path is refused among several files. */
static void test_read_long_path(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], text[3000];
	struct persist__pfile f[2];
	struct persist__procio io;
	FILE *fp;

	(void)state;
	snprintf(dir, sizeof dir, "%s/a-directory-whose-name-alone-is-longer-than-the-slot-"
		 "of-sixty-four-bytes", srv_dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof path, "%s/logs-1.out", dir);
	assert_true(strlen(path) > sizeof f[0].path + 40);
	for (size_t i = 0; i < sizeof text; i++)
		text[i] = (char)('A' + i % 26);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, sizeof text, fp), sizeof text);
	fclose(fp);
	persist__procio_init(&io, NULL);
	memset(f, 0, sizeof f);
	f[0].long_path = path;
	f[0].slot = 64;
	assert_int_equal(persist__read_files(&io, f, 1, NULL, NULL, 0), 0);
	assert_int_equal(f[0].len, sizeof text);
	assert_memory_equal(f[0].data, text, sizeof text);
	free(f[0].data);
	memset(f, 0, sizeof f);
	f[0].long_path = path;
	f[0].slot = 64;
	f[0].off = 1000;
	f[0].max = 500;
	assert_int_equal(persist__read_files(&io, f, 1, NULL, NULL, 0), 0);
	assert_int_equal(f[0].len, 500);
	assert_memory_equal(f[0].data, text + 1000, 500);
	free(f[0].data);
	memset(f, 0, sizeof f);
	f[0].long_path = path;
	f[0].slot = 64;
	snprintf(f[1].path, sizeof f[1].path, "/proc/self/stat");
	f[1].slot = 1024;
	assert_int_equal(persist__read_files(&io, f, 2, NULL, NULL, 0), -EINVAL);
	persist__procio_fini(&io);
}

static unsigned long long lstart(int pid)
{
	unsigned long long t = 0;

	assert_int_equal(persist_proc_starttime(pid, &t), 0);
	return t;
}

/* Forks a child from a thread other than the main one, and stays until
 * told: while it lives, the kernel lists that child in its children file
 * only (once it ends, its children pass to another thread). */
struct forker {
	pid_t pid;
	int ready[2], go[2];
};

static void *fork_from_thread(void *arg)
{
	struct forker *k = arg;
	char c;

	k->pid = fork();
	if (k->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		pause();
		_exit(0);
	}
	(void)!write(k->ready[1], "x", 1);
	(void)!read(k->go[0], &c, 1);
	return NULL;
}

/* Children by the children files and by the scan of every process's
 * parent (kernels without those files) agree. */
static void test_children_local(void **state)
{
	struct persist__procio io;
	struct persist__pids a = { 0 }, b = { 0 };
	struct forker k;
	pid_t kids[3];
	pthread_t th;
	int *pub;
	size_t npub;
	char c;

	(void)state;
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			pause();
			_exit(0);
		}
	}
	/* The third from another thread, which stays meanwhile. */
	assert_int_equal(pipe(k.ready), 0);
	assert_int_equal(pipe(k.go), 0);
	assert_int_equal(pthread_create(&th, NULL, fork_from_thread, &k), 0);
	assert_int_equal(read(k.ready[0], &c, 1), 1);
	kids[2] = k.pid;
	assert_true(kids[2] > 0);
	persist__procio_init(&io, NULL);
	assert_int_equal(persist__proc_children_at(&io, getpid(), &a), 0);
	persist__proc_force_scan = 1;
	assert_int_equal(persist__proc_children_at(&io, getpid(), &b), 0);
	persist__proc_force_scan = 0;
	assert_int_equal(a.n, 3);
	assert_int_equal(b.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(a.a[i], b.a[i]);
		assert_true(a.a[i] == kids[0] || a.a[i] == kids[1] || a.a[i] == kids[2]);
	}
	assert_int_equal(persist__proc_children_at(&io, 0x7ffffff0, &a), -ESRCH);
	persist__procio_fini(&io);
	/* The public local reader is the same code. */
	assert_int_equal(persist_proc_children(getpid(), &pub, &npub), 0);
	assert_int_equal(npub, 3);
	free(pub);
	assert_int_equal(write(k.go[1], "x", 1), 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	for (int i = 0; i < 2; i++) {
		close(k.ready[i]);
		close(k.go[i]);
	}
	persist__pids_free(&a);
	persist__pids_free(&b);

	/* Alive: same start time and not ended. */
	assert_int_equal(persist__proc_alive(NULL, kids[0], lstart(kids[0])), 1);
	assert_int_equal(persist__proc_alive(NULL, kids[0], lstart(kids[0]) + 1), 0);
	for (int i = 0; i < 3; i++)
		kill(kids[i], SIGKILL);
	for (int t = 0; t < 5000; t++) {
		struct persist_proc_stat ps;
		if (persist_proc_stat(kids[0], &ps) == 0 && ps.state == 'Z')
			break;
		usleep(1000);
	}
	assert_int_equal(persist__proc_alive(NULL, kids[0], lstart(kids[0])), 0);
	for (int i = 0; i < 3; i++)
		waitpid(kids[i], NULL, 0);
	assert_int_equal(persist__proc_alive(NULL, kids[0], 1), 0);
	assert_int_equal(persist__proc_alive(NULL, 0, 1), 0);
}

/* ---- through a real persist-server ---- */

/* A sysif that forwards to another and counts the round trips it costs:
 * every blocking call and memory operation is one, and so is the first
 * wait after requests were submitted (it sends them all and awaits the
 * first answer; the others come in the same stream). */
struct counting {
	struct near_sysif base;
	struct near_sysif *in;
	int trips, requests, queued;
};

static struct counting *cnt(struct near_sysif *s)
{
	return (struct counting *)s;
}

static int64_t c_syscall(struct near_sysif *s, const struct near_request *q)
{
	cnt(s)->trips++;
	cnt(s)->requests++;
	return cnt(s)->in->ops->syscall(cnt(s)->in, q);
}

static int c_submit(struct near_sysif *s, const struct near_request *q)
{
	cnt(s)->queued++;
	cnt(s)->requests++;
	return cnt(s)->in->ops->submit(cnt(s)->in, q);
}

static int c_complete(struct near_sysif *s, int64_t *res)
{
	if (cnt(s)->queued) {
		cnt(s)->trips++;
		cnt(s)->queued = 0;
	}
	return cnt(s)->in->ops->complete(cnt(s)->in, res);
}

static int c_read(struct near_sysif *s, void *d, uint64_t a, size_t n)
{
	cnt(s)->trips++;
	return cnt(s)->in->ops->read_mem(cnt(s)->in, d, a, n);
}

static int c_write(struct near_sysif *s, uint64_t a, const void *d, size_t n)
{
	cnt(s)->trips++;
	return cnt(s)->in->ops->write_mem(cnt(s)->in, a, d, n);
}

static void c_close(struct near_sysif *s)
{
	(void)s;
}

static const struct near_sysif_ops counting_ops = {
	c_syscall, c_submit, c_complete, c_read, c_write, c_close,
};

/* Snapshot the server's children through a counting sysif; pids (n, may
 * be 0) as the running records' pids.  later: then read the deferred
 * cmdlines too, *later_trips their round trips.  Returns: the snapshot's
 * round trips. */
static int snapshot_trips_of(struct persist_thread *th, unsigned long long start,
			     const int *pids, size_t n, struct persist__snapshot *snap,
			     int *requests, int *later_trips)
{
	struct counting c = { .base = { .ops = &counting_ops }, .in = th->task.sysif };
	struct persist__procio io;
	int trips;

	persist__procio_init(&io, &c.base);
	assert_int_equal(persist__snapshot_read(&io, th->pid, start, pids, n, snap), 0);
	trips = c.trips;
	if (later_trips) {
		assert_int_equal(persist__snapshot_cmdlines(&io, snap), 0);
		*later_trips = c.trips - trips;
	}
	persist__procio_fini(&io);
	*requests = c.requests;
	return trips;
}

static int snapshot_trips(struct persist_thread *th, unsigned long long start,
			  struct persist__snapshot *snap, int *requests)
{
	return snapshot_trips_of(th, start, NULL, 0, snap, requests, NULL);
}

/* Until the server's n children all show a cmdline.  A spawn is answered
 * when the child's close-on-exec fds close, which the kernel's execve does
 * before it puts the new program's arguments in place: for a moment after
 * (as after posix_spawn) /proc/PID/cmdline reads empty. */
static void until_execed(struct persist_thread *th, unsigned long long start, size_t n)
{
	for (int tries = 0; tries < 500; tries++) {
		struct persist__snapshot snap;
		size_t full = 0;
		int reqs;

		snapshot_trips(th, start, &snap, &reqs);
		for (size_t i = 0; i < snap.n; i++)
			full += snap.procs[i].cmdlen > 0;
		persist__snapshot_free(&snap);
		if (full == n)
			return;
		nap_ms(10);
	}
}

/* Reading the stat and cmdline of N children costs the same few round
 * trips for 1 child as for 24: the requests grow, the round trips do not. */
static void test_server_round_trips(void **state)
{
	static const char *const sleeper[] = { "sleep", "600", NULL };
	struct persist__snapshot snap;
	struct persist_thread th;
	unsigned long long start;
	int trips1, trips24, req1, req24, kids[24];

	/* A count of round trips: under valgrind the server's /proc files are
	 * valgrind's (a longer cmdline and stat overflow their slots), so the
	 * count says nothing about our reader there. */
	if (getenv("PERSIST_VALGRIND"))
		skip();

	(void)state;
	assert_int_equal(srv_start(&th, "rt"), 0);
	start = srv_starttime(&th, th.pid);
	assert_true(start > 0);
	kids[0] = srv_spawn(&th, sleeper);
	assert_true(kids[0] > 0);
	until_execed(&th, start, 1);
	trips1 = snapshot_trips(&th, start, &snap, &req1);
	assert_true(snap.alive);
	assert_int_equal(snap.children, 1);
	assert_int_equal(snap.procs[0].pid, kids[0]);
	assert_int_equal(snap.procs[0].cmdlen, sizeof "sleep\0" "600");
	assert_memory_equal(snap.procs[0].cmdline, "sleep\0" "600", snap.procs[0].cmdlen);
	assert_string_equal(snap.self.comm, "persist-server");
	persist__snapshot_free(&snap);
	for (int i = 1; i < 24; i++)
		assert_true((kids[i] = srv_spawn(&th, sleeper)) > 0);
	until_execed(&th, start, 24);
	trips24 = snapshot_trips(&th, start, &snap, &req24);
	assert_int_equal(snap.children, 24);
	for (size_t i = 0; i < snap.n; i++) {
		assert_true(snap.procs[i].child);
		assert_int_equal(snap.procs[i].st.ppid, th.pid);
		assert_false(snap.procs[i].flags & PERSIST__PF_FORKNOEXEC);
	}
	persist__snapshot_free(&snap);
	/* The 24 as running records: their cmdlines wait (recovery reads them
	 * only for children no record claims), then come in one more batch,
	 * whatever their number. */
	{
		int later1, later24, reqs, k1[1] = { kids[0] };

		snapshot_trips_of(&th, start, k1, 1, &snap, &reqs, &later1);
		persist__snapshot_free(&snap);
		snapshot_trips_of(&th, start, kids, 24, &snap, &reqs, NULL);
		assert_int_equal(snap.children, 24);
		for (size_t i = 0; i < snap.n; i++) {
			assert_true(snap.procs[i].cmd_later);
			assert_null(snap.procs[i].cmdline);
		}
		persist__snapshot_free(&snap);
		snapshot_trips_of(&th, start, kids, 24, &snap, &reqs, &later24);
		for (size_t i = 0; i < snap.n; i++) {
			assert_false(snap.procs[i].cmd_later);
			assert_int_equal(snap.procs[i].cmdlen, sizeof "sleep\0" "600");
			assert_memory_equal(snap.procs[i].cmdline, "sleep\0" "600",
					    snap.procs[i].cmdlen);
		}
		persist__snapshot_free(&snap);
		assert_int_equal(later24, later1);
		assert_true(later1 > 0);
	}
	print_message("snapshot of 1 child: %d round trips (%d requests); of 24: %d (%d)\n",
		      trips1, req1, trips24, req24);
	assert_int_equal(trips24, trips1);
	assert_true(trips1 <= 12);
	assert_true(req24 > req1 + 23 * 5);
	for (int i = 0; i < 24; i++)
		kill(kids[i], SIGKILL);
	persist_thread_close(&th);
}

/* A server that is pid 1 of its own pid namespace: its /proc (its own
 * mount) names its children by its pids, which ours does not. */
static void test_server_pid_namespace(void **state)
{
	static const char *const sleeper[] = { "sleep", "600", NULL };
	struct persist__snapshot snap;
	struct persist__procio io;
	struct persist_thread th, blind;
	int outer, kid, r;

	(void)state;
	/* valgrind names the server memcheck, and takes mount's NULL type for
	 * a bad address: the namespace case is tested without it. */
	if (getenv("PERSIST_VALGRIND"))
		skip();
	r = srv_start_ns(&th, "ns", 1, &outer);
	if (r == -EPERM || r == -EINVAL || r == -ENOSYS)
		skip(); /* no namespaces for us here */
	assert_int_equal(r, 0);
	assert_int_equal(th.pid, 1);
	kid = srv_spawn(&th, sleeper);
	assert_true(kid > 1);
	persist__procio_init(&io, th.task.sysif);
	assert_int_equal(persist__snapshot_read(&io, 1, srv_starttime(&th, 1), NULL, 0, &snap), 0);
	persist__procio_fini(&io);
	assert_true(snap.alive);
	assert_int_equal(snap.children, 1);
	assert_int_equal(snap.procs[0].pid, kid);
	assert_int_equal(snap.procs[0].st.ppid, 1);
	assert_string_equal(snap.self.comm, "persist-server");
	persist__snapshot_free(&snap);
	transport_close(th.conn);

	/* Without a /proc of its own it sees ours, where it is not pid 1:
	 * nothing read there is the thread's, and the reader says so. */
	r = srv_start_ns(&blind, "blind", 0, &outer);
	assert_int_equal(r, 0);
	assert_int_equal(blind.pid, 1);
	persist__procio_init(&io, blind.task.sysif);
	assert_int_equal(persist__snapshot_read(&io, 1, 1, NULL, 0, &snap), -EXDEV);
	persist__procio_fini(&io);
	transport_close(blind.conn);
}

static int setup(void **state)
{
	(void)state;
	return srv_setup();
}

static int teardown(void **state)
{
	(void)state;
	srv_teardown();
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_parse_pids),
		cmocka_unit_test(test_parse_cmdline),
		cmocka_unit_test(test_stat_alive),
		cmocka_unit_test_setup_teardown(test_read_files_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_long_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_pid_namespace, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
