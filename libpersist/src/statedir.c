// SPDX-License-Identifier: MIT
/* The state directory of a session: choose it, create it, and refuse it
 * unless no one else can use it.  Whoever can write in it controls every
 * process of the thread, so it must be a real directory (a symlink planted
 * in /tmp before the first run would send the socket, the store and the
 * logs wherever its owner likes), owned by us, mode 0700.  Like tmux and
 * ssh-agent, the last component is never followed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "session_internal.h"

PERSIST_EXPORT int persist_session_default_dir(char *buf, size_t len)
{
	const char *env = getenv("PERSIST_STATE_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/persist", xdg);
	else
		n = snprintf(buf, len, "/tmp/persist-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Check the directory open at fd (reached as path, never through a
 * symlink at its last component).  Returns: 0; -ENOTDIR; -EPERM. */
static int check_private(int fd, const char *path, const char *what, char *why, size_t whylen)
{
	struct stat s;

	if (fstat(fd, &s) < 0)
		return -errno;
	if (!S_ISDIR(s.st_mode)) {
		persist__say(why, whylen, "%s %s is not a directory (remove it, or choose another "
			     "directory)", what, path);
		return -ENOTDIR;
	}
	if (s.st_uid != geteuid()) {
		persist__say(why, whylen, "%s %s belongs to uid %u, not to you (uid %u): choose "
			     "another directory", what, path, (unsigned)s.st_uid,
			     (unsigned)geteuid());
		return -EPERM;
	}
	if (s.st_mode & 077) {
		persist__say(why, whylen, "%s %s has mode %04o: others could control the server; "
			     "make it private with 'chmod 700 %s', or choose another directory",
			     what, path, (unsigned)(s.st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

/* The absolute name of the directory open at fd, symlinks of its parents
 * resolved, into buf.  Returns: 0; -errno. */
static int resolved(int fd, char *buf, size_t len)
{
	char self[32];
	ssize_t n;

	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	n = readlink(self, buf, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return 0;
}

/* mkdir path 0700 if missing, then open it without following a symlink
 * at its last component and check it; real gets its resolved name, which
 * is also the one a message names (never a path through a link).
 * Returns: an O_PATH fd; -errno with why set. */
static int make_private(const char *path, const char *what, char *real, size_t reallen,
			char *why, size_t whylen)
{
	struct stat ls;
	int fd, r;

	if (mkdir(path, 0700) == 0) {
		if (chmod(path, 0700) < 0) { /* whatever the umask */
			r = -errno;
			persist__say(why, whylen, "cannot set mode 0700 on %s: %s", path, strerror(-r));
			return r;
		}
	} else if (errno == ENOENT) {
		persist__say(why, whylen, "cannot create %s %s: its parent does not exist (create "
			     "it, or choose another directory)", what, path);
		return -ENOENT;
	} else if (errno != EEXIST) {
		r = -errno;
		persist__say(why, whylen, "cannot create %s %s: %s (choose another directory)",
			     what, path, strerror(-r));
		return r;
	}
	if (lstat(path, &ls) == 0 && S_ISLNK(ls.st_mode)) {
		persist__say(why, whylen, "%s %s is a symbolic link: refused, since anyone may "
			     "plant one (remove it, or name the real directory)", what, path);
		return -ELOOP;
	}
	fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			persist__say(why, whylen, "%s %s is a symbolic link: refused (remove it, or "
				     "name the real directory)", what, path);
		else if (r == -ENOTDIR)
			persist__say(why, whylen, "%s %s is not a directory (remove it, or choose "
				     "another directory)", what, path);
		else
			persist__say(why, whylen, "cannot use %s %s: %s", what, path, strerror(-r));
		return r;
	}
	r = resolved(fd, real, reallen);
	if (r < 0)
		persist__say(why, whylen, "cannot resolve %s %s: %s", what, path, strerror(-r));
	if (r == 0)
		r = check_private(fd, real, what, why, whylen);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int persist__statedir(struct persist_session *s, const char *dir, char *why, size_t whylen)
{
	char want[PATH_MAX];
	size_t len;
	int fd, n, r;

	if (dir && !*dir) {
		persist__say(why, whylen, "the state directory name is empty");
		return -EINVAL;
	}
	if (dir)
		r = snprintf(want, sizeof want, "%s", dir) >= (int)sizeof want ? -ENAMETOOLONG : 0;
	else
		r = persist_session_default_dir(want, sizeof want);
	if (r < 0) {
		persist__say(why, whylen, "state directory name too long: choose a shorter one");
		return r;
	}
	/* "link/" names what the link points to: without the slashes the
	 * link itself is what is looked at, and refused. */
	for (len = strlen(want); len > 1 && want[len - 1] == '/';)
		want[--len] = 0;
	fd = make_private(want, "state directory", s->dir, sizeof s->dir, why, whylen);
	if (fd < 0)
		return fd;
	close(fd);
	n = snprintf(s->sock, sizeof s->sock, "%s/sock", s->dir);
	if (n < 0 || (size_t)n >= sizeof s->sock) {
		persist__say(why, whylen, "state directory %s is too long for a unix socket path "
			     "(%zu bytes at most): choose a shorter one", s->dir, sizeof s->sock - 6);
		return -ENAMETOOLONG;
	}
	snprintf(s->db, sizeof s->db, "%s/state.db", s->dir);
	return 0;
}

int persist__logs_dir(struct persist_session *s, char *why, size_t whylen)
{
	char path[PATH_MAX + 8], real[PATH_MAX];
	int fd;

	if (s->far)
		return 0; /* made on the far host by the setup (session_ssh.c) */
	snprintf(path, sizeof path, "%s/logs", s->dir);
	fd = make_private(path, "log directory", real, sizeof real, why, whylen);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

PERSIST_EXPORT int persist_session_log_path(const struct persist_session *s, int64_t id,
					    int stream, char *buf, size_t len)
{
	int n;

	if (stream != 1 && stream != 2)
		return -EINVAL;
	n = snprintf(buf, len, "%s/logs/%lld.%s", s->far ? s->rdir : s->dir, (long long)id, stream == 1 ? "out" : "err");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
