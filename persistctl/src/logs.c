// SPDX-License-Identifier: MIT
/* persistctl logs: a child's output, from DIR/logs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctl.h"

static const char help[] =
"Usage: persistctl [--state DIR] logs [--stdout | --stderr] ID\n"
"\n"
"Print the output of child ID (or the newest child of that name): its\n"
"stdout (DIR/logs/ID.out), then its stderr (DIR/logs/ID.err), both to our\n"
"stdout.  Works without a server.\n"
"\n"
"  -o, --stdout   only its stdout\n"
"  -e, --stderr   only its stderr\n";

/* Copy path to stdout.  Returns: 0; 1 if it does not exist; -errno. */
static int cat(const char *path)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? 1 : -errno;
	fflush(stdout);
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -errno;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				int e = errno;
				close(fd);
				return -e;
			}
			off += w;
		}
	}
	close(fd);
	return 0;
}

int cmd_logs(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stdout", no_argument, 0, 'o' },
		{ "stderr", no_argument, 0, 'e' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_child_rec r = { 0 };
	struct ctl_ref ref;
	char paths[2][PATH_MAX + 32];
	int o, want_out = 1, want_err = 1, missing = 0, x;

	while ((o = ctl_getopt(argc, argv, "+:oeh", opts, "logs", help)) != -1) {
		if (o == 'o')
			want_err = 0;
		else if (o == 'e')
			want_out = 0;
	}
	if (!want_out && !want_err)
		ctl_usage_error("logs", "--stdout and --stderr exclude each other (neither: both)");
	if (optind >= argc)
		ctl_usage_error("logs", "which child? give its id (see 'persistctl ps')");
	if (optind + 1 < argc)
		ctl_usage_error("logs", "unexpected argument '%s'", argv[optind + 1]);
	ctl_child_arg("logs", argv[optind], &ref);

	ctl_open(c, PERSIST_SESSION_OFFLINE);
	ctl_child_ref(c, &ref, &r);
	for (int i = 0; i < 2; i++)
		if (persist_session_log_path(c->s, r.id, i + 1, paths[i], sizeof paths[i]) < 0)
			ctl_die(EXIT_RUNTIME, "the log path of child %lld in %s is too long",
				(long long)r.id, c->dir);
	if (persist_session_host(c->s)) {
		/* On the far host: read through the thread before letting go. */
		for (int i = 0; i < 2; i++) {
			char *d;
			size_t n;
			if ((i == 0 && !want_out) || (i == 1 && !want_err))
				continue;
			x = persist_session_log_read(c->s, r.id, i + 1, &d, &n);
			if (x == -ENOENT) {
				missing++;
				continue;
			}
			if (x < 0)
				ctl_fail(c, x, "cannot read %s:%s: %s", persist_session_host(c->s),
					 paths[i], strerror(-x));
			fwrite(d, 1, n, stdout);
			free(d);
		}
		ctl_close(c);
		persist_child_rec_clear(&r);
		return EXIT_OK;
	}
	ctl_close(c); /* reading files needs no control */
	for (int i = 0; i < 2; i++) {
		if ((i == 0 && !want_out) || (i == 1 && !want_err))
			continue;
		x = cat(paths[i]);
		if (x < 0)
			ctl_die(EXIT_RUNTIME, "cannot read %s: %s", paths[i], strerror(-x));
		missing += x;
	}
	if (missing && r.pid <= 0)
		ctl_note("child %lld never started: it has no output", (long long)r.id);
	persist_child_rec_clear(&r);
	return EXIT_OK;
}
