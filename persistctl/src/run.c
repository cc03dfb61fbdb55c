// SPDX-License-Identifier: MIT
/* persistctl run: spawn a command as a child of the persistent server.
 *
 * The order is what makes a crash at any point recoverable: the intent is
 * committed before the spawn, the spawn's pid after it; recovery completes
 * an intent from the kernel's children of the server (matching argv), or
 * marks it lost if no child matches. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] run [--name NAME] -- CMD [ARG...]\n"
"\n"
"Run CMD (looked up in PATH if it has no '/') as a child of the persistent\n"
"server, starting the server if needed, in its own session, in the current\n"
"directory, with the current environment, stdin from /dev/null, stdout and\n"
"stderr appended to DIR/logs/ID.out and DIR/logs/ID.err.  Print the child's\n"
"id, which the other commands take.\n"
"\n"
"  -n, --name NAME   a name for the child, unique among running children;\n"
"                    it must not start with a digit.  wait, kill and logs\n"
"                    accept it in place of the id (the newest child so named).\n";

int cmd_run(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *name = NULL;
	char why[512] = "", out[PATH_MAX + 48], err[PATH_MAX + 48], *cwd;
	const char *const *cmd;
	unsigned long long start;
	int64_t id;
	int o, r, pid;

	while ((o = ctl_getopt(argc, argv, "+:n:h", opts, "run", help)) != -1)
		if (o == 'n')
			name = optarg;
	if (optind >= argc)
		ctl_usage_error("run", "no command given: persistctl run [--name NAME] -- CMD [ARG...]");
	if (name && (!*name || (*name >= '0' && *name <= '9')))
		ctl_usage_error("run", "name '%s' must be non-empty and not start with a digit", name);
	if (!*argv[optind])
		ctl_usage_error("run", "the command is an empty string");
	cmd = (const char *const *)argv + optind;
	cwd = getcwd(NULL, 0);
	if (!cwd)
		ctl_die(EXIT_RUNTIME, "cannot read the current directory: %s (cd somewhere that "
			"exists)", strerror(errno));

	ctl_begin(c, CTL_SERVER_START);
	crash_point("run:before-intent");
	r = persist_store_intent(c->st, c->thread.id, name, cmd, cwd, &id);
	if (r == -EEXIST) {
		struct persist_child_rec other = { 0 };
		persist_store_child_find(c->st, c->thread.id, name, &other);
		ctl_die(EXIT_RUNTIME, "a running child is already named '%s' (child %lld): choose "
			"another --name, or end it first", name, (long long)other.id);
	}
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "cannot record the intent to run %s in %s: %s", cmd[0], c->db,
			persist_store_errmsg(c->st));
	crash_point("run:after-intent");

	ctl_logs_dir(c);
	ctl_log_path(c, id, "out", out, sizeof out);
	ctl_log_path(c, id, "err", err, sizeof err);
	struct persist_spawn sp = {
		.argv = cmd,
		.envp = NULL, /* ours */
		.cwd = cwd,
		.stdin_path = NULL,
		.stdout_path = out,
		.stderr_path = err,
		.new_session = 1,
	};
	r = persist_spawn(&c->t, &sp, &pid, why, sizeof why);
	if (r < 0) {
		char reason[600];
		snprintf(reason, sizeof reason, "spawn failed: %s", *why ? why : strerror(-r));
		if (persist_store_lost(c->st, id, reason) < 0)
			ctl_note("cannot record that child %lld never started: %s", (long long)id,
				 persist_store_errmsg(c->st));
		ctl_die(EXIT_RUNTIME, "cannot run %s: %s%s", cmd[0], *why ? why : strerror(-r),
			r == -ENOENT ? " (check the name and PATH)" : "");
	}
	crash_point("run:after-spawn");

	/* Not reaped by anyone while we hold the connection: /proc has it. */
	r = persist_proc_starttime(pid, &start);
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "child %lld (pid %d) cannot be seen in /proc: %s", (long long)id,
			pid, strerror(-r));
	r = persist_store_started(c->st, id, pid, start);
	if (r < 0)
		ctl_die(EXIT_RUNTIME, "child %lld runs as pid %d but could not be recorded: %s (the "
			"next persistctl adopts it)", (long long)id, pid, persist_store_errmsg(c->st));
	printf("%lld\n", (long long)id);
	ctl_end(c);
	free(cwd);
	return EXIT_OK;
}
