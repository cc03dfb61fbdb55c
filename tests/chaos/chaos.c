// SPDX-License-Identifier: MIT
/* The chaos test: a controller (chaos-ctl, the session API in a loop) is
 * SIGKILLed at a random instant, round after round, and after every round
 * a new session (its recovery) must leave the thread consistent:
 *
 *   intent     no record is left in state intent (its controller is dead);
 *   running    every running record is a live child of the server, with
 *              the recorded start time and its argv as cmdline;
 *   recorded   every child of the server is a running record, and none is
 *              a fork of the server that never exec'd (comm or cmdline of
 *              persist-server);
 *   zombie     no child of the server is a zombie after recovery;
 *   fds        the server holds as many fds as at the start (no leaked
 *              socketpair ends);
 *   status     every ended child's status is what its command gives
 *              (exit N: exited N; a sleep: exited 0 or killed by the
 *              signal chaos-ctl sends it), every record is of a command
 *              chaos-ctl runs, and only a record that never had a pid (an
 *              intent whose controller died before the spawn) is lost;
 *   recovery   the recovery report holds no per-child error;
 *   server     the server still answers.
 *
 *   chaos CHAOS_CTL
 *   PERSIST_CHAOS_SEED=N    replay a run (printed at the start)
 *   PERSIST_CHAOS_ROUNDS=N  rounds (default 40; 6 under valgrind)
 *   PERSIST_CHAOS_MAX_US=N  the latest instant of the kill, in microseconds
 *                           after the controller starts (default 150000)
 *   PERSIST_CHAOS_STOP=1    stop at the first failing round (default: go
 *                           on with a fresh server, and sum up at the end)
 *
 * A failing round prints the seed, the round and each broken invariant;
 * the exit status is 1 if any round failed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <persist/session.h>

static int valgrind;

static int slow(int ms)
{
	return valgrind ? ms * 12 : ms;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the kernel's view ---- */

static char proc_state(int pid, unsigned long long *start)
{
	char path[64], buf[1024], st = 0;
	unsigned long long t = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (sscanf(strrchr(buf, ')') + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
		   "%*d %*d %*d %*d %*d %*d %llu", &st, &t) != 2)
		return 0;
	if (start)
		*start = t;
	return st;
}

static size_t proc_file(int pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, len);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

static size_t proc_children(int pid, int *kids, size_t max)
{
	char path[64];
	struct dirent *d;
	size_t n = 0;
	DIR *tasks;

	snprintf(path, sizeof path, "/proc/%d/task", pid);
	tasks = opendir(path);
	if (!tasks)
		return 0;
	while ((d = readdir(tasks))) {
		char file[320];
		FILE *f;
		int k;

		if (d->d_name[0] == '.')
			continue;
		snprintf(file, sizeof file, "/proc/%d/task/%s/children", pid, d->d_name);
		if (!(f = fopen(file, "r")))
			continue;
		while (n < max && fscanf(f, "%d", &k) == 1)
			kids[n++] = k;
		fclose(f);
	}
	closedir(tasks);
	return n;
}

static int fd_count(int pid, int show)
{
	char path[64], link[320], target[256];
	struct dirent *d;
	int n = 0;
	DIR *fds;

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	if (!(fds = opendir(path)))
		return -1;
	while ((d = readdir(fds))) {
		ssize_t l;
		if (d->d_name[0] == '.')
			continue;
		n++;
		if (!show)
			continue;
		snprintf(link, sizeof link, "/proc/%d/fd/%s", pid, d->d_name);
		l = readlink(link, target, sizeof target - 1);
		target[l > 0 ? l : 0] = 0;
		fprintf(stderr, "        fd %s -> %s\n", d->d_name, target);
	}
	closedir(fds);
	return n;
}

/* ---- the run ---- */

static const char *ctl_exe;
static unsigned seed;
static int round_no, failed_rounds, bad_here;
static char base[64], sdir[128];
static int server;
static int fds_start;
static char server_cmdline[1024];
static size_t server_cmdline_len;
/* Which invariants broke, and in how many rounds, for the summary. */
static const char *const invariants[] = { "intent", "running", "recorded", "zombie", "fds",
					  "status", "recovery", "server", "controller" };
enum { NINV = sizeof invariants / sizeof invariants[0] };
static int inv_rounds[NINV], inv_first[NINV], inv_here[NINV];

