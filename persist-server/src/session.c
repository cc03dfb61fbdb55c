// SPDX-License-Identifier: MIT
/* Sessions: who is served.  One controller is served at a time; one more may
 * wait as "pending".  A pending controller takes over with NEAR_OP_TAKEOVER,
 * so a silent or hung controller never locks the owner out (docs/design.md,
 * decision 6).  Peers of other uids are refused with a reason. */
#include <errno.h>
#include "internal.h"

/* How long accept rests after running out of fds (a copy per call: ppoll
 * writes the time left back). */
#define ACCEPT_PAUSE_NS (100 * 1000 * 1000)

static void set_state(struct pserver *s, enum pserver_state st)
{
	if (s->on_state)
		s->on_state(s, st);
}

/* Append decimal v to buf at *pos (bounded by cap). */
static void put_uint(char *buf, unsigned *pos, unsigned cap, unsigned long v)
{
	char tmp[24];
	unsigned n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof tmp);
	while (n && *pos + 1 < cap)
		buf[(*pos)++] = tmp[--n];
}

static void put_str(char *buf, unsigned *pos, unsigned cap, const char *str)
{
	while (*str && *pos + 1 < cap)
		buf[(*pos)++] = *str++;
}

int pserver__hello(struct pserver *s, int fd, uint64_t epoch, uint32_t flags,
		   int refusal, const char *reason)
{
	struct near_hello h;
	unsigned pos = 0;
	long n;

	pserver__zero(&h, sizeof h);
	h.magic = NEAR_PROTO_MAGIC;
	h.version = NEAR_PROTO_VERSION;
	h.arch = NEAR_ARCH_ID;
	h.epoch = epoch;
	h.pid = s->pid;
	h.page_size = s->page_size;
	h.flags = flags;
	h.refusal = refusal;
	h.entry_clone = s->entry_clone;
	h.entry_serve = s->entry_serve;
	if (reason)
		put_str(h.reason, &pos, sizeof h.reason, reason);
	/* A new socket's buffer always has room for 128 bytes; never block on
	 * a peer that does not read.  A takeover's signal (decision 6) may
	 * land here too: not a reason to drop the peer. */
	do
		n = sys_send(fd, &h, sizeof h, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -EINTR);
	if (n < 0)
		return (int)n;
	return n == sizeof h ? 0 : -EPIPE;
}

static int uid_allowed(const struct pserver *s, uint32_t uid)
{
	for (unsigned i = 0; i < s->n_uids && i < PSERVER_MAX_UIDS; i++)
		if (s->uids[i] == uid)
			return 1;
	return 0;
}

static void refuse(struct pserver *s, int fd, uint32_t uid)
{
	char why[72];
	unsigned pos = 0;

	put_str(why, &pos, sizeof why, "uid ");
	put_uint(why, &pos, sizeof why, uid);
	put_str(why, &pos, sizeof why, " may not control this server");
	why[pos] = '\0';
	pserver__hello(s, fd, 0, 0, -EACCES, why);
	sys_close(fd);
}

static void drop_pending(struct pserver *s)
{
	sys_close(s->pending_fd);
	s->pending_fd = -1;
}

/* Accept one peer: it is served at once if no one is, otherwise it becomes
 * the pending controller (a newer one supersedes an older one, so a flood of
 * silent connections cannot hold the slot against the owner's next try). */
static void accept_one(struct pserver *s)
{
	struct ucred cred = { 0, (uid_t)-1, (gid_t)-1 };
	long fd = sys_accept(s->listen_fd);

	/* Out of fds (or memory): the listener stays readable, so polling it
	 * again at once would spin.  Pause it; the peer waits in the backlog
	 * (its own deadline applies) until we retry. */
	if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM)
		s->accept_paused = 1;
	if (fd < 0)
		return;
	if (sys_peercred((int)fd, &cred) < 0 || !uid_allowed(s, cred.uid)) {
		refuse(s, (int)fd, cred.uid);
		return;
	}
	if (s->conn_fd < 0) {
		if (pserver__hello(s, (int)fd, s->last_epoch + 1, 0, 0, 0) < 0) {
			sys_close(fd);
			return;
		}
		s->conn_fd = (int)fd;
		s->epoch = ++s->last_epoch;
		return;
	}
	if (pserver__hello(s, (int)fd, s->last_epoch + 1, NEAR_HELLO_BUSY, 0, 0) < 0) {
		sys_close(fd);
		return;
	}
	if (s->pending_fd >= 0)
		drop_pending(s);
	s->pending_fd = (int)fd;
	s->pending_quiet = 0;
	s->pending_epoch = ++s->last_epoch;
}

