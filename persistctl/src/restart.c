// SPDX-License-Identifier: MIT
/* persistctl restart: start a child again the way it was started.  The
 * session does it crash-safely (persist_session_restart): the old child
 * ended and its status kept, then the new one run as run runs it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] restart [--grace SECONDS] [--json] ID\n"
"\n"
"Start child ID (or the newest child of that name) again as a new child:\n"
"the same command, name, environment, directory, stdin and kept fds as\n"
"'persistctl run' gave it, its output in the new id's logs.  If it still\n"
"runs, it is first sent SIGTERM (with its process group), SIGKILL after the\n"
"grace period, and its status recorded.  Print the new child's id; 'ps'\n"
"shows which child it restarted.  A child that was restarted already is\n"
"refused (restart the newer one), so running restart again after a crash\n"
"never starts the command twice.\n"
"\n"
"  -g, --grace SECONDS   how long it gets to exit after SIGTERM (default 5)\n"
"  -j, --json            print {\"id\": NEW, \"restart_of\": ID}\n";

int cmd_restart(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grace", required_argument, 0, 'g' },
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_child_rec r = { 0 };
	struct ctl_ref ref;
	char why[1024] = "";
	long grace = 5000;
	int64_t nid = 0;
	int o, x, json = 0;

	while ((o = ctl_getopt(argc, argv, "+:g:jh", opts, "restart", help)) != -1)
		if (o == 'j')
			json = 1;
		else if (o == 'g' && (grace = ctl_parse_seconds(optarg)) < 0)
			ctl_usage_error("restart", "--grace '%s' is not a number of seconds", optarg);
	if (optind >= argc)
		ctl_usage_error("restart", "which child? give its id (see 'persistctl ps')");
	if (optind + 1 < argc)
		ctl_usage_error("restart", "unexpected argument '%s'", argv[optind + 1]);
	ctl_child_arg("restart", argv[optind], &ref);

	ctl_open(c, PERSIST_SESSION_START);
	ctl_child_ref(c, &ref, &r);
	x = persist_session_restart(c->s, r.id, grace > INT_MAX ? INT_MAX : (int)grace, &nid, why,
				    sizeof why);
	ctl_notes(c);
	if (x < 0)
		ctl_fail(c, x, "%s", *why ? why : strerror(-x));
	if (json)
		printf("{\"id\": %lld, \"restart_of\": %lld}\n", (long long)nid, (long long)r.id);
	else
		printf("%lld\n", (long long)nid);
	persist_child_rec_clear(&r);
	ctl_close(c);
	return EXIT_OK;
}
