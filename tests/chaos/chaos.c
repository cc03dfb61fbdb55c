// SPDX-License-Identifier: MIT
/* The chaos test.  Round after round, several controllers (chaos-ctl, the
 * session API in a loop: ctl.c) work on one state directory at once, and
 * at random instants the harness
 *
 *   - SIGKILLs a controller (each with probability 2/3; the others are
 *     sent SIGTERM at the round's end and finish their operation),
 *   - SIGKILLs a child of the server behind the controllers' back,
 *   - SIGSTOPs the server, and SIGCONTs it a random while later.
 *
 * After every round a new session (its recovery) must leave the thread
 * consistent, and after the final stop nothing may be left: the
 * invariants are listed in harness.h and checked in invariants.c.
 *
 *   chaos CHAOS_CTL
 *   PERSIST_CHAOS_SEED=N     replay a run (printed at the start): the same
 *                            rounds, controllers and commands (the
 *                            instants are random: not the same race)
 *   PERSIST_CHAOS_ROUNDS=N   rounds (default 120, about a minute; 3 under
 *                            valgrind)
 *   PERSIST_CHAOS_SECONDS=N  run rounds for N seconds instead (make soak)
 *   PERSIST_CHAOS_MAX_US=N   the longest round, in microseconds (default
 *                            400000; 12 times that under valgrind)
 *   PERSIST_CHAOS_CTLS=N     at most N controllers at once (default 4; 2
 *                            under valgrind), at least 2 (1 if N is 1)
 *   PERSIST_CHAOS_STOP=1     stop at the first failing round (default: go
 *                            on with a fresh server, and sum up at the end)
 *
 * A failing round prints the seed, the round and each broken invariant;
 * the summary (minutes, rounds, operations, kills, invariants checked,
 * failures) is printed at the end; the exit status is 1 if any round
 * failed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <persist/session.h>
#include "chaos.h"
#include "harness.h"
#include "proc_view.h"

static struct chaos run;
static int bad_here, inv_here[NINV], inv_rounds[NINV], inv_first[NINV];

/* What the summary adds up. */
static struct {
	uint64_t op[CHAOS_NOPS];
	uint64_t ctl_started, ctl_killed, ctl_termed, kids_killed, kids_sure, server_stops;
	int rounds, failed;
} total;

int slow(const struct chaos *c, int ms)
{
	return c->valgrind ? ms * 12 : ms;
}

