/* SPDX-License-Identifier: MIT */
/* Start and stop a real persist-server process for tests. */
#ifndef PERSIST_TESTS_SPAWN_H
#define PERSIST_TESTS_SPAWN_H

#include <sys/types.h>

struct server {
	pid_t pid;
	char dir[64];   /* a fresh 0700 directory */
	char path[108]; /* dir/sock: fits sun_path */
};

/* The executable: $PERSIST_SERVER_EXE, else "persist-server" on PATH. */
const char *server_exe(void);
/* Start persist-server --listen dir/sock plus extra (NULL-terminated, may be
 * NULL) and wait until it accepts.  Returns: 0 or -errno. */
int server_start(struct server *s, const char *const *extra);
/* Returns: 1 if the server process still runs (not a zombie). */
int server_alive(const struct server *s);
/* SIGTERM, reap, remove the directory. */
void server_stop(struct server *s);

#endif
