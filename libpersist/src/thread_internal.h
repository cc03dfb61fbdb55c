/* SPDX-License-Identifier: MIT */
/* Shared by libpersist's thread files; never installed. */
#ifndef PERSIST_THREAD_INTERNAL_H
#define PERSIST_THREAD_INTERNAL_H

#include <fcntl.h>
#include <stdarg.h>
#include <persist/thread.h>

/* printf into why (if not NULL). */
void persist__say(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Free what persist_clone_persistent allocated in our process, once the
 * thread no longer runs in our memory (or never will again). */
void persist__release_clone(struct persist_thread *t);

/* How a far server stuck in a syscall for a controller that died is
 * interrupted: the peer of our socket is ssh, not the server, so fn (if
 * set) is called instead of signalling it whenever the server has been
 * silent for a while (session_ssh.c signals it on its own host). */
struct persist__far_nudge {
	void (*fn)(void *arg);
	void *arg;
};

/* Connect to a thread on another host through path (a local end of an ssh
 * forward), taking over: as persist_thread_connect, but nothing of the
 * thread is looked up in our /proc (its pid is another host's), memory
 * moves in-band, and t->task is never taken for a local task.  nudge may
 * be NULL.  Returns: as persist_thread_connect. */
int persist__thread_connect_far(struct persist_thread *t, const char *path, int timeout_ms,
				const struct persist__far_nudge *nudge, char *why, size_t whylen);
/* The same over fd, a stream already connected to the server (ssh's
 * stdio to persist-server --relay), which the thread owns from now on,
 * even on failure; name (at most 107 bytes) is what t->path says.
 * Returns: as persist_thread_connect. */
int persist__thread_attach_far(struct persist_thread *t, int fd, const char *name,
			       int timeout_ms, const struct persist__far_nudge *nudge,
			       char *why, size_t whylen);

#endif