long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (us > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int expect(enum inv inv, int ok, const char *fmt, ...)
{
	va_list ap;

	inv_checks[inv]++;
	if (ok)
		return 1;
	inv_here[inv] = 1;
	if (!bad_here++) {
		if (run.round)
			fprintf(stderr, "chaos: FAILED round %d (PERSIST_CHAOS_SEED=%u):\n",
				run.round, run.seed);
		else
			fprintf(stderr, "chaos: FAILED at the final stop (PERSIST_CHAOS_SEED=%u):\n",
				run.seed);
	}
	fprintf(stderr, "    [%s] ", inv_names[inv]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 0;
}

/* ---- servers and the state directory ---- */

static void kill_strays(void)
{
	int strays[64];
	size_t n = stray_children(&run, strays, 64);

	for (size_t i = 0; i < n; i++) {
		kill(strays[i], SIGCONT); /* a stopped server would hold its children */
		proc_kill_tree(strays[i], slow(&run, 2000));
	}
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", run.base);
	if (system(cmd) != 0)
		fprintf(stderr, "chaos: could not remove %s\n", run.base);
}

/* A fresh state directory and server; what a server holds of its own
 * (stdio, its sockets, our connection) while we are connected. */
static int fresh_server(void)
{
	struct persist_session *s;
	char why[512] = "";
	int r;

	/* A new store: its ids start afresh, and what was killed in the old
	 * one is no longer looked for. */
	if (run.final_checked)
		memset(run.final_checked, 0, run.nfinal);
	for (size_t b = 0; b < run.nbehind; b++)
		run.behind[b].seen = 1;
	snprintf(run.base, sizeof run.base, "/tmp/persist-chaos-XXXXXX");
	if (!mkdtemp(run.base)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(run.sdir, sizeof run.sdir, "%s/state", run.base);
	snprintf(run.db, sizeof run.db, "%s/state.db", run.sdir);
	r = persist_session_open(run.sdir, PERSIST_SESSION_START, &s, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "chaos: cannot start a server in %s: %s\n", run.sdir, why);
		return -1;
	}
	run.server = persist_session_thread_rec(s)->pid;
	run.fds_own = fd_count(run.server);
	persist_session_close(s);
	return 0;
}

/* ---- one round ---- */

enum ev_type { EV_KILL_CTL, EV_KILL_CHILD, EV_STOP_SERVER, EV_CONT_SERVER };

struct ev {
	long at_us;
	enum ev_type type;
	int arg;
};

static int rnd(unsigned *rng, int n)
{
	return n > 0 ? rand_r(rng) % n : 0;
}

static void add_ev(struct ev *evs, int *n, long at, enum ev_type type, int arg)
{
	int i = (*n)++;

	/* Kept in time order: at most a dozen. */
	while (i > 0 && evs[i - 1].at_us > at) {
		evs[i] = evs[i - 1];
		i--;
	}
	evs[i] = (struct ev){ at, type, arg };
}

static pid_t start_ctl(const char *exe, int i, unsigned ctl_seed)
{
	char rs[32], counts[128], err[128];
	pid_t pid;

	snprintf(rs, sizeof rs, "%u", ctl_seed);
	snprintf(counts, sizeof counts, "%s/ops.%d", run.base, i);
	snprintf(err, sizeof err, "%s/ctl.%d.err", run.base, i);
	unlink(counts);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		execl(exe, exe, run.sdir, rs, counts, (char *)NULL);
		perror(exe);
		_exit(127);
	}
	total.ctl_started++;
	return pid;
}

/* SIGKILL a child of the server that has run its program. */
static void kill_a_child(unsigned *rng)
{
	int servers[8], cand[1024], alone[1024];
	unsigned long long starts[1024];
	size_t ns = stray_children(&run, servers, 8), nc = 0;

	for (size_t i = 0; i < ns; i++) {
		int kids[1024];
		size_t nk = proc_children(servers[i], kids, 1024);
		for (size_t k = 0; k < nk && nc < 1024; k++)
			if (killable(kids[k], &starts[nc], &alone[nc]))
				cand[nc++] = kids[k];
	}
	if (nc) {
		size_t k = (size_t)rnd(rng, (int)nc);
		if (kill(cand[k], SIGKILL) == 0) {
			/* Sure only once the round shows no stop (see below). */
			behind_add(&run, cand[k], starts[k], 0);
			run.behind[run.nbehind - 1].sure = alone[k] ? -1 : 0;
		}
	}
}

static int stopped[16], nstopped;

static void stop_servers(void)
{
	int servers[8];
	size_t n = stray_children(&run, servers, 8);

	for (size_t i = 0; i < n && nstopped < 16; i++)
		if (kill(servers[i], SIGSTOP) == 0) {
			stopped[nstopped++] = servers[i];
			total.server_stops++;
		}
}

static void cont_servers(void)
{
	for (int i = 0; i < nstopped; i++)
		kill(stopped[i], SIGCONT);
	nstopped = 0;
}

static void ctl_error(int i, pid_t pid, int status, const char *what)
{
	char path[128], msg[4096] = "";
	int fd;

	snprintf(path, sizeof path, "%s/ctl.%d.err", run.base, i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t l = read(fd, msg, sizeof msg - 1);
		/* All of it on one line: a sanitizer's report (a leak report
		 * begins with an empty line) must not read as silence. */
		for (ssize_t k = 0; k < l; k++)
			if (msg[k] == '\n' || msg[k] == '\0')
				msg[k] = ' ';
		msg[l > 0 ? l : 0] = 0;
		l = (ssize_t)strspn(msg, " ");
		memmove(msg, msg + l, strlen(msg + l) + 1);
		close(fd);
	}
	expect(INV_CONTROLLER, 0, "chaos-ctl %d (pid %d) %s (status %#x): %s", i, pid, what,
	       status, msg[0] ? msg : "(it said nothing)");
}

/* The counts chaos-ctl i left; added to the totals.  Returns: its stops
 * begun. */
static uint64_t collect_counts(int i)
{
	struct chaos_counts cc = { { 0 } };
	char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/ops.%d", run.base, i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, &cc, sizeof cc) != (ssize_t)sizeof cc)
		memset(&cc, 0, sizeof cc);
	close(fd);
	unlink(path);
	for (int k = 0; k < CHAOS_NOPS; k++)
		total.op[k] += cc.op[k];
	return cc.op[CHAOS_STOP_BEGUN];
}

static void one_round(const char *exe, int max_ctls, long max_us)
{
	unsigned rng = run.seed ^ (unsigned)run.round * 2654435761u;
	int n = max_ctls < 2 ? 1 : 2 + rnd(&rng, max_ctls - 1), nev = 0, live;
	long len = max_us / 4 + (long)rnd(&rng, (int)(max_us - max_us / 4)), t0;
	pid_t pids[16];
	int killed[16] = { 0 }, status[16] = { 0 }, ended[16] = { 0 };
	struct ev evs[64];
	uint64_t stops = 0;
	size_t first_behind = run.nbehind;

	if (n > 16)
		n = 16;
	for (int i = 0; i < n; i++)
		if (rnd(&rng, 3))
			add_ev(evs, &nev, rnd(&rng, (int)len), EV_KILL_CTL, i);
	for (int k = rnd(&rng, 4); k > 0; k--)
		add_ev(evs, &nev, rnd(&rng, (int)len), EV_KILL_CHILD, 0);
	for (int k = rnd(&rng, 3); k > 0; k--) {
		long at = rnd(&rng, (int)len);
		/* Up to 250 ms: longer than the 150 ms after which a
		 * controller taking over signals the server. */
		add_ev(evs, &nev, at, EV_STOP_SERVER, 0);
		add_ev(evs, &nev, at + slow(&run, rnd(&rng, 250)) * 1000L, EV_CONT_SERVER, 0);
	}
	for (int i = 0; i < n; i++)
		pids[i] = start_ctl(exe, i, (unsigned)rand_r(&rng));
	run.ctls = pids;
	run.nctls = (size_t)n;
	t0 = now_ms();
	for (int e = 0; e < nev; e++) {
		long wait = evs[e].at_us - (now_ms() - t0) * 1000;
		nap_us(wait);
		switch (evs[e].type) {
		case EV_KILL_CTL:
			if (kill(pids[evs[e].arg], SIGKILL) == 0) {
				killed[evs[e].arg] = 1;
				total.ctl_killed++;
			}
			break;
		case EV_KILL_CHILD:
			kill_a_child(&rng);
			break;
		case EV_STOP_SERVER:
			stop_servers();
			break;
		case EV_CONT_SERVER:
			cont_servers();
			break;
		}
	}
	nap_us(len - (now_ms() - t0) * 1000);
	cont_servers();
	for (int i = 0; i < n; i++)
		if (!killed[i] && kill(pids[i], SIGTERM) == 0)
			total.ctl_termed++;
	/* The others finish their operation: each waits at most for the
	 * lock (held by the others, one operation each), a 50 ms command or
	 * a stop's grace. */
	{
		long deadline = now_ms() + slow(&run, 60000);
		do {
			live = 0;
			for (int i = 0; i < n; i++) {
				if (!ended[i] && waitpid(pids[i], &status[i], WNOHANG) == pids[i])
					ended[i] = 1;
				live += !ended[i];
			}
			if (live)
				nap_us(2000);
		} while (live && now_ms() < deadline);
	}
	for (int i = 0; i < n; i++) {
		if (!ended[i]) {
			ctl_error(i, pids[i], 0, "did not end within 60 s of SIGTERM");
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status[i], 0);
		} else if (killed[i] ? !(WIFSIGNALED(status[i]) && WTERMSIG(status[i]) == SIGKILL)
				     : !((WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0) ||
					 /* before it set its handler */
					 (WIFSIGNALED(status[i]) && WTERMSIG(status[i]) == SIGTERM))) {
			ctl_error(i, pids[i], status[i], killed[i] ? "ended on its own before the "
				  "kill" : "did not end cleanly on SIGTERM");
		} else {
			expect(INV_CONTROLLER, 1, "-");
		}
		stops += collect_counts(i);
	}
	run.nctls = 0;
	/* A sleep 3603 killed behind the back can have died of nothing else,
	 * unless a stop (SIGTERM to every child) ran meanwhile. */
	run.stop_seen = stops > 0;
	for (size_t b = first_behind; b < run.nbehind; b++)
		if (run.behind[b].sure < 0)
			run.behind[b].sure = !run.stop_seen;
	check_round(&run, 0);
}

