// SPDX-License-Identifier: MIT
/* A program outside the tree that uses libfar: it includes only <far/far.h>
 * (which brings the libnear types libfar.pc requires) and is built with
 * nothing but `pkg-config --cflags --libs libfar` (or --static). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <far/far.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "libfar-consumer: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); if (child > 0) kill(child, SIGKILL); return 1; } } while (0)

int main(void)
{
	pid_t child = -1;
	struct far_ns self, mine;
	struct far_fd_table t;

	CHECK(far_ns_of(0, FAR_NS_PID, &self) == 0);
	CHECK(far_ns_of(getpid(), FAR_NS_PID, &mine) == 0);
	CHECK(far_ns_equal(&self, &mine) == 1);
	CHECK(strcmp(far_ns_name(FAR_NS_NET), "net") == 0);

	/* A forked child has a copy of our fd table, not ours: -EXDEV. */
	CHECK(far_fd_table_init(&t, getpid()) == 0);
	CHECK(far_fd_table_check(&t, getpid()) == 0);
	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	int r = far_fd_table_check(&t, child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK(r == -EXDEV);

	/* A far fd of our table converts to its near fd here, and nowhere else. */
	struct far_fd_table other = t;
	other.id++;
	struct far_fd fd = { &t, { 1 } };
	struct near_fd out;
	CHECK(far_fd_to_near(&fd, &t, &out) == 0 && out.fd == 1);
	CHECK(far_fd_to_near(&fd, &other, &out) == -EXDEV);

	printf("libfar-consumer: pid namespace %llu:%llu; a forked child's fd table is not ours (-EXDEV)\n",
	       (unsigned long long)self.dev, (unsigned long long)self.ino);
	return 0;
}
