// SPDX-License-Identifier: MIT
/* persistctl status: the server and how many children in each state. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] status [--json]\n"
"\n"
"Show whether the server for DIR runs, its pid, socket, start time and\n"
"uptime, and how many children are running, exited, killed, lost.\n"
"\n"
"  -j, --json   one object: state_dir, socket, running (bool), pid (number or\n"
"               null), started (ISO-8601 UTC or null), uptime_seconds (number\n"
"               or null), children (object: intent, running, exited, killed,\n"
"               lost: numbers), total (number)\n";

struct counts {
	size_t n[PERSIST_CHILD_LOST + 1], total;
};

static int count(void *arg, const struct persist_child_rec *rec)
{
	struct counts *k = arg;

	if ((unsigned)rec->state <= PERSIST_CHILD_LOST)
		k->n[rec->state]++;
	k->total++;
	return 0;
}

/* When process start time `ticks` (since boot) was, in unix ms. */
static int64_t boot_ms(unsigned long long ticks)
{
	char line[256];
	long long btime = -1;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	fclose(f);
	if (btime < 0)
		return 0;
	return btime * 1000 + (int64_t)(ticks * 1000 / (unsigned long long)sysconf(_SC_CLK_TCK));
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct counts k = { { 0 }, 0 };
	const struct persist_thread_rec *th;
	int o, json = 0, up, r;
	int64_t started = 0, secs = 0;
	char t[40];

	while ((o = ctl_getopt(argc, argv, "+:jh", opts, "status", help)) != -1)
		if (o == 'j')
			json = 1;
	if (optind < argc)
		ctl_usage_error("status", "unexpected argument '%s'", argv[optind]);
	ctl_open(c, PERSIST_SESSION_OFFLINE);
	up = persist_session_connected(c->s);
	th = persist_session_thread_rec(c->s);
	/* With --host: that host's thread only. */
	r = persist_store_children_each(ctl_store(c), c->host_opt ? (th->id ? th->id : -1) : 0,
					count, &k);
	if (r < 0)
		ctl_fail(c, r, "cannot read the children from %s: %s", c->db,
			persist_store_errmsg(ctl_store(c)));
	/* A start time counts from its host's boot, known here only for ours. */
	if (up && !persist_session_host(c->s)) {
		started = boot_ms(th->starttime);
		secs = started ? (ctl_now_ms() - started) / 1000 : 0;
	}
	if (json) {
		fputs("{\"state_dir\": ", stdout);
		json_str(stdout, c->dir);
		fputs(", \"host\": ", stdout);
		json_str(stdout, persist_session_host(c->s));
		fputs(", \"socket\": ", stdout);
		json_str(stdout, c->sock);
		if (up)
			printf(", \"running\": true, \"pid\": %d, \"started\": ", th->pid);
		else
			fputs(", \"running\": false, \"pid\": null, \"started\": ", stdout);
		json_time(stdout, started);
		if (up && started)
			printf(", \"uptime_seconds\": %lld", (long long)secs);
		else
			fputs(", \"uptime_seconds\": null", stdout);
		fputs(", \"children\": {", stdout);
		for (int s = 0; s <= PERSIST_CHILD_LOST; s++)
			printf("%s\"%s\": %zu", s ? ", " : "", persist_child_state_name(s), k.n[s]);
		printf("}, \"total\": %zu}\n", k.total);
	} else {
		printf("state dir: %s\n", c->dir);
		if (persist_session_host(c->s))
			printf("host:      %s (state dir there: %s)\n", persist_session_host(c->s),
			       persist_session_far_dir(c->s) ? persist_session_far_dir(c->s) : "?");
		printf("socket:    %s\n", c->sock);
		if (up) {
			printf("server:    running, pid %d\n", th->pid);
			if (started)
				printf("started:   %s (up %lldd %02lld:%02lld:%02lld)\n",
				       ctl_iso8601(started, t, sizeof t), (long long)(secs / 86400),
				       (long long)(secs / 3600 % 24), (long long)(secs / 60 % 60),
				       (long long)(secs % 60));
		} else {
			printf("server:    not running (start one with 'persistctl start'; "
			       "'persistctl run' starts one too)\n");
		}
		printf("children:  %zu running, %zu exited, %zu killed, %zu lost",
		       k.n[PERSIST_CHILD_RUNNING], k.n[PERSIST_CHILD_EXITED],
		       k.n[PERSIST_CHILD_KILLED], k.n[PERSIST_CHILD_LOST]);
		if (k.n[PERSIST_CHILD_INTENT])
			printf(", %zu starting", k.n[PERSIST_CHILD_INTENT]);
		printf(" (%zu in all)\n", k.total);
	}
	ctl_close(c);
	return EXIT_OK;
}
