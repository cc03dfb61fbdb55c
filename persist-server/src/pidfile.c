// SPDX-License-Identifier: MIT
/* --pidfile, as libbsd's pidfile(3) does it (the file is locked while the
 * server runs, so a second server on it is refused and names the first),
 * without linking libbsd into the server. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "pidfile.h"

int pidfile_claim(struct pidfile *pf, const char *path, int *other)
{
	char buf[32];
	ssize_t n;
	int fd, err;

	*other = -1;
	if (!(pf->path = strdup(path)))
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0)
		goto fail;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			/* Its owner may not have written it yet: a pid or -1. */
			int rfd = open(path, O_RDONLY | O_CLOEXEC);
			n = rfd >= 0 ? read(rfd, buf, sizeof buf - 1) : -1;
			buf[n > 0 ? n : 0] = '\0';
			*other = n > 0 ? atoi(buf) : -1;
			if (rfd >= 0)
				close(rfd);
			errno = EEXIST;
		}
		goto fail;
	}
	pf->fd = fd;
	return 0;
fail:
	err = -errno;
	if (fd >= 0)
		close(fd);
	free(pf->path);
	pf->path = NULL;
	pf->fd = -1;
	return err;
}

int pidfile_put(struct pidfile *pf)
{
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%d\n", (int)getpid());

	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, buf, (size_t)len, 0) != len)
		return -errno;
	return 0;
}

void pidfile_drop(struct pidfile *pf)
{
	if (pf->fd < 0)
		return;
	unlink(pf->path);
	close(pf->fd);
	free(pf->path);
	pf->path = NULL;
	pf->fd = -1;
}
