// SPDX-License-Identifier: MIT
/* persistctl run: spawn a command as a child of the persistent server.
 * The session commits the intent before the spawn and the pid after it, so
 * a crash at any point is recovered by the next persistctl. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <persist/thread.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] run [--name NAME] [--fd NAME]... [--env NAME=VALUE]...\n"
"                                    [--cwd DIR] [--stdin FILE] [--json] -- CMD [ARG...]\n"
"\n"
"Run CMD (looked up in PATH if it has no '/') as a child of the persistent\n"
"server, starting the server if needed, in its own session, in the current\n"
"directory, with the current environment, stdin from /dev/null, stdout and\n"
"stderr appended to DIR/logs/ID.out and DIR/logs/ID.err.  Print the child's\n"
"id, which the other commands take.  All of it (the environment included)\n"
"is kept in DIR/state.db, so 'persistctl restart ID' starts it again alike.\n"
"\n"
"  -e, --env NAME=VALUE   set NAME in its environment (repeatable)\n"
"  -C, --cwd DIR     run it in DIR (relative: to the current directory;\n"
"                    with --host: absolute on that host, default the far\n"
"                    server's directory)\n"
"  -i, --stdin FILE  its stdin from FILE (relative: to the current directory;\n"
"                    with --host: absolute on that host)\n"
"  -j, --json        print {\"id\": ID} instead of the bare id\n"
"  -f, --fd NAME     pass the fd kept as NAME (see 'persistctl listen'); the\n"
"                    first is fd 3, the next 4, ..., with LISTEN_FDS,\n"
"                    LISTEN_FDNAMES and LISTEN_PID set as systemd does\n"
"  -n, --name NAME   a name for the child, unique among running children;\n"
"                    it must not start with a digit.  wait, kill and logs\n"
"                    accept it in place of the id (the newest child so named).\n";

int cmd_run(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, 0, 'n' },
		{ "fd", required_argument, 0, 'f' },
		{ "env", required_argument, 0, 'e' },
		{ "cwd", required_argument, 0, 'C' },
		{ "stdin", required_argument, 0, 'i' },
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *name = NULL, *fds[PERSIST_SPAWN_MAX_FDS + 1] = { NULL };
	const char *dir = NULL, *in = NULL;
	/* Static: still reachable (not a leak) when a usage error exits. */
	static char **sets;
	char **envp;
	size_t nfds = 0, nsets = 0;
	char why[1024] = "", *cwd, *here, *stdin_path = NULL;
	const char *const *cmd;
	int64_t id;
	int o, r, json = 0;

	if (!(sets = calloc((size_t)argc + 1, sizeof *sets)))
		ctl_die(EXIT_RUNTIME, "out of memory");
	while ((o = ctl_getopt(argc, argv, "+:n:f:e:C:i:jh", opts, "run", help)) != -1) {
		if (o == 'n')
			name = optarg;
		if (o == 'e' && (optarg[0] == '=' || !strchr(optarg, '=')))
			ctl_usage_error("run", "--env '%s' is not NAME=VALUE", optarg);
		if (o == 'e')
			sets[nsets++] = optarg;
		if (o == 'C')
			dir = optarg;
		if (o == 'i')
			in = optarg;
		if (o == 'j')
			json = 1;
		if (o == 'f' && nfds == PERSIST_SPAWN_MAX_FDS)
			ctl_usage_error("run", "at most %d --fd", PERSIST_SPAWN_MAX_FDS);
		if (o == 'f')
			fds[nfds++] = optarg;
	}
	if (optind >= argc)
		ctl_usage_error("run", "no command given: persistctl run [--name NAME] -- CMD [ARG...]");
	if (name && (!*name || (*name >= '0' && *name <= '9')))
		ctl_usage_error("run", "name '%s' must be non-empty and not start with a digit", name);
	if (!*argv[optind])
		ctl_usage_error("run", "the command is an empty string");
	if ((dir && !*dir) || (in && !*in))
		ctl_usage_error("run", "--%s needs a path", dir && !*dir ? "cwd" : "stdin");
	cmd = (const char *const *)argv + optind;
	here = getcwd(NULL, 0);
	if (!here)
		ctl_die(EXIT_RUNTIME, "cannot read the current directory: %s (cd somewhere that "
			"exists)", strerror(errno));
	/* Paths are kept for a restart from anywhere: made absolute now.  On
	 * another host our directory means nothing: the child starts where
	 * the far server runs, and a path given must be absolute there. */
	if (c->host_opt) {
		if ((dir && *dir != '/') || (in && *in != '/'))
			ctl_usage_error("run", "with --host, --%s needs an absolute path on %s",
					dir && *dir != '/' ? "cwd" : "stdin", c->host_opt);
		cwd = dir ? strdup(dir) : NULL;
		stdin_path = in ? strdup(in) : NULL;
		if ((dir && !cwd) || (in && !stdin_path))
			ctl_die(EXIT_RUNTIME, "out of memory");
	} else {
		cwd = ctl_abspath(here, dir);
		if (in)
			stdin_path = ctl_abspath(here, in);
	}
	envp = ctl_environ(sets, nsets);

	ctl_open(c, PERSIST_SESSION_START);
	struct persist_spawn sp = {
		.argv = cmd,
		.envp = (const char *const *)envp, /* ours, with --env: kept for restart */
		.cwd = cwd,
		.stdin_path = stdin_path, /* NULL: /dev/null */
		.stdout_path = NULL, /* DIR/logs/ID.out */
		.stderr_path = NULL, /* DIR/logs/ID.err */
		.new_session = 1,
		.fd_names = fds,     /* looked up, and verified, by the session */
		.nfds = nfds,
	};
	r = persist_session_run(c->s, name, &sp, &id, why, sizeof why);
	if (r < 0)
		ctl_fail(c, r, "%s", *why ? why : strerror(-r));
	if (json)
		printf("{\"id\": %lld}\n", (long long)id);
	else
		printf("%lld\n", (long long)id);
	ctl_close(c);
	free(cwd);
	free(here);
	free(stdin_path);
	free(envp);
	free(sets);
	return EXIT_OK;
}
