// SPDX-License-Identifier: MIT
/* Child handles: waitid in the parent task, pidfds in the controller. */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include "internal.h"

HANDLE_EXPORT int handle_child_init(struct handle_child *c, struct handle_task *parent,
				    int pid)
{
	struct far_ns ours;
	long fd = -1;
	int r = far_ns_of(0, FAR_NS_PID, &ours);

	if (r < 0)
		return r;
	/* The pid is the parent's; it names the same process here only when
	 * the parent shares our pid namespace (a child of it is then in ours or
	 * below, and a pid from the parent's view equals ours). */
	if (far_ns_equal(&ours, &parent->pidns)) {
		fd = near_syscall2(__NR_pidfd_open, pid, 0);
		/* Without pidfds (Linux < 5.3, valgrind 3.19) the pid alone serves. */
		if (fd == -ENOSYS)
			fd = -1;
		else if (fd < 0)
			return (int)fd;
	}
	c->parent = parent;
	c->pid = pid;
	c->pidfd = (int)fd;
	c->reaped = 0;
	return 0;
}

HANDLE_EXPORT int handle_child_waitid(struct handle_child *c, const struct handle_ptr *infop,
				      int options)
{
	struct handle__call call = { c->parent, 0 };
	long r, info;
	int pid;

	if (c->reaped)
		return -ECHILD;
	info = handle__ptrarg(&call, infop, sizeof(siginfo_t));
	r = handle__run(&call, __NR_waitid, P_PID, c->pid, info, options, 0, 0);
	/* A transport failure is no answer of waitid's: the child may or may
	 * not have been reaped, and reaped stays as it was (see child.h). */
	if (r < 0 || (options & WNOWAIT) || !(options & WEXITED))
		return (int)r;
	/* Only a reported exit reaps; WNOHANG with nothing to say leaves 0.
	 * Without infop only a wait that could not return empty-handed
	 * says so. */
	if (!infop) {
		if (!(options & WNOHANG))
			c->reaped = 1;
		return 0;
	}
	r = handle_ptr_read(infop, c->parent, offsetof(siginfo_t, si_pid), &pid, sizeof pid);
	if (r < 0)
		return (int)r; /* the wait ran, but what it said is out of reach */
	if (pid == c->pid)
		c->reaped = 1;
	return 0;
}

HANDLE_EXPORT int handle_child_signal(struct handle_child *c, int sig)
{
	if (c->reaped)
		return -ESRCH;
	if (c->pidfd >= 0)
		return (int)near_syscall4(__NR_pidfd_send_signal, c->pidfd, sig, 0, 0);
	return (int)handle__sys(c->parent, __NR_kill, c->pid, sig, 0, 0);
}

HANDLE_EXPORT void handle_child_close(struct handle_child *c)
{
	if (c->pidfd >= 0)
		near_syscall1(__NR_close, c->pidfd);
	c->pidfd = -1;
}