__attribute__((format(printf, 2, 3)))
static void broken(const char *inv, const char *fmt, ...)
{
	va_list ap;

	for (int i = 0; i < NINV; i++)
		if (strcmp(invariants[i], inv) == 0)
			inv_here[i] = 1;
	if (!bad_here++)
		fprintf(stderr, "chaos: FAILED round %d (PERSIST_CHAOS_SEED=%u):\n", round_no, seed);
	fprintf(stderr, "    [%s] ", inv);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void kill_tree(int pid)
{
	int kids[512];
	size_t n;

	if (pid <= 0)
		return;
	n = proc_children(pid, kids, 512);
	for (size_t i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	kill(pid, SIGKILL);
	for (int i = 0; i < 2000 && kill(pid, 0) == 0; i++) {
		waitpid(pid, NULL, WNOHANG);
		nap_us(1000);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		; /* orphans come to us: we are their subreaper */
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "chaos: could not remove %s\n", base);
}

/* A fresh state directory and server; the fd count it starts with. */
static int fresh_server(void)
{
	struct persist_session *s;
	char why[512] = "";
	int r;

	snprintf(base, sizeof base, "/tmp/persist-chaos-XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(sdir, sizeof sdir, "%s/state", base);
	r = persist_session_open(sdir, PERSIST_SESSION_START, &s, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "chaos: cannot start a server in %s: %s\n", sdir, why);
		return -1;
	}
	server = persist_session_thread_rec(s)->pid;
	fds_start = fd_count(server, 0);
	server_cmdline_len = proc_file(server, "cmdline", server_cmdline, sizeof server_cmdline);
	persist_session_close(s);
	return 0;
}

/* How a record's command must end.  Returns: 1 if st/code/alt is what it
 * must be, 0 if not, -1 if chaos-ctl runs no such command. */
static int status_ok(const struct persist_child_rec *c, char *want, size_t len)
{
	int code = c->state == PERSIST_CHILD_EXITED ? c->exit_code : c->signal;

	if (c->argc == 1 && strcmp(c->argv[0], "true") == 0) {
		snprintf(want, len, "exited 0");
		return c->state == PERSIST_CHILD_EXITED && code == 0;
	}
	if (c->argc == 3 && strcmp(c->argv[0], "sh") == 0 && strcmp(c->argv[1], "-c") == 0 &&
	    strncmp(c->argv[2], "exit ", 5) == 0) {
		int n = atoi(c->argv[2] + 5);
		snprintf(want, len, "exited %d", n);
		return c->state == PERSIST_CHILD_EXITED && code == n;
	}
	if (c->argc == 2 && strcmp(c->argv[0], "sleep") == 0 && strncmp(c->argv[1], "0.0", 3) == 0) {
		int x = atoi(c->argv[1] + 3), sig = x % 2 ? SIGTERM : SIGKILL;
		snprintf(want, len, "exited 0 or killed by signal %d", sig);
		return (c->state == PERSIST_CHILD_EXITED && code == 0) ||
		       (c->state == PERSIST_CHILD_KILLED && code == sig);
	}
	snprintf(want, len, "nothing: chaos-ctl runs no such command");
	return -1;
}

static const char *argv_str(const struct persist_child_rec *c, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (size_t i = 0; i < c->argc && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? " " : "", c->argv[i]);
	return buf;
}

static int cmdline_matches(int pid, const struct persist_child_rec *c)
{
	char got[1024], want[1024];
	size_t g = proc_file(pid, "cmdline", got, sizeof got), w = 0;

	for (size_t i = 0; i < c->argc; i++) {
		size_t l = strlen(c->argv[i]) + 1;
		if (w + l > sizeof want)
			return 0;
		memcpy(want + w, c->argv[i], l);
		w += l;
	}
	return g == w && memcmp(got, want, w) == 0;
}

/* Wait (bounded) until every child of the server has ended: chaos-ctl's
 * commands last 50 ms at most, so what still runs after that never ends. */
static void await_quiet(void)
{
	long deadline = now_ms() + slow(1000);

	for (;;) {
		int kids[512], busy = 0;
		size_t n = proc_children(server, kids, 512);
		for (size_t i = 0; i < n; i++) {
			char st = proc_state(kids[i], NULL);
			busy += st && st != 'Z' && st != 'X';
		}
		if (!busy || now_ms() > deadline)
			return;
		nap_us(2000);
	}
}

static void check(void)
{
	struct persist_session *s = NULL;
	const struct persist_recover_report *rep;
	struct persist_child_rec *recs = NULL;
	char why[512] = "", buf[256], want[96];
	int kids[512], r, fds;
	size_t n = 0, nk;

	await_quiet();
	r = persist_session_open(sdir, 0, &s, why, sizeof why);
	if (r < 0) {
		broken("server", "a new session cannot open: %s (%s)", strerror(-r), why);
		return;
	}
	if (persist_session_thread_rec(s)->pid != server)
		broken("server", "the session's server is pid %d, not %d",
		       persist_session_thread_rec(s)->pid, server);
	rep = persist_session_report(s);
	for (size_t i = 0; i < rep->n; i++)
		if (rep->entries[i].error)
			broken("recovery", "child %lld (pid %d, %s): %s: %s",
			       (long long)rep->entries[i].child_id, rep->entries[i].pid,
			       persist_found_name(rep->entries[i].found),
			       strerror(-rep->entries[i].error),
			       rep->entries[i].detail ? rep->entries[i].detail : "");
	r = persist_store_children(persist_session_store(s), persist_session_thread_rec(s)->id,
				   &recs, &n);
	if (r < 0) {
		broken("server", "cannot read the children: %s", strerror(-r));
		persist_session_close(s);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct persist_child_rec *c = &recs[i];
		long long id = (long long)c->id;
		switch (c->state) {
		case PERSIST_CHILD_INTENT:
			broken("intent", "child %lld (%s) is in state intent, its controller dead", id,
			       argv_str(c, buf, sizeof buf));
			break;
		case PERSIST_CHILD_RUNNING: {
			unsigned long long start = 0;
			char st = proc_state(c->pid, &start);
			int k, parent = 0;
			size_t nkk = proc_children(server, kids, 512);
			for (size_t j = 0; j < nkk; j++)
				parent |= kids[j] == c->pid;
			if (!st)
				broken("running", "child %lld (%s): pid %d does not exist", id,
				       argv_str(c, buf, sizeof buf), c->pid);
			else if (start != c->starttime)
				broken("running", "child %lld (%s): pid %d started at %llu, recorded %llu",
				       id, argv_str(c, buf, sizeof buf), c->pid, start, c->starttime);
			else if (!parent)
				broken("running", "child %lld (%s): pid %d is not the server's child", id,
				       argv_str(c, buf, sizeof buf), c->pid);
			else if (st != 'Z' && !cmdline_matches(c->pid, c))
				broken("running", "child %lld (%s): pid %d's cmdline is not its argv "
				       "(adopted a process that is not what it says)", id,
				       argv_str(c, buf, sizeof buf), c->pid);
			k = status_ok(c, want, sizeof want);
			if (k < 0)
				broken("status", "child %lld runs '%s', which chaos-ctl never ran", id,
				       argv_str(c, buf, sizeof buf));
			break;
		}
		case PERSIST_CHILD_LOST:
			/* Only a child that never had a pid may be lost: an intent
			 * whose controller died before (or during) the spawn.  One
			 * that ran has a status, and losing it is a bug. */
			if (c->pid != 0)
				broken("status", "child %lld (%s) is lost: %s", id,
				       argv_str(c, buf, sizeof buf),
				       c->lost_reason ? c->lost_reason : "(no reason)");
			break;
		default:
			if (status_ok(c, want, sizeof want) != 1)
				broken("status", "child %lld (%s) %s %d; its command gives %s", id,
				       argv_str(c, buf, sizeof buf), persist_child_state_name(c->state),
				       c->state == PERSIST_CHILD_EXITED ? c->exit_code : c->signal,
				       want);
			break;
		}
	}
	nk = proc_children(server, kids, 512);
	for (size_t k = 0; k < nk; k++) {
		char comm[64] = "", cmd[1024];
		unsigned long long start = 0;
		char st = proc_state(kids[k], &start);
		size_t cl = proc_file(kids[k], "cmdline", cmd, sizeof cmd), l;
		int known = 0;
		l = proc_file(kids[k], "comm", comm, sizeof comm - 1);
		comm[l ? l - 1 : 0] = 0;
		for (size_t i = 0; i < n; i++)
			known |= recs[i].state == PERSIST_CHILD_RUNNING && recs[i].pid == kids[k] &&
				 recs[i].starttime == start;
		if (st == 'Z')
			broken("zombie", "the server's child %d (%s) is a zombie after recovery",
			       kids[k], comm);
		if (!known)
			broken("recorded", "the server's child %d (%s) has no running record", kids[k],
			       comm);
		if (strcmp(comm, "persist-server") == 0 ||
		    (cl && cl == server_cmdline_len && memcmp(cmd, server_cmdline, cl) == 0))
			broken("recorded", "the server's child %d (%s) is a fork of the server that "
			       "never exec'd (a spawn cut short)", kids[k], comm);
	}
	fds = fd_count(server, 0);
	if (fds != fds_start) {
		broken("fds", "the server holds %d fds, %d at the start:", fds, fds_start);
		fd_count(server, 1);
	}
	persist_child_recs_free(recs, n);
	persist_session_close(s);
}

/* One round: start chaos-ctl, kill it at a random instant, check. */
static void one_round(unsigned *rng, long max_us, const char *errpath)
{
	char rs[32];
	long delay = (long)((double)rand_r(rng) / RAND_MAX * (double)max_us);
	int status;
	pid_t pid;

	snprintf(rs, sizeof rs, "%u", (unsigned)rand_r(rng));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		execl(ctl_exe, ctl_exe, sdir, rs, (char *)NULL);
		perror(ctl_exe);
		_exit(127);
	}
	nap_us(delay);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		char msg[600] = "";
		int fd = open(errpath, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t l = read(fd, msg, sizeof msg - 1);
			msg[l > 0 ? l : 0] = 0;
			msg[strcspn(msg, "\n")] = 0;
			close(fd);
		}
		broken("controller", "chaos-ctl (seed %s) ended on its own before the kill at %ld us "
		       "(status %#x): %s", rs, delay, status, msg);
	}
	check();
}

