/* SPDX-License-Identifier: MIT */
/* Moving memory to and from the server's address space, and allocating in it.
 *
 * Three memory transports, the fastest valid one chosen at the first memory
 * operation: local (the server shares our address space: proven with kcmp
 * and a nonce written in-band and read back here), process_vm_readv/writev
 * (the server is a process we may access: proven by reading the nonce back
 * through it), and in-band (the protocol's memory operations: always valid).
 * A faster transport that is refused later falls back to in-band. */
#ifndef TRANSPORT_MEM_H
#define TRANSPORT_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <transport/conn.h>

#ifdef __cplusplus
extern "C" {
#endif

enum transport_mem_kind {
	TRANSPORT_MEM_UNDECIDED,
	TRANSPORT_MEM_LOCAL,
	TRANSPORT_MEM_PROCESS_VM,
	TRANSPORT_MEM_INBAND,
};

/* Returns: the transport in use (deciding it first if needed). */
TRANSPORT_EXPORT enum transport_mem_kind transport_mem_kind(struct transport_conn *c);
/* Returns: "local", "process_vm", "in-band" or "undecided". */
TRANSPORT_EXPORT const char *transport_mem_kind_name(enum transport_mem_kind k);
/* Force a transport (for tests and benchmarks); one that is not valid for
 * this server is refused.  Returns: 0, or -EXDEV if kind is not valid here. */
TRANSPORT_EXPORT int transport_mem_use(struct transport_conn *c, enum transport_mem_kind kind);

/* Copy len bytes into / out of the server's memory.  In-band, a read takes
 * exactly len bytes of data and then the result from the stream, whatever
 * the server sends after them.
 * Returns: 0; -EFAULT if the server's memory there is not accessible (for
 * reads, dst is then unspecified); another -errno of the server's; -EPROTO
 * if the server answered neither the length nor an -errno (the connection
 * is then unusable); a transport error (-ENOTCONN, ...). */
TRANSPORT_EXPORT int transport_write_mem(struct transport_conn *c, uint64_t dst,
					 const void *src, size_t len);
TRANSPORT_EXPORT int transport_read_mem(struct transport_conn *c, void *dst,
					uint64_t src, size_t len);

/* Allocate len bytes (16-byte aligned) of readable and writable memory in
 * the server, from arenas mapped there with mmap through the connection.
 * Returns: 0 with *addr set; -ENOMEM; the server's -errno for mmap;
 * -EPROTO if mmap was answered with no address and no -errno, 0, or a
 * range overlapping an arena of ours (the connection is then unusable);
 * a transport error. */
TRANSPORT_EXPORT int transport_alloc(struct transport_conn *c, size_t len, uint64_t *addr);
/* Give back an allocation.  Returns: 0; -EINVAL if addr was not allocated. */
TRANSPORT_EXPORT int transport_free(struct transport_conn *c, uint64_t addr);

/* One buffer to write before a syscall. */
struct transport_buf {
	uint64_t dst;
	const void *src;
	size_t len;
};

/* Write n buffers into the server and run req, in one round trip: the
 * writes and the syscall are pipelined and their answers read together.
 * Returns: 0 with *result set to the syscall's result; -EFAULT if a write
 * failed (the syscall still ran: *result is set); -EMSGSIZE if a buffer is
 * larger than NEAR_PROTO_MEM_MAX (nothing sent); -EPROTO if a write was
 * answered with neither its length nor an -errno (the connection is then
 * unusable); a transport error. */
TRANSPORT_EXPORT int transport_batch(struct transport_conn *c,
				     const struct transport_buf *bufs, size_t n,
				     const struct near_request *req, int64_t *result);

#ifdef __cplusplus
}
#endif
#endif
