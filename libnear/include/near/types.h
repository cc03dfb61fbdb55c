/* SPDX-License-Identifier: MIT */
/* Near identifiers: numbers that only mean something inside one process's
 * fd table, address space or pid namespace.  Each is its own struct, so the
 * compiler refuses an fd where an address or a pid is expected. */
#ifndef NEAR_TYPES_H
#define NEAR_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct near_fd {
	int fd;
};
struct near_addr {
	uint64_t addr;
};
struct near_pid {
	int pid;
};

static inline struct near_fd near_fd(int fd)
{
	struct near_fd f = { fd };
	return f;
}
static inline struct near_addr near_addr(uint64_t addr)
{
	struct near_addr a = { addr };
	return a;
}
static inline struct near_pid near_pid(int pid)
{
	struct near_pid p = { pid };
	return p;
}
static inline long near__fd_arg(struct near_fd f)
{
	return f.fd;
}
static inline long near__addr_arg(struct near_addr a)
{
	return (long)a.addr;
}
static inline long near__pid_arg(struct near_pid p)
{
	return p.pid;
}
#ifndef __cplusplus
/* The raw value of a near identifier, as a syscall argument. */
#define near_arg(x) _Generic((x),                                              \
	struct near_fd: near__fd_arg,                                          \
	struct near_addr: near__addr_arg,                                      \
	struct near_pid: near__pid_arg)(x)
#endif

#ifdef __cplusplus
}
#endif
#endif
