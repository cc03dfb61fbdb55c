/* SPDX-License-Identifier: MIT */
/* Setting up the listening socket of the persist-server executable. */
#ifndef PSERVER_LISTEN_H
#define PSERVER_LISTEN_H

#include <stddef.h>

/* Bind and listen on path, after checking that its directory has mode 0700
 * and belongs to us, and clearing a stale socket left by a dead server.
 * why gets a message for the user on failure.
 * Returns: the listening fd, or -errno. */
int pserver__listen(const char *path, char *why, size_t whylen);

#endif
