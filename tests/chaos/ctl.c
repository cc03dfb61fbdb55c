// SPDX-License-Identifier: MIT
/* chaos-ctl DIR SEED [COUNTS]: the controller the chaos test kills.  It
 * uses the session API and nothing else, forever: open the session of DIR
 * (starting the server if none runs), do one to four operations, close,
 * again.  The operations, drawn from SEED:
 *
 *   run        a short command (chaos.h), sometimes named "svc", then
 *              perhaps wait for it (with or without a limit), or kill it
 *              with its signal and perhaps wait
 *   run long   sleep 3601, 3602 or 3603 (they never end by themselves)
 *   kill long  a running sleep 3601 (SIGTERM) or 3602 (SIGKILL) from the
 *              store, then perhaps wait
 *   fd_keep    a socket made in the thread, kept as k0..k2
 *   listen     a TCP socket on 127.0.0.1, kept as l0..l1
 *   fd_get     a kept fd by name
 *   fd_drop    a kept fd by name
 *   run --fd   a short sleep given a kept fd by name
 *   list       the children and the kept fds
 *   stop       end every child and the server (rarely); the next open
 *              starts a new one
 *
 * Each count goes to COUNTS (chaos.h) once the operation is done.  A
 * failure the situation allows (a name in use, a kept fd gone stale after
 * a stop) is no error, and a session left offline by a wait (another
 * controller stopped the server while it slept) is closed and opened
 * again; any other failure is a bug: it is printed and the program exits
 * 3, which the harness reports.  SIGTERM ends the program at the
 * next operation's end, with exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <handle/socket.h>
#include <persist/session.h>
#include "chaos.h"

static struct chaos_counts *counts, spare;
static volatile sig_atomic_t ending;
static unsigned seed;

static void on_term(int sig)
{
	(void)sig;
	ending = 1;
}

static void die(const char *what, int r, const char *why)
{
	fprintf(stderr, "chaos-ctl: %s: %s%s%s\n", what, strerror(-r), why && *why ? ": " : "",
		why ? why : "");
	exit(3);
}

static int rnd(int n)
{
	return rand_r(&seed) % n;
}

static void done(enum chaos_op op)
{
	counts->op[op]++;
}

/* The counters, in a file mapped shared (or in memory if none is named). */
static void map_counts(const char *path)
{
	void *m;
	int fd;

	counts = &spare;
	if (!path)
		return;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof *counts) < 0) {
		perror(path);
		exit(2);
	}
	m = mmap(NULL, sizeof *counts, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	counts = m;
}

static void wait_for(struct persist_session *s, int64_t id, int ms, const char *what)
{
	struct persist_exit st;
	int r = persist_session_wait(s, id, ms, &st);

	if (r < 0 && !(r == -ETIMEDOUT && ms >= 0))
		die(what, r, NULL);
	done(CHAOS_WAIT);
}

/* A short command (chaos.h), perhaps named or given a kept fd, then
 * perhaps a wait or a kill. */
static void run_short(struct persist_session *s, int with_fd)
{
	struct persist_spawn sp = { 0 };
	const char *av[4] = { NULL, NULL, NULL, NULL }, *name = NULL, *fdname[1];
	char arg[32], fdn[8], why[512] = "";
	int kind = with_fd ? 2 : rnd(4), then = rnd(3), x = 1 + rnd(5), r;
	int64_t id = 0;

	switch (kind) {
	case 0:
		av[0] = "true";
		break;
	case 1:
		snprintf(arg, sizeof arg, "exit %d", rnd(10));
		av[0] = "sh";
		av[1] = "-c";
		av[2] = arg;
		break;
	default:
		snprintf(arg, sizeof arg, "0.0%d", x);
		av[0] = "sleep";
		av[1] = arg;
		name = kind == 3 ? "svc" : NULL;
		break;
	}
	sp.argv = av;
	sp.new_session = rnd(2);
	if (with_fd) {
		snprintf(fdn, sizeof fdn, "%c%d", rnd(2) ? 'k' : 'l', rnd(3));
		fdname[0] = fdn;
		sp.fd_names = fdname;
		sp.nfds = 1;
	}
	r = persist_session_run(s, name, &sp, &id, why, sizeof why);
	/* A name in use; a kept fd that is not there, or went stale with
	 * the server that held it (a stop). */
	if ((r == -EEXIST && name) || (with_fd && (r == -ENOENT || r == -ESTALE))) {
		done(with_fd ? CHAOS_RUN_FD : CHAOS_RUN);
		return;
	}
	if (r < 0)
		die(with_fd ? "run --fd" : "run", r, why);
	done(with_fd ? CHAOS_RUN_FD : CHAOS_RUN);
	if (then == 1) {
		wait_for(s, id, rnd(2) ? -1 : rnd(30), "wait");
	} else if (then == 2 && kind >= 2) {
		r = persist_session_kill(s, id, x % 2 ? SIGTERM : SIGKILL);
		if (r < 0 && r != -ESRCH)
			die("kill", r, NULL);
		done(CHAOS_KILL);
		if (rnd(2))
			wait_for(s, id, -1, "wait after kill");
	}
}

static void run_long(struct persist_session *s)
{
	static const char *const which[] = { CHAOS_LONG_TERM, CHAOS_LONG_KILL, CHAOS_LONG_ALONE };
	const char *av[] = { "sleep", which[rnd(3)], NULL };
	struct persist_spawn sp = { .argv = av, .new_session = rnd(2) };
	char why[512] = "";
	int64_t id;
	int r = persist_session_run(s, NULL, &sp, &id, why, sizeof why);

	if (r < 0)
		die("run long", r, why);
	done(CHAOS_RUN);
}

