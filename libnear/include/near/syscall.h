/* SPDX-License-Identifier: MIT */
/* Raw system calls and the names of syscalls and errno values.
 *
 * The near_syscallN() calls are inline assembly: they never touch errno or
 * thread-local storage, so they are safe in a CLONE_VM child that shares the
 * caller's thread pointer.  Every call returns the kernel's raw result: a
 * non-negative value on success, -errno on failure. */
#ifndef NEAR_SYSCALL_H
#define NEAR_SYSCALL_H

#include <near/syscall_arch.h>
#include <near/export.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline long near_syscall6(long nr, long a, long b, long c, long d,
				 long e, long f)
{
	return near__syscall6(nr, a, b, c, d, e, f);
}
static inline long near_syscall0(long nr)
{
	return near__syscall6(nr, 0, 0, 0, 0, 0, 0);
}
static inline long near_syscall1(long nr, long a)
{
	return near__syscall6(nr, a, 0, 0, 0, 0, 0);
}
static inline long near_syscall2(long nr, long a, long b)
{
	return near__syscall6(nr, a, b, 0, 0, 0, 0);
}
static inline long near_syscall3(long nr, long a, long b, long c)
{
	return near__syscall6(nr, a, b, c, 0, 0, 0);
}
static inline long near_syscall4(long nr, long a, long b, long c, long d)
{
	return near__syscall6(nr, a, b, c, d, 0, 0);
}

/* Out-of-line raw syscall, for callers that need a function address.
 * Returns: the kernel's result, -errno on failure. */
NEAR_EXPORT long near_syscall(long nr, long a, long b, long c, long d, long e,
			      long f);

/* Start a child that runs fn(arg) on stack (the highest address of the
 * region; it is aligned down to 16 bytes) and exits with fn's return value.
 * flags are clone(2) flags (e.g. CLONE_VM | SIGCHLD).  The child touches no
 * libc and no TLS, so CLONE_VM without CLONE_SETTLS is safe as long as fn
 * itself keeps to raw syscalls.
 * Returns: the child's pid in the parent, -errno on failure. */
NEAR_EXPORT long near_clone(unsigned long flags, void *stack,
			    int (*fn)(void *), void *arg);

/* Name of syscall nr on this architecture ("openat"), from tables generated
 * at build time from the kernel headers.
 * Returns: a static string, or NULL if nr is not a syscall here. */
NEAR_EXPORT const char *near_syscall_name(long nr);

/* Number of the syscall called name ("openat"; a "SYS_" or "__NR_" prefix is
 * accepted).  Returns: the number (>= 0), or -ENOENT if there is none. */
NEAR_EXPORT long near_syscall_number(const char *name);

/* Name of an errno value ("ENOENT"); err may be positive or negative.
 * Returns: a static string, or NULL if the value has no name. */
NEAR_EXPORT const char *near_errno_name(long err);

/* Value of an errno name ("ENOENT", or an alias such as "EWOULDBLOCK").
 * Returns: the positive value, or -ENOENT if the name is unknown. */
NEAR_EXPORT int near_errno_number(const char *name);

/* Number of syscalls in the generated table.  Returns: the count. */
NEAR_EXPORT unsigned near_syscall_count(void);

/* Returns: the name of the architecture this library was built for. */
NEAR_EXPORT const char *near_arch_name(void);

#ifdef __cplusplus
}
#endif
#endif
