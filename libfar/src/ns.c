// SPDX-License-Identifier: MIT
/* Kernel-named namespaces: the device and inode of /proc/PID/ns/KIND. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include <far/far.h>

static const char *const names[FAR_NS_KINDS] = {
	[FAR_NS_PID] = "pid", [FAR_NS_MNT] = "mnt", [FAR_NS_NET] = "net",
	[FAR_NS_USER] = "user", [FAR_NS_UTS] = "uts", [FAR_NS_IPC] = "ipc",
	[FAR_NS_CGROUP] = "cgroup",
};

FAR_EXPORT const char *far_ns_name(enum far_ns_kind kind)
{
	return (unsigned)kind < FAR_NS_KINDS ? names[kind] : NULL;
}

FAR_EXPORT int far_ns_of(int pid, enum far_ns_kind kind, struct far_ns *out)
{
	char path[64];
	struct stat st;
	long r;

	if ((unsigned)kind >= FAR_NS_KINDS || pid < 0)
		return -EINVAL;
	if (pid == 0)
		snprintf(path, sizeof path, "/proc/self/ns/%s", names[kind]);
	else
		snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, names[kind]);
	/* Raw syscall: library code leaves errno alone. */
	r = near_syscall4(__NR_newfstatat, AT_FDCWD, (long)path, (long)&st, 0);
	if (r == -ENOENT)
		return -ESRCH;
	if (r < 0)
		return (int)r;
	out->kind = kind;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
}

FAR_EXPORT int far_ns_equal(const struct far_ns *a, const struct far_ns *b)
{
	return a->kind == b->kind && a->dev == b->dev && a->ino == b->ino;
}
