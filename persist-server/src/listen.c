// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <pserver/pserver.h>

static int check_dir(const char *path, char *why, size_t whylen)
{
	/* pserver_listen has checked that path fits a socket address.  No
	 * snprintf and no PATH_MAX buffer: their stack would stay two pages
	 * of every idle server (README, "Benchmarks"). */
	char copy[sizeof ((struct sockaddr_un *)0)->sun_path];
	size_t len = strlen(path);
	const char *dir;
	struct stat st;

	if (len >= sizeof copy)
		return -ENAMETOOLONG;
	memcpy(copy, path, len + 1);
	dir = dirname(copy);
	if (stat(dir, &st) < 0) {
		int e = errno;
		snprintf(why, whylen, "directory %s of the socket: %s; create it with mode 0700",
			 dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s is not a directory", dir);
		return -ENOTDIR;
	}
	/* Anyone who can enter the directory could replace the socket. */
	if ((st.st_mode & 077) || st.st_uid != geteuid()) {
		snprintf(why, whylen,
			 "directory %s of the socket has mode %04o and owner uid %u; "
			 "it must have mode 0700 and belong to uid %u (chmod 0700 %s)",
			 dir, st.st_mode & 07777, st.st_uid, geteuid(), dir);
		return -EPERM;
	}
	return 0;
}

/* A socket file may be left by a server that died: remove it only if no one
 * answers on it. */
static int clear_stale(const struct sockaddr_un *sa, char *why, size_t whylen)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, whylen, "%s exists and is not a socket; remove it or choose another path",
			 sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
	close(fd);
	if (r == 0) {
		snprintf(why, whylen, "a server is already listening on %s", sa->sun_path);
		return -EADDRINUSE;
	}
	return unlink(sa->sun_path) < 0 ? -errno : 0;
}

int pserver_listen(const char *path, char *why, size_t whylen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(why, whylen, "socket path is longer than %zu bytes: %s",
			 sizeof sa.sun_path - 1, path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = check_dir(path, why, whylen);
	if (r < 0)
		return r;
	r = clear_stale(&sa, why, whylen);
	if (r < 0) {
		if (!why[0])
			snprintf(why, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177); /* the socket is born 0600: no window for others */
	r = bind(fd, (const struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot listen on %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}
