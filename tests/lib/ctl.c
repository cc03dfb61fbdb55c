// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <near/io.h>
#include "ctl.h"

/* The waits and whole reads and writes are libnear's (<near/io.h>), with
 * this controller's deadline on each wait. */
int ctl_read_all(int fd, void *buf, size_t len)
{
	return near_read_exact(fd, buf, len, CTL_TIMEOUT_MS);
}

int ctl_write_all(int fd, const void *buf, size_t len)
{
	return near_write_all(fd, buf, len, CTL_TIMEOUT_MS);
}

int ctl_attach(struct ctl *c, int fd)
{
	int r;

	c->fd = fd;
	c->why[0] = '\0';
	r = ctl_read_all(fd, &c->hello, sizeof c->hello);
	if (r == 0)
		r = near_hello_check(&c->hello, c->why, sizeof c->why);
	else
		snprintf(c->why, sizeof c->why, "no hello from the server: %s", strerror(-r));
	if (r < 0) {
		close(fd);
		c->fd = -1;
	}
	return r;
}

int ctl_connect(struct ctl *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	c->fd = -1;
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		snprintf(c->why, sizeof c->why, "connect %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	return ctl_attach(c, fd);
}

int ctl_send(struct ctl *c, const struct near_request *reqs, size_t n)
{
	return ctl_write_all(c->fd, reqs, n * sizeof *reqs);
}

int ctl_recv(struct ctl *c, int64_t *rets, size_t n)
{
	return ctl_read_all(c->fd, rets, n * sizeof *rets);
}

int64_t ctl_call(struct ctl *c, int64_t nr, int64_t a, int64_t b, int64_t c3,
		 int64_t d, int64_t e, int64_t f)
{
	struct near_request req;
	int64_t ret;
	int r;

	near_request_set(&req, nr, a, b, c3, d, e, f);
	r = ctl_send(c, &req, 1);
	if (r == 0)
		r = ctl_recv(c, &ret, 1);
	return r < 0 ? r : ret;
}

int64_t ctl_write_mem(struct ctl *c, uint64_t addr, const void *buf, size_t len)
{
	struct near_request req;
	int64_t ret;
	int r;

	near_request_set(&req, NEAR_OP_WRITE_MEM, (int64_t)addr, (int64_t)len, 0, 0, 0, 0);
	r = ctl_send(c, &req, 1);
	if (r == 0)
		r = ctl_write_all(c->fd, buf, len);
	if (r == 0)
		r = ctl_recv(c, &ret, 1);
	return r < 0 ? r : ret;
}

int64_t ctl_read_mem(struct ctl *c, uint64_t addr, void *buf, size_t len)
{
	struct near_request req;
	int64_t ret;
	int r;

	near_request_set(&req, NEAR_OP_READ_MEM, (int64_t)addr, (int64_t)len, 0, 0, 0, 0);
	r = ctl_send(c, &req, 1);
	if (r == 0)
		r = ctl_read_all(c->fd, buf, len);
	if (r == 0)
		r = ctl_recv(c, &ret, 1);
	return r < 0 ? r : ret;
}

int64_t ctl_takeover(struct ctl *c)
{
	return ctl_call(c, NEAR_OP_TAKEOVER, 0, 0, 0, 0, 0, 0);
}

void ctl_close(struct ctl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
