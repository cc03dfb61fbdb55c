// SPDX-License-Identifier: MIT
/* A real persist-server process driven by the minimal controller: values
 * and errors, memory, pipelining, reconnecting from another process, and
 * access control by uid. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

static void values_and_errors(void **state)
{
	struct fixture *f = *state;
	uint64_t buf = remote_map(&f->ctl, 4096);
	static const char missing[] = "/nonexistent/persist-test";

	assert_int_equal(ctl_call(&f->ctl, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	assert_int_equal(f->ctl.hello.pid, f->srv.pid);
	assert_int_equal(ctl_write_mem(&f->ctl, buf, missing, sizeof missing), sizeof missing);
	assert_int_equal(ctl_call(&f->ctl, __NR_openat, AT_FDCWD, (int64_t)buf, O_RDONLY, 0, 0, 0),
			 -ENOENT);
	assert_int_equal(ctl_call(&f->ctl, 999999, 0, 0, 0, 0, 0, 0), -ENOSYS);
	assert_int_equal(ctl_call(&f->ctl, -77, 0, 0, 0, 0, 0, 0), -ENOSYS);
}

static void memory_round_trip(void **state)
{
	struct fixture *f = *state;
	enum { LEN = 256 * 1024 };
	uint64_t buf = remote_map(&f->ctl, LEN);
	static unsigned char out[LEN], in[LEN];

	for (size_t i = 0; i < LEN; i++)
		out[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(ctl_write_mem(&f->ctl, buf, out, LEN), LEN);
	memset(in, 0, LEN);
	assert_int_equal(ctl_read_mem(&f->ctl, buf, in, LEN), LEN);
	assert_memory_equal(in, out, LEN);
}

static void bad_addresses_keep_the_stream(void **state)
{
	struct fixture *f = *state;
	unsigned char data[9000], back[9000];

	memset(data, 0xab, sizeof data);
	/* Address 8 is never mapped: -EFAULT, payload consumed, no crash. */
	assert_int_equal(ctl_write_mem(&f->ctl, 8, data, sizeof data), -EFAULT);
	assert_int_equal(ctl_read_mem(&f->ctl, 8, back, sizeof back), -EFAULT);
	for (size_t i = 0; i < sizeof back; i++)
		assert_int_equal(back[i], 0);
	assert_int_equal(ctl_call(&f->ctl, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
	assert_true(server_alive(&f->srv));
}

static void thousand_in_flight(void **state)
{
	struct fixture *f = *state;
	enum { N = 1000 };
	static struct near_request reqs[N];
	static int64_t rets[N];

	for (int i = 0; i < N; i++)
		near_request_set(&reqs[i], i % 2 ? __NR_getpid : __NR_getppid, 0, 0, 0, 0, 0, 0);
	assert_int_equal(ctl_send(&f->ctl, reqs, N), 0);
	assert_int_equal(ctl_recv(&f->ctl, rets, N), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(rets[i], i % 2 ? f->srv.pid : getpid());
}

/* An fd opened through one connection is still open, with its contents,
 * through a connection made later by another process. */
static void reconnect_from_another_process(void **state)
{
	struct fixture *f = *state;
	uint64_t buf = remote_map(&f->ctl, 4096);
	static const char name[] = "persist-test", text[] = "kept across controllers";
	int64_t memfd, epoch1 = (int64_t)f->ctl.hello.epoch;
	pid_t child;
	int status;

	assert_int_equal(ctl_write_mem(&f->ctl, buf, name, sizeof name), sizeof name);
	memfd = ctl_call(&f->ctl, __NR_memfd_create, (int64_t)buf, 0, 0, 0, 0, 0);
	assert_true(memfd >= 0);
	assert_int_equal(ctl_write_mem(&f->ctl, buf, text, sizeof text), sizeof text);
	assert_int_equal(ctl_call(&f->ctl, __NR_write, memfd, (int64_t)buf, sizeof text, 0, 0, 0),
			 sizeof text);
	ctl_close(&f->ctl);

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct ctl c;
		char back[sizeof text] = "";
		int ok = ctl_connect(&c, f->srv.path) == 0 &&
			 (int64_t)c.hello.epoch > epoch1 &&
			 ctl_call(&c, __NR_fcntl, 987, F_GETFD, 0, 0, 0, 0) == -EBADF &&
			 ctl_call(&c, __NR_pread64, memfd, (int64_t)buf, sizeof text, 0, 0, 0) == sizeof text &&
			 ctl_read_mem(&c, buf, back, sizeof back) == sizeof back &&
			 memcmp(back, text, sizeof text) == 0;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	must_connect(&f->ctl, f->srv.path);
}

/* Connect with euid 65534 (fsuid stays 0 so the 0700 directory can be
 * entered: SO_PEERCRED reports the euid).  Returns the connect result and
 * copies the server's reason into why. */
static int connect_as_nobody(const char *path, char *why, size_t len)
{
	int p[2], r = 0;
	pid_t child;

	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct ctl c;
		memset(&c, 0, sizeof c);
		close(p[0]);
		if (setresuid(0, 65534, 0) < 0)
			_exit(2);
		setfsuid(0);
		r = ctl_connect(&c, path);
		if (r == 0)
			r = ctl_call(&c, __NR_geteuid, 0, 0, 0, 0, 0, 0) == 0 ? 0 : -EIO;
		if (write(p[1], &r, sizeof r) != sizeof r ||
		    write(p[1], c.why, sizeof c.why) != sizeof c.why)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	memset(why, 0, len);
	assert_int_equal(read(p[0], &r, sizeof r), sizeof r);
	assert_true(read(p[0], why, len) > 0);
	close(p[0]);
	waitpid(child, NULL, 0);
	return r;
}

static void other_uid_refused(void **state)
{
	struct fixture *f = *state;
	char why[160];

	if (geteuid() != 0)
		skip();
	ctl_close(&f->ctl); /* so the refused peer is not merely "pending" */
	assert_int_equal(connect_as_nobody(f->srv.path, why, sizeof why), -EACCES);
	assert_non_null(strstr(why, "uid 65534"));
	assert_true(server_alive(&f->srv));
	must_connect(&f->ctl, f->srv.path);
	assert_int_equal(ctl_call(&f->ctl, __NR_getpid, 0, 0, 0, 0, 0, 0), f->srv.pid);
}

static void allowed_uid_served(void **state)
{
	struct fixture *f = *state;
	char why[160];

	if (geteuid() != 0)
		skip();
	ctl_close(&f->ctl);
	/* The server runs as root: geteuid() in it answers 0. */
	assert_int_equal(connect_as_nobody(f->srv.path, why, sizeof why), 0);
	must_connect(&f->ctl, f->srv.path);
}

int main(void)
{
	static const char *const allow_nobody[] = { "--allow-uid", "65534", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(values_and_errors, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(memory_round_trip, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(bad_addresses_keep_the_stream, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(thousand_in_flight, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(reconnect_from_another_process, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(other_uid_refused, fixture_setup, fixture_teardown),
		cmocka_unit_test_prestate_setup_teardown(allowed_uid_served, fixture_setup,
							 fixture_teardown, (void *)allow_nobody),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
