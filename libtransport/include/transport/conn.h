/* SPDX-License-Identifier: MIT */
/* libtransport: the controller's side of a syscall connection.
 *
 * A connection speaks <near/proto.h> to a persist server over a connected
 * stream socket.  It offers three styles, as libpq and hiredis do:
 *
 *  - blocking: transport_call() sends one request and waits for its answer;
 *  - pipelined: transport_submit() queues requests, transport_wait() returns
 *    their results in order;
 *  - non-blocking, for a program with its own event loop: submit, then poll
 *    transport_fd() for transport_events(), call transport_io() when it is
 *    ready, and collect results with transport_result().
 *
 * Transport failures are told apart from syscall results: a request that was
 * not (fully) sent was not executed (-ENOTCONN); a request that was sent but
 * whose answer never came may or may not have run (-ECONNRESET).  A hangup
 * right after exit, exit_group, execve or execveat is the success it usually
 * is, and is reported as 0.
 *
 * Every function returns 0 (or a documented non-negative value) on success
 * and a negative errno on failure; none touches the errno global.
 *
 * The server is not trusted (it may be on another machine, or broken):
 * whatever it sends, a call ends with its result or a -errno within the
 * connection's deadline, never a crash, a hang, memory that grows with what
 * it says, or an fd it sent us left open (tests/test_hostile_server.c,
 * tests/fuzz/fuzz_client.c).  Bytes that answer nothing we asked are a
 * protocol error, -EPROTO, and the connection is then unusable (all later
 * calls are -ENOTCONN; transport_close it): taking them for the next
 * answer would hand a stale result to the wrong request.  They are found
 * when a request goes out while nothing is outstanding (any byte waiting
 * then is unasked: the rest of an endless READ_MEM, an extra answer) and
 * when an answer comes for a request not yet fully sent.  The protocol has
 * no request ids, so what cannot be found: an extra answer that arrives
 * just after that check, or while later requests are outstanding (it is
 * taken for theirs, and the one still owed is found only if it has come
 * when the connection next goes idle).  Results that no server can give (an -errno outside -4095..-1
 * where only an -errno may come, a memory operation answered with neither
 * its length nor an -errno, a pid of 0 or above 2^31) are -EPROTO too.
 * Fds attached to anything but a NEAR_OP_SEND_FD answer are closed by the
 * kernel as they are read (no control buffer is given). */
#ifndef TRANSPORT_CONN_H
#define TRANSPORT_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <near/proto.h>
#include <near/sysif.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TRANSPORT_EXPORT __attribute__((visibility("default")))
#else
#define TRANSPORT_EXPORT
#endif

struct transport_conn;

/* Connect to the server listening at path and read its hello.  On failure
 * why (if not NULL) says what went wrong.
 * Returns: 0 with *out set; -ENAMETOOLONG; connect(2)'s error (-ENOENT: no
 * server socket there; -ECONNREFUSED: nobody listens); near_hello_check's
 * error (-EPROTO, -EPROTONOSUPPORT, -ENOEXEC, or the server's refusal such
 * as -EACCES; -ECONNREFUSED for a refusal that is no -errno); -EPROTO also
 * for a hello whose pid is <= 0 or whose page size is not a power of two
 * from 4 KiB to 1 MiB; -ECONNRESET if the server closed before its hello;
 * -ETIMEDOUT if the whole hello did not come within timeout_ms (< 0: no
 * limit), however it was trickled. */
TRANSPORT_EXPORT int transport_connect(const char *path, int timeout_ms,
				       struct transport_conn **out, char *why,
				       size_t whylen);

/* The same on an already connected socket; the connection owns fd from
 * now on, even on failure.  Returns: as transport_connect. */
TRANSPORT_EXPORT int transport_attach(int fd, int timeout_ms,
				      struct transport_conn **out, char *why,
				      size_t whylen);

