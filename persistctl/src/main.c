// SPDX-License-Identifier: MIT
/* persistctl: global options, dispatch, exit codes. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] [--host DEST] COMMAND [ARGS]   (see persistctl(1))\n"
"\n"
"Run commands as children of a persistent server that outlives every\n"
"persistctl, and keep their exit statuses in DIR/state.db across crashes.\n"
"Each invocation is a new controller: it first reconciles the store with the\n"
"kernel (recovery), so a persistctl killed at any point loses nothing.\n"
"\n"
"Commands:\n"
"  start [--json]            make sure the server for DIR runs; print its pid\n"
"  run [--name NAME] [--env NAME=VALUE]... [--cwd DIR] [--stdin FILE]\n"
"      [--fd NAME]... [--json] -- CMD [ARG...]\n"
"                            run CMD in the server (starting it if needed);\n"
"                            print the child's id; output to DIR/logs/ID.out/.err\n"
"  restart [--grace S] [--json] ID\n"
"                            end child ID if it runs, start it again alike\n"
"  ps [--state STATE] [--name NAME] [--json]\n"
"                            list the children\n"
"  wait [--timeout S] [--json] ID\n"
"                            wait for child ID to end; print its status and exit\n"
"                            with its code, or 128 + its signal\n"
"  kill ID [SIGNAL]          signal child ID (default TERM)\n"
"  logs [--follow] [--stdout|--stderr] ID\n"
"                            print the child's output (--follow: as it comes,\n"
"                            until the child has ended)\n"
"  status [--json]           the server's pid, socket, uptime, children per state\n"
"  stop [--grace S] [--json] TERM every child, KILL after S seconds (default 5),\n"
"                            record their statuses, end the server; the store stays\n"
"  listen [--json] NAME ADDRESS, fds [--json], close NAME\n"
"                            listening sockets kept by the server under a name\n"
"  recover-store [--force]   a damaged DIR/state.db: move it aside and rebuild the\n"
"                            store from the running server (adopts every child)\n"
"\n"
"Options:\n"
"  --state DIR   state directory: socket, store, logs.  Default:\n"
"                $PERSIST_STATE_DIR, else $XDG_RUNTIME_DIR/persist, else\n"
"                /tmp/persist-$UID.  Created with mode 0700; refused if it is\n"
"                a symbolic link, not yours, or open to others.\n"
"  --host DEST   the thread on another host, over ssh: DEST as ssh takes it\n"
"                ([user@]host, ssh://[user@]host[:port]).  The store stays in\n"
"                DIR; the server runs on DEST in its own state directory\n"
"                (persist-server on its PATH, or $PERSIST_FAR_SERVER).  The\n"
"                ssh command is $PERSIST_SSH (default: ssh).\n"
"  --help        this help ('persistctl COMMAND --help' for a command's)\n"
"  --version     the version\n"
"\n"
"Exit status: 0 success, 1 runtime error, 2 usage error; 'wait' exits with\n"
"the child's status.\n"
"\n"
"Environment: PERSIST_STATE_DIR (above); PERSIST_SERVER_EXE, the\n"
"persist-server to start; with --host: PERSIST_SSH (the ssh command),\n"
"PERSIST_FAR_SERVER (persist-server on DEST; without one there, ours is\n"
"copied there), PERSIST_FAR_SHIP=0 (never copy it), PERSIST_SSH_RELAY=1\n"
"(through ssh's stdio, not a forward: for a far sshd that refuses\n"
"forwarding);\n"
"PERSIST_CRASH_AT=POINT (tests) makes persistctl\n"
"SIGKILL itself at POINT (libpersist's session does it): run:before-intent,\n"
"run:after-intent, run:after-spawn, wait:after-wnowait, wait:after-record,\n"
"kill:after-signal, stop:after-term, stop:after-wnowait, stop:after-record\n"
"(and open:..., recover:..., see <persist/session.h>).\n";

static const struct {
	const char *name;
	int (*fn)(struct ctl *, int, char **);
} commands[] = {
	{ "start", cmd_start }, { "run", cmd_run },   { "ps", cmd_ps },
	{ "wait", cmd_wait },   { "kill", cmd_kill }, { "logs", cmd_logs },
	{ "status", cmd_status }, { "stop", cmd_stop },
	{ "listen", cmd_listen }, { "fds", cmd_fds }, { "close", cmd_close },
	{ "recover-store", cmd_recover_store }, { "restart", cmd_restart },
};

void ctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s%s%s: ", ctl_prog, cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s%s%s --help')\n", ctl_prog, cmd ? " " : "", cmd ? cmd : "");
	exit(EXIT_USAGE);
}

int ctl_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	       const char *cmd, const char *cmdhelp)
{
	int o;

	opterr = 0;
	o = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (o == 'h') {
		fputs(cmdhelp, stdout);
		exit(EXIT_OK);
	}
	if (o == '?') {
		if (optopt && optopt != '?')
			ctl_usage_error(cmd, "unknown option -%c", optopt);
		ctl_usage_error(cmd, "unknown option %s", argv[optind - 1]);
	}
	if (o == ':')
		ctl_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
	return o;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, 0, 's' },
		{ "host", required_argument, 0, 'H' },
		{ "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' },
		{ 0, 0, 0, 0 },
	};
	static struct ctl c;
	const char *state = NULL, *host = NULL;
	int o;

	while ((o = ctl_getopt(argc, argv, "+:s:", opts, NULL, help)) != -1) {
		if (o == 's')
			state = optarg;
		else if (o == 'H')
			host = optarg;
		else if (o == 'V') {
			printf("persistctl (persist) %s\n", CTL_VERSION);
			return EXIT_OK;
		}
	}
	if (optind >= argc)
		ctl_usage_error(NULL, "no command given");
	if (strcmp(argv[optind], "help") == 0) {
		fputs(help, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int cargc = argc - optind;
			char **cargv = argv + optind;
			int r;

			c.state_opt = state;
			c.host_opt = host;
			optind = 0; /* the command parses its own options */
			r = commands[i].fn(&c, cargc, cargv);
			fflush(stdout);
			return r;
		}
	}
	ctl_usage_error(NULL, "unknown command '%s'", argv[optind]);
}
