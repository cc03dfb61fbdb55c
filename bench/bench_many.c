// SPDX-License-Identifier: MIT
/* Costs as work grows: what a thread costs while 100 of them idle, and what
 * spawning, `persistctl ps` and recovery cost in a thread with 10 and with
 * 1000 live children.  The children are `sleep`s started through one
 * session on a state directory in /dev/shm (where a user's
 * $XDG_RUNTIME_DIR is: tmpfs); the rows at 1000 add 990 to the rows at 10,
 * so they run in table order (each row's setup tops the count up, so
 * BENCH_ONLY works on any of them). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <persist/session.h>
#include <persist/thread.h>
#include <persist/recover.h>
#include "../tests/lib/spawn.h"
#include "harness.h"

/* ---- thread_pss_100 ------------------------------------------------------ */

/* Wait until pid has exec'd comm and sleeps (its start-up done).
 * Returns: 0, or -errno (-ETIMEDOUT after 10 s). */
static int wait_exec(pid_t pid, const char *comm)
{
	char path[64], buf[256], want[64];

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	snprintf(want, sizeof want, "(%s) S", comm);
	for (int i = 0; i < 10000; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0)
			return -errno;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, want))
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

#define PSS_N 100

static struct server pss_srv[PSS_N];
static pid_t pss_sleep[PSS_N];

/* Returns: the sum over pids of the smaps_rollup field, in KiB, or -errno. */
static long sum_rollup(const pid_t *pids, int n, const char *field)
{
	long sum = 0;

	for (int i = 0; i < n; i++) {
		long kib = proc_kib(pids[i], "smaps_rollup", field);
		if (kib < 0)
			return kib;
		sum += kib;
	}
	return sum;
}

static void pss_stop(void)
{
	for (int i = 0; i < PSS_N; i++) {
		if (pss_srv[i].pid > 0)
			server_stop(&pss_srv[i]);
		kill_reap(&pss_sleep[i]);
	}
}

/* 100 fresh persist-servers against 100 /bin/sleep: the Pss (each shared
 * page divided among those that map it) per process, summed and divided,
 * as the issue defines it.  The servers have each accepted and closed one
 * connection (server_start's probe) and wait for the next. */
static int bench_pss(struct bench *b)
{
	static char *const argv[] = { "/bin/sleep", "100000", NULL };
	pid_t pids[PSS_N];
	long srv = 0, slp = 0;
	int r = 0;

	for (int i = 0; i < PSS_N && r == 0; i++) {
		r = server_start(&pss_srv[i], NULL);
		pids[i] = pss_srv[i].pid;
	}
	for (int i = 0; i < PSS_N && r == 0; i++) {
		pss_sleep[i] = fork();
		if (pss_sleep[i] == 0) {
			execv(argv[0], argv);
			_exit(127);
		}
		r = pss_sleep[i] < 0 ? -errno : 0;
	}
	/* Let every sleep be through its exec and its start-up. */
	for (int i = 0; i < PSS_N && r == 0; i++)
		r = wait_exec(pss_sleep[i], "sleep");
	if (r == 0 && (srv = sum_rollup(pids, PSS_N, "Pss")) < 0)
		r = (int)srv;
	if (r == 0 && (slp = sum_rollup(pss_sleep, PSS_N, "Pss")) < 0)
		r = (int)slp;
	if (r == 0)
		fprintf(stderr, "bench: one of the 100 servers: Rss %ld, Pss %ld, Private_Dirty %ld KiB\n",
			proc_kib(pids[0], "smaps_rollup", "Rss"), proc_kib(pids[0], "smaps_rollup", "Pss"),
			proc_kib(pids[0], "smaps_rollup", "Private_Dirty"));
	pss_stop();
	if (r < 0)
		return r;
	b->value = (double)srv / PSS_N;
	b->floor_value = (double)slp / PSS_N;
	b->ratio = b->value / b->floor_value;
	b->noise = 0;
	return 0;
}

static int met_pss(const struct bench *b)
{
	return b->value <= 64;
}

/* ---- The thread with many children ------------------------------------- */

static struct {
	char dir[64];                 /* the state directory */
	struct persist_session *s;    /* open while spawn rows run */
	pid_t server;
	int n;                        /* live children started */
	char ctl[PATH_MAX];           /* persistctl */
} mc;

/* persistctl: $PERSISTCTL, else beside the persist-server in use (the
 * stage, in the top-level make bench), else on PATH. */
