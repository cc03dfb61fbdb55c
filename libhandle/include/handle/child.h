/* SPDX-License-Identifier: MIT */
/* Child handles: a child process of a task, by pid and, when the child is
 * in the controller's pid namespace, by a pidfd held in the CONTROLLER's own
 * process, so the controller's event loop can poll it (POLLIN: the child
 * exited) without a remote epoll.  A child in another pid namespace has no
 * pidfd (pidfd is -1), nor has any child where pidfd_open is missing
 * (Linux < 5.3; valgrind 3.19): waiting still works through the parent, and
 * signals go through kill in the parent. */
#ifndef HANDLE_CHILD_H
#define HANDLE_CHILD_H

#include <handle/ptr.h>

#ifdef __cplusplus
extern "C" {
#endif

struct handle_child {
	struct handle_task *parent; /* where waitid runs */
	int pid;    /* in the parent's pid namespace */
	int pidfd;  /* in the controller; -1 if none */
	int reaped; /* waited for without WNOWAIT: the pid may be reused */
};

/* Start tracking child pid (as parent sees it: what clone3 returned there)
 * of task parent.  Returns: 0; -errno from pidfd_open (-ESRCH: no such
 * process; -ENOSYS is not an error, it leaves pidfd -1). */
HANDLE_EXPORT int handle_child_init(struct handle_child *c, struct handle_task *parent,
				    int pid);

/* waitid(P_PID, pid, infop, options) in the parent task.  infop is parent
 * memory for a siginfo_t (128 bytes).  With WEXITED and without WNOWAIT a
 * reported exit reaps the child: later waits return -ECHILD and signals
 * -ESRCH, since the pid is free for reuse.
 * infop may be NULL; then only a wait without WNOHANG marks the child
 * reaped.
 * Returns: 0 (with WNOHANG and nothing to report, si_pid is 0); -ECHILD;
 * -EXDEV/-EFAULT for a bad infop; waitid's -errno; a transport error when
 * the parent's sysif failed (near_sysif_failed(c->parent->sysif) < 0):
 * then nothing is known of the wait (unless -ENOTCONN: it did not run),
 * and a wait that may have reaped the child does not mark it reaped, so
 * do not trust the pid to be the child's: signal through the pidfd. */
HANDLE_EXPORT int handle_child_waitid(struct handle_child *c, const struct handle_ptr *infop,
				      int options);

/* Send sig through the pidfd (pidfd_send_signal, no pid reuse race), or
 * without a pidfd through kill in the parent.
 * Returns: 0; -ESRCH once reaped or gone; the syscall's -errno; through
 * kill, a transport error when the parent's sysif failed
 * (near_sysif_failed < 0: the signal may or may not have been sent). */
HANDLE_EXPORT int handle_child_signal(struct handle_child *c, int sig);

/* Close the controller's pidfd; the child is not touched.  Returns: nothing. */
HANDLE_EXPORT void handle_child_close(struct handle_child *c);

#ifdef __cplusplus
}
#endif
#endif