int main(int argc, char **argv)
{
	const char *env;
	char errpath[128];
	int rounds, stop_first;
	long max_us;
	unsigned rng;
	long t0 = now_ms();

	if (argc != 2) {
		fprintf(stderr, "usage: chaos CHAOS_CTL\n");
		return 2;
	}
	ctl_exe = argv[1];
	valgrind = getenv("PERSIST_VALGRIND") != NULL;
	env = getenv("PERSIST_CHAOS_SEED");
	seed = env && *env ? (unsigned)strtoul(env, NULL, 0)
			   : (unsigned)(time(NULL) ^ ((unsigned)getpid() << 16)) % 1000000000u;
	env = getenv("PERSIST_CHAOS_ROUNDS");
	rounds = env && *env ? atoi(env) : valgrind ? 6 : 40;
	env = getenv("PERSIST_CHAOS_MAX_US");
	max_us = env && *env ? atol(env) : 150000;
	if (valgrind)
		max_us = slow((int)(max_us / 1000)) * 1000L;
	stop_first = getenv("PERSIST_CHAOS_STOP") && *getenv("PERSIST_CHAOS_STOP") == '1';
	printf("chaos: seed %u, %d rounds, kill within %ld us (replay: PERSIST_CHAOS_SEED=%u "
	       "PERSIST_CHAOS_ROUNDS=%d)\n", seed, rounds, max_us, seed, rounds);
	fflush(stdout);
	/* The detached server and orphans come to us, not to init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* Under valgrind (--trace-children=yes) chaos-ctl and the server are
	 * traced, and so would be the system programs the server runs:
	 * seconds each, and a /proc cmdline of valgrind's, not their argv. */
	if (valgrind) {
		const char *old = getenv("VALGRIND_OPTS");
		char opts[1024];
		snprintf(opts, sizeof opts, "%s%s--trace-children-skip=*/sleep,*/sh,*/dash,*/bash,"
			 "*/true", old ? old : "", old ? " " : "");
		setenv("VALGRIND_OPTS", opts, 1);
	}
	rng = seed;
	if (fresh_server() < 0)
		return 2;
	for (round_no = 1; round_no <= rounds; round_no++) {
		snprintf(errpath, sizeof errpath, "%s/ctl.err", base);
		bad_here = 0;
		memset(inv_here, 0, sizeof inv_here);
		one_round(&rng, max_us, errpath);
		if (!bad_here)
			continue;
		failed_rounds++;
		for (int i = 0; i < NINV; i++)
			if (inv_here[i] && !inv_rounds[i]++)
				inv_first[i] = round_no;
		if (stop_first)
			break;
		/* Go on with a clean slate: what broke would break every
		 * later round too. */
		kill_tree(server);
		remove_dir();
		if (fresh_server() < 0)
			return 2;
	}
	/* The end: stop must settle everything and end the server. */
	if (!(stop_first && failed_rounds)) {
		struct persist_session *s = NULL;
		char why[512] = "";
		int r;

		round_no = 0;
		bad_here = 0;
		r = persist_session_open(sdir, 0, &s, why, sizeof why);
		if (r == 0)
			r = persist_session_stop(s, slow(2000), why, sizeof why);
		if (r < 0) {
			broken("server", "the final stop failed: %s (%s)", strerror(-r), why);
			failed_rounds++;
		}
		persist_session_close(s);
	}
	kill_tree(server);
	remove_dir();
	if (failed_rounds) {
		fprintf(stderr, "chaos: FAILED: %d of %d rounds broke invariants (seed %u, %.1f s):\n",
			failed_rounds, rounds, seed, (now_ms() - t0) / 1000.0);
		for (int i = 0; i < NINV; i++)
			if (inv_rounds[i])
				fprintf(stderr, "    %-10s in %d rounds, first round %d\n", invariants[i],
					inv_rounds[i], inv_first[i]);
		fprintf(stderr, "chaos: replay with PERSIST_CHAOS_SEED=%u PERSIST_CHAOS_ROUNDS=%d "
			"(the instants are random: a replay is the same commands, not the same "
			"race)\n", seed, rounds);
		return 1;
	}
	printf("chaos: ok: %d rounds, every invariant held (seed %u, %.1f s)\n", rounds, seed,
	       (now_ms() - t0) / 1000.0);
	return 0;
}
