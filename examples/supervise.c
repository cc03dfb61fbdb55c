// SPDX-License-Identifier: MIT
/* supervise: a small supervisor built on <persist/session.h>.
 *
 *   supervise DIR          run the jobs below in the persistent thread of
 *                          state directory DIR (starting it if needed),
 *                          wait for them, print how each ended, and
 *                          restart a job that failed (up to 3 runs)
 *   supervise --stop DIR   end the thread of DIR and every child in it
 *
 * The children are the persistent thread's, not ours: if this program is
 * killed while it waits, they run on, and the next `supervise DIR` (any
 * session on DIR) finds them, with the exit status of those that ended
 * meanwhile.  Build it like any outside program:
 *
 *   cc supervise.c $(pkg-config --cflags --libs libpersist)
 *
 * Exit status: 0 every job succeeded (perhaps after restarts); 1 a job
 * still failed; 2 usage; 3 no thread to stop; 4 a session error. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <persist/session.h>

#define MAX_RUNS 3

struct job {
	const char *name;
	const char *const *argv;
};

/* A greeter that writes to its log, and a flaky job that fails with exit
 * code 3 the first time (it leaves a mark in the state directory, its
 * working directory, and succeeds once the mark is there). */
static const char *const greeter[] = { "echo", "hello from a persistent child", NULL };
static const char *const flaky[] = {
	"sh", "-c", "if [ -e flaky.ok ]; then exit 0; fi; : > flaky.ok; exit 3", NULL
};
static const struct job jobs[] = {
	{ "greeter", greeter },
	{ "flaky", flaky },
};
#define NJOBS (sizeof jobs / sizeof jobs[0])

static int start(struct persist_session *s, const struct job *j, int64_t *id)
{
	struct persist_spawn sp = { .argv = j->argv, .cwd = persist_session_dir(s) };
	char why[512] = "";
	int r = persist_session_run(s, j->name, &sp, id, why, sizeof why);

	if (r < 0)
		fprintf(stderr, "supervise: cannot run %s: %s\n", j->name, why);
	return r;
}

/* Wait for job j's child id and say how it ended.  Returns: 1 if it
 * succeeded (exit code 0), 0 if it failed, -1 on a session error. */
static int finish(struct persist_session *s, const struct job *j, int64_t id)
{
	struct persist_exit st;
	int r = persist_session_wait(s, id, -1, &st);

	if (r == -ENODATA) {
		printf("%s: child %lld was lost (its status cannot be known)\n", j->name,
		       (long long)id);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "supervise: waiting for %s: %s\n", j->name, strerror(-r));
		return -1;
	}
	if (st.killed)
		printf("%s: child %lld killed by signal %d\n", j->name, (long long)id, st.code);
	else
		printf("%s: child %lld exited %d\n", j->name, (long long)id, st.code);
	return !st.killed && st.code == 0;
}

/* The first line of child id's standard output, from its log file. */
static void show_output(struct persist_session *s, const struct job *j, int64_t id)
{
	char path[4096], line[256];
	FILE *f;

	if (persist_session_log_path(s, id, 1, path, sizeof path) < 0 || !(f = fopen(path, "r")))
		return;
	if (fgets(line, sizeof line, f))
		printf("%s said: %s", j->name, line);
	fclose(f);
}

static int stop(const char *dir)
{
	struct persist_session *s;
	char why[512] = "";
	int r = persist_session_open(dir, 0, &s, why, sizeof why), pid;

	if (r == -ENOENT) {
		fprintf(stderr, "supervise: %s\n", why);
		return 3;
	}
	if (r < 0) {
		fprintf(stderr, "supervise: %s\n", why);
		return 4;
	}
	pid = persist_session_thread_rec(s)->pid;
	r = persist_session_stop(s, 2000, why, sizeof why);
	persist_session_close(s);
	if (r < 0) {
		fprintf(stderr, "supervise: stop: %s\n", why);
		return 4;
	}
	printf("stopped server pid %d\n", pid);
	return 0;
}

int main(int argc, char **argv)
{
	struct persist_session *s;
	int64_t ids[NJOBS];
	int ok[NJOBS], failed = 0, r;
	char why[512] = "";

	if (argc == 3 && strcmp(argv[1], "--stop") == 0)
		return stop(argv[2]);
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: supervise DIR | supervise --stop DIR\n");
		return 2;
	}
	r = persist_session_open(argv[1], PERSIST_SESSION_START, &s, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "supervise: %s\n", why);
		return 4;
	}
	printf("session on %s: server pid %d\n", persist_session_dir(s),
	       persist_session_thread_rec(s)->pid);
	if (persist_session_notice(s))
		printf("note: %s\n", persist_session_notice(s));

	/* Both jobs run at once; then each is waited for. */
	for (size_t i = 0; i < NJOBS; i++)
		if (start(s, &jobs[i], &ids[i]) < 0) {
			persist_session_close(s);
			return 4;
		}
	for (size_t i = 0; i < NJOBS; i++) {
		ok[i] = finish(s, &jobs[i], ids[i]);
		if (ok[i] < 0) {
			persist_session_close(s);
			return 4;
		}
	}
	/* Restart what failed. */
	for (size_t i = 0; i < NJOBS; i++) {
		for (int run = 2; !ok[i] && run <= MAX_RUNS; run++) {
			printf("%s: failed: restarting (run %d of %d)\n", jobs[i].name, run, MAX_RUNS);
			if (start(s, &jobs[i], &ids[i]) < 0 || (ok[i] = finish(s, &jobs[i], ids[i])) < 0) {
				persist_session_close(s);
				return 4;
			}
		}
		if (!ok[i]) {
			printf("%s: still failing after %d runs\n", jobs[i].name, MAX_RUNS);
			failed++;
		}
	}
	show_output(s, &jobs[0], ids[0]);
	persist_session_close(s); /* the thread lives on: `supervise --stop DIR` ends it */
	return failed ? 1 : 0;
}
