// SPDX-License-Identifier: MIT
/* Typed wrappers: files. */
#include <fcntl.h>
#include <sys/stat.h>
#include "internal.h"

HANDLE_EXPORT long handle_openat(struct handle_fd *out, struct handle_task *t,
				 const struct handle_fd *dirfd, const struct handle_ptr *path,
				 int flags, unsigned mode)
{
	struct handle__call c = { t, 0 };

	return handle__adopt(&c, handle__at(__NR_openat, t, dirfd, path, flags, mode), out);
}

HANDLE_EXPORT long handle_read(const struct handle_fd *fd, const struct handle_ptr *buf)
{
	return handle__fd_buf(__NR_read, fd, buf, 0, 0);
}

HANDLE_EXPORT long handle_write(const struct handle_fd *fd, const struct handle_ptr *buf)
{
	return handle__fd_buf(__NR_write, fd, buf, 0, 0);
}

HANDLE_EXPORT long handle_pread64(const struct handle_fd *fd, const struct handle_ptr *buf,
				  int64_t off)
{
	return handle__fd_buf(__NR_pread64, fd, buf, 0, off);
}

HANDLE_EXPORT long handle_pwrite64(const struct handle_fd *fd, const struct handle_ptr *buf,
				   int64_t off)
{
	return handle__fd_buf(__NR_pwrite64, fd, buf, 0, off);
}

HANDLE_EXPORT long handle_getdents64(const struct handle_fd *fd, const struct handle_ptr *buf)
{
	return handle__fd_buf(__NR_getdents64, fd, buf, 0, 0);
}

HANDLE_EXPORT long handle_fstat(const struct handle_fd *fd, const struct handle_ptr *buf)
{
	return handle__fd_ptr(__NR_fstat, fd, buf, sizeof(struct stat), 0);
}

HANDLE_EXPORT long handle_lseek(const struct handle_fd *fd, int64_t off, int whence)
{
	return handle__fd_int(__NR_lseek, fd, off, whence);
}

HANDLE_EXPORT long handle_fchmod(const struct handle_fd *fd, unsigned mode)
{
	return handle__fd_int(__NR_fchmod, fd, mode, 0);
}

HANDLE_EXPORT long handle_ftruncate(const struct handle_fd *fd, int64_t len)
{
	return handle__fd_int(__NR_ftruncate, fd, len, 0);
}

HANDLE_EXPORT long handle_fcntl(const struct handle_fd *fd, int cmd, long arg)
{
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return -EINVAL;
	return handle__fd_int(__NR_fcntl, fd, cmd, arg);
}

HANDLE_EXPORT long handle_dup(struct handle_fd *out, const struct handle_fd *fd, int flags)
{
	struct handle__call c = { fd ? fd->task : NULL, 0 };
	int cmd = flags & O_CLOEXEC ? F_DUPFD_CLOEXEC : F_DUPFD;

	return handle__adopt(&c, handle__fd_int(__NR_fcntl, fd, cmd, 0), out);
}

HANDLE_EXPORT long handle_dup3(const struct handle_fd *oldfd, const struct handle_fd *newfd,
			       int flags)
{
	struct handle__call c = { NULL, 0 };
	long o = handle__fdarg(&c, oldfd), n = handle__fdarg(&c, newfd);
	long r = handle__run(&c, __NR_dup3, o, n, flags, 0, 0, 0);

	return r < 0 ? r : 0;
}

HANDLE_EXPORT long handle_pipe2(struct handle_fd out[2], struct handle_task *t,
				const struct handle_ptr *scratch, int flags)
{
	struct handle__call c = { t, 0 };
	long p = handle__ptrarg(&c, scratch, 2 * sizeof(int));

	return handle__adopt_pair(&c, handle__run(&c, __NR_pipe2, p, flags, 0, 0, 0, 0),
				  scratch, out);
}

HANDLE_EXPORT long handle_statx(struct handle_task *t, const struct handle_fd *dirfd,
				const struct handle_ptr *path, int flags, unsigned mask,
				const struct handle_ptr *buf)
{
	struct handle__call c = { t, 0 };
	long d = handle__dirarg(&c, dirfd), p = handle__ptrarg(&c, path, 1);
	long b = handle__ptrarg(&c, buf, sizeof(struct statx));

	return handle__run(&c, __NR_statx, d, p, flags, mask, b, 0);
}

HANDLE_EXPORT long handle_mkdirat(struct handle_task *t, const struct handle_fd *dirfd,
				  const struct handle_ptr *path, unsigned mode)
{
	return handle__at(__NR_mkdirat, t, dirfd, path, mode, 0);
}

HANDLE_EXPORT long handle_unlinkat(struct handle_task *t, const struct handle_fd *dirfd,
				   const struct handle_ptr *path, int flags)
{
	return handle__at(__NR_unlinkat, t, dirfd, path, flags, 0);
}
