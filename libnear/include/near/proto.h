/* SPDX-License-Identifier: MIT */
/* The persist wire protocol.
 *
 * On every connection the server speaks first: one struct near_hello.  After
 * it the controller sends requests and the server answers each one, in order.
 * Requests may be pipelined freely.  All integers are in the byte order of
 * the server's architecture; the hello's arch field lets a controller refuse
 * a peer it cannot speak to.
 *
 *   request   struct near_request (56 bytes)
 *   response  struct near_response (8 bytes): the syscall's result, -errno
 *
 * A request whose nr is negative is a protocol operation, not a syscall:
 *
 *   NEAR_OP_WRITE_MEM  args[0]=addr args[1]=len; len bytes follow the
 *                      request.  Response: len, or -errno (-EFAULT: the
 *                      bytes were consumed but not all could be stored).
 *   NEAR_OP_READ_MEM   args[0]=addr args[1]=len.  Response: exactly len bytes
 *                      of data (zeros where the memory could not be read),
 *                      then the 8-byte response: len, or -errno.
 *   NEAR_OP_TAKEOVER   sent as the first request by a controller whose hello
 *                      carried NEAR_HELLO_BUSY: the server cuts the current
 *                      controller (it sees end of file) and serves this one.
 *                      Response: the new connection epoch.
 *   NEAR_OP_FORK       args[0]=fd, a connected stream socket in the server.
 *                      The server forks; the child (whose parent is the
 *                      server) closes the server's other sockets and serves
 *                      fd alone, hello first, until its end of file.
 *                      Response (to the parent's controller): the child's
 *                      pid, or -errno.  This is how a controller starts a
 *                      process inside the server and sets it up with
 *                      ordinary syscalls before its execve.
 *   NEAR_OP_SEND_FD    args[0]=fd in the server.  Response: 0 with a dup of
 *                      fd attached to it as SCM_RIGHTS (read it with
 *                      recvmsg), or -errno with nothing attached.  The
 *                      answers before it are sent first, in their own write.
 *   NEAR_OP_SPAWN      no arguments.  The server starts a child in the
 *                      manner of vfork (its own stack, the server's memory,
 *                      a copy of its fd table; a plain fork where vfork
 *                      cannot be had, e.g. under valgrind) that serves THIS
 *                      connection while the server waits: the child answers
 *                      the SPAWN with its pid (in the server's pid namespace),
 *                      then runs the requests that follow (its setup: open,
 *                      dup3, chdir, setsid...).  The child's end is the end
 *                      of the spawn: a successful execve is answered 0 by
 *                      the server, which serves again from there; a child
 *                      that ends without one (an exit request, end of file,
 *                      a broken stream) is reaped by the server itself and
 *                      the request that ended it is answered -ECHILD.  So no
 *                      half-set-up child outlives a controller that dies,
 *                      no fd is passed (it works across ssh), and nothing is
 *                      left in the server's fd table.  Requests pipelined
 *                      after an execve are not the program's: send nothing
 *                      after it until its answer.
 *   NEAR_OP_OWN_FDS    no arguments.  Response: the fds the server itself
 *                      uses, each plus one (0: none) in 21 bits: the
 *                      listening socket, this connection, a waiting
 *                      controller's (NEAR_OWN_FD(ret, i), i = 0, 1, 2).  A
 *                      controller that brings the server's fd table back to
 *                      what it owns must not close these.
 *
 * len must be at most NEAR_PROTO_MEM_MAX; a larger one is answered with
 * -EMSGSIZE and the connection is closed, since the stream cannot be
 * resynchronised. */
#ifndef NEAR_PROTO_H
#define NEAR_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <asm/unistd.h>
#include <near/export.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NEAR_PROTO_MAGIC 0x0a54534953524550ULL /* "PERSIST\n" in memory */
#define NEAR_PROTO_VERSION 1u
#define NEAR_PROTO_MEM_MAX (16u << 20)

enum near_op {
	NEAR_OP_WRITE_MEM = -1,
	NEAR_OP_READ_MEM = -2,
	NEAR_OP_TAKEOVER = -3,
	NEAR_OP_FORK = -4,
	NEAR_OP_SEND_FD = -5,
	NEAR_OP_SPAWN = -6,
	NEAR_OP_OWN_FDS = -7,
};

/* The i-th fd of a NEAR_OP_OWN_FDS answer (0 listening, 1 this connection,
 * 2 a waiting controller's).  Returns: the fd, or -1 for none. */
#define NEAR_OWN_FD(ret, i) ((int)(((uint64_t)(ret) >> (21 * (i))) & 0x1fffff) - 1)

struct near_request {
	int64_t nr;
	int64_t args[6];
};

struct near_response {
	int64_t ret;
};

/* hello.flags */
#define NEAR_HELLO_BUSY 0x1u /* another controller is being served */

struct near_hello {
	uint64_t magic;
	uint32_t version;
	uint32_t arch;        /* NEAR_ARCH_ID of the server */
	uint64_t epoch;       /* epoch this connection has once it is served */
	int32_t pid;          /* the server's pid in its own pid namespace */
	uint32_t page_size;
	uint32_t flags;       /* NEAR_HELLO_* */
	int32_t refusal;      /* 0, or -errno: refused, reason says why, then EOF */
	uint64_t entry_clone; /* address of near_clone in the server */
	uint64_t entry_serve; /* address of the server's CLONE_VM child main */
	char reason[72];      /* NUL-terminated text when refusal != 0 */
};

_Static_assert(sizeof(struct near_request) == 56, "request is 56 bytes");
_Static_assert(sizeof(struct near_response) == 8, "response is 8 bytes");
_Static_assert(sizeof(struct near_hello) == 128, "hello is 128 bytes");

/* Check a hello received from a server.  why (if not NULL) gets a one-line
 * explanation when the result is not 0.
 * Returns: 0 if it can be spoken to; -EPROTO for a wrong magic (not a
 * persist server); -EPROTONOSUPPORT for another protocol version; -ENOEXEC
 * for another architecture; the server's own refusal (e.g. -EACCES) if it
 * refused this peer. */
NEAR_EXPORT int near_hello_check(const struct near_hello *h, char *why,
				 size_t whylen);

/* Fill a request.  Returns: req. */
static inline struct near_request *
near_request_set(struct near_request *req, int64_t nr, int64_t a, int64_t b,
		 int64_t c, int64_t d, int64_t e, int64_t f)
{
	req->nr = nr;
	req->args[0] = a;
	req->args[1] = b;
	req->args[2] = c;
	req->args[3] = d;
	req->args[4] = e;
	req->args[5] = f;
	return req;
}

/* Does syscall nr, when it succeeds, end the server's side of the
 * connection?  exit and exit_group end the serving thread or process, and
 * execve and execveat replace the program; none of them answers.  Both
 * ends follow this rule: the server sends the answers it owes before
 * running one, and the controller takes a hangup right after one as its
 * success (result 0) rather than as a lost answer.  Inline and libc-free,
 * for the server loop.
 * Returns: 1 if so, else 0. */
static inline int near_ends_connection(int64_t nr)
{
	return nr == __NR_exit || nr == __NR_exit_group || nr == __NR_execve ||
	       nr == __NR_execveat;
}

#ifdef __cplusplus
}
#endif
#endif
