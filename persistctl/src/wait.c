// SPDX-License-Identifier: MIT
/* persistctl wait: block until a child ends, without holding the server.
 *
 * The wait is a pidfd opened in this process (the child is the server's,
 * in our pid namespace): we hold neither the connection nor the lock while
 * it blocks, so other persistctl invocations go on.  When it fires we
 * become the controller again and settle the child ourselves: waitid
 * WNOWAIT in the server, record the status, then the real reap. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] wait [--timeout SECONDS] ID\n"
"\n"
"Wait until child ID (or the newest child of that name) ends, print its\n"
"status ('exited 3', 'killed by SIGTERM', 'lost (why)') and exit with its\n"
"exit code, or 128 + the number of the signal that killed it.  A child that\n"
"ended already is answered from the store at once.  Exits 1 if the child\n"
"is lost (its status cannot be known) or on an error.\n"
"\n"
"  -t, --timeout SECONDS   give up after SECONDS: exit 124, the child runs on\n";

static int finish(struct ctl *c, struct persist_child_rec *r)
{
	char words[400];
	int code = ctl_status_exit(r);

	printf("%s\n", ctl_status_words(r, words, sizeof words));
	persist_child_rec_clear(r);
	ctl_end(c);
	return code;
}

static int final(const struct persist_child_rec *r)
{
	return r->state == PERSIST_CHILD_EXITED || r->state == PERSIST_CHILD_KILLED ||
	       r->state == PERSIST_CHILD_LOST;
}

int cmd_wait(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, 0, 't' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_child_rec r = { 0 };
	struct ctl_ref ref;
	long timeout = -1;
	int o, fd, x;

	while ((o = ctl_getopt(argc, argv, "+:t:h", opts, "wait", help)) != -1)
		if (o == 't' && (timeout = ctl_parse_seconds(optarg)) < 0)
			ctl_usage_error("wait", "--timeout '%s' is not a number of seconds", optarg);
	if (optind >= argc)
		ctl_usage_error("wait", "which child? give its id (see 'persistctl ps')");
	if (optind + 1 < argc)
		ctl_usage_error("wait", "unexpected argument '%s'", argv[optind + 1]);
	ctl_child_arg("wait", argv[optind], &ref);

	ctl_begin(c, CTL_SERVER_OPTIONAL);
	ctl_child_ref(c, &ref, &r);
	if (final(&r))
		return finish(c, &r);
	if (!c->connected)
		ctl_die(EXIT_RUNTIME, "child %lld is %s, but its server does not answer at %s",
			(long long)r.id, persist_child_state_name(r.state), c->sock);
	if (r.state != PERSIST_CHILD_RUNNING)
		ctl_die(EXIT_RUNTIME, "child %lld has no pid yet (state %s): try again", (long long)r.id,
			persist_child_state_name(r.state));
	fd = ctl_child_pidfd(&r);
	if (fd < 0)
		ctl_die(EXIT_RUNTIME, "cannot watch child %lld (pid %d): %s", (long long)r.id, r.pid,
			strerror(-fd));
	ctl_release(c);
	x = ctl_pidfd_wait(fd, timeout);
	close(fd);
	if (x < 0)
		ctl_die(EXIT_RUNTIME, "waiting for child %lld (pid %d): %s", (long long)r.id, r.pid,
			strerror(-x));
	if (x == 0) {
		ctl_note("child %lld (pid %d) still runs after %.3g s", (long long)r.id, r.pid,
			 timeout / 1000.0);
		persist_child_rec_clear(&r);
		ctl_end(c);
		return 124;
	}
	/* It ended: control again, and settle it before anything else. */
	c->settle_first = &r;
	c->settle_who = "wait";
	ctl_begin(c, CTL_SERVER_OPTIONAL);
	c->settle_first = NULL;
	{
		int64_t id = r.id;
		persist_child_rec_clear(&r);
		ctl_child(c, id, &r); /* as recovery left it */
	}
	if (!final(&r))
		ctl_die(EXIT_RUNTIME, "child %lld ended but its status could not be collected "
			"(%s); 'persistctl ps' retries", (long long)r.id,
			c->settle_result < 0 ? strerror(-c->settle_result) : "still running");
	return finish(c, &r);
}
