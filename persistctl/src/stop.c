// SPDX-License-Identifier: MIT
/* persistctl stop: end every child, keep every status, end the server.
 * persist_session_stop does it (TERM, the grace period, KILL, each status
 * recorded then reaped, the server's end); a crash anywhere leaves children
 * and statuses for the next persistctl (stop again finishes the job). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] stop [--grace SECONDS] [--json]\n"
"\n"
"Send SIGTERM to every running child (and its process group), SIGKILL to\n"
"those still running after the grace period, record how each one ended,\n"
"reap them all, then end the server.  The store (DIR/state.db) and the\n"
"logs stay: ps, logs and wait still answer.  Without a server, there is\n"
"nothing to stop (exit 0).\n"
"\n"
"  -g, --grace SECONDS   how long children get to exit after SIGTERM\n"
"                        (default 5; fractions allowed)\n"
"  -j, --json            print {\"stopped\": bool, \"pid\": number or null,\n"
"                        \"signalled\": number, \"killed\": number,\n"
"                        \"grace_seconds\": number}; stopped is false (and\n"
"                        pid null) when no server ran\n";

/* How many of recs (the thread's children before the stop) were running,
 * and how many of those the stop ended with SIGKILL (after the grace
 * period; persist_session_stop does not count them itself). */
static void tally(struct ctl *c, int64_t thread_id, const struct persist_child_rec *recs,
		  size_t n, size_t *signalled, size_t *killed)
{
	*signalled = *killed = 0;
	for (size_t i = 0; i < n; i++) {
		struct persist_child_rec now = { 0 };
		if (recs[i].state != PERSIST_CHILD_RUNNING || recs[i].thread_id != thread_id)
			continue;
		++*signalled;
		if (persist_store_child_get(ctl_store(c), recs[i].id, &now) == 0 &&
		    now.state == PERSIST_CHILD_KILLED && now.signal == SIGKILL)
			++*killed;
		persist_child_rec_clear(&now);
	}
}

int cmd_stop(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grace", required_argument, 0, 'g' },
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const struct persist_thread_rec *th;
	struct persist_child_rec *recs;
	char why[1024] = "";
	long grace = 5000;
	size_t n, signalled, killed;
	int64_t thread_id;
	int o, r, server_pid, json = 0;

	while ((o = ctl_getopt(argc, argv, "+:g:jh", opts, "stop", help)) != -1)
		if (o == 'j')
			json = 1;
		else if (o == 'g' && (grace = ctl_parse_seconds(optarg)) < 0)
			ctl_usage_error("stop", "--grace '%s' is not a number of seconds", optarg);
	if (optind < argc)
		ctl_usage_error("stop", "unexpected argument '%s'", argv[optind]);

	ctl_open(c, PERSIST_SESSION_OFFLINE);
	th = persist_session_thread_rec(c->s);
	if (!persist_session_connected(c->s)) {
		/* Offline, a notice says the recorded server runs but does not
		 * answer (ctl_open printed it). */
		if (th->id && persist_session_notice(c->s))
			ctl_die(EXIT_RUNTIME, "server pid %d runs but does not answer at %s: end it "
				"with 'kill %d'", th->pid, c->sock, th->pid);
		ctl_note("no server runs for %s: nothing to stop", c->dir);
		if (json)
			printf("{\"stopped\": false, \"pid\": null, \"signalled\": 0, "
			       "\"killed\": 0, \"grace_seconds\": %.3f}\n", grace / 1000.0);
		ctl_close(c);
		return EXIT_OK;
	}
	thread_id = th->id;
	server_pid = th->pid;
	r = persist_store_children(ctl_store(c), thread_id, &recs, &n);
	if (r < 0)
		ctl_fail(c, r, "cannot read the children from %s: %s", c->db,
			persist_store_errmsg(ctl_store(c)));
	r = persist_session_stop(c->s, grace > INT_MAX ? INT_MAX : (int)grace, why, sizeof why);
	if (r < 0) {
		/* Name the children that still run. */
		for (size_t i = 0; r == -EBUSY && i < n; i++) {
			struct persist_child_rec now = { 0 };
			if (persist_store_child_get(ctl_store(c), recs[i].id, &now) == 0 &&
			    now.state == PERSIST_CHILD_RUNNING)
				ctl_note("child %lld (pid %d) is still running", (long long)now.id,
					 now.pid);
			persist_child_rec_clear(&now);
		}
		ctl_fail(c, r, "%s", *why ? why : strerror(-r));
	}
	tally(c, thread_id, recs, n, &signalled, &killed);
	persist_child_recs_free(recs, n);
	if (json)
		printf("{\"stopped\": true, \"pid\": %d, \"signalled\": %zu, \"killed\": %zu, "
		       "\"grace_seconds\": %.3f}\n", server_pid, signalled, killed, grace / 1000.0);
	else
		printf("stopped server pid %d (%zu children signalled, %zu killed after %.3g s)\n",
		       server_pid, signalled, killed, grace / 1000.0);
	ctl_close(c);
	return EXIT_OK;
}
