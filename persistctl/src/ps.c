// SPDX-License-Identifier: MIT
/* persistctl ps: every child the store knows, after recovery. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] ps [--json]\n"
"\n"
"List every child: id, name, pid, state, exit code or signal, start and end\n"
"times, command.  States: running, exited, killed, lost (the kernel no\n"
"longer has it: the reason is shown), and, only while a server that does\n"
"not answer holds it, intent (spawn under way).  Works without a server,\n"
"from the store: the children of a server that is gone are then lost.\n"
"\n"
"  -j, --json   a JSON list of objects with exactly the keys id (number),\n"
"               name (string or null), pid (number or null), state (string),\n"
"               exit_code (number or null), signal (number or null), argv\n"
"               (list of strings), started, ended (ISO-8601 UTC strings or\n"
"               null).  Bytes of argv that are not UTF-8 become U+FFFD.\n";

static void print_json(const struct persist_child_rec *recs, size_t n)
{
	fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		const struct persist_child_rec *r = &recs[i];
		printf("%s\n  {\"id\": %lld, \"name\": ", i ? "," : "", (long long)r->id);
		json_str(stdout, r->name);
		if (r->pid > 0)
			printf(", \"pid\": %d", r->pid);
		else
			fputs(", \"pid\": null", stdout);
		fputs(", \"state\": ", stdout);
		json_str(stdout, persist_child_state_name(r->state));
		if (r->state == PERSIST_CHILD_EXITED)
			printf(", \"exit_code\": %d, \"signal\": null", r->exit_code);
		else if (r->state == PERSIST_CHILD_KILLED)
			printf(", \"exit_code\": null, \"signal\": %d", r->signal);
		else
			fputs(", \"exit_code\": null, \"signal\": null", stdout);
		fputs(", \"argv\": [", stdout);
		for (size_t a = 0; a < r->argc; a++) {
			if (a)
				fputs(", ", stdout);
			json_str(stdout, r->argv[a]);
		}
		fputs("], \"started\": ", stdout);
		json_time(stdout, r->started_ms);
		fputs(", \"ended\": ", stdout);
		json_time(stdout, r->ended_ms);
		fputc('}', stdout);
	}
	fputs(n ? "\n]\n" : "]\n", stdout);
}

/* argv on one line: words joined by spaces, unprintable bytes as '?'. */
static void print_command(const struct persist_child_rec *r)
{
	for (size_t a = 0; a < r->argc; a++) {
		if (a)
			fputc(' ', stdout);
		for (const unsigned char *p = (const unsigned char *)r->argv[a]; *p; p++)
			fputc(*p < 0x20 || *p == 0x7F ? '?' : *p, stdout);
	}
	fputc('\n', stdout);
}

static void print_table(const struct persist_child_rec *recs, size_t n)
{
	char st[300], t1[40], t2[40], pid[16], sig[32];

	printf("%-5s %-12s %-8s %-8s %-12s %-24s %-24s %s\n", "ID", "NAME", "PID", "STATE",
	       "STATUS", "STARTED", "ENDED", "COMMAND");
	for (size_t i = 0; i < n; i++) {
		const struct persist_child_rec *r = &recs[i];
		if (r->state == PERSIST_CHILD_EXITED)
			snprintf(st, sizeof st, "exit %d", r->exit_code);
		else if (r->state == PERSIST_CHILD_KILLED)
			snprintf(st, sizeof st, "%s", ctl_signame(r->signal, sig, sizeof sig));
		else
			snprintf(st, sizeof st, "-");
		snprintf(pid, sizeof pid, r->pid > 0 ? "%d" : "-", r->pid);
		printf("%-5lld %-12s %-8s %-8s %-12s %-24s %-24s ", (long long)r->id,
		       r->name ? r->name : "-", pid, persist_child_state_name(r->state), st,
		       r->started_ms ? ctl_iso8601(r->started_ms, t1, sizeof t1) : "-",
		       r->ended_ms ? ctl_iso8601(r->ended_ms, t2, sizeof t2) : "-");
		print_command(r);
		if (r->state == PERSIST_CHILD_LOST && r->lost_reason)
			printf("      lost: %s\n", r->lost_reason);
	}
}

int cmd_ps(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_child_rec *recs;
	int o, json = 0, r;
	size_t n;

	while ((o = ctl_getopt(argc, argv, "+:jh", opts, "ps", help)) != -1)
		if (o == 'j')
			json = 1;
	if (optind < argc)
		ctl_usage_error("ps", "unexpected argument '%s'", argv[optind]);
	ctl_open(c, PERSIST_SESSION_OFFLINE);
	/* With --host: that host's thread only (none recorded: nothing). */
	r = persist_store_children(ctl_store(c), c->host_opt ?
				   (persist_session_thread_rec(c->s)->id ?
				    persist_session_thread_rec(c->s)->id : -1) : 0, &recs, &n);
	if (r < 0)
		ctl_fail(c, r, "cannot read the children from %s: %s", c->db,
			persist_store_errmsg(ctl_store(c)));
	ctl_close(c);
	if (!json && c->host_opt)
		printf("host: %s\n", c->host_opt);
	if (json)
		print_json(recs, n);
	else
		print_table(recs, n);
	persist_child_recs_free(recs, n);
	return EXIT_OK;
}
