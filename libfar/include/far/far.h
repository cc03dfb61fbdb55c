/* SPDX-License-Identifier: MIT */
/* libfar: namespaces as identities, and far identifiers.
 *
 * A near identifier (an fd number, an address, a pid) only means something
 * inside one fd table, address space or pid namespace.  libfar gives those
 * a name in the controller, checks them against the kernel, and pairs each
 * near identifier with its namespace, so that using an fd of one table on a
 * task of another is an error (-EXDEV) instead of a silent wrong answer.
 *
 *  - Namespaces that the kernel names (pid, mount, network, user, uts, ipc,
 *    cgroup) are identified by the device and inode of /proc/PID/ns/KIND.
 *  - Fd tables and address spaces have no such name: each is an object in
 *    the controller, tied to a task known to use it, and two tasks share one
 *    exactly when kcmp(KCMP_FILES / KCMP_VM) says so.
 *
 * Every function returns 0 (or a documented non-negative value) on success
 * and a negative errno on failure.  Pids are in the caller's pid namespace. */
#ifndef FAR_FAR_H
#define FAR_FAR_H

#include <stdint.h>
#include <near/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FAR_EXPORT __attribute__((visibility("default")))
#else
#define FAR_EXPORT
#endif

enum far_ns_kind {
	FAR_NS_PID,
	FAR_NS_MNT,
	FAR_NS_NET,
	FAR_NS_USER,
	FAR_NS_UTS,
	FAR_NS_IPC,
	FAR_NS_CGROUP,
	FAR_NS_KINDS
};

struct far_ns {
	enum far_ns_kind kind;
	uint64_t dev, ino;
};

/* Identify the namespace of kind that task pid (0: the caller) is in.
 * Returns: 0; -EINVAL for a bad kind; -ESRCH if pid does not exist;
 * -EACCES/-EPERM if its /proc entry may not be read. */
FAR_EXPORT int far_ns_of(int pid, enum far_ns_kind kind, struct far_ns *out);

/* Returns: 1 if a and b are the same namespace, else 0. */
FAR_EXPORT int far_ns_equal(const struct far_ns *a, const struct far_ns *b);

/* Returns: "pid", "mnt", "net", ... or NULL for a bad kind. */
FAR_EXPORT const char *far_ns_name(enum far_ns_kind kind);

/* Compare two tasks' kernel objects (kcmp(2)): type is KCMP_FILES, KCMP_VM,
 * KCMP_FS, KCMP_SIGHAND, KCMP_IO, KCMP_SYSVSEM.
 * Returns: 0 if they share the object, 1 if not, -errno (-ESRCH: a task is
 * gone; -EPERM: not allowed to inspect it). */
FAR_EXPORT int far_kcmp_same(int pid1, int pid2, int type);

/* An fd table or an address space: an identity in the controller.  id is
 * unique within the process; pid is a task known to use it, which is how it
 * is checked against the kernel. */
struct far_fd_table {
	uint64_t id;
	int pid;
};
struct far_address_space {
	uint64_t id;
	int pid;
};

/* Name the fd table / address space that task pid uses now.
 * Returns: 0. */
FAR_EXPORT int far_fd_table_init(struct far_fd_table *t, int pid);
FAR_EXPORT int far_address_space_init(struct far_address_space *as, int pid);

/* Does task pid use this fd table / address space, according to the kernel?
 * Returns: 0 if it does; -EXDEV if it uses another; -ESRCH if pid or the
 * table's own task is gone; another -errno from kcmp. */
FAR_EXPORT int far_fd_table_check(const struct far_fd_table *t, int pid);
FAR_EXPORT int far_address_space_check(const struct far_address_space *as, int pid);

/* Far identifiers: a near identifier and the namespace it lives in. */
struct far_fd {
	const struct far_fd_table *table;
	struct near_fd near;
};
struct far_ptr {
	const struct far_address_space *as;
	struct near_addr near;
};
struct far_pid {
	struct far_ns pidns;
	struct near_pid near;
};

/* The near fd, for use in a task whose fd table is table.
 * Returns: 0 with *out set; -EXDEV if fd belongs to another table. */
FAR_EXPORT int far_fd_to_near(const struct far_fd *fd,
			      const struct far_fd_table *table,
			      struct near_fd *out);
/* The near address, for use in a task whose address space is as.
 * Returns: 0 with *out set; -EXDEV if p belongs to another address space. */
FAR_EXPORT int far_ptr_to_near(const struct far_ptr *p,
			       const struct far_address_space *as,
			       struct near_addr *out);
/* The near pid, for use in a task whose pid namespace is pidns.
 * Returns: 0 with *out set; -EXDEV if pid belongs to another namespace. */
FAR_EXPORT int far_pid_to_near(const struct far_pid *pid,
			       const struct far_ns *pidns,
			       struct near_pid *out);

#ifdef __cplusplus
}
#endif
#endif
