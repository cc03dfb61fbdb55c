// SPDX-License-Identifier: MIT
/* Typed wrappers: processes. */
#include <sched.h>
#include <signal.h>
#include <linux/sched.h>
#include "internal.h"

HANDLE_EXPORT long handle_getpid(struct handle_task *t)
{
	return handle__sys(t, __NR_getpid, 0, 0, 0, 0);
}

HANDLE_EXPORT long handle_getppid(struct handle_task *t)
{
	return handle__sys(t, __NR_getppid, 0, 0, 0, 0);
}

HANDLE_EXPORT long handle_gettid(struct handle_task *t)
{
	return handle__sys(t, __NR_gettid, 0, 0, 0, 0);
}

HANDLE_EXPORT long handle_setsid(struct handle_task *t)
{
	return handle__sys(t, __NR_setsid, 0, 0, 0, 0);
}

HANDLE_EXPORT long handle_setpgid(struct handle_task *t, int pid, int pgid)
{
	return handle__sys(t, __NR_setpgid, pid, pgid, 0, 0);
}

HANDLE_EXPORT long handle_prctl(struct handle_task *t, int option, unsigned long a2,
				unsigned long a3, unsigned long a4, unsigned long a5)
{
	return handle__checked(t, near_sysif_syscall(t->sysif, __NR_prctl, option, (long)a2,
						     (long)a3, (long)a4, (long)a5, 0));
}

HANDLE_EXPORT long handle_kill(struct handle_task *t, int pid, int sig)
{
	return handle__sys(t, __NR_kill, pid, sig, 0, 0);
}

HANDLE_EXPORT long handle_umask(struct handle_task *t, unsigned mask)
{
	return handle__sys(t, __NR_umask, mask, 0, 0, 0);
}

HANDLE_EXPORT long handle_exit(struct handle_task *t, int status)
{
	return handle__sys(t, __NR_exit, status, 0, 0, 0);
}

HANDLE_EXPORT long handle_unshare(struct handle_task *t, int flags)
{
	if (flags & CLONE_FILES)
		return -EINVAL;
	return handle__sys(t, __NR_unshare, flags, 0, 0, 0);
}

HANDLE_EXPORT long handle_chdir(struct handle_task *t, const struct handle_ptr *path)
{
	struct handle__call c = { t, 0 };
	long p = handle__ptrarg(&c, path, 1);

	return handle__run(&c, __NR_chdir, p, 0, 0, 0, 0, 0);
}

HANDLE_EXPORT long handle_fchdir(const struct handle_fd *fd)
{
	return handle__fd_int(__NR_fchdir, fd, 0, 0);
}

HANDLE_EXPORT long handle_setns(const struct handle_fd *fd, int nstype)
{
	return handle__fd_int(__NR_setns, fd, nstype, 0);
}

HANDLE_EXPORT long handle_pidfd_open(struct handle_fd *out, struct handle_task *t, int pid,
				     unsigned flags)
{
	struct handle__call c = { t, 0 };

	return handle__adopt(&c, handle__sys(t, __NR_pidfd_open, pid, flags, 0, 0), out);
}

HANDLE_EXPORT long handle_pidfd_send_signal(const struct handle_fd *pidfd, int sig,
					    const struct handle_ptr *info, unsigned flags)
{
	struct handle__call c = { NULL, 0 };
	long n = handle__fdarg(&c, pidfd), i = handle__ptrarg(&c, info, sizeof(siginfo_t));

	return handle__run(&c, __NR_pidfd_send_signal, n, sig, i, flags, 0, 0);
}

HANDLE_EXPORT long handle_pidfd_getfd(struct handle_fd *out, const struct handle_fd *pidfd,
				      int targetfd, unsigned flags)
{
	struct handle__call c = { pidfd ? pidfd->task : NULL, 0 };

	return handle__adopt(&c, handle__fd_int(__NR_pidfd_getfd, pidfd, targetfd, flags), out);
}

HANDLE_EXPORT long handle_waitid(struct handle_task *t, int idtype, int id,
				 const struct handle_ptr *infop, int options)
{
	struct handle__call c = { t, 0 };
	long i = handle__ptrarg(&c, infop, sizeof(siginfo_t));

	return handle__run(&c, __NR_waitid, idtype, id, i, options, 0, 0);
}

HANDLE_EXPORT long handle_clone3(struct handle_task *t, const struct handle_ptr *args)
{
	struct handle__call c = { t, 0 };
	long a = handle__ptrarg(&c, args, CLONE_ARGS_SIZE_VER0);

	return handle__run(&c, __NR_clone3, a, args ? (long)args->size : 0, 0, 0, 0, 0);
}

/* dirfd NULL and flags -1 make it execve rather than execveat.  After a
 * successful exec the old address space is gone: pointers into it must be
 * refused from now on. */
static long exec(struct handle_task *t, const struct handle_fd *dirfd,
		 const struct handle_ptr *path, const struct handle_ptr *argv,
		 const struct handle_ptr *envp, int flags)
{
	struct handle__call c = { t, 0 };
	long d = handle__dirarg(&c, dirfd), p = handle__ptrarg(&c, path, 1);
	long a = handle__ptrarg(&c, argv, sizeof(uint64_t));
	long e = handle__ptrarg(&c, envp, sizeof(uint64_t));
	long r = flags < 0 ? handle__run(&c, __NR_execve, p, a, e, 0, 0, 0)
			   : handle__run(&c, __NR_execveat, d, p, a, e, flags, 0);

	if (r == 0) {
		far_address_space_init(&t->as, t->pid);
		t->local_ = -1;
	}
	return r;
}

HANDLE_EXPORT long handle_execveat(struct handle_task *t, const struct handle_fd *dirfd,
				   const struct handle_ptr *path, const struct handle_ptr *argv,
				   const struct handle_ptr *envp, int flags)
{
	return flags < 0 ? -EINVAL : exec(t, dirfd, path, argv, envp, flags);
}

HANDLE_EXPORT long handle_execve(struct handle_task *t, const struct handle_ptr *path,
				 const struct handle_ptr *argv, const struct handle_ptr *envp)
{
	return exec(t, NULL, path, argv, envp, -1);
}
