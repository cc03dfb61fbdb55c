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
"Usage: persistctl [--state DIR] [--host DEST] logs [--follow] [--stdout | --stderr] ID\n"
"\n"
"Print the output of child ID (or the newest child of that name): its\n"
"stdout (DIR/logs/ID.out), then its stderr (DIR/logs/ID.err), both to our\n"
"stdout.  Works without a server; with --host the files are on that host\n"
"and are read through its server.\n"
"\n"
"  -f, --follow   print what is there, then the output as it comes (both\n"
"                 files as they grow, as 'tail -f' does) until the child has\n"
"                 ended and all it wrote is printed; exit 0 then.  Without a\n"
"                 server that answers, a child still recorded as running\n"
"                 cannot be followed: what is there is printed (nothing with\n"
"                 --host), exit 1.\n"
"  -o, --stdout   only its stdout\n"
"  -e, --stderr   only its stderr\n";

/* How long a follow sleeps on the child (without holding the thread, see
 * persist_session_wait) before it prints what came meanwhile. */
#define FOLLOW_SLICE_MS 200

/* Copy what fd has from its offset to its end to stdout.
 * Returns: 0; -errno. */
static int drain(int fd)
{
	char buf[65536];
	ssize_t n;

	fflush(stdout);
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += w;
		}
	}
	return 0;
}

/* Open path if it is not open yet.  Returns: 0 (open, or missing: *fd -1);
 * -errno. */
static int open_log(const char *path, int *fd)
{
	if (*fd >= 0)
		return 0;
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Print what the wanted logs hold now.  Returns: how many are missing. */
static int print_logs(char paths[2][PATH_MAX + 32], const int want[2], int fds[2])
{
	int missing = 0, x;

	for (int i = 0; i < 2; i++) {
		if (!want[i])
			continue;
		x = open_log(paths[i], &fds[i]);
		if (x == 0 && fds[i] >= 0)
			x = drain(fds[i]);
		if (x < 0)
			ctl_die(EXIT_RUNTIME, "cannot read %s: %s", paths[i], strerror(-x));
		missing += fds[i] < 0;
	}
	return missing;
}

/* What the wanted far logs hold from off[] on, printed, off[] moved past it:
 * read through the thread (persist_session_log_read_from), a chunk at a
 * time.  Returns: how many are missing. */
static int print_far(struct ctl *c, int64_t id, char paths[2][PATH_MAX + 32], const int want[2],
		     uint64_t off[2])
{
	int missing = 0, x;

	for (int i = 0; i < 2; i++) {
		char *d;
		size_t n;
		if (!want[i])
			continue;
		do {
			x = persist_session_log_read_from(c->s, id, i + 1, off[i], &d, &n);
			if (x == -ENOENT) {
				missing++;
				break;
			}
			if (x < 0)
				ctl_fail(c, x, "cannot read %s:%s: %s", persist_session_host(c->s),
					 paths[i], strerror(-x));
			fwrite(d, 1, n, stdout);
			free(d);
			off[i] += n;
		} while (n == PERSIST_SESSION_LOG_CHUNK);
	}
	fflush(stdout);
	return missing;
}

/* Print the logs as they grow until child id has ended (its status kept)
 * and they are drained: here, or through the thread on its host (off:
 * where each far log was read up to). */
static void follow(struct ctl *c, int64_t id, char paths[2][PATH_MAX + 32], const int want[2],
		   int fds[2], uint64_t off[2])
{
	const char *host = persist_session_host(c->s);
	struct persist_exit st;
	int x;

	for (;;) {
		if (host && persist_session_connected(c->s))
			print_far(c, id, paths, want, off);
		else if (!host)
			print_logs(paths, want, fds);
		x = persist_session_wait(c->s, id, FOLLOW_SLICE_MS, &st);
		ctl_notes(c); /* of the recovery when it took the thread back */
		if (x == -ETIMEDOUT)
			continue;
		if (x == 0 || x == -ENODATA)
			break; /* ended, or lost: nothing more will come from it */
		if (!host)
			print_logs(paths, want, fds);
		if (x == -ENOTCONN && host)
			ctl_die(EXIT_RUNTIME, "child %lld is recorded as running, but no server "
				"answers on %s: its output and its end cannot be followed ('%s "
				"--host %s status' says more)", (long long)id, host, ctl_prog, host);
		if (x == -ENOTCONN)
			ctl_die(EXIT_RUNTIME, "child %lld is recorded as running, but no server "
				"answers at %s: its end cannot be followed ('%s status' says more)",
				(long long)id, c->sock, ctl_prog);
		if (x == -EAGAIN)
			ctl_die(EXIT_RUNTIME, "child %lld is still being started by another "
				"persistctl: try again", (long long)id);
		ctl_fail(c, x, "following child %lld: %s", (long long)id, strerror(-x));
	}
	/* It has ended: what it wrote is all in the files now. */
	if (!host) {
		print_logs(paths, want, fds);
		return;
	}
	if (!persist_session_connected(c->s))
		ctl_die(EXIT_RUNTIME, "child %lld has ended, but no server answers on %s: its "
			"output there cannot be read ('%s --host %s start' starts one, then run "
			"this again)", (long long)id, host, ctl_prog, host);
	print_far(c, id, paths, want, off);
}

int cmd_logs(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stdout", no_argument, 0, 'o' },
		{ "stderr", no_argument, 0, 'e' },
		{ "follow", no_argument, 0, 'f' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct persist_child_rec r = { 0 };
	struct ctl_ref ref;
	char paths[2][PATH_MAX + 32];
	uint64_t off[2] = { 0, 0 };
	int o, want[2] = { 1, 1 }, fds[2] = { -1, -1 }, missing = 0, follow_it = 0;

	while ((o = ctl_getopt(argc, argv, "+:oefh", opts, "logs", help)) != -1) {
		if (o == 'o')
			want[1] = 0;
		else if (o == 'e')
			want[0] = 0;
		else if (o == 'f')
			follow_it = 1;
	}
	if (!want[0] && !want[1])
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
		if (follow_it && r.pid > 0)
			follow(c, r.id, paths, want, fds, off);
		else
			missing = print_far(c, r.id, paths, want, off);
		ctl_close(c);
		if (missing && r.pid <= 0)
			ctl_note("child %lld never started: it has no output", (long long)r.id);
		persist_child_rec_clear(&r);
		return EXIT_OK;
	}
	if (follow_it && r.pid > 0)
		follow(c, r.id, paths, want, fds, off);
	ctl_close(c); /* reading files needs no control */
	missing = print_logs(paths, want, fds);
	if (missing && r.pid <= 0)
		ctl_note("child %lld never started: it has no output", (long long)r.id);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	persist_child_rec_clear(&r);
	return EXIT_OK;
}
