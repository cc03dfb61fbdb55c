/* SPDX-License-Identifier: MIT */
/* The persist-server executable's --pidfile (pidfile.c); never installed. */
#ifndef PSERVER_PIDFILE_H
#define PSERVER_PIDFILE_H

struct pidfile {
	int fd;     /* open and locked, or -1 */
	char *path;
};

/* Create or open path (mode 0600) and lock it for as long as we run.
 * Returns: 0; -EEXIST if another process holds it (*other: its pid, or -1
 * if it has not written it yet); or -errno. */
int pidfile_claim(struct pidfile *pf, const char *path, int *other);

/* Write our pid into it.  Returns: 0, or -errno. */
int pidfile_put(struct pidfile *pf);

/* Remove and release it (nothing if it was not claimed).  Returns: nothing. */
void pidfile_drop(struct pidfile *pf);

#endif