/* Close the socket and free everything.  Outstanding requests are dropped;
 * remote memory from transport_alloc stays mapped in the server. */
TRANSPORT_EXPORT void transport_close(struct transport_conn *c);

/* Returns: the server's hello (checked as transport_connect says; its
 * reason is always NUL-terminated). */
TRANSPORT_EXPORT const struct near_hello *transport_hello(const struct transport_conn *c);

/* The connection's libnear sysif.  Its syscall operation returns the
 * syscall's result or, when the connection failed, transport_call's error;
 * every such failure (and every failed submit, wait or memory copy other
 * than -EFAULT) is recorded, so near_sysif_failed() is < 0 exactly when a
 * result may be the transport's: -ENOTCONN (not sent, did not run),
 * -ECONNRESET (sent, no answer: may have run), -ETIMEDOUT, -EPROTO (the
 * server broke the protocol: may have run), -EBUSY or -ENOMEM (refused
 * before sending).  A hangup after exit, exit_group,
 * execve or execveat is their success, not a failure.
 * Returns: the sysif, valid until transport_close. */
TRANSPORT_EXPORT struct near_sysif *transport_sysif(struct transport_conn *c);

/* Run one syscall and wait for its answer.
 * Returns: 0 with *result set to the syscall's result (which may itself be
 * -errno); -ENOTCONN if it was not sent; -ECONNRESET if it was sent and the
 * connection ended without an answer; -ETIMEDOUT past the connection's
 * timeout (see transport_set_timeout; the connection is then unusable);
 * -EPROTO if the server broke the protocol (bytes nobody asked for were
 * waiting before it was sent, in which case it was not; or its answer is
 * not one; the connection is then unusable); -EBUSY if pipelined requests
 * are outstanding (collect them first).  A signal that interrupts the wait
 * is no failure: the wait goes on. */
TRANSPORT_EXPORT int transport_call(struct transport_conn *c,
				    const struct near_request *req,
				    int64_t *result);

/* Convenience: the syscall's result, or the transport error.
 * Returns: as described; ambiguous by nature, prefer transport_call. */
TRANSPORT_EXPORT int64_t transport_syscall(struct transport_conn *c, int64_t nr,
					   int64_t a, int64_t b, int64_t c3,
					   int64_t d, int64_t e, int64_t f);

/* Queue a request; it is sent by transport_io, transport_flush or
 * transport_wait.  Never blocks.
 * Returns: 0; -ENOTCONN if the connection has ended; -EPROTO if none was
 * outstanding and bytes nobody asked for wait to be read (the connection
 * is then unusable; this request is not queued); -ENOMEM. */
TRANSPORT_EXPORT int transport_submit(struct transport_conn *c,
				      const struct near_request *req);

/* Send all queued requests, waiting as needed.
 * Returns: 0; -ENOTCONN if some could not be sent (they did not run). */
TRANSPORT_EXPORT int transport_flush(struct transport_conn *c);

/* Result of the oldest outstanding request, waiting for it.
 * Returns: 0 with *result set; -EAGAIN if nothing is outstanding;
 * -ENOTCONN / -ECONNRESET / -ETIMEDOUT / -EPROTO as for transport_call
 * (-EPROTO also when answers came for requests the server cannot have
 * read yet: not all sent; those requests themselves are -ENOTCONN). */
TRANSPORT_EXPORT int transport_wait(struct transport_conn *c, int64_t *result);

/* Get a dup of the server's fd remote_fd into this process
 * (NEAR_OP_SEND_FD; it travels as SCM_RIGHTS on the connection).
 * Returns: 0 with *local_fd set (O_CLOEXEC; any further fds attached are
 * closed); the server's -errno (-EBADF: no such fd there); -EPROTO for an
 * answer of 0 without an fd, or a result that is no -errno; -EBUSY if
 * pipelined requests are outstanding; a transport error. */
TRANSPORT_EXPORT int transport_take_fd(struct transport_conn *c, int remote_fd,
				       int *local_fd);

