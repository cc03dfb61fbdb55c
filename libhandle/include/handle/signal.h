/* SPDX-License-Identifier: MIT */
/* Typed wrappers: signals (conventions in <handle/fs.h>).  Signal sets are
 * the kernel's: 8 bytes.  A kernel struct sigaction is handler, flags,
 * restorer, mask: HANDLE_KSIGACTION_SIZE bytes. */
#ifndef HANDLE_SIGNAL_H
#define HANDLE_SIGNAL_H

#include <handle/fd.h>
#include <handle/ptr.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HANDLE_SIGSET_SIZE 8
#define HANDLE_KSIGACTION_SIZE 32

/* set and oldset may be NULL. */
HANDLE_EXPORT long handle_rt_sigprocmask(struct handle_task *t, int how,
					 const struct handle_ptr *set,
					 const struct handle_ptr *oldset);
/* act and oldact may be NULL. */
HANDLE_EXPORT long handle_rt_sigaction(struct handle_task *t, int sig,
				       const struct handle_ptr *act,
				       const struct handle_ptr *oldact);
/* A new signalfd for mask. */
HANDLE_EXPORT long handle_signalfd4(struct handle_fd *out, struct handle_task *t,
				    const struct handle_ptr *mask, int flags);

#ifdef __cplusplus
}
#endif
#endif