/* ---- the run ---- */

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : dflt;
}

static void summary(long t0, int rounds_asked)
{
	uint64_t ops = 0, checks = 0;
	double s = (now_ms() - t0) / 1000.0;

	/* Those of the rounds and those of the checks (too many long ones). */
	total.kids_killed += run.nbehind;
	for (size_t b = 0; b < run.nbehind; b++)
		total.kids_sure += run.behind[b].sure > 0;

	for (int k = 0; k < CHAOS_NOPS; k++)
		ops += k == CHAOS_STOP_BEGUN ? 0 : total.op[k];
	for (int i = 0; i < NINV; i++)
		checks += inv_checks[i];
	printf("chaos: summary (seed %u): %.1f minutes (%.0f s), %d rounds%s\n", run.seed, s / 60,
	       s, total.rounds, rounds_asked ? "" : " (timed)");
	printf("  controllers: %llu started, %llu SIGKILLed at random instants, %llu ended by "
	       "SIGTERM at the round's end\n", (unsigned long long)total.ctl_started,
	       (unsigned long long)total.ctl_killed, (unsigned long long)total.ctl_termed);
	printf("  operations done by controllers: %llu (", (unsigned long long)ops);
	for (int k = 0; k < CHAOS_NOPS; k++)
		if (k != CHAOS_STOP_BEGUN)
			printf("%s%s %llu", k ? ", " : "", chaos_op_names[k],
			       (unsigned long long)total.op[k]);
	printf(")\n");
	printf("  behind the controllers' back: %llu children SIGKILLed (%llu of them where "
	       "nothing else could signal them: recorded killed by SIGKILL, or a failure), the "
	       "server SIGSTOPped and SIGCONTed %llu times\n",
	       (unsigned long long)total.kids_killed, (unsigned long long)total.kids_sure,
	       (unsigned long long)total.server_stops);
	printf("  invariants checked: %llu (", (unsigned long long)checks);
	for (int i = 0; i < NINV; i++)
		printf("%s%s %llu", i ? ", " : "", inv_names[i], (unsigned long long)inv_checks[i]);
	printf(")\n");
	printf("  failures: %d rounds", total.failed);
	for (int i = 0; i < NINV; i++)
		if (inv_rounds[i])
			printf("%s%s in %d (first round %d)", i ? "; " : ": ", inv_names[i],
			       inv_rounds[i], inv_first[i]);
	printf("\n");
	fflush(stdout);
}