/* Fork the server: the child serves the connected stream socket sock (an fd
 * in the server) alone, its hello first (NEAR_OP_FORK).  The child's parent
 * is the server.  Returns: 0 with *pid set (the child's pid in the server's
 * pid namespace); the server's -errno; -EPROTO for an answer that is
 * neither a pid (1..2^31-1) nor an -errno; a transport error. */
TRANSPORT_EXPORT int transport_fork(struct transport_conn *c, int sock, int *pid);

/* Run execve/execveat in a server whose connection survives the exec (the
 * socket is not close-on-exec and the new program is a persist server that
 * greets it: what make_persistent does).  Returns: 0 when the new program
 * sent its hello (now transport_hello; the address space is new, so remote
 * allocations are forgotten and the memory transport is chosen anew);
 * *result is set to execve's -errno if it failed (and 0 is returned);
 * -EPROTO for an answer that is neither a hello nor an -errno, or a new
 * hello transport_connect would refuse (the connection is then unusable,
 * *result untouched); a transport error (-ECONNRESET: the connection ended
 * instead). */
TRANSPORT_EXPORT int transport_exec(struct transport_conn *c,
				    const struct near_request *req, int64_t *result);

/* Non-blocking API. */
/* Returns: the fd to poll. */
TRANSPORT_EXPORT int transport_fd(const struct transport_conn *c);
/* Returns: the poll events the connection waits for now (POLLOUT while
 * requests are queued, POLLIN while answers are outstanding), or 0. */
TRANSPORT_EXPORT short transport_events(const struct transport_conn *c);
/* Send and receive whatever can be without blocking.
 * Returns: 0; -ECONNRESET or another -errno once the connection ended
 * (-EPROTO: the server broke the protocol; the results of the affected
 * requests say which were lost). */
TRANSPORT_EXPORT int transport_io(struct transport_conn *c);
/* Result of the oldest outstanding request if it has arrived.
 * Returns: 0 with *result set; -EAGAIN if not yet (or nothing outstanding:
 * see transport_outstanding); -ENOTCONN / -ECONNRESET / -ETIMEDOUT /
 * -EPROTO for a lost request. */
TRANSPORT_EXPORT int transport_result(struct transport_conn *c, int64_t *result);
/* Returns: the number of requests submitted and not yet collected. */
TRANSPORT_EXPORT unsigned transport_outstanding(const struct transport_conn *c);

/* Limit every call that waits (calls, waits, flushes, take_fd, exec) to ms
 * milliseconds from its start, for all its waits together, so that a
 * server trickling its answer byte by byte cannot stretch it (< 0: no
 * limit, the default; a remote syscall may block for as long as it
 * likes).  A memory operation gets ms for each NEAR_PROTO_MEM_MAX chunk it
 * moves in-band (the first one also for the memory transport's probe, a
 * few round trips); transport_attach/connect's timeout covers the whole
 * hello.  Data that is already there is read even once the time is up.
 * Returns: 0. */
TRANSPORT_EXPORT int transport_set_timeout(struct transport_conn *c, int ms);

/* Tracing: with PERSIST_TRACE=1 in the environment when the connection is
 * made, each remote syscall is printed to stderr, strace-style.  A program
 * can also install its own hook (NULL restores the default).  The hook gets
 * the request and its result, or the transport error. */
typedef void transport_trace_fn(void *arg, const struct transport_conn *c,
				const struct near_request *req, int64_t result);
/* Returns: 0. */
TRANSPORT_EXPORT int transport_set_trace(struct transport_conn *c,
					 transport_trace_fn *fn, void *arg);
/* The default hook: one line to stderr.  Returns nothing. */
TRANSPORT_EXPORT void transport_trace_stderr(void *arg, const struct transport_conn *c,
					     const struct near_request *req,
					     int64_t result);

#ifdef __cplusplus
}
#endif
#endif
