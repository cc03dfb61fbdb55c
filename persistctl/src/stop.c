// SPDX-License-Identifier: MIT
/* persistctl stop: end every child, keep every status, end the server.
 *
 * TERM each running child (through a pidfd checked to be it), wait up to
 * the grace period on the pidfds, KILL what is left, then settle each one
 * (waitid WNOWAIT, record, reap) and end the server with exit_group.  The
 * store stays.  A crash anywhere leaves children and statuses for the next
 * persistctl (stop again finishes the job). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] stop [--grace SECONDS]\n"
"\n"
"Send SIGTERM to every running child (and its process group), SIGKILL to\n"
"those still running after the grace period, record how each one ended,\n"
"reap them all, then end the server.  The store (DIR/state.db) and the\n"
"logs stay: ps, logs and wait still answer.  Without a server, there is\n"
"nothing to stop (exit 0).\n"
"\n"
"  -g, --grace SECONDS   how long children get to exit after SIGTERM\n"
"                        (default 5; fractions allowed)\n";

#define KILL_WAIT_MS 10000 /* after SIGKILL: only an uninterruptible sleep delays it */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until every pidfd in fds (-1: none) is readable or ms pass. */
static void wait_all(const int *fds, size_t n, long ms)
{
	int64_t deadline = mono_ms() + ms;

	for (size_t i = 0; i < n; i++) {
		int64_t left = deadline - mono_ms();
		if (fds[i] >= 0)
			ctl_pidfd_wait(fds[i], left > 0 ? (long)left : 0);
	}
}

/* Signal a child and, if it leads its own process group (run makes each
 * child a session leader), the group: a shell's children go too.  The
 * child is unreaped, so its pid, which names the group, is not reused. */
static int signal_child(int fd, int pid, int sig)
{
	int r = ctl_pidfd_signal(fd, sig);

	if (r == 0 && getpgid(pid) == pid)
		kill(-pid, sig);
	return r;
}

int cmd_stop(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grace", required_argument, 0, 'g' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_child_rec *recs;
	long grace = 5000;
	size_t n, live = 0, killed = 0, unsettled = 0;
	int *fds, o, r, server_fd, server_pid;

	while ((o = ctl_getopt(argc, argv, "+:g:h", opts, "stop", help)) != -1)
		if (o == 'g' && (grace = ctl_parse_seconds(optarg)) < 0)
			ctl_usage_error("stop", "--grace '%s' is not a number of seconds", optarg);
	if (optind < argc)
		ctl_usage_error("stop", "unexpected argument '%s'", argv[optind]);

	if (!ctl_begin(c, CTL_SERVER_OPTIONAL)) {
		if (c->thread.id && ctl_thread_alive(&c->thread))
			ctl_die(EXIT_RUNTIME, "server pid %d runs but does not answer at %s: end it "
				"with 'kill %d'", c->thread.pid, c->sock, c->thread.pid);
		ctl_note("no server runs for %s: nothing to stop", c->dir);
		ctl_end(c);
		return EXIT_OK;
	}
	r = persist_store_children(c->st, c->thread.id, &recs, &n);
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "cannot read the children from %s: %s", c->db,
			persist_store_errmsg(c->st));
	fds = calloc(n ? n : 1, sizeof *fds);
	if (!fds)
		ctl_die(EXIT_RUNTIME, "out of memory");
	for (size_t i = 0; i < n; i++) {
		fds[i] = -1;
		if (recs[i].state != PERSIST_CHILD_RUNNING)
			continue;
		fds[i] = ctl_child_pidfd(&recs[i]);
		if (fds[i] >= 0 && signal_child(fds[i], recs[i].pid, SIGTERM) == 0)
			live++;
	}
	crash_point("stop:after-term");
	wait_all(fds, n, grace);
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0 && ctl_pidfd_wait(fds[i], 0) == 0 &&
		    signal_child(fds[i], recs[i].pid, SIGKILL) == 0)
			killed++;
	if (killed)
		wait_all(fds, n, KILL_WAIT_MS);
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		if (recs[i].state != PERSIST_CHILD_RUNNING)
			continue;
		r = ctl_settle(c, &recs[i], "stop");
		if (r <= 0) {
			unsettled++;
			ctl_note("child %lld (pid %d) could not be settled: %s", (long long)recs[i].id,
				 recs[i].pid, r < 0 ? strerror(-r) : "still running after SIGKILL");
		}
	}
	free(fds);
	persist_child_recs_free(recs, n);
	if (unsettled)
		ctl_die(EXIT_RUNTIME, "%zu children could not be settled; the server stays up "
			"(try 'persistctl stop' again)", unsettled);

	/* Anything unrecorded that appeared meanwhile is adopted and settled. */
	{
		int *kids;
		size_t nk = 0;
		if (persist_proc_children(c->t.pid, &kids, &nk) == 0) {
			free(kids);
			if (nk)
				ctl_die(EXIT_RUNTIME, "the server still has %zu children no record "
					"knows; run 'persistctl ps' then stop again", nk);
		}
	}
	server_pid = c->t.pid;
	server_fd = ctl_pidfd_open(server_pid);
	r = persist_thread_exit(&c->t, 0);
	c->connected = 0;
	if (server_fd >= 0) {
		if (ctl_pidfd_wait(server_fd, KILL_WAIT_MS) != 1)
			ctl_die(EXIT_RUNTIME, "server pid %d did not end (%s): end it with 'kill %d'",
				server_pid, r < 0 ? strerror(-r) : "exit_group sent", server_pid);
		close(server_fd);
	}
	printf("stopped server pid %d (%zu children signalled, %zu killed after %.3g s)\n",
	       server_pid, live, killed, grace / 1000.0);
	ctl_end(c);
	return EXIT_OK;
}
