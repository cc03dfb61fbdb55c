// SPDX-License-Identifier: MIT
/* chaos-ctl DIR SEED: the controller the chaos test kills.  It uses the
 * session API and nothing else, forever: open the session of DIR (starting
 * the server if needed), run one short command, sometimes wait for it,
 * sometimes kill it, close, again.  The commands, and what each must end
 * as (the chaos test checks every record against this):
 *
 *   true                 exited 0
 *   sh -c 'exit N'       exited N (0..9)
 *   sleep 0.0X           exited 0, or killed by the signal this controller
 *                        sends a sleep 0.0X: SIGTERM for an odd X, SIGKILL
 *                        for an even one (X in 1..5)
 *   the same sleeps, named "svc" (a name in use is refused: -EEXIST)
 *
 * Any other failure of a session call is a bug: it is printed and the
 * program exits 3 (the chaos test reports a controller that ended on its
 * own). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <persist/session.h>

static void die(const char *what, int r, const char *why)
{
	fprintf(stderr, "chaos-ctl: %s: %s%s%s\n", what, strerror(-r), why && *why ? ": " : "",
		why ? why : "");
	exit(3);
}

int main(int argc, char **argv)
{
	unsigned seed;

	if (argc != 3) {
		fprintf(stderr, "usage: chaos-ctl DIR SEED\n");
		return 2;
	}
	seed = (unsigned)strtoul(argv[2], NULL, 0);
	for (;;) {
		struct persist_session *s;
		struct persist_spawn sp = { 0 };
		struct persist_exit st;
		const char *av[4] = { NULL, NULL, NULL, NULL }, *name = NULL;
		char arg[32], why[512] = "";
		int64_t id = 0;
		int kind = rand_r(&seed) % 4, then = rand_r(&seed) % 3, x = 1 + rand_r(&seed) % 5, r;

		r = persist_session_open(argv[1], PERSIST_SESSION_START, &s, why, sizeof why);
		if (r < 0)
			die("open", r, why);
		switch (kind) {
		case 0:
			av[0] = "true";
			break;
		case 1:
			snprintf(arg, sizeof arg, "exit %d", rand_r(&seed) % 10);
			av[0] = "sh";
			av[1] = "-c";
			av[2] = arg;
			break;
		default:
			snprintf(arg, sizeof arg, "0.0%d", x);
			av[0] = "sleep";
			av[1] = arg;
			name = kind == 3 ? "svc" : NULL;
			break;
		}
		sp.argv = av;
		sp.new_session = rand_r(&seed) % 2;
		r = persist_session_run(s, name, &sp, &id, why, sizeof why);
		if (r == -EEXIST && name) {
			persist_session_close(s);
			continue;
		}
		if (r < 0)
			die("run", r, why);
		if (then == 1) {
			int ms = rand_r(&seed) % 2 ? -1 : rand_r(&seed) % 30;
			r = persist_session_wait(s, id, ms, &st);
			if (r < 0 && r != -ETIMEDOUT)
				die("wait", r, NULL);
		} else if (then == 2 && kind >= 2) {
			r = persist_session_kill(s, id, x % 2 ? SIGTERM : SIGKILL);
			if (r < 0 && r != -ESRCH)
				die("kill", r, NULL);
			if (rand_r(&seed) % 2) {
				r = persist_session_wait(s, id, -1, &st);
				if (r < 0)
					die("wait after kill", r, NULL);
			}
		}
		persist_session_close(s);
	}
}