/* After a round (or the final stop): count its failure. */
static int round_failed(void)
{
	if (!bad_here)
		return 0;
	total.failed++;
	for (int i = 0; i < NINV; i++)
		if (inv_here[i] && !inv_rounds[i]++)
			inv_first[i] = run.round;
	return 1;
}

int main(int argc, char **argv)
{
	int rounds, stop_first, max_ctls;
	long max_us, seconds, t0 = now_ms();

	if (argc != 2) {
		fprintf(stderr, "usage: chaos CHAOS_CTL\n");
		return 2;
	}
	run.valgrind = getenv("PERSIST_VALGRIND") != NULL;
	run.seed = (unsigned)env_long("PERSIST_CHAOS_SEED",
				      (long)((unsigned)(time(NULL) ^ ((unsigned)getpid() << 16)) %
					     1000000000u));
	seconds = env_long("PERSIST_CHAOS_SECONDS", 0);
	rounds = (int)env_long("PERSIST_CHAOS_ROUNDS", seconds ? 0 : run.valgrind ? 3 : 120);
	max_us = env_long("PERSIST_CHAOS_MAX_US", 400000);
	max_ctls = (int)env_long("PERSIST_CHAOS_CTLS", run.valgrind ? 2 : 4);
	if (run.valgrind)
		max_us = slow(&run, (int)(max_us / 1000)) * 1000L;
	if (max_us < 1000)
		max_us = 1000;
	stop_first = getenv("PERSIST_CHAOS_STOP") && *getenv("PERSIST_CHAOS_STOP") == '1';
	if (seconds)
		printf("chaos: seed %u, rounds for %ld s, up to %d controllers a round, rounds of "
		       "up to %ld us (replay: PERSIST_CHAOS_SEED=%u)\n", run.seed, seconds,
		       max_ctls, max_us, run.seed);
	else
		printf("chaos: seed %u, %d rounds, up to %d controllers a round, rounds of up to "
		       "%ld us (replay: PERSIST_CHAOS_SEED=%u PERSIST_CHAOS_ROUNDS=%d)\n", run.seed,
		       rounds, max_ctls, max_us, run.seed, rounds);
	fflush(stdout);
	/* The detached server and orphans come to us, not to init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* Under valgrind (--trace-children=yes) chaos-ctl and the server are
	 * traced, and so would be the system programs the server runs:
	 * seconds each, and a /proc cmdline of valgrind's, not their argv. */
	if (run.valgrind) {
		const char *old = getenv("VALGRIND_OPTS");
		char opts[1024];
		snprintf(opts, sizeof opts, "%s%s--trace-children-skip=*/sleep,*/sh,*/dash,*/bash,"
			 "*/true", old ? old : "", old ? " " : "");
		setenv("VALGRIND_OPTS", opts, 1);
	}
	if (fresh_server() < 0)
		return 2;
	for (run.round = 1; rounds ? run.round <= rounds : now_ms() - t0 < seconds * 1000;
	     run.round++) {
		bad_here = 0;
		memset(inv_here, 0, sizeof inv_here);
		one_round(argv[1], max_ctls, max_us);
		total.rounds++;
		if (!round_failed())
			continue;
		if (stop_first)
			break;
		/* Go on with a clean slate: what broke would break every
		 * later round too. */
		kill_strays();
		remove_dir();
		if (fresh_server() < 0)
			return 2;
	}
	/* The end: stop must settle everything and end the server. */
	if (!(stop_first && total.failed)) {
		struct persist_session *s = NULL;
		char why[512] = "";
		int r;

		run.round = 0;
		bad_here = 0;
		memset(inv_here, 0, sizeof inv_here);
		run.stop_seen = 1;
		r = persist_session_open(run.sdir, PERSIST_SESSION_START, &s, why, sizeof why);
		if (r == 0)
			r = persist_session_stop(s, slow(&run, 2000), why, sizeof why);
		expect(INV_SERVER, r == 0, "the final stop failed: %s (%s)", strerror(-r), why);
		persist_session_close(s);
		if (r == 0) {
			int strays[8];
			/* The server has ended; reap it before looking. */
			for (int i = 0; i < 2000 && stray_children(&run, strays, 8); i++)
				nap_us(1000);
			check_round(&run, 1);
		}
		round_failed();
	}
	kill_strays();
	remove_dir();
	summary(t0, rounds);
	if (total.failed) {
		fprintf(stderr, "chaos: FAILED: %d of %d rounds broke invariants (seed %u); replay "
			"with PERSIST_CHAOS_SEED=%u%s (the same commands, not the same race)\n",
			total.failed, total.rounds, run.seed, run.seed,
			rounds ? "" : " and PERSIST_CHAOS_SECONDS");
		return 1;
	}
	printf("chaos: ok: %d rounds, every invariant held (seed %u)\n", total.rounds, run.seed);
	return 0;
}
