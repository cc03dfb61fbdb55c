/* SPDX-License-Identifier: MIT */
/* persist-server --relay (relay.c); never installed. */
#ifndef PSERVER_RELAY_H
#define PSERVER_RELAY_H

/* Connect to the server at path and copy stdin to it and its answers to
 * stdout until it ends.  Returns: the exit status (0: the server ended the
 * connection; 1: none answers at path, or a copy failed; 2: bad path). */
int pserver_relay(const char *path);

#endif
