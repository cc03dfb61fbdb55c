// SPDX-License-Identifier: MIT
/* persistctl listen, fds, close: fds kept by the server under a name (a
 * listening socket, above all), which `run --fd NAME` passes to a child as
 * systemd's socket activation does.  What keeps them safe across crashes
 * (their identity, checked before any use) is the session's. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "ctl.h"

static const char listen_help[] =
"Usage: persistctl [--state DIR] listen [--json] NAME ADDRESS\n"
"\n"
"Create a listening socket in the server (starting it if needed) and keep\n"
"it under NAME; print its address with the real port.  ADDRESS is\n"
"tcp:HOST:PORT (HOST an IPv4 address, localhost, or * for any),\n"
"tcp6:[HOST]:PORT or unix:PATH; port 0 picks a free one.  The socket lives\n"
"as long as the server, whatever happens to its controllers: pass it to a\n"
"child with 'persistctl run --fd NAME', and clients that connect while no\n"
"child accepts wait in its backlog instead of being refused.\n"
"\n"
"  -j, --json   print {\"name\": NAME, \"address\": ADDRESS}\n";

static const char fds_help[] =
"Usage: persistctl [--state DIR] fds [--json]\n"
"\n"
"List the fds the server keeps under a name: name, fd number, address, and\n"
"whether the server has just shown that the number still names the file it\n"
"was kept for (a stale one is never passed to a child: close it).\n"
"\n"
"  -j, --json   a JSON array of {\"name\": string, \"fd\": number,\n"
"               \"address\": string or null, \"verified\": bool}\n";

static const char close_help[] =
"Usage: persistctl [--state DIR] close NAME\n"
"\n"
"Close the fd kept under NAME in the server (if it is still that file) and\n"
"forget it.\n";

static void no_options(int argc, char **argv, const char *cmd, const char *help)
{
	static const struct option opts[] = { { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };

	while (ctl_getopt(argc, argv, "+:h", opts, cmd, help) != -1)
		;
}

int cmd_listen(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_fd_rec *recs;
	char why[1024] = "";
	size_t n;
	int r, o, json = 0;

	while ((o = ctl_getopt(argc, argv, "+:jh", opts, "listen", listen_help)) != -1)
		if (o == 'j')
			json = 1;
	if (argc - optind != 2)
		ctl_usage_error("listen", "give a name and an address: persistctl listen NAME "
				"tcp:127.0.0.1:8080");
	ctl_open(c, PERSIST_SESSION_START);
	r = persist_session_listen(c->s, argv[optind], argv[optind + 1], why, sizeof why);
	if (r < 0)
		ctl_fail(c, r, "%s", *why ? why : strerror(-r));
	r = persist_session_fd_list(c->s, &recs, &n);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (strcmp(recs[i].name, argv[optind]) == 0 && json) {
			fputs("{\"name\": ", stdout);
			json_str(stdout, recs[i].name);
			fputs(", \"address\": ", stdout);
			json_str(stdout, recs[i].description);
			fputs("}\n", stdout);
		} else if (strcmp(recs[i].name, argv[optind]) == 0) {
			printf("%s\n", recs[i].description ? recs[i].description : "");
		}
	if (r == 0)
		persist_fd_recs_free(recs, n);
	ctl_close(c);
	return EXIT_OK;
}

int cmd_fds(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_fd_rec *recs;
	size_t n;
	int o, json = 0, r;

	while ((o = ctl_getopt(argc, argv, "+:jh", opts, "fds", fds_help)) != -1)
		if (o == 'j')
			json = 1;
	if (optind < argc)
		ctl_usage_error("fds", "unexpected argument '%s'", argv[optind]);
	ctl_open(c, PERSIST_SESSION_OFFLINE);
	r = persist_session_fd_list(c->s, &recs, &n);
	if (r < 0)
		ctl_fail(c, r, "cannot read the kept fds from %s: %s", c->db,
			persist_store_errmsg(persist_session_store(c->s)));
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf("%s\n  {\"name\": ", i ? "," : "");
			json_str(stdout, recs[i].name);
			printf(", \"fd\": %d, \"address\": ", recs[i].fd);
			json_str(stdout, recs[i].description);
			printf(", \"verified\": %s}", recs[i].verified ? "true" : "false");
		}
		printf("%s]\n", n ? "\n" : "");
	} else {
		printf("%-16s %-5s %-9s %s\n", "NAME", "FD", "VERIFIED", "ADDRESS");
		for (size_t i = 0; i < n; i++)
			printf("%-16s %-5d %-9s %s\n", recs[i].name, recs[i].fd,
			       recs[i].verified ? "yes" : persist_session_connected(c->s) ? "STALE"
											 : "-",
			       recs[i].description ? recs[i].description : "");
	}
	persist_fd_recs_free(recs, n);
	ctl_close(c);
	return EXIT_OK;
}

int cmd_close(struct ctl *c, int argc, char **argv)
{
	int r;

	no_options(argc, argv, "close", close_help);
	if (argc - optind != 1)
		ctl_usage_error("close", "give the name of a kept fd (see 'persistctl fds')");
	ctl_open(c, PERSIST_SESSION_OFFLINE);
	if (!persist_session_connected(c->s))
		ctl_die(EXIT_RUNTIME, "no server answers for %s: nothing is kept there now", c->dir);
	r = persist_session_fd_drop(c->s, argv[optind]);
	if (r == -ENOENT)
		ctl_die(EXIT_RUNTIME, "no fd is kept as '%s' (see 'persistctl fds')", argv[optind]);
	if (r < 0)
		ctl_fail(c, r, "cannot close '%s': %s", argv[optind], strerror(-r));
	ctl_close(c);
	return EXIT_OK;
}
