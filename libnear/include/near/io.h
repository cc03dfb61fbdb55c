/* SPDX-License-Identifier: MIT */
/* Whole reads and writes on a stream socket, with raw syscalls only: no
 * errno, no libc, so they also serve code that runs where libc may not.
 * Each wait for the socket is a ppoll bounded by timeout_ms (< 0: no
 * limit), the same deadline for every wait, as libtransport's connections
 * count it. */
#ifndef NEAR_IO_H
#define NEAR_IO_H

#include <stddef.h>
#include <near/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Read exactly len bytes from the stream socket fd into buf (blocking or
 * not: it waits with ppoll and reads with MSG_DONTWAIT).
 * Returns: 0; -EPIPE if the peer ended the stream first (end of file);
 * -ETIMEDOUT if a wait outlasted timeout_ms; recvfrom's or ppoll's -errno
 * (e.g. -ECONNRESET, -EFAULT).  On failure buf holds what came. */
NEAR_EXPORT int near_read_exact(int fd, void *buf, size_t len, int timeout_ms);

/* Write all len bytes of buf to the stream socket fd (MSG_NOSIGNAL: a
 * closed peer is -EPIPE, never SIGPIPE).
 * Returns: 0; -EPIPE if the peer is gone; -ETIMEDOUT if a wait outlasted
 * timeout_ms; sendto's or ppoll's -errno. */
NEAR_EXPORT int near_write_all(int fd, const void *buf, size_t len, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
