// SPDX-License-Identifier: MIT
/* Own a few fds of this process through handles, leak one on purpose, and
 * let the fd-table GC close it (and whatever else this process inherited
 * that nothing owns, e.g. a make jobserver's pipe). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <handle/handle.h>

int main(void)
{
	struct near_local_sysif ls;
	struct handle_task self;
	struct handle_fd stdio[3], p[2];
	int pair[2], leaked, closed, gone;
	char msg[] = "hi";
	struct handle_ptr scratch, buf;

	if (handle_task_init(&self, near_local_sysif_init(&ls), 0) < 0)
		return 1;
	for (int i = 0; i < 3; i++) /* the GC must leave stdio alone */
		if (handle_fd_adopt(&stdio[i], &self, i) < 0)
			return 1;
	handle_ptr_local(&scratch, &self, pair, sizeof pair);
	handle_ptr_local(&buf, &self, msg, sizeof msg);
	if (handle_pipe2(p, &self, &scratch, O_CLOEXEC) < 0 || handle_write(&p[1], &buf) != 3)
		return 1;
	leaked = open("/dev/null", O_RDONLY); /* nobody owns this one */
	closed = handle_fd_table_gc(&self, NULL);
	gone = fcntl(leaked, F_GETFD) < 0;
	printf("gc closed %d fd(s); fd %d %s\n", closed, leaked, gone ? "is gone" : "is still open");
	handle_fd_close(&p[0]);
	handle_fd_close(&p[1]);
	handle_task_close(&self); /* stdio stays open: closing a task closes nothing */
	return closed >= 1 && gone ? 0 : 1;
}
