// SPDX-License-Identifier: MIT
/* The far session from C, against the far host of test_ssh.sh (it runs
 * this with PERSIST_SSH set and the host alias "far"):
 *   test_ssh_api STATE-DIR
 * Asserts: persist_session_open_host connects to B; the thread's record
 * keeps the host, B's boot id and B's pid namespace (not ours); no local
 * shortcut is taken across hosts (memory in-band, a task whose pid
 * namespace equals none of ours); a child runs on B, its status is
 * waited for through the thread and recorded; its log is read through
 * the thread; a controller SIGKILLed while B's server is inside a
 * blocking syscall for it (ppoll with no timeout) does not lock the next
 * one out: the next session interrupts that syscall on B and is served by
 * the same server; a bad destination and a far host with no server give
 * the documented errors.  Exit 0 when every check held. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <persist/session.h>
#include <transport/mem.h>

static int failed;

#define CHECK(cond, ...)                                                             \
	do {                                                                         \
		if (cond) {                                                          \
			printf("ok   ");                                             \
		} else {                                                             \
			printf("FAIL ");                                             \
			failed++;                                                    \
		}                                                                    \
		printf(__VA_ARGS__);                                                 \
		putchar('\n');                                                       \
	} while (0)

int main(int argc, char **argv)
{
	struct persist_host far = { "far", NULL, NULL }, bad = { "-oProxyCommand=x", NULL, NULL };
	const char *const run[] = { "sh", "-c", "echo api-on-b; exit 4", NULL };
	struct persist_spawn sp = { .argv = run };
	struct persist_session *s = NULL;
	const struct persist_thread_rec *rec;
	struct persist_thread *t;
	struct persist_exit st = { 0 };
	char why[512] = "", ns[64] = "", *log = NULL;
	size_t loglen = 0;
	int64_t id = 0;
	ssize_t n;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s STATE-DIR\n", argv[0]);
		return 2;
	}
	r = persist_session_open_host(&bad, argv[1], 0, &s, why, sizeof why);
	CHECK(r == -EINVAL && !s, "a destination that ssh would take for an option: -EINVAL (%s)",
	      why);
	r = persist_session_open_host(&far, argv[1], PERSIST_SESSION_START, &s, why, sizeof why);
	CHECK(r == 0, "persist_session_open_host(far): %d %s", r, why);
	if (r < 0)
		return 1;
	CHECK(persist_session_host(s) && strcmp(persist_session_host(s), "far") == 0,
	      "persist_session_host is far");
	CHECK(persist_session_far_dir(s) && persist_session_far_dir(s)[0] == '/',
	      "the far state directory: %s", persist_session_far_dir(s));
	rec = persist_session_thread_rec(s);
	n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
	ns[n > 0 ? n : 0] = 0;
	CHECK(rec->host && strcmp(rec->host, "far") == 0 && rec->boot_id && rec->pidns &&
	      strcmp(rec->pidns, ns) != 0,
	      "the record: host %s, boot id %s, pid namespace %s (ours %s)", rec->host,
	      rec->boot_id, rec->pidns, ns);
	t = persist_session_thread(s);
	CHECK(t && transport_mem_kind(t->conn) == TRANSPORT_MEM_INBAND,
	      "memory moves in-band across hosts (%s)",
	      t ? transport_mem_kind_name(transport_mem_kind(t->conn)) : "-");
	CHECK(t && t->task.pidns.dev == 0 && t->task.pid == rec->pid,
	      "the task's pid namespace equals none of ours (no pidfds)");
	{
		/* 1 MiB each way in-band: through the forward, or through
		 * ssh's stdio and the relay, nothing is lost or reordered. */
		size_t big = 1 << 20;
		unsigned char *a = malloc(big), *b = malloc(big);
		uint64_t at = 0;
		int w = -ENOMEM, rd = -ENOMEM;
		for (size_t i = 0; a && i < big; i++)
			a[i] = (unsigned char)(i * 7 + i / 4096);
		if (a && b && t && transport_alloc(t->conn, big, &at) == 0) {
			w = transport_write_mem(t->conn, at, a, big);
			rd = transport_read_mem(t->conn, b, at, big);
			transport_free(t->conn, at);
		}
		CHECK(w == 0 && rd == 0 && memcmp(a, b, big) == 0,
		      "1 MiB written to B's memory and read back whole (%d, %d)", w, rd);
		free(a);
		free(b);
	}
	r = persist_session_run(s, NULL, &sp, &id, why, sizeof why);
	CHECK(r == 0 && id > 0, "run on B: child %lld (%s)", (long long)id, why);
	r = persist_session_wait(s, id, 30000, &st);
	CHECK(r == 0 && st.exited && !st.killed && st.code == 4, "wait through the thread: %d, "
	      "exit %d", r, st.code);
	r = persist_session_log_read(s, id, 1, &log, &loglen);
	CHECK(r == 0 && loglen == 9 && memcmp(log, "api-on-b\n", 9) == 0,
	      "persist_session_log_read through the thread: %d '%.*s'", r, (int)loglen,
	      log ? log : "");
	free(log);
	/* From an offset: the bytes after it only; at and past the end: none,
	 * and no error. */
	r = persist_session_log_read_from(s, id, 1, 4, &log, &loglen);
	CHECK(r == 0 && loglen == 5 && memcmp(log, "on-b\n", 5) == 0 && log[5] == 0,
	      "persist_session_log_read_from(4) through the thread: %d '%.*s'", r, (int)loglen,
	      log ? log : "");
	free(log);
	for (uint64_t off = 9; off <= 1000000; off += 999991) {
		r = persist_session_log_read_from(s, id, 1, off, &log, &loglen);
		CHECK(r == 0 && loglen == 0 && log && log[0] == 0,
		      "persist_session_log_read_from(%llu) at or past the end: %d, %zu bytes",
		      (unsigned long long)off, r, loglen);
		free(log);
	}
	r = persist_session_log_read_from(s, id + 1000, 1, 0, &log, &loglen);
	CHECK(r == -ENOENT && !log, "persist_session_log_read_from of no such log: %d", r);
	{
		/* A controller that dies inside a blocking syscall of B's
		 * server: ppoll with no fds and no timeout never returns by
		 * itself. */
		int server = rec->pid, p[2], status;
		char c;
		pid_t pid;

		persist_session_close(s);
		s = NULL;
		if (pipe(p) < 0)
			return 1;
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			struct persist_session *s2 = NULL;
			close(p[0]);
			if (persist_session_open_host(&far, argv[1], 0, &s2, why, sizeof why) < 0)
				_exit(1);
			if (write(p[1], "x", 1) != 1)
				_exit(1);
			transport_syscall(persist_session_thread(s2)->conn, __NR_ppoll, 0, 0, 0, 0,
					  0, 0);
			_exit(1);
		}
		close(p[1]);
		r = (int)read(p[0], &c, 1);
		close(p[0]);
		/* Long enough for the request to reach B's server. */
		usleep(700 * 1000);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		CHECK(r == 1 && WIFSIGNALED(status), "a controller SIGKILLed while B's server is in "
		      "ppoll for it");
		r = persist_session_open_host(&far, argv[1], 0, &s, why, sizeof why);
		CHECK(r == 0 && persist_session_thread_rec(s)->pid == server,
		      "the next session interrupts the syscall on B and is served by the same "
		      "server (pid %d): %d %s", server, r, why);
		if (r < 0)
			return 1;
	}
	r = persist_session_stop(s, 1000, why, sizeof why);
	CHECK(r == 0, "stop the far thread: %d %s", r, why);
	persist_session_close(s);
	s = NULL;
	r = persist_session_open_host(&far, argv[1], 0, &s, why, sizeof why);
	CHECK(r == -ECONNREFUSED && !s, "no server answers on B any more: -ECONNREFUSED (%s)",
	      why);
	r = persist_session_open_host(&far, argv[1], PERSIST_SESSION_OFFLINE, &s, why, sizeof why);
	CHECK(r == 0 && s && !persist_session_connected(s), "offline: the store as recorded (%s)",
	      s && persist_session_notice(s) ? persist_session_notice(s) : why);
	persist_session_close(s);
	s = NULL;
	{
		/* A far state directory whose log paths do not fit the 64-byte
		 * path slot of the batched reads: a log is read alone. */
		struct persist_host longdir = {
			"far", "/tmp/persist-a-far-state-directory-with-a-name-longer-than-64-bytes",
			NULL
		};
		const char *const say[] = { "sh", "-c", "echo from-a-long-far-dir", NULL };
		struct persist_spawn sp2 = { .argv = say };

		r = persist_session_open_host(&longdir, argv[1], PERSIST_SESSION_START, &s, why,
					      sizeof why);
		CHECK(r == 0, "a session in a far state directory of %zu bytes: %d %s",
		      strlen(longdir.far_dir), r, why);
		if (r == 0) {
			r = persist_session_run(s, NULL, &sp2, &id, why, sizeof why);
			if (r == 0)
				r = persist_session_wait(s, id, 30000, &st);
			if (r == 0)
				r = persist_session_log_read(s, id, 1, &log, &loglen);
			CHECK(r == 0 && loglen == 20 && memcmp(log, "from-a-long-far-dir\n", 20) == 0,
			      "its log (a path of more than 64 bytes) read through the thread: %d "
			      "'%.*s' %s", r, (int)loglen, log ? log : "", why);
			free(log);
			r = persist_session_stop(s, 1000, why, sizeof why);
			CHECK(r == 0, "stop it: %d %s", r, why);
			persist_session_close(s);
		}
	}
	if (failed) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "cat %s/ssh-*.err", argv[1]);
		if (system(cmd) != 0)
			printf("(no ssh messages)\n");
	}
	return failed ? 1 : 0;
}
