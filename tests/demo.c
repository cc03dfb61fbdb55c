// SPDX-License-Identifier: MIT
/* The demo: a persist-server outlives a controller killed with SIGKILL in
 * the middle of its work, and a brand-new controller process finds the
 * server's fd, and what the dead controller wrote into it, intact. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/unistd.h>
#include <near/syscall.h>
#include "ctl.h"
#include "spawn.h"

#define SCRATCH 0x100000
#define FDSLOT (SCRATCH + 2048) /* where controller 1 leaves its fd number */

static const char note[] = "written by controller 1 before it was killed";

static int64_t call(struct ctl *c, const char *name, int64_t a, int64_t b,
		    int64_t c3, int64_t d, int64_t e, int64_t f)
{
	int64_t r = ctl_call(c, near_syscall_number(name), a, b, c3, d, e, f);

	if (r < 0)
		printf("    %s(...) = %s (%s)\n", name, near_errno_name(r), strerror((int)-r));
	return r;
}

static int fail(const char *what, struct ctl *c, int r)
{
	fprintf(stderr, "demo: %s failed: %s%s%s\n", what, strerror(-r),
		c && c->why[0] ? ": " : "", c ? c->why : "");
	return 1;
}

/* Controller 1: map scratch memory in the server, make a memfd, write a
 * note into it, and then die by SIGKILL without any goodbye. */
static void controller_one(const char *path)
{
	struct ctl c;
	int64_t buf, fd;

	if (ctl_connect(&c, path) < 0)
		_exit(fail("connect", &c, -errno));
	printf("controller 1 (pid %d): connected, server pid %d, epoch %llu\n",
	       getpid(), c.hello.pid, (unsigned long long)c.hello.epoch);
	buf = call(&c, "mmap", SCRATCH, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ctl_write_mem(&c, (uint64_t)buf, "demo-notes", 11);
	fd = call(&c, "memfd_create", buf, 0, 0, 0, 0, 0);
	ctl_write_mem(&c, (uint64_t)buf, note, sizeof note);
	printf("  mmap in the server = %#llx; memfd_create = fd %lld\n",
	       (unsigned long long)buf, (long long)fd);
	ctl_write_mem(&c, FDSLOT, &fd, sizeof fd);
	printf("  write(fd %lld, \"%s\") = %lld\n", (long long)fd, note,
	       (long long)call(&c, "write", fd, buf, sizeof note, 0, 0, 0));
	printf("controller 1: kill -9 myself now\n");
	fflush(stdout);
	raise(SIGKILL);
}

int main(void)
{
	struct server srv;
	struct ctl c;
	char back[sizeof note] = "";
	int64_t fd = -1;
	int status, r;
	pid_t one;

	setvbuf(stdout, NULL, _IOLBF, 0);
	r = server_start(&srv, NULL);
	if (r < 0)
		return fail("starting persist-server", NULL, r);
	printf("persist-server pid %d listening on %s\n", srv.pid, srv.path);

	one = fork();
	if (one == 0)
		controller_one(srv.path);
	waitpid(one, &status, 0);
	printf("controller 1 ended: %s\n",
	       WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited");
	printf("persist-server still running: %s\n", server_alive(&srv) ? "yes" : "NO");

	r = ctl_connect(&c, srv.path);
	if (r < 0) {
		server_stop(&srv);
		return fail("reconnect", &c, r);
	}
	printf("controller 2 (pid %d, a new process): connected, epoch %llu\n", getpid(),
	       (unsigned long long)c.hello.epoch);
	ctl_read_mem(&c, FDSLOT, &fd, sizeof fd);
	printf("  fd number left in the server's memory by controller 1: %lld\n", (long long)fd);
	r = (int)call(&c, "pread64", fd, SCRATCH + 4096 - (int64_t)sizeof note, sizeof note, 0, 0, 0);
	if (r != (int)sizeof note ||
	    ctl_read_mem(&c, SCRATCH + 4096 - sizeof note, back, sizeof back) != sizeof back) {
		ctl_close(&c);
		server_stop(&srv);
		return fail("reading the memfd back", &c, r < 0 ? r : -EIO);
	}
	printf("  pread64(fd %lld) = \"%s\"\n", (long long)fd, back);
	printf("  openat(\"/nonexistent\") = ");
	ctl_write_mem(&c, SCRATCH, "/nonexistent", 13);
	r = (int)ctl_call(&c, near_syscall_number("openat"), AT_FDCWD, SCRATCH, O_RDONLY, 0, 0, 0);
	printf("%s\n", near_errno_name(r));
	ctl_close(&c);
	server_stop(&srv);
	if (strcmp(back, note) != 0)
		return fail("comparing the note", NULL, -EIO);
	printf("demo ok: the fd and its contents outlived the killed controller\n");
	return 0;
}
