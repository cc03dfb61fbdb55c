// SPDX-License-Identifier: MIT
/* persistctl start: make sure the server for the state directory runs. */
#include <getopt.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] start [--json]\n"
"\n"
"Make sure the persistent server for DIR runs: if nothing answers at\n"
"DIR/sock, start persist-server ($PERSIST_SERVER_EXE if set) there, detached,\n"
"and record it in DIR/state.db.  Print its pid; running start again prints\n"
"the same pid.\n"
"\n"
"  -j, --json   print {\"pid\": PID, \"socket\": PATH, \"state_dir\": DIR}\n";

int cmd_start(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int o, json = 0;

	while ((o = ctl_getopt(argc, argv, "+:jh", opts, "start", help)) != -1)
		if (o == 'j')
			json = 1;
	if (optind < argc)
		ctl_usage_error("start", "unexpected argument '%s'", argv[optind]);
	ctl_open(c, PERSIST_SESSION_START);
	if (json) {
		printf("{\"pid\": %d, \"socket\": ", persist_session_thread_rec(c->s)->pid);
		json_str(stdout, c->sock);
		fputs(", \"state_dir\": ", stdout);
		json_str(stdout, c->dir);
		fputs("}\n", stdout);
	} else {
		printf("%d\n", persist_session_thread_rec(c->s)->pid);
	}
	ctl_close(c);
	return EXIT_OK;
}
