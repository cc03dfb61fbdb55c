// SPDX-License-Identifier: MIT
/* Sessions on a listening socket: a peer whose uid is not allowed gets a
 * hello that refuses it with a reason, then end of file.  (That the server
 * goes on serving allowed peers is tested end to end in tests/.) */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <pserver/pserver.h>

static int dial(const char *path, struct near_hello *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd pf;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	pf = (struct pollfd){ fd, POLLIN, 0 };
	assert_int_equal(poll(&pf, 1, 5000), 1);
	assert_int_equal(recv(fd, h, sizeof *h, MSG_WAITALL), sizeof *h);
	return fd;
}

static void refuses_other_uid_with_reason(void **state)
{
	static struct pserver srv;
	char dir[] = "/tmp/pserver-session-XXXXXX", path[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct near_hello h;
	char why[128], expect[64];
	int lfd, fd, status;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sock", dir);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 4), 0);
	pid = fork();
	if (pid == 0) {
		pserver_init(&srv);
		srv.listen_fd = lfd;
		srv.uids[0] = getuid() + 1; /* any uid but ours */
		srv.n_uids = 1;
		pserver_run(&srv);
		_exit(1);
	}
	fd = dial(path, &h);
	assert_int_equal(near_hello_check(&h, why, sizeof why), -EACCES);
	snprintf(expect, sizeof expect, "uid %u may not control", getuid());
	assert_non_null(strstr(why, expect));
	assert_int_equal(recv(fd, &h, 1, 0), 0); /* and then end of file */
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refuses_other_uid_with_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