static const char *persistctl(void)
{
	const char *env = getenv("PERSISTCTL"), *exe = server_exe(), *slash;

	if (mc.ctl[0])
		return mc.ctl;
	if (env && *env)
		snprintf(mc.ctl, sizeof mc.ctl, "%s", env);
	else if ((slash = strrchr(exe, '/')))
		snprintf(mc.ctl, sizeof mc.ctl, "%.*s/persistctl", (int)(slash - exe), exe);
	else
		snprintf(mc.ctl, sizeof mc.ctl, "persistctl");
	return mc.ctl;
}

static int many_open(void)
{
	char why[512] = "";
	int r;

	if (mc.s)
		return 0;
	if (!mc.dir[0]) {
		snprintf(mc.dir, sizeof mc.dir, "/dev/shm/persist-bench-XXXXXX");
		if (!mkdtemp(mc.dir)) {
			snprintf(mc.dir, sizeof mc.dir, "/tmp/persist-bench-XXXXXX");
			if (!mkdtemp(mc.dir))
				return -errno;
		}
	}
	r = persist_session_open(mc.dir, PERSIST_SESSION_START, &mc.s, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "bench: session: %s\n", why);
		return r;
	}
	mc.server = persist_session_thread(mc.s)->pid;
	return 0;
}

/* So that persistctl, or a session opened to recover, is not kept
 * waiting for the controller lock. */
static void many_close(void)
{
	persist_session_close(mc.s);
	mc.s = NULL;
}

/* n sleeping children in the thread, at least; the session stays open. */
static int many_ensure(int n)
{
	static const char *const argv[] = { "/bin/sleep", "100000", NULL };
	struct persist_spawn sp = { .argv = argv, .stdout_path = "/dev/null",
				    .stderr_path = "/dev/null" };
	char why[512] = "";
	int r = many_open();

	while (r == 0 && mc.n < n) {
		int64_t id;
		if ((r = persist_session_run(mc.s, NULL, &sp, &id, why, sizeof why)) < 0)
			fprintf(stderr, "bench: run: %s\n", why);
		else
			mc.n++;
	}
	return r;
}

/* The thread's children, from its /proc (we share its pid namespace).
 * Returns: how many were put in pids (at most max), or -errno. */
static int many_children(pid_t *pids, int max)
{
	char path[64];
	FILE *f;
	int n = 0, pid;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)mc.server,
		 (int)mc.server);
	if (!(f = fopen(path, "r")))
		return -errno;
	while (n < max && fscanf(f, "%d", &pid) == 1)
		pids[n++] = pid;
	fclose(f);
	return n;
}

static void many_cleanup(void)
{
	static pid_t kids[2048];
	int n;

	pss_stop();
	many_close();
	if (mc.server > 0) {
		n = many_children(kids, 2048);
		for (int i = 0; i < n; i++)
			kill(kids[i], SIGKILL);
		kill(mc.server, SIGKILL);
		mc.server = 0;
	}
	if (mc.dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", mc.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench: could not remove %s\n", mc.dir);
		mc.dir[0] = '\0';
	}
}

/* Value: spawn one more (/bin/true) in the thread, and reap it there. */
static int val_spawn_at(const void *arg, long iters)
{
	(void)arg;
	return spawn_true(persist_session_thread(mc.s), iters);
}

static int spawn_at_10(void)
{
	return many_ensure(10);
}

static int spawn_at_1000(void)
{
	return many_ensure(1000);
}

/* Value: the whole `persistctl --state DIR ps --json` process. */
static int run_ctl(const char *const *args)
{
	const char *argv[8] = { persistctl(), "--state", mc.dir };
	int n = 3, status;
	pid_t pid;

	while (*args && n < 7)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execvp(argv[0], (char **)argv);
		fprintf(stderr, "bench: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

static int val_ps(const void *arg, long iters)
{
	static const char *const args[] = { "ps", "--json", NULL };
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++)
		r = run_ctl(args);
	return r;
}

/* Floor: the same process doing nothing (its start, its libraries). */
static int floor_ctl(const void *arg, long iters)
{
	static const char *const args[] = { "--help", NULL };
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++)
		r = run_ctl(args);
	return r;
}

static int ps_at(int n)
{
	int r = many_ensure(n);

	many_close();
	return r;
}

static int ps_at_10(void)
{
	return ps_at(10);
}

static int ps_at_1000(void)
{
	return ps_at(1000);
}

/* recover_live_1000: the children's pids, for the floor. */
static pid_t live[1000];
static int nlive;

