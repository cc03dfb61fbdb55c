// SPDX-License-Identifier: MIT
/* The pipeline: requests queued in an output buffer, answers matched to
 * them in order.  Everything here is non-blocking except transport__poll;
 * the blocking calls are loops of poll and transport_io, so that sending
 * and receiving always progress together (a large pipeline never deadlocks
 * on two full socket buffers). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <asm/unistd.h>
#include "internal.h"

static struct transport__pending *at(struct transport_conn *c, unsigned i)
{
	return &c->q[c->q_head + i];
}

/* The connection ended with err: settle every outstanding request. */
void transport__break(struct transport_conn *c, int err)
{
	int first = 1;

	if (!c->broken)
		c->broken = err;
	for (unsigned i = c->q_recv; i < c->q_count; i++) {
		struct transport__pending *p = at(c, i);
		if (p->state == PENDING_DONE)
			continue;
		if (p->state == PENDING_SENDING) {
			p->result = -ENOTCONN; /* never fully sent: never ran */
		} else if (first && err == -ECONNRESET && near_ends_connection(p->req.nr)) {
			/* A hangup is what such a syscall does when it
			 * succeeds (<near/proto.h>). */
			p->result = 0;
			p->state = PENDING_DONE;
			first = 0;
			continue;
		} else {
			/* Sent: it may or may not have run. */
			p->result = err == -ETIMEDOUT || err == -EPROTO ? err : -ECONNRESET;
		}
		p->state = PENDING_LOST;
		first = 0;
	}
	c->q_recv = c->q_count;
	c->out_len = c->out_off = 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void transport__arm(struct transport_conn *c)
{
	if (c->timeout_ms >= 0)
		c->deadline = now_ns() + (int64_t)c->timeout_ms * 1000000;
}

int transport__poll(struct transport_conn *c, short events)
{
	struct pollfd p = { c->fd, events, 0 };
	struct timespec ts = { 0, 0 };
	long r;

	do {
		if (c->timeout_ms >= 0) {
			int64_t left = c->deadline - now_ns();
			if (left < 0)
				left = 0;
			ts.tv_sec = (time_t)(left / 1000000000);
			ts.tv_nsec = (long)(left % 1000000000);
		}
		r = near_syscall6(__NR_ppoll, (long)&p, 1, c->timeout_ms < 0 ? 0 : (long)&ts,
				  0, 8, 0);
	} while (r == -EINTR);
	if (r < 0)
		return (int)r;
	return r == 0 ? -ETIMEDOUT : 0;
}

int transport__read_exact(struct transport_conn *c, void *buf, size_t len)
{
	char *p = buf;

	/* Read first, poll only when nothing is there: a hello is read once
	 * the caller has seen the socket readable, and a poll before that
	 * read would be a syscall for nothing (reconnect's cost). */
	while (len) {
		long n = near_syscall6(__NR_recvfrom, c->fd, (long)p, (long)len, MSG_DONTWAIT, 0, 0);

		if (n == 0)
			return -ECONNRESET;
		if (n == -EAGAIN) {
			int r = transport__poll(c, POLLIN);
			if (r < 0)
				return r;
			continue;
		}
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int transport__quiet(struct transport_conn *c)
{
	unsigned char b;
	long n;

	do
		n = near_syscall6(__NR_recvfrom, c->fd, (long)&b, 1, MSG_PEEK | MSG_DONTWAIT, 0, 0);
	while (n == -EINTR);
	if (n <= 0)
		return 0; /* nothing, or end of file / an error: the send will say */
	transport__break(c, -EPROTO);
	return -EPROTO;
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n * elem);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

static int enqueue(struct transport_conn *c, const struct near_request *req,
		   const void *payload, size_t plen, void *rdst, uint64_t rlen)
{
	struct transport__pending *p;
	size_t qcap = c->q_cap;
	int r;

	if (c->broken)
		return -ENOTCONN;
	if (c->q_count == 0)
		c->q_head = 0;
	if (c->q_head + c->q_count == c->q_cap && c->q_head) {
		memmove(c->q, c->q + c->q_head, c->q_count * sizeof *c->q);
		c->q_head = 0;
	}
	r = grow((void **)&c->q, &qcap, c->q_count + 1, sizeof *c->q);
	if (r < 0)
		return r;
	c->q_cap = (unsigned)qcap;
	r = grow((void **)&c->out, &c->out_cap, c->out_len + sizeof *req + plen, 1);
	if (r < 0)
		return r;
	memcpy(c->out + c->out_len, req, sizeof *req);
	if (plen)
		memcpy(c->out + c->out_len + sizeof *req, payload, plen);
	c->out_len += sizeof *req + plen;
	p = at(c, c->q_count++);
	p->req = *req;
	p->rlen = rlen;
	p->dst = rdst;
	p->end = c->out_len;
	p->result = 0;
	p->state = PENDING_SENDING;
	return 0;
}

int transport__queue(struct transport_conn *c, const struct near_request *req,
		     const void *payload, size_t plen, void *rdst, uint64_t rlen)
{
	if (c->broken)
		return -ENOTCONN;
	if (c->q_count == 0) {
		int r = transport__quiet(c);
		if (r < 0)
			return r;
	}
	return enqueue(c, req, payload, plen, rdst, rlen);
}

TRANSPORT_EXPORT int transport_submit(struct transport_conn *c,
				      const struct near_request *req)
{
	if (req->nr == NEAR_OP_WRITE_MEM || req->nr == NEAR_OP_READ_MEM)
		return -EINVAL; /* they carry data: use transport_*_mem */
	return transport__queue(c, req, NULL, 0, NULL, 0);
}

static int send_some(struct transport_conn *c)
{
	while (c->out_off < c->out_len) {
		long n = near_syscall6(__NR_sendto, c->fd, (long)(c->out + c->out_off),
				       (long)(c->out_len - c->out_off),
				       MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			transport__break(c, n == -EPIPE ? -ECONNRESET : (int)n);
			return c->broken;
		}
		c->out_off += (size_t)n;
	}
	for (unsigned i = 0; i < c->q_count; i++) {
		struct transport__pending *p = at(c, i);
		if (p->state == PENDING_SENDING && p->end <= c->out_off)
			p->state = PENDING_SENT;
	}
	if (c->out_off == c->out_len)
		c->out_len = c->out_off = 0;
	return 0;
}

/* Bytes that may be read now without crossing into a READ_MEM's data,
 * which goes straight to its destination. */
static size_t result_bytes_wanted(struct transport_conn *c)
{
	struct transport__pending *p = at(c, c->q_recv);
	size_t want = p->rlen + 8 - c->rx_got;

	for (unsigned i = c->q_recv + 1; i < c->q_count && want < 4096; i++) {
		if (at(c, i)->rlen)
			break;
		want += 8;
	}
	return want > 4096 ? 4096 : want;
}

/* Feed received answer bytes to the outstanding requests, in order.
 * Returns: 0; -EPROTO if some belong to a request not yet (fully) sent,
 * which no server can have answered. */
static int take_results(struct transport_conn *c, const unsigned char *b, size_t n)
{
	while (n && c->q_recv < c->q_count) {
		struct transport__pending *p = at(c, c->q_recv);
		size_t off = c->rx_got - p->rlen, k = 8 - off;

		if (p->state != PENDING_SENT)
			return -EPROTO;
		if (k > n)
			k = n;
		memcpy(c->rx_res + off, b, k);
		b += k;
		n -= k;
		c->rx_got += k;
		if (c->rx_got == p->rlen + 8) {
			memcpy(&p->result, c->rx_res, 8);
			p->state = PENDING_DONE;
			c->q_recv++;
			c->rx_got = 0;
		}
	}
	return 0;
}

static int recv_some(struct transport_conn *c, int flags)
{
	unsigned char buf[4096];

	while (c->q_recv < c->q_count) {
		struct transport__pending *p = at(c, c->q_recv);
		int data = c->rx_got < p->rlen;
		size_t want = data ? p->rlen - c->rx_got : result_bytes_wanted(c);
		void *dst = data ? (void *)((char *)p->dst + c->rx_got) : (void *)buf;
		long n;

		if (p->state != PENDING_SENT) {
			/* Still being sent: nothing may come before it is.  A
			 * byte now is an answer ahead of its request (and would
			 * keep poll ready for good); end of file, a server that
			 * will never answer. */
			n = near_syscall6(__NR_recvfrom, c->fd, (long)buf, 1,
					  MSG_PEEK | MSG_DONTWAIT, 0, 0);
			if (n == -EAGAIN || n == -EINTR)
				return 0;
			transport__break(c, n > 0 ? -EPROTO : n == 0 ? -ECONNRESET : (int)n);
			return c->broken;
		}
		if (data && !(flags & MSG_DONTWAIT)) {
			/* We may block and there is no deadline: the rest of
			 * the data and the result behind it in one wait, not
			 * a read (and a failed one) each time the server
			 * fills the socket buffer (mem_inband_read_1MiB).  A
			 * signal ends it early, with what came. */
			struct iovec iov[2] = { { dst, want }, { buf, 8 } };
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

			n = near_syscall3(__NR_recvmsg, c->fd, (long)&mh, MSG_WAITALL);
		} else {
			n = near_syscall6(__NR_recvfrom, c->fd, (long)dst, (long)want, flags, 0, 0);
		}
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN)
			return 0;
		if (n <= 0) {
			transport__break(c, n == 0 ? -ECONNRESET : (int)n);
			return c->broken;
		}
		if (data) {
			size_t k = (size_t)n > want ? want : (size_t)n;

			c->rx_got += k;
			if ((size_t)n > k && take_results(c, buf, (size_t)n - k) < 0) {
				transport__break(c, -EPROTO);
				return c->broken;
			}
		} else if (take_results(c, buf, (size_t)n) < 0) {
			transport__break(c, -EPROTO);
			return c->broken;
		}
		flags |= MSG_DONTWAIT; /* block at most once */
	}
	return 0;
}

TRANSPORT_EXPORT int transport_io(struct transport_conn *c)
{
	int r;

	if (c->broken)
		return c->broken;
	r = send_some(c);
	if (r == 0)
		r = recv_some(c, MSG_DONTWAIT);
	return r;
}

TRANSPORT_EXPORT short transport_events(const struct transport_conn *c)
{
	short ev = 0;

	if (c->broken)
		return 0;
	if (c->out_off < c->out_len)
		ev |= POLLOUT;
	if (c->q_recv < c->q_count)
		ev |= POLLIN;
	return ev;
}

TRANSPORT_EXPORT unsigned transport_outstanding(const struct transport_conn *c)
{
	return c->q_count;
}

/* Pop the oldest request if it is settled. */
TRANSPORT_EXPORT int transport_result(struct transport_conn *c, int64_t *result)
{
	struct transport__pending *p;
	int lost;

	if (c->q_count == 0 || at(c, 0)->state < PENDING_DONE)
		return -EAGAIN;
	p = at(c, 0);
	lost = p->state == PENDING_LOST;
	transport__traced(c, &p->req, p->result);
	if (!lost)
		*result = p->result;
	c->q_head++;
	c->q_count--;
	c->q_recv--;
	return lost ? (int)p->result : 0;
}

int transport__wait(struct transport_conn *c, int64_t *result)
{
	if (c->q_count == 0)
		return -EAGAIN;
	/* Send before any poll: a socket buffer nearly always has room, and
	 * a poll for POLLOUT first, or a read right after the send, would be
	 * a syscall for nothing on every round trip (send_some stops on
	 * EAGAIN, and the poll below then waits for room as well). */
	if (c->out_off < c->out_len)
		send_some(c);
	while (at(c, 0)->state < PENDING_DONE) {
		int r;
		if (c->out_off == c->out_len && c->timeout_ms < 0) {
			/* Nothing to send and no deadline: one blocking read. */
			recv_some(c, 0);
			continue;
		}
		r = transport__poll(c, transport_events(c));
		if (r < 0) {
			transport__break(c, r);
			break;
		}
		transport_io(c);
	}
	return transport_result(c, result);
}

TRANSPORT_EXPORT int transport_wait(struct transport_conn *c, int64_t *result)
{
	transport__arm(c);
	return transport__wait(c, result);
}

int transport__send_only(struct transport_conn *c)
{
	while (!c->broken && c->out_off < c->out_len) {
		int r = transport__poll(c, POLLOUT);
		if (r < 0) {
			transport__break(c, r);
			break;
		}
		send_some(c);
	}
	return c->broken ? -ENOTCONN : 0;
}

TRANSPORT_EXPORT int transport_flush(struct transport_conn *c)
{
	transport__arm(c);
	while (!c->broken && c->out_off < c->out_len) {
		int r = transport__poll(c, transport_events(c));
		if (r < 0) {
			transport__break(c, r);
			break;
		}
		transport_io(c);
	}
	return c->broken ? -ENOTCONN : 0;
}

TRANSPORT_EXPORT int transport_call(struct transport_conn *c,
				    const struct near_request *req,
				    int64_t *result)
{
	int r;

	/* Answers to earlier pipelined requests would come first: their
	 * owner must collect them before a blocking call. */
	if (c->q_count)
		return -EBUSY;
	transport__arm(c);
	if (c->timeout_ms < 0 && !c->broken && req->nr >= 0) {
		/* The common case, in two syscalls (three with the check that
		 * nothing unasked waits): send, then a blocking read of the
		 * answer. */
		long n;

		r = transport__quiet(c);
		if (r < 0)
			return r;
		n = near_syscall6(__NR_sendto, c->fd, (long)req, sizeof *req, MSG_NOSIGNAL, 0, 0);
		if (n == (long)sizeof *req) {
			n = near_syscall6(__NR_recvfrom, c->fd, (long)result, 8,
					  MSG_WAITALL, 0, 0);
			if (n == 8) {
				transport__traced(c, req, *result);
				return 0;
			}
			/* Hung up, interrupted by a signal, or a partial answer
			 * (fds attached end a read): settle it below. */
			r = enqueue(c, req, NULL, 0, NULL, 0);
			if (r < 0)
				return r;
			c->out_len = c->out_off = 0;
			at(c, 0)->state = PENDING_SENT;
			if (n > 0 || n == -EINTR || n == -EAGAIN) {
				if (n > 0) /* (cannot fail: the request is sent) */
					take_results(c, (unsigned char *)result, (size_t)n);
				return transport__wait(c, result);
			}
			transport__break(c, n == 0 ? -ECONNRESET : (int)n);
			return transport_result(c, result);
		}
		if (n < 0 && n != -EAGAIN && n != -EINTR) {
			transport__break(c, n == -EPIPE ? -ECONNRESET : (int)n);
			return -ENOTCONN; /* a short send is not a request */
		}
		/* A partial send leaves the stream mid-request: finish it
		 * through the queue. */
		r = enqueue(c, req, NULL, 0, NULL, 0);
		if (r < 0)
			return r;
		c->out_off = n > 0 ? (size_t)n : 0;
		return transport__wait(c, result);
	}
	r = transport__queue(c, req, NULL, 0, NULL, 0);
	if (r < 0)
		return r;
	return transport__wait(c, result);
}

TRANSPORT_EXPORT int64_t transport_syscall(struct transport_conn *c, int64_t nr,
					   int64_t a, int64_t b, int64_t c3,
					   int64_t d, int64_t e, int64_t f)
{
	struct near_request req;
	int64_t result;
	int r = transport_call(c, near_request_set(&req, nr, a, b, c3, d, e, f), &result);

	return r < 0 ? r : result;
}
