// SPDX-License-Identifier: MIT
/* The request loop, in a forked child serving one end of a socketpair:
 * requests split at every byte boundary, payloads straddling reads,
 * protocol operations, and answers owed before exit. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <cmocka.h>
#include <pserver/pserver.h>

struct peer {
	int fd;
	pid_t pid;
	struct near_hello hello;
};

static void read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t n;
		assert_int_equal(poll(&pf, 1, 5000), 1); /* a deadline, never a hang */
		n = read(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void write_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void start(struct peer *p)
{
	static struct pserver srv;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		close(sv[0]);
		pserver_init(&srv);
		srv.conn_fd = sv[1];
		srv.entry_clone = 0x1234;
		_exit(pserver_run(&srv) == 0 ? 0 : 1);
	}
	close(sv[1]);
	p->fd = sv[0];
	read_all(p->fd, &p->hello, sizeof p->hello);
}

static void finish(struct peer *p)
{
	int status;

	close(p->fd);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int64_t call(struct peer *p, int64_t nr, int64_t a, int64_t b)
{
	struct near_request q = { nr, { a, b, 0, 0, 0, 0 } };
	int64_t r;

	write_all(p->fd, &q, sizeof q);
	read_all(p->fd, &r, sizeof r);
	return r;
}

static void hello_fields(void **state)
{
	struct peer p;

	(void)state;
	start(&p);
	assert_int_equal(near_hello_check(&p.hello, NULL, 0), 0);
	assert_int_equal(p.hello.pid, p.pid);
	assert_int_equal(p.hello.epoch, 1);
	assert_int_equal(p.hello.flags, 0);
	assert_int_equal(p.hello.page_size, sysconf(_SC_PAGESIZE));
	assert_int_equal(p.hello.entry_clone, 0x1234);
	assert_int_equal(call(&p, __NR_getpid, 0, 0), p.pid);
	assert_int_equal(call(&p, __NR_close, 12345, 0), -EBADF);
	finish(&p);
}

/* Three requests sent one byte at a time: the loop must reassemble them. */
static void byte_by_byte(void **state)
{
	struct near_request q[3] = {
		{ __NR_getpid, { 0 } }, { -999, { 0 } }, { NEAR_OP_TAKEOVER, { 0 } },
	};
	int64_t r[3];
	struct peer p;

	(void)state;
	start(&p);
	for (size_t i = 0; i < sizeof q; i++)
		write_all(p.fd, (char *)q + i, 1);
	read_all(p.fd, r, sizeof r);
	assert_int_equal(r[0], p.pid);
	assert_int_equal(r[1], -ENOSYS);
	assert_int_equal(r[2], 1); /* already served: its own epoch */
	finish(&p);
}

/* A write-mem whose payload arrives partly with the request and partly
 * later, followed in the same write by another request. */
static void payload_straddles_reads(void **state)
{
	enum { LEN = 20000 };
	static unsigned char msg[sizeof(struct near_request) + LEN + sizeof(struct near_request)];
	static unsigned char back[LEN];
	struct near_request *w = (void *)msg, rd;
	int64_t addr, r[2];
	struct peer p;

	(void)state;
	start(&p);
	{
		struct near_request q = { __NR_mmap, { 0, LEN, PROT_READ | PROT_WRITE,
						       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 } };
		write_all(p.fd, &q, sizeof q);
		read_all(p.fd, &addr, sizeof addr);
	}
	assert_true(addr > 0);
	*w = (struct near_request){ NEAR_OP_WRITE_MEM, { addr, LEN, 0, 0, 0, 0 } };
	for (int i = 0; i < LEN; i++)
		msg[sizeof *w + i] = (unsigned char)(i ^ (i >> 8));
	memcpy(msg + sizeof *w + LEN, &(struct near_request){ __NR_getpid, { 0 } }, sizeof *w);
	write_all(p.fd, msg, 100); /* request and a little payload */
	usleep(20000);
	write_all(p.fd, msg + 100, sizeof msg - 100);
	read_all(p.fd, r, sizeof r);
	assert_int_equal(r[0], LEN);
	assert_int_equal(r[1], p.pid);
	rd = (struct near_request){ NEAR_OP_READ_MEM, { addr, LEN, 0, 0, 0, 0 } };
	write_all(p.fd, &rd, sizeof rd);
	read_all(p.fd, back, LEN);
	read_all(p.fd, r, sizeof r[0]);
	assert_int_equal(r[0], LEN);
	assert_memory_equal(back, msg + sizeof *w, LEN);
	finish(&p);
}

/* "getppid; exit_group(3)" pipelined: the first answer is sent before the
 * server ends. */
static void answers_owed_before_exit(void **state)
{
	struct near_request q[2] = {
		{ __NR_getppid, { 0 } }, { __NR_exit_group, { 3 } },
	};
	struct peer p;
	int64_t r;
	int status;

	(void)state;
	start(&p);
	write_all(p.fd, q, sizeof q);
	read_all(p.fd, &r, sizeof r);
	assert_int_equal(r, getpid());
	assert_int_equal(read(p.fd, &r, sizeof r), 0); /* then end of file */
	close(p.fd);
	assert_int_equal(waitpid(p.pid, &status, 0), p.pid);
	assert_int_equal(WEXITSTATUS(status), 3);
}

static void oversized_memory_op_hangs_up(void **state)
{
	struct near_request q = { NEAR_OP_WRITE_MEM, { 4096, (int64_t)NEAR_PROTO_MEM_MAX + 1, 0, 0, 0, 0 } };
	struct peer p;
	int64_t r;

	(void)state;
	start(&p);
	write_all(p.fd, &q, sizeof q);
	read_all(p.fd, &r, sizeof r);
	assert_int_equal(r, -EMSGSIZE);
	assert_int_equal(read(p.fd, &r, sizeof r), 0);
	finish(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hello_fields),
		cmocka_unit_test(byte_by_byte),
		cmocka_unit_test(payload_straddles_reads),
		cmocka_unit_test(answers_owed_before_exit),
		cmocka_unit_test(oversized_memory_op_hangs_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
