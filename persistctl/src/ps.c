// SPDX-License-Identifier: MIT
/* persistctl ps: every child the store knows, after recovery. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] ps [--state STATE] [--name NAME] [--json]\n"
"\n"
"List every child: id, name, pid, state, exit code or signal, start and end\n"
"times, command.  States: running, exited, killed, lost (the kernel no\n"
"longer has it: the reason is shown), and, only while a server that does\n"
"not answer holds it, intent (spawn under way).  A child started by\n"
"'persistctl restart' says which child it restarted.  The command is quoted\n"
"as sh(1) reads it, so it can be pasted back into a shell (an argument with\n"
"control characters shows them as '?': --json has it exactly).  Works\n"
"without a server, from the store: the children of a server that is gone\n"
"are then lost.\n"
"\n"
"  -s, --state STATE   only the children in STATE (intent, running, exited,\n"
"                      killed, lost)\n"
"  -n, --name NAME     only the children named NAME\n"
"  -j, --json   a JSON list of objects with the keys id (number), name\n"
"               (string or null), pid (number or null), state (string),\n"
"               exit_code (number or null), signal (number or null), argv\n"
"               (list of strings), started, ended (ISO-8601 UTC strings or\n"
"               null), restart_of (number or null: the child it restarted),\n"
"               cwd (string or null), host (string: the ssh destination of\n"
"               its thread, or null: this host).  Bytes that are not UTF-8\n"
"               become U+FFFD.\n";

/* The host of thread id among ths (NULL: this host, or not known). */
static const char *host_of(const struct persist_thread_rec *ths, size_t nth, int64_t id)
{
	for (size_t i = 0; i < nth; i++)
		if (ths[i].id == id)
			return ths[i].host;
	return NULL;
}

static void print_json(const struct persist_child_rec *recs, size_t n,
		       const struct persist_thread_rec *ths, size_t nth)
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
		if (r->restart_of > 0)
			printf(", \"restart_of\": %lld", (long long)r->restart_of);
		else
			fputs(", \"restart_of\": null", stdout);
		fputs(", \"cwd\": ", stdout);
		json_str(stdout, r->cwd);
		fputs(", \"host\": ", stdout);
		json_str(stdout, host_of(ths, nth, r->thread_id));
		fputc('}', stdout);
	}
	fputs(n ? "\n]\n" : "]\n", stdout);
}

/* argv on one line, as sh(1) reads it back. */
static void print_command(const struct persist_child_rec *r)
{
	for (size_t a = 0; a < r->argc; a++) {
		if (a)
			fputc(' ', stdout);
		ctl_sh_quote(stdout, r->argv[a], a == 0);
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
		if (r->restart_of > 0)
			printf("      restart of child %lld\n", (long long)r->restart_of);
	}
}

int cmd_ps(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "state", required_argument, 0, 's' },
		{ "name", required_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_child_rec *recs;
	struct persist_thread_rec *ths = NULL;
	const char *name = NULL;
	int o, json = 0, r, state = -1;
	size_t n, kept = 0, nth = 0;

	while ((o = ctl_getopt(argc, argv, "+:js:n:h", opts, "ps", help)) != -1) {
		if (o == 'j')
			json = 1;
		else if (o == 'n')
			name = optarg;
		else if (o == 's' && (state = persist_child_state_parse(optarg)) < 0)
			ctl_usage_error("ps", "unknown state '%s' (one of intent, running, exited, "
					"killed, lost)", optarg);
	}
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
	/* Which host each child's thread is on (--json's host). */
	if (json && (r = persist_store_thread_list(ctl_store(c), &ths, &nth)) < 0)
		ctl_fail(c, r, "cannot read the threads from %s: %s", c->db,
			persist_store_errmsg(ctl_store(c)));
	ctl_close(c);
	/* The filters: the survivors move to the front. */
	for (size_t i = 0; i < n; i++) {
		struct persist_child_rec t;
		if ((state >= 0 && recs[i].state != (enum persist_child_state)state) ||
		    (name && (!recs[i].name || strcmp(recs[i].name, name) != 0)))
			continue;
		t = recs[kept];
		recs[kept++] = recs[i];
		recs[i] = t;
	}
	if (!json && c->host_opt)
		printf("host: %s\n", c->host_opt);
	if (json)
		print_json(recs, kept, ths, nth);
	else
		print_table(recs, kept);
	persist_child_recs_free(recs, n);
	persist_thread_recs_free(ths, nth);
	return EXIT_OK;
}
