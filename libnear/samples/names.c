// SPDX-License-Identifier: MIT
/* Print this process's pid with a raw syscall, and a syscall's name. */
#include <stdio.h>
#include <near/syscall.h>

int main(void)
{
	long nr = near_syscall_number("getpid");
	long pid = near_syscall0(nr);

	printf("%s() = %ld (syscall %ld on %s)\n", near_syscall_name(nr), pid,
	       nr, near_arch_name());
	return pid > 0 ? 0 : 1;
}
