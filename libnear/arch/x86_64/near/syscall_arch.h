/* SPDX-License-Identifier: MIT */
/* Raw x86_64 system calls.  Kept free of errno and TLS so that a CLONE_VM
 * child sharing its parent's thread pointer can call them safely. */
#ifndef NEAR_SYSCALL_ARCH_H
#define NEAR_SYSCALL_ARCH_H

#define NEAR_ARCH_NAME "x86_64"
#define NEAR_ARCH_ID 1

static inline long near__syscall6(long n, long a, long b, long c, long d,
				  long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10),
			       "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

#endif
