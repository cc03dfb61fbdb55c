// SPDX-License-Identifier: MIT
/* persistctl: the state directory.  It holds the server's socket (sock),
 * the store (state.db), the controller lock (lock) and the children's logs
 * (logs/ID.out, logs/ID.err); anyone who can write in it controls the
 * server, so it must be ours and closed to everyone else (0700). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ctl.h"

/* Check that path is a directory of ours that no one else can use. */
static void check_private_dir(const char *path, const char *what)
{
	struct stat s;

	if (stat(path, &s) < 0)
		ctl_die(EXIT_RUNTIME, "cannot use %s %s: %s", what, path, strerror(errno));
	if (!S_ISDIR(s.st_mode))
		ctl_die(EXIT_RUNTIME, "%s %s is not a directory (remove it or choose another "
			"with --state DIR)", what, path);
	if (s.st_uid != geteuid())
		ctl_die(EXIT_RUNTIME, "%s %s belongs to uid %u, not to you (uid %u): choose "
			"another with --state DIR or PERSIST_STATE_DIR", what, path,
			(unsigned)s.st_uid, (unsigned)geteuid());
	if (s.st_mode & 077)
		ctl_die(EXIT_RUNTIME, "%s %s has mode %04o: others could control the server; "
			"make it private with 'chmod 700 %s', or choose another with --state DIR",
			what, path, (unsigned)(s.st_mode & 07777), path);
}

void ctl_statedir(struct ctl *c, const char *opt)
{
	const char *env = getenv("PERSIST_STATE_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	char want[PATH_MAX];
	int n;

	if (opt && !*opt)
		ctl_die(EXIT_USAGE, "--state needs a directory (see %s --help)", ctl_prog);
	if (opt)
		n = snprintf(want, sizeof want, "%s", opt);
	else if (env && *env)
		n = snprintf(want, sizeof want, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(want, sizeof want, "%s/persist", xdg);
	else
		n = snprintf(want, sizeof want, "/tmp/persist-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= sizeof want)
		ctl_die(EXIT_RUNTIME, "state directory name too long: choose a shorter one with --state DIR");
	if (mkdir(want, 0700) == 0) {
		if (chmod(want, 0700) < 0) /* whatever the umask */
			ctl_die(EXIT_RUNTIME, "cannot set mode 0700 on %s: %s", want, strerror(errno));
	} else if (errno == ENOENT) {
		ctl_die(EXIT_RUNTIME, "cannot create state directory %s: its parent does not exist "
			"(create it, or choose another with --state DIR)", want);
	} else if (errno != EEXIST) {
		ctl_die(EXIT_RUNTIME, "cannot create state directory %s: %s (choose another with "
			"--state DIR)", want, strerror(errno));
	}
	if (!realpath(want, c->dir))
		ctl_die(EXIT_RUNTIME, "cannot use state directory %s: %s", want, strerror(errno));
	check_private_dir(c->dir, "state directory");
	n = snprintf(c->sock, sizeof c->sock, "%s/sock", c->dir);
	if (n < 0 || (size_t)n >= sizeof c->sock)
		ctl_die(EXIT_RUNTIME, "state directory %s is too long for a unix socket path "
			"(%zu bytes at most): choose a shorter one with --state DIR", c->dir,
			sizeof c->sock - 6);
	snprintf(c->db, sizeof c->db, "%s/state.db", c->dir);
}

void ctl_log_path(const struct ctl *c, int64_t id, const char *ext, char *buf, size_t len)
{
	snprintf(buf, len, "%s/logs/%" PRId64 ".%s", c->dir, id, ext);
}

void ctl_logs_dir(const struct ctl *c)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof path, "%s/logs", c->dir);
	if (mkdir(path, 0700) == 0) {
		if (chmod(path, 0700) < 0)
			ctl_die(EXIT_RUNTIME, "cannot set mode 0700 on %s: %s", path, strerror(errno));
	} else if (errno != EEXIST) {
		ctl_die(EXIT_RUNTIME, "cannot create %s: %s", path, strerror(errno));
	}
	check_private_dir(path, "log directory");
}
