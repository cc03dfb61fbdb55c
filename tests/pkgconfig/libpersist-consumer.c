// SPDX-License-Identifier: MIT
/* A program outside the tree that uses libpersist: it includes only
 * <persist/store.h> and <persist/thread.h> and is built with nothing but `pkg-config --cflags --libs
 * libpersist` (or --static).  It does what persistctl run and wait do, end
 * to end, in a temporary directory: start the persist-server libpersist was
 * built with (from its install, found with no help: $PERSIST_SERVER_EXE is
 * unset), connect to it, record the intent to spawn `sh -c 'exit 7'` in a
 * new store, spawn it in the server, record its pid, wait for it and record
 * its exit; then reopen the store and read the child back. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <persist/store.h>
#include <persist/thread.h>

static char dir[256];

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "libpersist-consumer: %s:%d: %s (%s)\n", \
	__FILE__, __LINE__, #c, why); cleanup(); return 1; } } while (0)

static char why[256];

static void cleanup(void)
{
	char cmd[300];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "libpersist-consumer: could not remove %s\n", dir);
}

int main(void)
{
	static const char *const argv[] = { "sh", "-c", "exit 7", NULL };
	const char *tmp = getenv("TMPDIR"), *exe;
	char db[300], sock[300];
	struct persist_store *st = NULL;
	struct persist_thread t;
	struct persist_thread_rec tr = { 0 };
	struct persist_child_rec cr;
	struct persist_spawn sp = { 0 };
	struct persist_exit ex;
	unsigned long long ticks;
	int64_t child_id;
	int server, pid;

	unsetenv("PERSIST_SERVER_EXE");
	exe = persist_server_exe();
	CHECK(exe && access(exe, X_OK) == 0);

	snprintf(dir, sizeof dir, "%s/persist-consumer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	CHECK(mkdtemp(dir) != NULL); /* mode 0700, as the server's directory must be */
	snprintf(db, sizeof db, "%s/state.db", dir);
	snprintf(sock, sizeof sock, "%s/sock", dir);

	CHECK(persist_store_open(db, PERSIST_STORE_CREATE, &st, why, sizeof why) == 0);
	CHECK(persist_server_start(sock, 5000, &server, why, sizeof why) == 0);
	CHECK(persist_thread_connect(&t, sock, 0, 5000, why, sizeof why) == 0);
	CHECK(t.pid == server);

	tr.socket_path = sock;
	tr.pid = server;
	CHECK(persist_proc_starttime(server, &tr.starttime) == 0);
	CHECK(persist_store_thread_put(st, &tr) == 0 && tr.id > 0);

	/* The intent before the spawn, then the spawn, then its record. */
	CHECK(persist_store_intent(st, tr.id, "seven", argv, NULL, &child_id) == 0);
	sp.argv = argv;
	sp.new_session = 1;
	CHECK(persist_spawn(&t, &sp, &pid, why, sizeof why) == 0);
	CHECK(persist_proc_starttime(pid, &ticks) == 0);
	CHECK(persist_store_started(st, child_id, pid, ticks) == 0);
	CHECK(persist_child_wait(&t, pid, 0, 1, &ex) == 0);
	CHECK(ex.exited && !ex.killed && ex.code == 7);
	CHECK(persist_store_ended(st, child_id, ex.code, 0, 0) == 0);
	persist_store_close(st);
	st = NULL;

	/* What a new controller would read. */
	CHECK(persist_store_open(db, 0, &st, why, sizeof why) == 0);
	CHECK(persist_store_child_find(st, tr.id, "seven", &cr) == 0);
	CHECK(cr.id == child_id && cr.pid == pid && cr.starttime == ticks);
	CHECK(cr.state == PERSIST_CHILD_EXITED && cr.exit_code == 7);
	CHECK(cr.argc == 3 && strcmp(cr.argv[2], "exit 7") == 0);
	CHECK(strcmp(persist_child_state_name(cr.state), "exited") == 0);
	persist_child_rec_clear(&cr);
	persist_store_close(st);

	CHECK(persist_thread_exit(&t, 0) == 0);
	persist_thread_close(&t);
	cleanup();
	printf("libpersist-consumer: %s (pid %d) ran sh -c 'exit 7' as pid %d; the store says: exited 7\n",
	       exe, server, pid);
	return 0;
}
