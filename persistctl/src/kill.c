// SPDX-License-Identifier: MIT
/* persistctl kill: signal a running child.  The session checks that the
 * pid is still that child's while it holds the thread, so no one reaps it
 * and frees its pid meanwhile. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] kill ID [SIGNAL]\n"
"\n"
"Send SIGNAL to child ID (or the newest child of that name).  SIGNAL is a\n"
"name (TERM, SIGTERM, RTMIN+1; any case) or a number; default TERM.  Only a\n"
"running child can be signalled.  Use 'persistctl wait ID' to see it end.\n";

int cmd_kill(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	struct persist_child_rec r = { 0 };
	struct ctl_ref ref;
	char words[400], sname[32];
	int sig = SIGTERM, x;

	while (ctl_getopt(argc, argv, "+:h", opts, "kill", help) != -1)
		;
	if (optind >= argc)
		ctl_usage_error("kill", "which child? give its id (see 'persistctl ps')");
	ctl_child_arg("kill", argv[optind], &ref);
	if (optind + 1 < argc && (sig = ctl_parse_signal(argv[optind + 1])) < 0)
		ctl_usage_error("kill", "unknown signal '%s' (a name like TERM or a number 1-%d)",
				argv[optind + 1], SIGRTMAX);
	if (optind + 2 < argc)
		ctl_usage_error("kill", "unexpected argument '%s'", argv[optind + 2]);

	ctl_open(c, PERSIST_SESSION_OFFLINE);
	ctl_child_ref(c, &ref, &r);
	if (r.state != PERSIST_CHILD_RUNNING)
		ctl_die(EXIT_RUNTIME, "child %lld is not running (%s): nothing to signal",
			(long long)r.id, ctl_status_words(&r, words, sizeof words));
	x = persist_session_kill(c->s, r.id, sig);
	if (x == -ENOTCONN)
		ctl_die(EXIT_RUNTIME, "child %lld runs, but its server does not answer at %s",
			(long long)r.id, c->sock);
	if (x == -ESRCH)
		ctl_die(EXIT_RUNTIME, "child %lld (pid %d) cannot be reached: it is no longer "
			"running (see '%s ps')", (long long)r.id, r.pid, ctl_prog);
	if (x < 0)
		ctl_die(EXIT_RUNTIME, "cannot send %s to child %lld (pid %d): %s",
			ctl_signame(sig, sname, sizeof sname), (long long)r.id, r.pid, strerror(-x));
	persist_child_rec_clear(&r);
	ctl_close(c);
	return EXIT_OK;
}
