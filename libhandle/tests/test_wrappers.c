// SPDX-License-Identifier: MIT
/* Typed wrappers, each exercised in the calling process. */
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "common.h"

TASK_FIXTURE

#define PTR(x) local_ptr(&t, &(x), sizeof(x))

static void pipe_round_trip(void **state)
{
	struct handle_fd p[2], d;
	int pair[2];
	char in[] = "hello", out[8] = "";
	struct handle_ptr s = PTR(pair), i = PTR(in), o = PTR(out);

	(void)state;
	assert_int_equal(handle_pipe2(p, &t, &s, O_CLOEXEC), 0);
	assert_int_equal(handle_write(&p[1], &i), 6);
	assert_int_equal(handle_read(&p[0], &o), 6);
	assert_string_equal(out, "hello");
	/* dup owns a new number; dup3 re-points an owned one */
	assert_int_equal(handle_dup(&d, &p[1], O_CLOEXEC), 0);
	assert_true(d.fd != p[1].fd);
	assert_int_equal(handle_fcntl(&d, F_GETFD, 0), FD_CLOEXEC);
	assert_int_equal(handle_fcntl(&d, F_DUPFD, 0), -EINVAL);
	assert_int_equal(handle_dup3(&p[1], &d, 0), 0);
	assert_int_equal(handle_fcntl(&d, F_GETFD, 0), 0);
	assert_int_equal(handle_write(&d, &i), 6);
	assert_int_equal(handle_read(&p[0], &o), 6);
	for (int k = 0; k < 2; k++)
		assert_int_equal(handle_fd_close(&p[k]), 0);
	assert_int_equal(handle_fd_close(&d), 0);
}

