/* SPDX-License-Identifier: MIT */
/* Typed wrappers: files.  Each runs one syscall in a task through its sysif.
 *
 * Conventions for every wrapper of this library (fs.h, socket.h,
 * process.h, memory.h, signal.h, epoll.h):
 *  - An fd argument is a handle: the syscall runs in the handle's task.
 *    Invalid: -EBADF.  Two fds (or a task and a dirfd) of other tables: -EXDEV.
 *  - A dirfd may be NULL, meaning AT_FDCWD.
 *  - Memory is a struct handle_ptr in the task's address space (-EXDEV
 *    otherwise); buffers are used whole (slice them with handle_ptr_slice),
 *    and one smaller than the syscall needs is -EFAULT.  Paths must hold
 *    their NUL inside the pointer's range.
 *  - A new fd comes back as an owned handle in *out, and the call returns 0;
 *    otherwise the return value is the syscall's result.
 *  - Returns: the syscall's result or -errno, as the kernel gives it; or,
 *    when the task's sysif failed to carry the call or its answer, the
 *    transport's error (near_sysif_failed(task->sysif) < 0 then says so,
 *    e.g. -ENOTCONN: not run; -ECONNRESET: may have run): a negative result
 *    while the sysif has failed is always reported as the transport's. */
#ifndef HANDLE_FS_H
#define HANDLE_FS_H

#include <handle/fd.h>
#include <handle/ptr.h>

#ifdef __cplusplus
extern "C" {
#endif

HANDLE_EXPORT long handle_openat(struct handle_fd *out, struct handle_task *t,
				 const struct handle_fd *dirfd, const struct handle_ptr *path,
				 int flags, unsigned mode);
/* close is handle_fd_close (refused while other handles own the fd). */
static inline long handle_close(struct handle_fd *fd)
{
	return handle_fd_close(fd);
}
HANDLE_EXPORT long handle_read(const struct handle_fd *fd, const struct handle_ptr *buf);
HANDLE_EXPORT long handle_write(const struct handle_fd *fd, const struct handle_ptr *buf);
HANDLE_EXPORT long handle_pread64(const struct handle_fd *fd, const struct handle_ptr *buf,
				  int64_t off);
HANDLE_EXPORT long handle_pwrite64(const struct handle_fd *fd, const struct handle_ptr *buf,
				   int64_t off);
HANDLE_EXPORT long handle_lseek(const struct handle_fd *fd, int64_t off, int whence);
/* buf holds a struct stat. */
HANDLE_EXPORT long handle_fstat(const struct handle_fd *fd, const struct handle_ptr *buf);
/* buf holds a struct statx. */
HANDLE_EXPORT long handle_statx(struct handle_task *t, const struct handle_fd *dirfd,
				const struct handle_ptr *path, int flags, unsigned mask,
				const struct handle_ptr *buf);
/* F_DUPFD and F_DUPFD_CLOEXEC are refused (-EINVAL): use handle_dup, which
 * returns an owned handle. */
HANDLE_EXPORT long handle_fcntl(const struct handle_fd *fd, int cmd, long arg);
/* A new fd for fd's file (F_DUPFD, or F_DUPFD_CLOEXEC when flags holds
 * O_CLOEXEC). */
HANDLE_EXPORT long handle_dup(struct handle_fd *out, const struct handle_fd *fd, int flags);
/* newfd's number now refers to oldfd's file; newfd and its co-owners keep
 * owning it.  Returns 0 on success. */
HANDLE_EXPORT long handle_dup3(const struct handle_fd *oldfd, const struct handle_fd *newfd,
			       int flags);
/* out[0] is the read end.  scratch: 8 bytes of task memory for the pair. */
HANDLE_EXPORT long handle_pipe2(struct handle_fd out[2], struct handle_task *t,
				const struct handle_ptr *scratch, int flags);
HANDLE_EXPORT long handle_getdents64(const struct handle_fd *fd, const struct handle_ptr *buf);
HANDLE_EXPORT long handle_mkdirat(struct handle_task *t, const struct handle_fd *dirfd,
				  const struct handle_ptr *path, unsigned mode);
HANDLE_EXPORT long handle_unlinkat(struct handle_task *t, const struct handle_fd *dirfd,
				   const struct handle_ptr *path, int flags);
HANDLE_EXPORT long handle_fchmod(const struct handle_fd *fd, unsigned mode);
HANDLE_EXPORT long handle_ftruncate(const struct handle_fd *fd, int64_t len);

#ifdef __cplusplus
}
#endif
#endif
