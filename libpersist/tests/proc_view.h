/* SPDX-License-Identifier: MIT */
/* The kernel's view of processes, read from /proc directly, for the tests
 * that check the session against it: test_session.c here, and the chaos
 * and limits tests of tests/ (which include this header from the tree).
 * Those tests run on the server's machine, and the point is to look
 * without going through the library under test, so none of this uses
 * libpersist.  Header-only: each test is one or two files. */
#ifndef PERSIST_TESTS_PROC_VIEW_H
#define PERSIST_TESTS_PROC_VIEW_H

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Field 3 (state) and 22 (start time) of /proc/PID/stat.
 * Returns: the state letter; 0 if there is no such process. */
static inline char proc_state(int pid, unsigned long long *start)
{
	char path[64], buf[1024], st = 0;
	unsigned long long t = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* After the command name's last ')': state ppid pgrp session tty_nr
	 * tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
	 * priority nice num_threads itrealvalue starttime. */
	if (!strrchr(buf, ')') ||
	    sscanf(strrchr(buf, ')') + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
		   "%*d %*d %*d %*d %*d %*d %llu", &st, &t) != 2)
		return 0;
	if (start)
		*start = t;
	return st;
}

/* /proc/PID/WHAT (cmdline, comm, ...) into buf.
 * Returns: its length (0: none, or unreadable). */
static inline size_t proc_file(int pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, len);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

/* Returns: the length of /proc/PID/cmdline (0: none, a zombie). */
static inline size_t proc_cmdline(int pid, char *buf, size_t len)
{
	return proc_file(pid, "cmdline", buf, len);
}

/* argv (NULL-terminated) laid out as /proc/PID/cmdline shows it.
 * Returns: its length; 0 if it does not fit. */
static inline size_t argv_blob(char *const *argv, char *buf, size_t len)
{
	size_t at = 0;

	for (; *argv; argv++) {
		size_t l = strlen(*argv) + 1;
		if (at + l > len)
			return 0;
		memcpy(buf + at, *argv, l);
		at += l;
	}
	return at;
}

/* Returns: 1 if process pid's cmdline is argv exactly.  A spawn returns
 * once the child's execve has replaced its memory, which the kernel does
 * before it lays out the new argv: for a moment the cmdline is empty, and
 * a loaded machine makes the moment long.  An empty one is read again
 * (for up to a second) while the process lives. */
static inline int cmdline_is(int pid, char *const *argv)
{
	char want[1024], got[1024];
	struct timespec ms1 = { 0, 1000000 };
	size_t w = argv_blob(argv, want, sizeof want), g = proc_cmdline(pid, got, sizeof got);

	for (int i = 0; i < 1000 && g == 0 && proc_state(pid, NULL) &&
			proc_state(pid, NULL) != 'Z'; i++) {
		nanosleep(&ms1, NULL);
		g = proc_cmdline(pid, got, sizeof got);
	}
	return w && w == g && memcmp(want, got, w) == 0;
}

/* Every child of pid, from /proc/PID/task/N/children for each thread N.
 * Returns: how many, into kids[max]. */
static inline size_t proc_children(int pid, int *kids, size_t max)
{
	char path[64];
	struct dirent *d;
	size_t n = 0;
	DIR *tasks;

	snprintf(path, sizeof path, "/proc/%d/task", pid);
	tasks = opendir(path);
	if (!tasks)
		return 0;
	while ((d = readdir(tasks))) {
		char file[320];
		FILE *f;
		int k;

		if (d->d_name[0] == '.')
			continue;
		snprintf(file, sizeof file, "/proc/%d/task/%s/children", pid, d->d_name);
		f = fopen(file, "r");
		if (!f)
			continue;
		while (n < max && fscanf(f, "%d", &k) == 1)
			kids[n++] = k;
		fclose(f);
	}
	closedir(tasks);
	return n;
}

/* How many fds process pid holds.  Returns: the count; -1 if unreadable. */
static inline int fd_count(int pid)
{
	char path[64];
	struct dirent *d;
	int n = 0;
	DIR *fds;

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	fds = opendir(path);
	if (!fds)
		return -1;
	while ((d = readdir(fds)))
		n += d->d_name[0] != '.';
	closedir(fds);
	return n;
}

/* The fds of pid, one line each on stderr (for a failure's message). */
static inline void show_fds(int pid)
{
	char path[64], link[320], target[256];
	struct dirent *d;
	DIR *fds;

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	fds = opendir(path);
	if (!fds)
		return;
	while ((d = readdir(fds))) {
		ssize_t n;
		if (d->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "/proc/%d/fd/%s", pid, d->d_name);
		n = readlink(link, target, sizeof target - 1);
		target[n > 0 ? n : 0] = 0;
		fprintf(stderr, "        fd %s -> %s\n", d->d_name, target);
	}
	closedir(fds);
}

/* SIGKILL pid's children (and the process groups they lead), then pid,
 * and wait up to ms for pid to be gone: after a failed test nothing else
 * would end them.  pid is reaped if it is ours (a server detaches to its
 * subreaper: the tests make themselves one), and so are the orphans that
 * came to us. */
static inline void proc_kill_tree(int pid, int ms)
{
	static int kids[8192];
	struct timespec ms1 = { 0, 1000000 };
	size_t n;

	if (pid <= 0)
		return;
	n = proc_children(pid, kids, 8192);
	for (size_t i = 0; i < n; i++) {
		kill(-kids[i], SIGKILL);
		kill(kids[i], SIGKILL);
	}
	kill(pid, SIGKILL);
	for (int i = 0; i < ms && waitpid(pid, NULL, WNOHANG) != pid && kill(pid, 0) == 0; i++)
		nanosleep(&ms1, NULL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

#endif