static int recover_setup(void)
{
	int r = ps_at(1000);

	if (r == 0 && (nlive = many_children(live, 1000)) < 0)
		r = nlive;
	if (r == 0 && nlive != 1000)
		r = -EPROTO;
	return r;
}

/* Value: open a session, which recovers the 1000 live children through the
 * thread, and close it. */
static int val_recover_live(const void *arg, long iters)
{
	int r = 0;

	(void)arg;
	for (long i = 0; i < iters && r == 0; i++) {
		const struct persist_recover_report *rep;
		struct persist_session *s;
		char why[512] = "";

		r = persist_session_open(mc.dir, 0, &s, why, sizeof why);
		if (r < 0) {
			fprintf(stderr, "bench: session: %s\n", why);
			break;
		}
		rep = persist_session_report(s);
		if (!rep->thread_alive || rep->running != 1000 || rep->errors)
			r = -EPROTO;
		persist_session_close(s);
	}
	return r;
}

/* Floor: read the 1000 children's /proc/PID/stat right here. */
static int floor_read_stats(const void *arg, long iters)
{
	char path[64], buf[1024];

	(void)arg;
	for (long i = 0; i < iters; i++)
		for (int k = 0; k < nlive; k++) {
			int fd;
			ssize_t n;

			snprintf(path, sizeof path, "/proc/%d/stat", (int)live[k]);
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
				return -errno;
			n = read(fd, buf, sizeof buf);
			close(fd);
			if (n <= 0)
				return n < 0 ? -errno : -EPROTO;
		}
	return 0;
}

static struct bench rows[];

static const struct bench *row(const char *name);

/* Within 2x (spawn) or 10x and 100 ms (ps) of the same at 10 children;
 * not met when the row at 10 was not measured. */
static int met_spawn_flat(const struct bench *b)
{
	const struct bench *at10 = row("spawn_at_10");

	return at10->value > 0 && b->value <= 2 * at10->value;
}

static int met_ps_flat(const struct bench *b)
{
	const struct bench *at10 = row("ps_at_10");

	return at10->value > 0 && b->value <= 10 * at10->value && b->value <= 100;
}

static int met_100ms(const struct bench *b)
{
	return b->value <= 100;
}

#define FLOOR_CTL "persistctl --help (the process alone)"

static struct bench rows[] = {
	{ .name = "thread_pss_100", .unit = KIB,
	  .floor_name = "a /bin/sleep, 100 running (Pss each)",
	  .target = "<= 64 KiB", .met = met_pss, .custom = bench_pss },
	{ .name = "spawn_at_10", .unit = US_PER_OP,
	  .val = SIDE(val_spawn_at, NULL, 1), .floor = SIDE(floor_spawn, NULL, 1),
	  .floor_name = FLOOR_SPAWN, .setup = spawn_at_10 },
	{ .name = "ps_at_10", .unit = MS_PER_OP,
	  .val = SIDE(val_ps, NULL, 1), .floor = SIDE(floor_ctl, NULL, 1),
	  .floor_name = FLOOR_CTL, .setup = ps_at_10 },
	{ .name = "spawn_at_1000", .unit = US_PER_OP,
	  .val = SIDE(val_spawn_at, NULL, 1), .floor = SIDE(floor_spawn, NULL, 1),
	  .floor_name = FLOOR_SPAWN, .setup = spawn_at_1000,
	  .target = "<= 2 x spawn_at_10", .met = met_spawn_flat },
	{ .name = "ps_at_1000", .unit = MS_PER_OP,
	  .val = SIDE(val_ps, NULL, 1), .floor = SIDE(floor_ctl, NULL, 1),
	  .floor_name = FLOOR_CTL, .setup = ps_at_1000,
	  .target = "<= 100 ms, 10 x ps_at_10", .met = met_ps_flat },
	{ .name = "recover_live_1000", .unit = MS_PER_OP,
	  .val = SIDE(val_recover_live, NULL, 1), .floor = SIDE(floor_read_stats, NULL, 1),
	  .floor_name = "read the 1000 /proc/PID/stat here", .setup = recover_setup,
	  .target = "<= 100 ms", .met = met_100ms },
};

static const struct bench *row(const char *name)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	return &rows[0];
}

static void many_setup(void)
{
}

/* The thread is started by a row's setup, so it is only killed by the
 * watchdog, never pinned (it inherits our CPU anyway). */
const struct layer many_layer = {
	.setup = many_setup, .cleanup = many_cleanup,
	.rows = rows, .n = sizeof rows / sizeof rows[0],
	.peers = { &mc.server },
};
