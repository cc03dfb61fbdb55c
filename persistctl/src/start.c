// SPDX-License-Identifier: MIT
/* persistctl start: make sure the server for the state directory runs. */
#include <getopt.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] start\n"
"\n"
"Make sure the persistent server for DIR runs: if nothing answers at\n"
"DIR/sock, start persist-server ($PERSIST_SERVER_EXE if set) there, detached,\n"
"and record it in DIR/state.db.  Print its pid; running start again prints\n"
"the same pid.\n";

int cmd_start(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };

	while (ctl_getopt(argc, argv, "+:h", opts, "start", help) != -1)
		;
	if (optind < argc)
		ctl_usage_error("start", "unexpected argument '%s'", argv[optind]);
	ctl_open(c, PERSIST_SESSION_START);
	printf("%d\n", persist_session_thread_rec(c->s)->pid);
	ctl_close(c);
	return EXIT_OK;
}
