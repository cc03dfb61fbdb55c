// SPDX-License-Identifier: MIT
/* Memory transports: choosing one by proof, and moving bytes with it. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/kcmp.h>
#include <asm/unistd.h>
#include <far/far.h>
#include "internal.h"

/* process_vm_readv/writev on pid.  Access to our own pid is always
 * permitted, and a bad address is -EFAULT, never a crash, which is why even
 * the local transport copies this way rather than with memcpy.
 * Returns: 0, -EFAULT for a partial copy, or the syscall's error. */
static int pvm(int pid, int write, void *local, uint64_t remote, size_t len)
{
	struct iovec l = { local, len }, r = { (void *)(uintptr_t)remote, len };
	long n = near_syscall6(write ? __NR_process_vm_writev : __NR_process_vm_readv,
			       pid, (long)&l, 1, (long)&r, 1, 0);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}

static int self_pid(void)
{
	return (int)near_syscall0(__NR_getpid);
}

/* Send a WRITE_MEM request and its payload straight from src with sendmsg
 * (no copy into the output buffer); the request stays queued for its
 * answer.  Returns: 0, or the request's transport error. */
static int send_direct(struct transport_conn *c, const struct near_request *req,
		       const void *src, size_t n)
{
	struct iovec iov[2] = { { (void *)req, sizeof *req }, { (void *)src, n } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	int64_t res;

	c->out_len = c->out_off = 0; /* sent here, not from the buffer */
	while (mh.msg_iovlen) {
		long k = near_syscall3(__NR_sendmsg, c->fd, (long)&mh, MSG_NOSIGNAL);
		if (k == -EINTR)
			continue;
		if (k < 0) {
			transport__break(c, k == -EPIPE ? -ECONNRESET : (int)k);
			return transport_result(c, &res);
		}
		while (k > 0 && mh.msg_iovlen) {
			size_t take = (size_t)k < mh.msg_iov->iov_len ? (size_t)k : mh.msg_iov->iov_len;
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + take;
			mh.msg_iov->iov_len -= take;
			k -= (long)take;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	c->q[c->q_head].state = PENDING_SENT;
	return 0;
}

/* The protocol's memory operations, in chunks of at most
 * NEAR_PROTO_MEM_MAX, each with its own deadline.  Writes with no deadline
 * go out with send_direct; read data goes straight from the socket to
 * local: exactly the chunk's length, then the result.
 * Returns: 0, the server's first -errno (e.g. -EFAULT), -EPROTO for a
 * result that is neither the length nor an -errno (the connection is then
 * broken), or a transport error. */
static int inband(struct transport_conn *c, int write, uint64_t remote, void *local,
		  size_t len)
{
	int direct = write && c->timeout_ms < 0, err = 0;

	if (c->q_count)
		return -EBUSY;
	while (len) {
		size_t n = len > NEAR_PROTO_MEM_MAX ? NEAR_PROTO_MEM_MAX : len;
		struct near_request req;
		int64_t res;
		int r;

		near_request_set(&req, write ? NEAR_OP_WRITE_MEM : NEAR_OP_READ_MEM,
				 (int64_t)remote, (int64_t)n, 0, 0, 0, 0);
		transport__arm(c);
		r = transport__queue(c, &req, write && !direct ? local : NULL,
				     write && !direct ? n : 0, write ? NULL : local,
				     write ? 0 : n);
		if (r == 0 && direct)
			r = send_direct(c, &req, local, n);
		if (r == 0)
			r = transport__wait(c, &res);
		if (r < 0)
			return r;
		if (res != (int64_t)n && transport__errno(res) != res) {
			transport__break(c, -EPROTO);
			return -EPROTO;
		}
		if (res < 0 && !err)
			err = (int)res;
		remote += n;
		local = (char *)local + n;
		len -= n;
	}
	return err;
}

/* Prove which transports are valid: write a nonce in-band into memory
 * allocated in the server, then look for it through the faster ways. */
static void decide(struct transport_conn *c)
{
	unsigned char nonce[16], seen[16];
	uint64_t slot;
	int local_ok = 0, pvm_ok = 0;

	c->mem = TRANSPORT_MEM_INBAND; /* the probe itself goes in-band */
	if (transport_alloc(c, sizeof nonce, &slot) < 0)
		return;
	if (near_syscall3(__NR_getrandom, (long)nonce, sizeof nonce, 0) != sizeof nonce)
		memcpy(nonce, &slot, sizeof slot), memcpy(nonce + 8, &c, sizeof c);
	if (inband(c, 1, slot, nonce, sizeof nonce) == 0) {
		/* kcmp says whether the process at hello.pid shares our memory;
		 * the nonce says whether that process is really our server. */
		if (far_kcmp_same(self_pid(), c->hello.pid, KCMP_VM) == 0 &&
		    pvm(self_pid(), 0, seen, slot, sizeof seen) == 0 &&
		    memcmp(seen, nonce, sizeof nonce) == 0)
			local_ok = 1;
		if (pvm(c->hello.pid, 0, seen, slot, sizeof seen) == 0 &&
		    memcmp(seen, nonce, sizeof nonce) == 0)
			pvm_ok = 1;
	}
	transport_free(c, slot);
	c->local_ok = local_ok;
	c->pvm_ok = pvm_ok;
	if (local_ok)
		c->mem = TRANSPORT_MEM_LOCAL;
	else if (pvm_ok)
		c->mem = TRANSPORT_MEM_PROCESS_VM;
}

TRANSPORT_EXPORT enum transport_mem_kind transport_mem_kind(struct transport_conn *c)
{
	if (c->mem == TRANSPORT_MEM_UNDECIDED)
		decide(c);
	return c->mem;
}

TRANSPORT_EXPORT const char *transport_mem_kind_name(enum transport_mem_kind k)
{
	switch (k) {
	case TRANSPORT_MEM_LOCAL: return "local";
	case TRANSPORT_MEM_PROCESS_VM: return "process_vm";
	case TRANSPORT_MEM_INBAND: return "in-band";
	default: return "undecided";
	}
}

TRANSPORT_EXPORT int transport_mem_use(struct transport_conn *c, enum transport_mem_kind kind)
{
	/* In-band is always valid: no probe (a server on another host has
	 * no pid here to try process_vm on). */
	if (kind == TRANSPORT_MEM_INBAND) {
		c->mem = kind;
		return 0;
	}
	transport_mem_kind(c);
	if ((kind == TRANSPORT_MEM_LOCAL && !c->local_ok) ||
	    (kind == TRANSPORT_MEM_PROCESS_VM && !c->pvm_ok) ||
	    kind == TRANSPORT_MEM_UNDECIDED)
		return -EXDEV;
	c->mem = kind;
	return 0;
}

/* A faster transport refused after all (the server changed credentials,
 * say): fall back to in-band for good. */
static int refused(int r)
{
	return r == -EPERM || r == -ESRCH || r == -ENOSYS || r == -EACCES;
}

/* Move len bytes between local and the server's remote, by the chosen
 * transport.  Returns: 0, -EFAULT, or a transport error. */
static int copy(struct transport_conn *c, int write, uint64_t remote, void *local, size_t len)
{
	int r;

	if (c->broken)
		return -ENOTCONN;
	switch (transport_mem_kind(c)) {
	case TRANSPORT_MEM_LOCAL:
		return pvm(self_pid(), write, local, remote, len);
	case TRANSPORT_MEM_PROCESS_VM:
		r = pvm(c->hello.pid, write, local, remote, len);
		if (!refused(r))
			return r;
		c->mem = TRANSPORT_MEM_INBAND;
		c->pvm_ok = 0;
		break;
	default:
		break;
	}
	return inband(c, write, remote, local, len);
}

TRANSPORT_EXPORT int transport_write_mem(struct transport_conn *c, uint64_t dst,
					 const void *src, size_t len)
{
	return copy(c, 1, dst, (void *)src, len);
}

TRANSPORT_EXPORT int transport_read_mem(struct transport_conn *c, void *dst,
					uint64_t src, size_t len)
{
	return copy(c, 0, src, dst, len);
}

TRANSPORT_EXPORT int transport_batch(struct transport_conn *c,
				     const struct transport_buf *bufs, size_t n,
				     const struct near_request *req, int64_t *result)
{
	int err = 0, r;

	if (c->q_count)
		return -EBUSY;
	if (transport_mem_kind(c) != TRANSPORT_MEM_INBAND) {
		/* The writes are local syscalls: only the call travels. */
		for (size_t i = 0; i < n; i++) {
			r = transport_write_mem(c, bufs[i].dst, bufs[i].src, bufs[i].len);
			if (r == -EFAULT)
				err = r;
			else if (r < 0)
				return r;
		}
		r = transport_call(c, req, result);
		return r < 0 ? r : err;
	}
	/* Nothing is queued unless all of it can be: a request left queued
	 * would make every later call -EBUSY. */
	for (size_t i = 0; i < n; i++)
		if (bufs[i].len > NEAR_PROTO_MEM_MAX)
			return -EMSGSIZE;
	transport__arm(c);
	for (size_t i = 0; i < n; i++) {
		struct near_request w;
		near_request_set(&w, NEAR_OP_WRITE_MEM, (int64_t)bufs[i].dst,
				 (int64_t)bufs[i].len, 0, 0, 0, 0);
		r = transport__queue(c, &w, bufs[i].src, bufs[i].len, NULL, 0);
		if (r < 0)
			return r;
	}
	r = transport__queue(c, req, NULL, 0, NULL, 0);
	if (r < 0)
		return r;
	for (size_t i = 0; i <= n; i++) {
		int64_t res;
		r = transport__wait(c, &res);
		if (r == 0 && i < n && res != (int64_t)bufs[i].len && transport__errno(res) != res) {
			/* Neither the length nor an -errno. */
			transport__break(c, -EPROTO);
			r = -EPROTO;
		}
		if (r < 0) {
			/* The connection is broken and the rest settled:
			 * collect them, so that they do not make the next call
			 * -EBUSY. */
			while (transport_result(c, &res) != -EAGAIN)
				;
			return r;
		}
		if (i < n && res < 0)
			err = -EFAULT;
		if (i == n)
			*result = res;
	}
	return err;
}
