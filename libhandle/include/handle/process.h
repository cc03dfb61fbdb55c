/* SPDX-License-Identifier: MIT */
/* Typed wrappers: processes (conventions in <handle/fs.h>).  Pids are in
 * the task's own pid namespace, as the kernel takes them there. */
#ifndef HANDLE_PROCESS_H
#define HANDLE_PROCESS_H

#include <handle/fd.h>
#include <handle/ptr.h>

#ifdef __cplusplus
extern "C" {
#endif

HANDLE_EXPORT long handle_getpid(struct handle_task *t);
HANDLE_EXPORT long handle_getppid(struct handle_task *t);
HANDLE_EXPORT long handle_gettid(struct handle_task *t);
HANDLE_EXPORT long handle_setsid(struct handle_task *t);
HANDLE_EXPORT long handle_setpgid(struct handle_task *t, int pid, int pgid);
/* Pointer arguments are raw task addresses: see handle_ptr_addr. */
HANDLE_EXPORT long handle_prctl(struct handle_task *t, int option, unsigned long a2,
				unsigned long a3, unsigned long a4, unsigned long a5);
/* Returns: 0; kill's -errno; a transport error when near_sysif_failed
 * (t->sysif) < 0 (-ENOTCONN: not sent; otherwise it may have been sent). */
HANDLE_EXPORT long handle_kill(struct handle_task *t, int pid, int sig);
HANDLE_EXPORT long handle_pidfd_open(struct handle_fd *out, struct handle_task *t, int pid,
				     unsigned flags);
/* info (a siginfo_t) may be NULL. */
HANDLE_EXPORT long handle_pidfd_send_signal(const struct handle_fd *pidfd, int sig,
					    const struct handle_ptr *info, unsigned flags);
/* out: an owned handle in pidfd's task for fd targetfd of the process. */
HANDLE_EXPORT long handle_pidfd_getfd(struct handle_fd *out, const struct handle_fd *pidfd,
				      int targetfd, unsigned flags);
/* infop: a siginfo_t; reaping here is unknown to any struct handle_child.
 * Returns: 0; waitid's -errno; a transport error when near_sysif_failed
 * (t->sysif) < 0: the wait may have run and reaped (unless -ENOTCONN). */
HANDLE_EXPORT long handle_waitid(struct handle_task *t, int idtype, int id,
				 const struct handle_ptr *infop, int options);
/* args: a struct clone_args, its size the pointer's.  Returns the child's
 * pid in t's pid namespace, and 0 in the child, which goes on from the
 * syscall in t's code: record it with handle_task_init_child. */
HANDLE_EXPORT long handle_clone3(struct handle_task *t, const struct handle_ptr *args);
/* argv and envp are NULL-terminated arrays of task addresses (NULL: none).
 * A successful execve gives t a new address space identity, so pointers
 * into the old one are refused.  Handles of O_CLOEXEC fds are stale then. */
HANDLE_EXPORT long handle_execve(struct handle_task *t, const struct handle_ptr *path,
				 const struct handle_ptr *argv, const struct handle_ptr *envp);
HANDLE_EXPORT long handle_execveat(struct handle_task *t, const struct handle_fd *dirfd,
				   const struct handle_ptr *path, const struct handle_ptr *argv,
				   const struct handle_ptr *envp, int flags);
/* exit(2) of the task (its thread); a remote sysif reports the hangup. */
HANDLE_EXPORT long handle_exit(struct handle_task *t, int status);
HANDLE_EXPORT long handle_chdir(struct handle_task *t, const struct handle_ptr *path);
HANDLE_EXPORT long handle_fchdir(const struct handle_fd *fd);
HANDLE_EXPORT long handle_umask(struct handle_task *t, unsigned mask);
/* CLONE_FILES is refused (-EINVAL): handle_task_unshare_files keeps the fd
 * table records right. */
HANDLE_EXPORT long handle_unshare(struct handle_task *t, int flags);
HANDLE_EXPORT long handle_setns(const struct handle_fd *fd, int nstype);

#ifdef __cplusplus
}
#endif
#endif
