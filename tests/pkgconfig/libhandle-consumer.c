// SPDX-License-Identifier: MIT
/* A program outside the tree that uses libhandle: it includes only
 * <handle/handle.h> (which brings the libnear and libfar types libhandle.pc
 * requires) and is built with nothing but `pkg-config --cflags --libs
 * libhandle libnear` (or --static): libnear is on the line because the
 * program calls near_local_sysif_init itself.  A task for the calling
 * process opens /dev/null through handle_openat; the handle's ownership
 * decides when the fd is closed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <handle/handle.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "libhandle-consumer: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); return 1; } } while (0)

int main(void)
{
	struct near_local_sysif ls;
	struct handle_task self;
	struct handle_fd fd, other, again;
	struct handle_ptr path;
	char devnull[] = "/dev/null";
	struct stat st, want;

	CHECK(handle_task_init(&self, near_local_sysif_init(&ls), 0) == 0);
	CHECK(handle_ptr_local(&path, &self, devnull, sizeof devnull) == 0);
	CHECK(handle_openat(&fd, &self, NULL, &path, O_RDONLY | O_CLOEXEC, 0) == 0);
	CHECK(handle_fd_valid(&fd) && fd.task == &self);
	/* A real fd of this process, and it is /dev/null. */
	CHECK(fstat(fd.fd, &st) == 0 && stat(devnull, &want) == 0);
	CHECK(S_ISCHR(st.st_mode) && st.st_rdev == want.st_rdev);
	int n = fd.fd;

	/* Two owners: closing through one is refused, nothing is closed. */
	CHECK(handle_fd_adopt(&again, &self, n) == -EEXIST);
	CHECK(handle_fd_for_task(&other, &fd, &self) == 0);
	CHECK(handle_fd_refs(&fd) == 2);
	CHECK(handle_fd_close(&fd) == -EBUSY);
	CHECK(fcntl(n, F_GETFD) >= 0);
	/* Dropping the other owner leaves the fd open; then the last closes it. */
	CHECK(handle_fd_invalidate(&other) == 0 && !handle_fd_valid(&other));
	CHECK(fcntl(n, F_GETFD) >= 0 && handle_fd_refs(&fd) == 1);
	CHECK(handle_fd_close(&fd) == 0);
	CHECK(fcntl(n, F_GETFD) == -1 && errno == EBADF);
	/* An invalid handle is -EBADF, never a crash. */
	CHECK(!handle_fd_valid(&fd) && handle_fd_close(&fd) == -EBADF);

	handle_task_close(&self);
	printf("libhandle-consumer: opened /dev/null as fd %d through handle_openat in pid %d; "
	       "refused to close it with two owners (-EBUSY), closed it with the last\n",
	       n, (int)getpid());
	return 0;
}