/* A running sleep 3601 or 3602 of the store, killed with its signal. */
static void kill_long(struct persist_session *s)
{
	struct persist_child_rec *recs;
	size_t n, pick = 0, seen = 0;
	int r = persist_store_children(persist_session_store(s), persist_session_thread_rec(s)->id,
				       &recs, &n);

	if (r < 0)
		die("kill long: read the children", r, persist_store_errmsg(persist_session_store(s)));
	for (size_t i = 0; i < n; i++) {
		const struct persist_child_rec *c = &recs[i];
		if (c->state == PERSIST_CHILD_RUNNING && c->argc == 2 &&
		    strcmp(c->argv[0], "sleep") == 0 &&
		    (strcmp(c->argv[1], CHAOS_LONG_TERM) == 0 ||
		     strcmp(c->argv[1], CHAOS_LONG_KILL) == 0) &&
		    rnd((int)++seen) == 0)
			pick = i + 1; /* a uniform pick among them, in one pass */
	}
	if (pick) {
		const struct persist_child_rec *c = &recs[pick - 1];
		int64_t id = c->id;
		r = persist_session_kill(s, id, strcmp(c->argv[1], CHAOS_LONG_TERM) == 0 ? SIGTERM
										       : SIGKILL);
		if (r < 0 && r != -ESRCH)
			die("kill long", r, NULL);
		done(CHAOS_KILL);
		if (rnd(2))
			wait_for(s, id, -1, "wait after kill long");
	}
	persist_child_recs_free(recs, n);
}

static void fd_keep(struct persist_session *s)
{
	struct handle_fd h;
	char name[8], why[512] = "";
	long r;

	snprintf(name, sizeof name, "k%d", rnd(3));
	r = handle_socket(&h, &persist_session_thread(s)->task, AF_UNIX,
			  SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r < 0)
		die("socket in the thread", (int)r, NULL);
	r = persist_session_fd_keep(s, name, &h, "a chaos socket", why, sizeof why);
	if (r == -EEXIST)
		r = handle_fd_close(&h);
	if (r < 0)
		die("fd_keep", (int)r, why);
	done(CHAOS_FD_KEEP);
}

static void listen_one(struct persist_session *s)
{
	char name[8], why[512] = "";
	int r;

	snprintf(name, sizeof name, "l%d", rnd(2));
	r = persist_session_listen(s, name, "tcp:127.0.0.1:0", why, sizeof why);
	if (r < 0 && r != -EEXIST)
		die("listen", r, why);
	done(CHAOS_LISTEN);
}

static void fd_get_or_drop(struct persist_session *s, int drop)
{
	const struct handle_fd *h;
	char name[8];
	int r;

	snprintf(name, sizeof name, "%c%d", rnd(2) ? 'k' : 'l', rnd(3));
	r = drop ? persist_session_fd_drop(s, name) : persist_session_fd_get(s, name, &h);
	if (r < 0 && r != -ENOENT && !(r == -ESTALE && !drop))
		die(drop ? "fd_drop" : "fd_get", r, name);
	done(drop ? CHAOS_FD_DROP : CHAOS_FD_GET);
}

static void list(struct persist_session *s)
{
	struct persist_child_rec *recs;
	struct persist_fd_rec *fds;
	size_t n, nf;
	int r = persist_store_children(persist_session_store(s), persist_session_thread_rec(s)->id,
				       &recs, &n);

	if (r < 0)
		die("list the children", r, persist_store_errmsg(persist_session_store(s)));
	persist_child_recs_free(recs, n);
	r = persist_session_fd_list(s, &fds, &nf);
	if (r < 0)
		die("list the kept fds", r, persist_store_errmsg(persist_session_store(s)));
	persist_fd_recs_free(fds, nf);
	done(CHAOS_LIST);
}

/* Returns: 1 if the session is over: stopped, or offline because another
 * controller stopped the server while a wait of ours slept (the wait
 * then answers from the store, and every later call is -ENOTCONN). */
static int one_op(struct persist_session *s)
{
	int op = rnd(40);
	char why[512] = "";
	int r;

	if (!persist_session_connected(s))
		return 1;
	if (op < 18)
		run_short(s, 0);
	else if (op < 21)
		run_long(s);
	else if (op < 24)
		kill_long(s);
	else if (op < 26)
		fd_keep(s);
	else if (op < 28)
		listen_one(s);
	else if (op < 31)
		fd_get_or_drop(s, 0);
	else if (op < 33)
		fd_get_or_drop(s, 1);
	else if (op < 36)
		run_short(s, 1);
	else if (op < 39 || rnd(2))
		list(s);
	else {
		done(CHAOS_STOP_BEGUN);
		r = persist_session_stop(s, 300, why, sizeof why);
		if (r < 0)
			die("stop", r, why);
		done(CHAOS_STOP);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term, .sa_flags = SA_RESTART };

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: chaos-ctl DIR SEED [COUNTS]\n");
		return 2;
	}
	seed = (unsigned)strtoul(argv[2], NULL, 0);
	map_counts(argc == 4 ? argv[3] : NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!ending) {
		struct persist_session *s;
		char why[512] = "";
		int r = persist_session_open(argv[1], PERSIST_SESSION_START, &s, why, sizeof why), n;

		if (r < 0)
			die("open", r, why);
		done(CHAOS_OPEN);
		for (n = 1 + rnd(4); n > 0 && !ending; n--)
			if (one_op(s))
				break;
		persist_session_close(s);
		done(CHAOS_CLOSE);
	}
	return 0;
}