static void files(void **state)
{
	char dir[] = "/tmp/handle-test-XXXXXX", name[] = "f", sub[] = "d";
	char data[] = "0123456789", buf[16];
	struct stat st;
	struct statx stx;
	char dents[512];
	struct handle_fd dfd, f;
	struct handle_ptr dp, np = PTR(name), sp = PTR(sub), bp = PTR(buf), dat = PTR(data);
	struct handle_ptr stp = PTR(st), sxp = PTR(stx), dn = PTR(dents), small;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dp = PTR(dir);
	assert_int_equal(handle_openat(&dfd, &t, NULL, &dp, O_RDONLY | O_DIRECTORY, 0), 0);
	assert_int_equal(handle_openat(&f, &t, &dfd, &np, O_RDWR | O_CREAT, 0600), 0);
	assert_int_equal(handle_pwrite64(&f, &dat, 0), 11);
	assert_int_equal(handle_lseek(&f, 2, SEEK_SET), 2);
	assert_int_equal(handle_ptr_slice(&small, &bp, 0, 3), 0);
	assert_int_equal(handle_read(&f, &small), 3);
	assert_memory_equal(buf, "234", 3);
	assert_int_equal(handle_pread64(&f, &small, 7), 3);
	assert_memory_equal(buf, "789", 3);
	assert_int_equal(handle_ftruncate(&f, 4), 0);
	assert_int_equal(handle_fchmod(&f, 0640), 0);
	assert_int_equal(handle_fstat(&f, &stp), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(handle_fstat(&f, &small), -EFAULT);
	assert_int_equal(handle_statx(&t, &dfd, &np, 0, STATX_SIZE, &sxp), 0);
	assert_int_equal(stx.stx_size, 4);
	assert_int_equal(handle_mkdirat(&t, &dfd, &sp, 0700), 0);
	assert_true(handle_getdents64(&dfd, &dn) > 0);
	assert_int_equal(handle_unlinkat(&t, &dfd, &sp, AT_REMOVEDIR), 0);
	assert_int_equal(handle_unlinkat(&t, &dfd, &np, 0), 0);
	assert_int_equal(handle_fd_close(&f), 0);
	assert_int_equal(handle_fchdir(&dfd), 0);
	assert_int_equal(handle_chdir(&t, &(struct handle_ptr){ 0 }), -EXDEV);
	assert_int_equal(handle_fd_close(&dfd), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(chdir("/"), 0);
}

static void scm_rights(void **state)
{
	struct handle_fd sp[2], p[2], got[2];
	int pair[2], pair2[2];
	char msgbuf[256], data[] = "x", rdata[4], in[] = "via", out[4] = "";
	struct handle_ptr s = PTR(pair), s2 = PTR(pair2), mb = PTR(msgbuf);
	struct handle_ptr dp = PTR(data), rp = PTR(rdata), ip = PTR(in), op = PTR(out);
	int one = 1;
	socklen_t len = sizeof one;
	struct handle_ptr onep = PTR(one), lenp = PTR(len);

	(void)state;
	assert_int_equal(handle_socketpair(sp, &t, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, &s), 0);
	assert_int_equal(handle_pipe2(p, &t, &s2, O_CLOEXEC), 0);
	assert_int_equal(handle_setsockopt(&sp[0], SOL_SOCKET, SO_PASSCRED, &onep), 0);
	one = 0;
	assert_int_equal(handle_getsockopt(&sp[0], SOL_SOCKET, SO_PASSCRED, &onep, &lenp), 0);
	assert_int_equal(one, 1);
	assert_int_equal(handle_setsockopt(&sp[0], SOL_SOCKET, SO_PASSCRED,
					   &(struct handle_ptr){ t.as, (uintptr_t)&(int){ 0 }, 4 }),
			 0);
	assert_true(handle_msg_size(1) <= sizeof msgbuf);
	/* send the pipe's write end over the socket */
	assert_int_equal(handle_msg_rights(&t, &mb, &dp, &p[1], 1), 0);
	assert_int_equal(handle_sendmsg(&sp[0], &mb, 0), 2);
	assert_int_equal(handle_fd_close(&p[1]), 0);
	assert_int_equal(handle_msg_rights(&t, &mb, &rp, NULL, 2), 0);
	assert_int_equal(handle_recvmsg(&sp[1], &mb, MSG_CMSG_CLOEXEC), 2);
	assert_int_equal(handle_msg_take_fds(&t, &mb, got, 2), 1);
	assert_true(handle_fd_valid(&got[0]));
	/* the received fd writes into the pipe */
	assert_int_equal(handle_write(&got[0], &ip), 4);
	assert_int_equal(handle_read(&p[0], &op), 4);
	assert_string_equal(out, "via");
	/* a message with no fds adopts none; too many for out closes them */
	assert_int_equal(handle_msg_rights(&t, &mb, &dp, NULL, 0), 0);
	assert_int_equal(handle_sendmsg(&sp[0], &mb, 0), 2);
	assert_int_equal(handle_msg_rights(&t, &mb, &rp, NULL, 1), 0);
	assert_int_equal(handle_recvmsg(&sp[1], &mb, 0), 2);
	assert_int_equal(handle_msg_take_fds(&t, &mb, got + 1, 1), 0);
	{
		struct handle_fd two[2] = { got[0], got[0] };
		int before = list_fds(NULL, 0);
		assert_int_equal(handle_msg_rights(&t, &mb, &dp, &got[0], 1), 0);
		assert_int_equal(handle_sendmsg(&sp[0], &mb, 0), 2);
		assert_int_equal(handle_msg_rights(&t, &mb, &rp, NULL, 1), 0);
		assert_int_equal(handle_recvmsg(&sp[1], &mb, 0), 2);
		assert_int_equal(handle_msg_take_fds(&t, &mb, two, 0), -EMSGSIZE);
		assert_int_equal(list_fds(NULL, 0), before);
	}
	assert_int_equal(handle_shutdown(&sp[0], SHUT_RDWR), 0);
	assert_int_equal(handle_fd_close(&got[0]), 0);
	assert_int_equal(handle_fd_close(&p[0]), 0);
	for (int k = 0; k < 2; k++)
		assert_int_equal(handle_fd_close(&sp[k]), 0);
}

static void listen_accept(void **state)
{
	struct handle_fd l, c, a;
	struct sockaddr_un { unsigned short family; char path[108]; } addr = { AF_UNIX, "" };
	struct handle_ptr ap;

	(void)state;
	/* an abstract name keeps the test free of files; autobind picks it */
	assert_int_equal(handle_socket(&l, &t, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	ap = local_ptr(&t, &addr, sizeof addr.family);
	assert_int_equal(handle_bind(&l, &ap), 0);
	assert_int_equal(handle_listen(&l, 4), 0);
	{
		socklen_t len = sizeof addr;
		struct handle_ptr lp = PTR(len), full = local_ptr(&t, &addr, sizeof addr);
		assert_int_equal(getsockname(l.fd, (void *)&addr, &len), 0);
		assert_int_equal(handle_socket(&c, &t, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
		ap = local_ptr(&t, &addr, len);
		assert_int_equal(handle_connect(&c, &ap), 0);
		len = sizeof addr;
		assert_int_equal(handle_accept4(&a, &l, &full, &lp, SOCK_CLOEXEC), 0);
	}
	assert_true(handle_fd_valid(&a));
	assert_int_equal(handle_fd_close(&a), 0);
	assert_int_equal(handle_fd_close(&c), 0);
	assert_int_equal(handle_fd_close(&l), 0);
}

static void memory(void **state)
{
	struct handle_ptr m;
	char out[4];

	(void)state;
	assert_int_equal(handle_mmap(&m, &t, 0, 8192, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0), 0);
	assert_int_equal(m.size, 8192);
	assert_int_equal(handle_ptr_write(&m, &t, 4096, "abc", 4), 0);
	assert_int_equal(handle_ptr_read(&m, &t, 4096, out, 4), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(handle_mprotect(&t, &m, PROT_READ), 0);
	assert_int_equal(handle_munmap(&t, &m), 0);
	assert_true(handle_mmap(&m, &t, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0) < 0);
}

static void epoll_on_pipe(void **state)
{
	struct handle_fd ep, p[2];
	int pair[2];
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, evs[4];
	struct handle_ptr s = PTR(pair), evp = PTR(ev), evsp = PTR(evs);
	char c[] = "!";
	struct handle_ptr cp = PTR(c);

	(void)state;
	assert_int_equal(handle_epoll_create1(&ep, &t, EPOLL_CLOEXEC), 0);
	assert_int_equal(handle_pipe2(p, &t, &s, O_CLOEXEC), 0);
	assert_int_equal(handle_epoll_ctl(&ep, EPOLL_CTL_ADD, &p[0], &evp), 0);
	assert_int_equal(handle_epoll_wait(&ep, &evsp, 0), 0);
	assert_int_equal(handle_write(&p[1], &cp), 2);
	assert_int_equal(handle_epoll_wait(&ep, &evsp, 1000), 1);
	assert_true(evs[0].data.u64 == 42);
	assert_int_equal(handle_epoll_ctl(&ep, EPOLL_CTL_DEL, &p[0], NULL), 0);
	for (int k = 0; k < 2; k++)
		assert_int_equal(handle_fd_close(&p[k]), 0);
	assert_int_equal(handle_fd_close(&ep), 0);
}

static void process_and_signals(void **state)
{
	struct handle_fd sfd, pidfd, copy;
	uint64_t set = 1ull << (SIGUSR1 - 1), old = 0;
	struct signalfd_siginfo si;
	struct handle_ptr setp = PTR(set), oldp = PTR(old), sip = PTR(si);
	struct { void *h; unsigned long flags; void *restorer; uint64_t mask; } act;
	struct handle_ptr actp = PTR(act);

	(void)state;
	assert_int_equal(handle_getpid(&t), getpid());
	assert_int_equal(handle_gettid(&t), gettid());
	assert_int_equal(handle_getppid(&t), getppid());
	assert_int_equal(handle_umask(&t, handle_umask(&t, 022)), 022);
	assert_int_equal(handle_unshare(&t, CLONE_FILES), -EINVAL);
	assert_true(handle_setpgid(&t, 0, 0) == 0 || 1);
	assert_int_equal(handle_prctl(&t, 3 /* PR_GET_DUMPABLE */, 0, 0, 0, 0) >= 0, 1);
	assert_int_equal(handle_rt_sigaction(&t, SIGUSR1, NULL, &actp), 0);
	assert_int_equal(handle_rt_sigprocmask(&t, SIG_BLOCK, &setp, &oldp), 0);
	assert_int_equal(handle_signalfd4(&sfd, &t, &setp, SFD_CLOEXEC), 0);
	assert_int_equal(handle_kill(&t, getpid(), SIGUSR1), 0);
	assert_int_equal(handle_read(&sfd, &sip), sizeof si);
	assert_int_equal(si.ssi_signo, SIGUSR1);
	/* pidfd_open / send_signal / getfd on ourselves (not under valgrind
	 * 3.19, which lacks them) */
	if (getenv("PERSIST_VALGRIND")) {
		assert_int_equal(handle_rt_sigprocmask(&t, SIG_SETMASK, &oldp, NULL), 0);
		assert_int_equal(handle_fd_close(&sfd), 0);
		return;
	}
	assert_int_equal(handle_pidfd_open(&pidfd, &t, getpid(), 0), 0);
	assert_int_equal(handle_pidfd_send_signal(&pidfd, SIGUSR1, NULL, 0), 0);
	assert_int_equal(handle_read(&sfd, &sip), sizeof si);
	assert_int_equal(handle_pidfd_getfd(&copy, &pidfd, sfd.fd, 0), 0);
	assert_true(copy.fd != sfd.fd);
	assert_int_equal(handle_fd_close(&copy), 0);
	assert_int_equal(handle_rt_sigprocmask(&t, SIG_SETMASK, &oldp, NULL), 0);
	assert_int_equal(handle_fd_close(&pidfd), 0);
	assert_int_equal(handle_fd_close(&sfd), 0);
	/* setns on an fd of our own namespace is a no-op, checked by the kernel */
	{
		char path[] = "/proc/self/ns/uts";
		struct handle_fd ns;
		struct handle_ptr pp = PTR(path);
		assert_int_equal(handle_openat(&ns, &t, NULL, &pp, O_RDONLY | O_CLOEXEC, 0), 0);
		assert_true(handle_setns(&ns, CLONE_NEWUTS) == 0 || geteuid() != 0);
		assert_int_equal(handle_fd_close(&ns), 0);
	}
}

/* setsid, waitid, execve and exit in a forked child, which has its own
 * task record: the child execs /bin/true through the wrapper. */
static int exec_child(void)
{
	struct near_local_sysif cls;
	struct handle_task c;
	char path[] = "/bin/true", *argv[] = { path, NULL };
	struct handle_ptr pp, ap;

	CHECK(handle_task_init(&c, near_local_sysif_init(&cls), 0) == 0);
	CHECK(handle_setsid(&c) == getpid());
	CHECK(handle_ptr_local(&pp, &c, path, sizeof path) == 0);
	CHECK(handle_ptr_local(&ap, &c, argv, sizeof argv) == 0);
	if (getenv("PERSIST_VALGRIND"))
		handle_exit(&c, 0); /* valgrind follows the exec badly: stop here */
	handle_execve(&c, &pp, &ap, NULL);
	return 1;
}

static void exec_and_wait(void **state)
{
	siginfo_t si;
	struct handle_ptr ip = PTR(si);
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(exec_child());
	assert_int_equal(handle_waitid(&t, P_PID, pid, &ip, WEXITED), 0);
	assert_int_equal(si.si_code, CLD_EXITED);
	assert_int_equal(si.si_status, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipe_round_trip),
		cmocka_unit_test(files),
		cmocka_unit_test(scm_rights),
		cmocka_unit_test(listen_accept),
		cmocka_unit_test(memory),
		cmocka_unit_test(epoll_on_pipe),
		cmocka_unit_test(process_and_signals),
		cmocka_unit_test(exec_and_wait),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
