// SPDX-License-Identifier: MIT
/* persistctl wait: block until a child ends, without holding the server.
 *
 * persist_session_wait lets go of the lock and the connection while it
 * sleeps (other persistctl invocations go on meanwhile), takes them back
 * when the child ends, and commits the status before the child is reaped. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <time.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] wait [--timeout SECONDS] [--json] ID\n"
"\n"
"Wait until child ID (or the newest child of that name) ends, print its\n"
"status ('exited 3', 'killed by SIGTERM', 'lost (why)') and exit with its\n"
"exit code, or 128 + the number of the signal that killed it.  A child that\n"
"ended already is answered from the store at once.  Exits 1 if the child\n"
"is lost (its status cannot be known) or on an error.\n"
"\n"
"  -t, --timeout SECONDS   give up after SECONDS: exit 124, the child runs on\n"
"  -j, --json   print the status as {\"id\", \"name\", \"pid\", \"state\",\n"
"               \"exit_code\", \"signal\", \"lost_reason\"} (the exit status is\n"
"               the same); after a --timeout, the running child's\n";

/* The longest sleep asked of persist_session_wait at once: it takes an int
 * of ms, so a --timeout of more than 24 days would not fit; an hour at a
 * time is plenty. */
#define WAIT_SLICE_MS 3600000L

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmd_wait(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, 0, 't' },
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_child_rec r = { 0 };
	struct persist_exit st;
	struct ctl_ref ref;
	char words[400];
	long timeout = -1;
	int64_t id, deadline;
	int o, x, code, json = 0;

	while ((o = ctl_getopt(argc, argv, "+:t:jh", opts, "wait", help)) != -1)
		if (o == 'j')
			json = 1;
		else if (o == 't' && (timeout = ctl_parse_seconds(optarg)) < 0)
			ctl_usage_error("wait", "--timeout '%s' is not a number of seconds", optarg);
	if (optind >= argc)
		ctl_usage_error("wait", "which child? give its id (see 'persistctl ps')");
	if (optind + 1 < argc)
		ctl_usage_error("wait", "unexpected argument '%s'", argv[optind + 1]);
	ctl_child_arg("wait", argv[optind], &ref);

	ctl_open(c, PERSIST_SESSION_OFFLINE);
	ctl_child_ref(c, &ref, &r);
	id = r.id;
	deadline = timeout < 0 ? -1 : mono_ms() + timeout;
	do {
		int64_t left = deadline < 0 ? -1 : deadline - mono_ms();
		/* A deadline already passed is a look, not a wait without end
		 * (-1): a millisecond between the two clock reads (a slow
		 * machine, valgrind) made --timeout 0 wait for good. */
		if (deadline >= 0 && left < 0)
			left = 0;
		x = persist_session_wait(c->s, id, left < 0 ? -1 : left > WAIT_SLICE_MS ?
					 (int)WAIT_SLICE_MS : (int)left, &st);
	} while (x == -ETIMEDOUT && deadline >= 0 && mono_ms() < deadline);
	ctl_notes(c); /* of the recovery when it took the thread back */

	if (x == -ETIMEDOUT) {
		ctl_note("child %lld (pid %d) still runs after %.3g s", (long long)id, r.pid,
			 timeout / 1000.0);
		if (json) {
			json_status(stdout, &r);
			fputc('\n', stdout);
		}
		persist_child_rec_clear(&r);
		ctl_close(c);
		return 124;
	}
	persist_child_rec_clear(&r);
	if (x == 0 || x == -ENODATA || x == -ENOTCONN || x == -EAGAIN) {
		/* The record as the session left it. */
		ctl_child(c, id, &r);
		if (x == -ENOTCONN)
			ctl_die(EXIT_RUNTIME, "child %lld is %s, but its server does not answer at %s",
				(long long)id, persist_child_state_name(r.state), c->sock);
		if (x == -EAGAIN)
			ctl_die(EXIT_RUNTIME, "child %lld has no pid yet (state %s): try again",
				(long long)id, persist_child_state_name(r.state));
		if (json)
			json_status(stdout, &r);
		else
			fputs(ctl_status_words(&r, words, sizeof words), stdout);
		fputc('\n', stdout);
		code = ctl_status_exit(&r);
		persist_child_rec_clear(&r);
		ctl_close(c);
		return code;
	}
	if (persist_store_child_get(ctl_store(c), id, &r) == 0 && r.state == PERSIST_CHILD_RUNNING)
		ctl_fail(c, x, "waiting for child %lld (pid %d): %s; it still runs as far as "
			"%s knows ('%s ps' looks again, '%s wait %lld' waits again)", (long long)id,
			r.pid, strerror(-x), c->db, ctl_prog, ctl_prog, (long long)id);
	ctl_fail(c, x, "waiting for child %lld: %s ('%s ps' shows what is known of it)",
		(long long)id, strerror(-x), ctl_prog);
}
