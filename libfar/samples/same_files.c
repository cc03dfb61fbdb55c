// SPDX-License-Identifier: MIT
/* Does a forked child share our fd table?  (No: fork copies it.) */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <far/far.h>

int main(void)
{
	struct far_fd_table t;
	pid_t child = fork();
	int r;

	if (child == 0) {
		pause();
		_exit(0);
	}
	far_fd_table_init(&t, getpid());
	r = far_fd_table_check(&t, child);
	printf("child %d %s our fd table\n", child, r == 0 ? "shares" : "does not share");
	kill(child, 9);
	waitpid(child, NULL, 0);
	return r == -EXDEV ? 0 : 1;
}
