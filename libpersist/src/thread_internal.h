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

/* Connect to a thread on another host through path (a local end of an ssh
 * forward), taking over: as persist_thread_connect, but nothing of the
 * thread is looked up in our /proc (its pid is another host's), memory
 * moves in-band, and t->task is never taken for a local task.
 * Returns: as persist_thread_connect. */
int persist__thread_connect_far(struct persist_thread *t, const char *path, int timeout_ms,
				char *why, size_t whylen);
/* The same over fd, a stream already connected to the server (ssh's
 * stdio to persist-server --relay), which the thread owns from now on,
 * even on failure; name (at most 107 bytes) is what t->path says.
 * Returns: as persist_thread_connect. */
int persist__thread_attach_far(struct persist_thread *t, int fd, const char *name,
			       int timeout_ms, char *why, size_t whylen);

#endif
