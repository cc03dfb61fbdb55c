/* SPDX-License-Identifier: MIT */
/* A minimal controller for tests, the demo and the benchmark: speaks the
 * wire protocol of <near/proto.h> with nothing but libnear.  Every wait has
 * a deadline (CTL_TIMEOUT_MS), so a test fails instead of hanging. */
#ifndef PERSIST_TESTS_CTL_H
#define PERSIST_TESTS_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <near/proto.h>

#define CTL_TIMEOUT_MS 5000

struct ctl {
	int fd;
	struct near_hello hello;
	char why[160]; /* why the last connect failed */
};

/* Connect to a server's socket and read its hello.
 * Returns: 0; near_hello_check's error; -ETIMEDOUT; or another -errno. */
int ctl_connect(struct ctl *c, const char *path);
/* Same, on an already connected socket (takes ownership of fd). */
int ctl_attach(struct ctl *c, int fd);
/* Returns: the syscall's result (or -errno), or a transport -errno. */
int64_t ctl_call(struct ctl *c, int64_t nr, int64_t a, int64_t b, int64_t c3,
		 int64_t d, int64_t e, int64_t f);
/* Send n requests / receive n responses.  Returns: 0 or -errno. */
int ctl_send(struct ctl *c, const struct near_request *reqs, size_t n);
int ctl_recv(struct ctl *c, int64_t *rets, size_t n);
/* Memory operations.  Returns: the server's answer (len, or -errno). */
int64_t ctl_write_mem(struct ctl *c, uint64_t addr, const void *buf, size_t len);
int64_t ctl_read_mem(struct ctl *c, uint64_t addr, void *buf, size_t len);
/* Ask a busy server to cut its controller.  Returns: the new epoch. */
int64_t ctl_takeover(struct ctl *c);
/* Low level, deadline-bounded: all of buf, or -errno (-EPIPE at EOF). */
int ctl_read_all(int fd, void *buf, size_t len);
int ctl_write_all(int fd, const void *buf, size_t len);
void ctl_close(struct ctl *c);

#endif
