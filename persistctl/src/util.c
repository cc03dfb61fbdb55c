// SPDX-License-Identifier: MIT
/* persistctl: messages, times, signals, ids, durations, statuses. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "ctl.h"

const char *ctl_prog = "persistctl";

void ctl_die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void ctl_note(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ctl_fail(const struct ctl *c, int err, const char *fmt, ...)
{
	const char *dir = c && c->dir[0] ? c->dir : "the state directory";
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	switch (err) {
	case -ENOSPC:
	case -EDQUOT:
		fprintf(stderr, "%s: the filesystem of %s is full: free space on it ('df %s' "
			"shows it), then run this again.  The running children are not affected; "
			"the exit status of one that ends meanwhile is kept by the server and "
			"recorded then.\n", ctl_prog, dir, dir);
		break;
	case -EROFS:
		fprintf(stderr, "%s: %s is on a read-only filesystem: make it writable again "
			"(e.g. 'mount -o remount,rw' of its filesystem), then run this again.  The "
			"running children are not affected; the exit status of one that ends "
			"meanwhile is kept by the server and recorded then.\n", ctl_prog, dir);
		break;
	case -EUCLEAN:
		fprintf(stderr, "%s: %s/state.db is damaged; the running children are not "
			"affected.  Move it aside: '%s --state %s recover-store' does, and rebuilds "
			"the store from the running server (every child adopted, with its argv from "
			"/proc and the status of each that ended meanwhile, the kept fds carried "
			"over; the names and the children reaped before stay in the old file: see "
			"'%s recover-store --help').\n", ctl_prog, dir, ctl_prog, dir, ctl_prog);
		break;
	}
	exit(EXIT_RUNTIME);
}

int64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *ctl_iso8601(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return buf;
}

int ctl_parse_signal(const char *s)
{
	char *end;
	long n;

	if (!s || !*s)
		return -1;
	if (*s >= '0' && *s <= '9') {
		errno = 0;
		n = strtol(s, &end, 10);
		return errno || *end || n < 1 || n >= NSIG ? -1 : (int)n;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *name = sigabbrev_np(sig);
		if (name && strcasecmp(name, s) == 0)
			return sig;
	}
	if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
		int max = strncasecmp(s, "RTMAX", 5) == 0;
		n = 0;
		if (s[5]) {
			if (s[5] != (max ? '-' : '+') || !s[6])
				return -1;
			errno = 0;
			n = strtol(s + 6, &end, 10);
			if (errno || *end || n < 0)
				return -1;
		}
		n = max ? SIGRTMAX - n : SIGRTMIN + n;
		return n < SIGRTMIN || n > SIGRTMAX ? -1 : (int)n;
	}
	return -1;
}

const char *ctl_signame(int sig, char *buf, size_t len)
{
	const char *name = sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;

	if (name)
		snprintf(buf, len, "SIG%s", name);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

int ctl_parse_id(const char *s, int64_t *id)
{
	char *end;
	long long n;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || *end || n <= 0)
		return -1;
	*id = n;
	return 0;
}

long ctl_parse_seconds(const char *s)
{
	char *end;
	double d;

	if (!s || !*s || (*s != '.' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || d < 0 || d > 86400.0 * 365)
		return -1;
	return (long)(d * 1000 + 0.5);
}

const char *ctl_status_words(const struct persist_child_rec *r, char *buf, size_t len)
{
	char sig[32];

	switch (r->state) {
	case PERSIST_CHILD_EXITED:
		snprintf(buf, len, "exited %d", r->exit_code);
		break;
	case PERSIST_CHILD_KILLED:
		snprintf(buf, len, "killed by %s", ctl_signame(r->signal, sig, sizeof sig));
		break;
	case PERSIST_CHILD_LOST:
		snprintf(buf, len, "lost (%s)", r->lost_reason ? r->lost_reason : "no reason kept");
		break;
	case PERSIST_CHILD_RUNNING:
		snprintf(buf, len, "running");
		break;
	default:
		snprintf(buf, len, "starting (intent recorded, no pid yet)");
		break;
	}
	return buf;
}

int ctl_status_exit(const struct persist_child_rec *r)
{
	if (r->state == PERSIST_CHILD_EXITED)
		return r->exit_code;
	if (r->state == PERSIST_CHILD_KILLED)
		return 128 + r->signal;
	return EXIT_RUNTIME;
}

char *ctl_abspath(const char *here, const char *path)
{
	char *p;

	if (!path)
		path = ".";
	if (path[0] == '/')
		p = strdup(path);
	else if (strcmp(path, ".") == 0)
		p = strdup(here);
	else if (asprintf(&p, "%s/%s", strcmp(here, "/") == 0 ? "" : here, path) < 0)
		p = NULL;
	if (!p)
		ctl_die(EXIT_RUNTIME, "out of memory");
	return p;
}

extern char **environ;

char **ctl_environ(char *const *sets, size_t nsets)
{
	size_t n = 0, k = 0;
	char **e;

	while (environ && environ[n])
		n++;
	if (!(e = calloc(n + nsets + 1, sizeof *e)))
		ctl_die(EXIT_RUNTIME, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=");
		int replaced = 0;
		for (size_t j = 0; j < nsets && !replaced; j++)
			replaced = strncmp(sets[j], environ[i], len) == 0 && sets[j][len] == '=';
		if (!replaced)
			e[k++] = environ[i];
	}
	/* The last --env of a name wins, as in env(1). */
	for (size_t j = 0; j < nsets; j++) {
		size_t len = strcspn(sets[j], "=");
		int later = 0;
		for (size_t l = j + 1; l < nsets && !later; l++)
			later = strncmp(sets[l], sets[j], len + 1) == 0;
		if (!later)
			e[k++] = sets[j];
	}
	return e;
}