/* The pending controller spoke.  Returns: 1 if it took over. */
static int check_pending(struct pserver *s, short revents)
{
	struct near_request req;
	long n;

	if (s->pending_quiet) {
		/* Its requests wait their turn; only a hangup matters now.  Not
		 * POLLRDHUP: a controller that queued its requests and shut its
		 * sending side still waits for the answers. */
		if (revents & (POLLHUP | POLLERR | POLLNVAL))
			drop_pending(s);
		return 0;
	}
	n = sys_recv(s->pending_fd, &req, sizeof req, MSG_PEEK | MSG_DONTWAIT);
	if (n == -EAGAIN || n == -EINTR)
		return 0;
	if (n <= 0) {
		drop_pending(s);
		return 0;
	}
	if (n < (long)sizeof req || req.nr != NEAR_OP_TAKEOVER) {
		/* Ordinary requests (or a takeover not sent in one piece): the
		 * controller waits until the current one leaves. */
		s->pending_quiet = 1;
		return 0;
	}
	sys_recv(s->pending_fd, &req, sizeof req, MSG_DONTWAIT);
	sys_close(s->conn_fd); /* the old controller sees end of file */
	s->conn_fd = s->pending_fd;
	s->epoch = s->pending_epoch;
	s->pending_fd = -1;
	s->in_len = 0;
	s->out_n = 0;
	s->out[s->out_n++] = (int64_t)s->epoch;
	return 1;
}

/* Whether the controller served has left with nothing owed either way:
 * end of file with no byte unread, no request in part, no answer unsent,
 * and nobody pending (who would come first).  Then a newcomer is served
 * at once.  Returns: 1 or 0. */
static int left_for_good(struct pserver *s)
{
	char byte;

	return s->pending_fd < 0 && s->in_len == 0 && s->out_n == 0 &&
	       sys_recv(s->conn_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

int pserver__wait(struct pserver *s, short events)
{
	for (;;) {
		struct pollfd p[3];
		struct timespec pause = { 0, ACCEPT_PAUSE_NS };
		unsigned n = 0, il = 3, ip = 3;
		long r;

		p[n].fd = s->conn_fd;
		p[n].events = events;
		p[n++].revents = 0;
		if (s->pending_fd >= 0) {
			ip = n;
			p[n].fd = s->pending_fd;
			p[n].events = (short)(s->pending_quiet ? 0 : POLLRDHUP | POLLIN);
			p[n++].revents = 0;
		}
		if (s->listen_fd >= 0 && !s->accept_paused) {
			il = n;
			p[n].fd = s->listen_fd;
			p[n].events = POLLIN;
			p[n++].revents = 0;
		}
		r = sys_ppoll(p, n, s->accept_paused ? &pause : 0);
		if (r == 0)
			s->accept_paused = 0; /* paused long enough: try again */
		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		/* The pending controller first: a takeover must not lose its
		 * slot to a newcomer accepted in the same round. */
		if (ip < n && p[ip].revents && check_pending(s, p[ip].revents))
			return -ECONNABORTED;
		if (il < n && (p[il].revents & POLLIN)) {
			if (events == POLLIN && p[0].revents && left_for_good(s)) {
				/* Served anew, not as busy: a controller that
				 * reconnects right after closing would otherwise
				 * pay a takeover for its own old connection. */
				sys_close(s->conn_fd);
				s->conn_fd = -1;
				accept_one(s);
				return -ECONNABORTED;
			}
			accept_one(s);
		}
		if (p[0].revents)
			return p[0].revents;
	}
}

int pserver__next_conn(struct pserver *s)
{
	if (s->pending_fd >= 0) {
		/* Promote the waiting controller; its queued requests run now. */
		s->conn_fd = s->pending_fd;
		s->epoch = s->pending_epoch;
		s->pending_fd = -1;
		set_state(s, PSERVER_SERVING);
		return 0;
	}
	if (s->listen_fd < 0)
		return -ENOTCONN;
	set_state(s, PSERVER_IDLE);
	/* Accept first, poll only if that finds nobody (a listener made
	 * non-blocking by whoever handed it to us): on a blocking listener
	 * accept sleeps until a peer comes, as the poll would, and a
	 * controller that reconnects is usually already in the backlog. */
	if (!s->accept_paused)
		accept_one(s);
	while (s->conn_fd < 0) {
		struct pollfd p = { s->listen_fd, POLLIN, 0 };
		long r;

		if (s->accept_paused) {
			/* Nobody is served, so nothing else frees an fd soon:
			 * sleep a little and retry, without spinning. */
			struct timespec pause = { 0, ACCEPT_PAUSE_NS };
			sys_ppoll(0, 0, &pause);
			s->accept_paused = 0;
		}
		r = sys_ppoll(&p, 1, 0);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (p.revents & (POLLERR | POLLNVAL))
			return -EBADF;
		if (p.revents & POLLIN)
			accept_one(s);
	}
	set_state(s, PSERVER_SERVING);
	return 0;
}
