/* SPDX-License-Identifier: MIT */
/* Fd handles: who owns which fd of which fd table.
 *
 * Several handles may own one fd (one (table, number) entry, refcounted).
 * An fd is closed when it is closed through its only handle, or when its
 * last handle is invalidated; never behind another handle's back.  Out
 * parameters (struct handle_fd *out) are overwritten: they must not be valid
 * handles at the time.  Every function here returns -EBADF for an invalid
 * handle. */
#ifndef HANDLE_FD_H
#define HANDLE_FD_H

#include <handle/task.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Take ownership of fd number fd that a syscall in task t just returned.
 * Returns: 0; -EBADF for a negative fd; -EEXIST if a handle already owns fd
 * in that table (use handle_fd_for_task for another one); -ENOMEM. */
HANDLE_EXPORT int handle_fd_adopt(struct handle_fd *out, struct handle_task *t, int fd);

/* Another handle to src's fd, used in task t, which must use the same fd
 * table.  Returns: 0; -EXDEV if t uses another table. */
HANDLE_EXPORT int handle_fd_for_task(struct handle_fd *out, const struct handle_fd *src,
				     struct handle_task *t);

/* A handle in child's fd table for the same number, where child's table is
 * a copy (fork, unshare-less clone) of src's table made while src's fd
 * existed.  Returns: 0; -EXDEV if child's table is not a copy of src's;
 * -EBADF if src's fd was opened after the copy, or if the child has since
 * closed or reused that number; -ENOMEM. */
HANDLE_EXPORT int handle_fd_inherit(struct handle_fd *out, const struct handle_fd *src,
				    struct handle_task *child);

/* Move src to task t (same fd table): out owns the fd, src becomes invalid;
 * nothing is closed.  out may be src itself.
 * Returns: 0; -EXDEV if t uses another table (src stays valid). */
HANDLE_EXPORT int handle_fd_move(struct handle_fd *out, struct handle_fd *src,
				 struct handle_task *t);

/* Close the fd through the task's sysif and invalidate the handle.
 * Returns: 0; -EBUSY if other handles own the fd (nothing happens); a
 * transport error when the sysif failed (near_sysif_failed(task->sysif) <
 * 0, e.g. -ENOTCONN: the close was not sent, the fd is still open;
 * -ECONNRESET: it may or may not have run): the fd is NOT known closed,
 * yet the handle is invalid and nothing owns the number, so a
 * handle_fd_table_gc that reaches the table closes it if it is open; else
 * close's own -errno (the fd is closed even then: Linux frees the number
 * whatever close reports; the handle is invalid). */
HANDLE_EXPORT int handle_fd_close(struct handle_fd *fd);

/* Drop the handle; the fd is closed when this was its last handle.
 * Returns: 0; close's -errno; or a transport error, as for
 * handle_fd_close (the fd is then not known closed).  The handle is
 * invalid in every case. */
HANDLE_EXPORT int handle_fd_invalidate(struct handle_fd *fd);

/* Returns: 1 if the handle is valid, else 0. */
HANDLE_EXPORT int handle_fd_valid(const struct handle_fd *fd);

/* Number of handles that own fd's (table, number) entry.
 * Returns: the count (>= 1), -EBADF if fd is invalid. */
HANDLE_EXPORT int handle_fd_refs(const struct handle_fd *fd);

/* The far identifier of the fd.  Returns: 0, -EBADF. */
HANDLE_EXPORT int handle_fd_far(const struct handle_fd *fd, struct far_fd *out);

/* Close every fd of t's table that no handle owns, as listed by the table's
 * real contents (getdents64 of /proc/self/fd opened in the task).  scratch
 * is task memory for the path and the listing (at least 256 bytes; 4 KiB or
 * more is faster); it may be NULL when the task shares the caller's address
 * space.  Fds the kernel refuses to close (-EBADF: a race, or a tool such as
 * valgrind guarding its own) are skipped.
 * Returns: the number of fds closed; -EFAULT/-EXDEV for a bad scratch,
 * -EXDEV for NULL scratch in a remote task; -EIO for a malformed listing;
 * -errno from the syscalls; a transport error when the sysif failed
 * (near_sysif_failed(t->sysif) < 0): the sweep stops there, some unowned
 * fds may be closed and others not, and a failed close is never counted
 * nor mistaken for the kernel's refusal. */
HANDLE_EXPORT int handle_fd_table_gc(struct handle_task *t, const struct handle_ptr *scratch);

/* unshare(CLONE_FILES) in t, then close every fd of the new table that none
 * of t's own handles owns (close_range over the gaps between them).  t gets
 * a new table record holding its handles; other tasks keep the old one.
 * Returns: 0; -errno from unshare (nothing changed) or close_range (the
 * table is t's own, but may hold unowned fds: run handle_fd_table_gc);
 * -ENOMEM (nothing changed); a transport error when the sysif failed
 * (near_sysif_failed(t->sysif) < 0) during the unshare: the records are
 * unchanged, but the task may have unshared (unless -ENOTCONN: it did
 * not); during close_range: as for close_range's -errno. */
HANDLE_EXPORT int handle_task_unshare_files(struct handle_task *t);

#ifdef __cplusplus
}
#endif
#endif
