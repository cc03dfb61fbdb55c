// SPDX-License-Identifier: MIT
/* A program outside the tree that uses libnear alone: it includes only
 * libnear's public headers and is built with nothing but
 * `pkg-config --cflags --libs libnear` (or --static). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <near/syscall.h>
#include <near/proto.h>
#include <near/sysif.h>
#include <near/types.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "libnear-consumer: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); return 1; } } while (0)

int main(void)
{
	long nr = near_syscall_number("getpid");
	CHECK(nr == SYS_getpid);
	CHECK(strcmp(near_syscall_name(nr), "getpid") == 0);
	CHECK(near_syscall_number("no_such_syscall") == -ENOENT);
	CHECK(near_syscall0(nr) == getpid());                   /* inline asm */
	CHECK(near_syscall(nr, 0, 0, 0, 0, 0, 0) == getpid()); /* out of line */
	CHECK(strcmp(near_errno_name(-ENOENT), "ENOENT") == 0);
	CHECK(near_errno_number("EBADF") == EBADF);
	CHECK(near_syscall_count() > 100);

	/* A hello of another magic is refused, and says why. */
	struct near_hello h;
	char why[128] = "";
	memset(&h, 0, sizeof h);
	CHECK(near_hello_check(&h, why, sizeof why) == -EPROTO && why[0]);

	printf("libnear-consumer: getpid() = %ld through syscall %ld (%s) on %s; %u syscalls named\n",
	       near_syscall0(nr), nr, near_syscall_name(nr), near_arch_name(), near_syscall_count());
	return 0;
}
