// SPDX-License-Identifier: MIT
/* Typed wrappers: signals. */
#include "internal.h"

HANDLE_EXPORT long handle_rt_sigprocmask(struct handle_task *t, int how,
					 const struct handle_ptr *set,
					 const struct handle_ptr *oldset)
{
	struct handle__call c = { t, 0 };
	long s = handle__ptrarg(&c, set, HANDLE_SIGSET_SIZE);
	long o = handle__ptrarg(&c, oldset, HANDLE_SIGSET_SIZE);

	return handle__run(&c, __NR_rt_sigprocmask, how, s, o, HANDLE_SIGSET_SIZE, 0, 0);
}

HANDLE_EXPORT long handle_rt_sigaction(struct handle_task *t, int sig,
				       const struct handle_ptr *act,
				       const struct handle_ptr *oldact)
{
	struct handle__call c = { t, 0 };
	long a = handle__ptrarg(&c, act, HANDLE_KSIGACTION_SIZE);
	long o = handle__ptrarg(&c, oldact, HANDLE_KSIGACTION_SIZE);

	return handle__run(&c, __NR_rt_sigaction, sig, a, o, HANDLE_SIGSET_SIZE, 0, 0);
}

HANDLE_EXPORT long handle_signalfd4(struct handle_fd *out, struct handle_task *t,
				    const struct handle_ptr *mask, int flags)
{
	struct handle__call c = { t, 0 };
	long m = handle__ptrarg(&c, mask, HANDLE_SIGSET_SIZE);
	long r = handle__run(&c, __NR_signalfd4, -1, m, HANDLE_SIGSET_SIZE, flags, 0, 0);

	return handle__adopt(&c, r, out);
}
