/* SPDX-License-Identifier: MIT */
/* The few syscalls the server loop makes itself, as raw inline syscalls.
 * The loop may include kernel and libc *headers* for constants and struct
 * layouts, but must not call into libc (make check proves it). */
#ifndef PSERVER_SYS_H
#define PSERVER_SYS_H

#include <asm/unistd.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <near/syscall.h>

#define L(x) ((long)(x))

static inline long sys_recv(int fd, void *buf, size_t len, int flags)
{
	return near_syscall6(__NR_recvfrom, fd, L(buf), L(len), flags, 0, 0);
}
static inline long sys_send(int fd, const void *buf, size_t len, int flags)
{
	return near_syscall6(__NR_sendto, fd, L(buf), L(len), flags, 0, 0);
}
static inline long sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
	return near_syscall3(__NR_sendmsg, fd, L(m), flags);
}
static inline long sys_close(int fd)
{
	return near_syscall1(__NR_close, fd);
}
static inline long sys_accept(int fd)
{
	return near_syscall4(__NR_accept4, fd, 0, 0, SOCK_CLOEXEC);
}
/* ppoll with an optional timeout (NULL: none). */
static inline long sys_ppoll(struct pollfd *fds, unsigned n, const struct timespec *ts)
{
	return near_syscall6(__NR_ppoll, L(fds), n, L(ts), 0, 8, 0);
}
static inline long sys_peercred(int fd, struct ucred *cred)
{
	socklen_t len = sizeof *cred;
	return near_syscall6(__NR_getsockopt, fd, SOL_SOCKET, SO_PEERCRED,
			     L(cred), L(&len), 0);
}
/* Copy into our own memory with the kernel checking the destination, so a
 * bad address from the controller is an -EFAULT, never a crash.  Access to
 * one's own pid is always permitted (no ptrace check applies). */
static inline long sys_copy_to(int pid, void *dst, const void *src, size_t len)
{
	struct iovec local = { (void *)src, len }, remote = { dst, len };
	return near_syscall6(__NR_process_vm_writev, pid, L(&local), 1,
			     L(&remote), 1, 0);
}

/* The executor, and where the loop has the kernel access len bytes at a
 * controller's address addr.  The fuzzing build (tests/fuzz,
 * -DPSERVER_FUZZ) routes both to its harness, so no fuzzed syscall ever
 * runs and only the harness's sandbox can be written; in this build they
 * are the raw syscall and addr itself. */
#ifdef PSERVER_FUZZ
#include <stdint.h>
long pserver_fuzz_exec(long nr, long a, long b, long c, long d, long e, long f);
uintptr_t pserver_fuzz_addr(uint64_t addr, uint64_t len);
#define sys_executor6 pserver_fuzz_exec
#define CTL_ADDR(addr, len) pserver_fuzz_addr(addr, len)
#else
#define sys_executor6 near_syscall6
#define CTL_ADDR(addr, len) ((uintptr_t)(addr))
#endif

#endif
