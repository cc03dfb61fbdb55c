// SPDX-License-Identifier: MIT
/* /proc read inside another process, through its sysif.  Every syscall
 * runs in that process, so the pids, namespaces and files are the ones it
 * sees.  Over a connection each syscall that waits for the one before is a
 * round trip, so reads are laid out to need none of that: the paths go in
 * with one write_mem, all opens are submitted before any answer is
 * awaited, then all reads and closes (an fd is known only once its open
 * has answered: two rounds, whatever the number of files), then one
 * read_mem brings every slot back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <asm/unistd.h>
#include <near/dirent.h>
#include "proc.h"

int persist__proc_force_scan;

/* The scratch: room for a few hundred small files per chunk; untouched
 * pages cost the target nothing. */
#define SCRATCH_SIZE (256u << 10)
#define PATH_SLOT sizeof(((struct persist__pfile *)0)->path)
/* No /proc file recovery reads is near this; a bound keeps a hostile or
 * broken one from eating our memory. */
#define FILE_MAX (64u << 20)
#define STAT_SLOT 1024
#define LIST_SLOT 4096
#define CMDLINE_SLOT 2048
/* /proc itself: a few hundred processes fit; a busy host's take a few
 * more round trips. */
#define PROC_LIST_SLOT (64u << 10)
/* Up to this many records, each one's pid is checked with kill(pid, 0);
 * beyond, /proc is listed once instead. */
#define EXISTS_BY_KILL_MAX 64

void persist__procio_init(struct persist__procio *io, struct near_sysif *sys)
{
	memset(io, 0, sizeof *io);
	io->sys = sys ? sys : near_local_sysif_init(&io->local);
}

void persist__procio_fini(struct persist__procio *io)
{
	if (io->base)
		near_sysif_syscall(io->sys, __NR_munmap, (int64_t)io->base, (int64_t)io->size, 0,
				   0, 0, 0);
	free(io->buf);
	free(io->q);
	free(io->res);
	io->base = 0;
	io->buf = NULL;
	io->q = NULL;
	io->res = NULL;
	io->qcap = 0;
}

static int scratch(struct persist__procio *io)
{
	int64_t r;

	if (io->base)
		return 0;
	if (!(io->buf = malloc(SCRATCH_SIZE)))
		return -ENOMEM;
	r = near_sysif_syscall(io->sys, __NR_mmap, 0, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r < 0 && r > -4096) {
		free(io->buf);
		io->buf = NULL;
		return (int)r;
	}
	io->base = (uint64_t)r;
	io->size = SCRATCH_SIZE;
	return 0;
}

static int reserve(struct persist__procio *io, size_t n)
{
	struct near_request *q;
	int64_t *res;

	if (n <= io->qcap)
		return 0;
	if (!(q = realloc(io->q, n * sizeof *q)))
		return -ENOMEM;
	io->q = q;
	if (!(res = realloc(io->res, n * sizeof *res)))
		return -ENOMEM;
	io->res = res;
	io->qcap = n;
	return 0;
}

int persist__pipeline(struct persist__procio *io, const struct near_request *q, int64_t *res,
		      size_t n)
{
	struct near_sysif *s = io->sys;
	size_t sent = 0, done = 0;
	int r = 0;

	while (done < n) {
		while (sent < n) {
			r = s->ops->submit(s, &q[sent]);
			if (r == -EAGAIN && sent > done)
				break; /* a full queue: drain it, then go on */
			if (r < 0)
				goto fail;
			sent++;
		}
		while (done < sent) {
			if ((r = s->ops->complete(s, &res[done])) < 0)
				goto fail;
			done++;
		}
	}
	return 0;
fail:
	/* Leave the sysif with nothing outstanding: the next caller's answers
	 * must be its own. */
	for (int64_t x; done < sent && s->ops->complete(s, &x) != -EAGAIN; done++)
		;
	return r;
}

/* One syscall through the pipeline, so that the connection's failure
 * (the return value) is not mistaken for the syscall's (*res). */
static int call(struct persist__procio *io, int64_t nr, int64_t a, int64_t b, int64_t c,
		int64_t d, int64_t *res)
{
	struct near_request q;

	near_request_set(&q, nr, a, b, c, d, 0, 0);
	return persist__pipeline(io, &q, res, 1);
}

/* The syscall that reads f: getdents64 for a directory; pread64 (its
 * fourth argument the offset) for a file read from an offset, plain read
 * from the start (a /proc file is read as it always was). */
static int64_t read_nr(const struct persist__pfile *f)
{
	return f->kind == PERSIST__PF_DIR ? __NR_getdents64 : f->off ? __NR_pread64 : __NR_read;
}

/* A file that may not have fit in its slot: read alone, with the whole
 * scratch, until its end.  A few round trips per scratchful; such files
 * are rare. */
static int read_alone(struct persist__procio *io, struct persist__pfile *f)
{
	struct near_sysif *s = io->sys;
	const char *path = f->long_path ? f->long_path : f->path;
	/* The path first (a long one rounded up to 8 bytes), then the data. */
	size_t plen = f->long_path ? (strlen(path) + 8) & ~(size_t)7 : PATH_SLOT;
	uint64_t buf = io->base + plen;
	size_t room = io->size - plen, len = 0, limit = f->max ? f->max : FILE_MAX;
	char *data = NULL, *d;
	int64_t fd, n = 0;
	int r;

	free(f->data);
	f->data = NULL;
	if ((r = s->ops->write_mem(s, io->base, path,
				   f->long_path ? strlen(path) + 1 : PATH_SLOT)) < 0)
		return r;
	if (f->kind == PERSIST__PF_LINK) {
		if ((r = call(io, __NR_readlinkat, AT_FDCWD, (int64_t)io->base, (int64_t)buf,
			      (int64_t)room, &n)) < 0)
			return r;
		if (n < 0 || (size_t)n == room) {
			f->len = n < 0 ? (long)n : -ENAMETOOLONG;
			return 0;
		}
		if (!(data = malloc((size_t)n + 1)))
			return -ENOMEM;
		if ((r = s->ops->read_mem(s, data, buf, (size_t)n)) < 0) {
			free(data);
			return r;
		}
		len = (size_t)n;
		goto done;
	}
	if ((r = call(io, __NR_openat, AT_FDCWD, (int64_t)io->base,
		      O_RDONLY | O_CLOEXEC | (f->kind == PERSIST__PF_DIR ? O_DIRECTORY : 0), 0,
		      &fd)) < 0)
		return r;
	if (fd < 0) {
		f->len = (long)fd;
		return 0;
	}
	for (;;) {
		size_t want = room < limit - len ? room : limit - len;
		if (want == 0) {
			n = f->max ? 0 : -EFBIG; /* a cap asked for: the rest is for later */
			break;
		}
		r = call(io, read_nr(f), fd, (int64_t)buf, (int64_t)want,
			 (int64_t)(f->off + len), &n);
		if (r < 0 || n <= 0)
			break;
		if (!(d = realloc(data, len + (size_t)n + 1))) {
			r = -ENOMEM;
			break;
		}
		data = d;
		if ((r = s->ops->read_mem(s, data + len, buf, (size_t)n)) < 0)
			break;
		len += (size_t)n;
	}
	if (r == 0 || r == -ENOMEM)
		call(io, __NR_close, fd, 0, 0, 0, &(int64_t){ 0 });
	if (r < 0 || n < 0) {
		free(data);
		if (r < 0)
			return r;
		f->len = (long)n; /* the read's own failure */
		return 0;
	}
done:
	if (!data && !(data = malloc(1)))
		return -ENOMEM;
	data[len] = 0;
	f->data = data;
	f->len = (long)len;
	return 0;
}

/* Whether a read of len bytes into a slot may have left some behind.  A
 * plain read of /proc fills the buffer when there is more, except that a
 * seq file stops before a record that does not fit (a pid of the children
 * file: at most 11 bytes), and getdents before an entry that does not (at
 * most 280). */
static int maybe_more(const struct persist__pfile *f)
{
	size_t margin = f->kind == PERSIST__PF_DIR ? 280 : f->kind == PERSIST__PF_READ ? 16 : 0;

	if (f->max && (size_t)f->len >= f->max)
		return 0; /* all that was asked for */
	return (size_t)f->len + margin >= f->slot;
}

/* One chunk of files whose paths and slots fit in the scratch: the paths
 * first, then the slots, in order. */
static int read_chunk(struct persist__procio *io, struct persist__pfile *f, size_t m,
		      const struct near_request *pre, int64_t *pre_res, size_t npre)
{
	struct near_sysif *s = io->sys;
	size_t paths = m * PATH_SLOT, nq, end = paths, *off = NULL;
	int r;

	if ((r = reserve(io, npre + 2 * m + 1)) < 0)
		return r;
	if (m && !(off = malloc(m * sizeof *off)))
		return -ENOMEM;
	for (size_t i = 0; i < m; i++) {
		off[i] = i ? off[i - 1] + f[i - 1].slot : paths;
		memcpy(io->buf + i * PATH_SLOT, f[i].path, PATH_SLOT);
		io->buf[i * PATH_SLOT + PATH_SLOT - 1] = 0;
	}
	if (m && (r = s->ops->write_mem(s, io->base, io->buf, paths)) < 0)
		goto out;
	/* Round 1: the free riders, then every open (and every readlink,
	 * which needs no fd). */
	if (npre)
		memcpy(io->q, pre, npre * sizeof *pre);
	nq = npre;
	for (size_t i = 0; i < m; i++) {
		uint64_t path = io->base + i * PATH_SLOT;
		if (f[i].kind == PERSIST__PF_LINK)
			near_request_set(&io->q[nq++], __NR_readlinkat, AT_FDCWD, (int64_t)path,
					 (int64_t)(io->base + off[i]), (int64_t)f[i].slot, 0, 0);
		else
			near_request_set(&io->q[nq++], __NR_openat, AT_FDCWD, (int64_t)path,
					 O_RDONLY | O_CLOEXEC |
						 (f[i].kind == PERSIST__PF_DIR ? O_DIRECTORY : 0),
					 0, 0, 0);
	}
	if ((r = persist__pipeline(io, io->q, io->res, nq)) < 0)
		goto out;
	if (npre)
		memcpy(pre_res, io->res, npre * sizeof *pre_res);
	for (size_t i = 0; i < m; i++)
		f[i].len = (long)io->res[npre + i];
	/* Round 2: a read (or getdents) and a close for every open fd. */
	nq = 0;
	for (size_t i = 0; i < m; i++) {
		long fd = f[i].len;
		if (f[i].kind == PERSIST__PF_LINK || fd < 0)
			continue;
		near_request_set(&io->q[nq++], read_nr(&f[i]), fd, (int64_t)(io->base + off[i]),
				 (int64_t)f[i].slot, (int64_t)f[i].off, 0, 0);
		near_request_set(&io->q[nq++], __NR_close, fd, 0, 0, 0, 0, 0);
	}
	if ((r = persist__pipeline(io, io->q, io->res, nq)) < 0)
		goto out;
	nq = 0;
	for (size_t i = 0; i < m; i++) {
		if (f[i].kind != PERSIST__PF_LINK && f[i].len >= 0) {
			f[i].len = (long)io->res[nq];
			nq += 2;
		}
		if (f[i].len > 0 && off[i] + (size_t)f[i].len > end)
			end = off[i] + (size_t)f[i].len;
	}
	/* Round 3: every slot back at once, up to the last byte read. */
	if (end > paths &&
	    (r = s->ops->read_mem(s, io->buf + paths, io->base + paths, end - paths)) < 0)
		goto out;
	for (size_t i = 0; i < m; i++) {
		if (f[i].len < 0)
			continue;
		if (!(f[i].data = malloc((size_t)f[i].len + 1))) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(f[i].data, io->buf + off[i], (size_t)f[i].len);
		f[i].data[f[i].len] = 0;
		if (maybe_more(&f[i]) && (r = read_alone(io, &f[i])) < 0)
			goto out;
	}
	r = 0;
out:
	free(off);
	return r;
}

int persist__read_files(struct persist__procio *io, struct persist__pfile *f, size_t n,
			const struct near_request *pre, int64_t *pre_res, size_t npre)
{
	size_t i = 0;
	int r, first = 1;

	for (size_t k = 0; k < n; k++) {
		f[k].data = NULL;
		f[k].len = -EIO;
		if (f[k].slot == 0 || f[k].slot > SCRATCH_SIZE - PATH_SLOT)
			return -EFBIG;
		if (f[k].max && f[k].slot > f[k].max)
			f[k].slot = f[k].max; /* a slot's read must not pass the cap */
		if (f[k].long_path && (n > 1 || npre))
			return -EINVAL;
		if (f[k].long_path && strlen(f[k].long_path) >= PATH_MAX)
			return -ENAMETOOLONG;
	}
	if (!n && !npre)
		return 0;
	if ((r = scratch(io)) < 0)
		return r;
	if (n == 1 && f->long_path)
		return read_alone(io, f);
	while (i < n || first) {
		size_t j = i, used = 0;

		while (j < n && used + PATH_SLOT + f[j].slot <= io->size) {
			used += PATH_SLOT + f[j].slot;
			j++;
		}
		r = read_chunk(io, f + i, j - i, first ? pre : NULL, pre_res, first ? npre : 0);
		if (r < 0)
			return r;
		first = 0;
		i = j;
	}
	return 0;
}

static void files_free(struct persist__pfile *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].data);
		f[i].data = NULL;
	}
}

static void pfile(struct persist__pfile *f, enum persist__pf_kind kind, size_t slot,
		  const char *fmt, int a, int b)
{
	memset(f, 0, sizeof *f);
	snprintf(f->path, sizeof f->path, fmt, a, b);
	f->kind = kind;
	f->slot = slot;
}

/* A stat file's answer as persist_proc_stat gives it. */
static int stat_of(const struct persist__pfile *f, struct persist_proc_stat *out,
		   unsigned long *flags)
{
	memset(out, 0, sizeof *out);
	/* Gone before the open (ENOENT), or between open and read. */
	if (f->len == -ENOENT || f->len == -ESRCH || f->len == 0)
		return -ESRCH;
	if (f->len < 0)
		return (int)f->len;
	return persist__parse_stat(f->data, (size_t)f->len, out, flags);
}

int persist__proc_stat_at(struct persist__procio *io, int pid, struct persist_proc_stat *out)
{
	struct persist__pfile f;
	int r;

	memset(out, 0, sizeof *out);
	if (pid <= 0)
		return -ESRCH;
	pfile(&f, PERSIST__PF_READ, STAT_SLOT, "/proc/%d/stat", pid, 0);
	if ((r = persist__read_files(io, &f, 1, NULL, NULL, 0)) == 0)
		r = stat_of(&f, out, NULL);
	free(f.data);
	return r;
}

/* The all-digits names (tids, pids) of the entries getdents64 wrote,
 * appended to v.  The bytes come from another process's kernel: libnear's
 * walk bounds every record before it is used. */
static int dirent_numbers(const char *buf, size_t len, struct persist__pids *v)
{
	struct near_dirent_walk walk;
	struct near_dirent d;
	int r;

	near_dirent_walk_init(&walk, buf, len);
	while ((r = near_dirent_next(&walk, &d)) == 1) {
		long long x = 0;
		size_t k;

		for (k = 0; k < d.namelen && x <= INT_MAX; k++) {
			if (d.name[k] < '0' || d.name[k] > '9')
				break;
			x = x * 10 + (d.name[k] - '0');
		}
		if (k == d.namelen && k && x > 0 && x <= INT_MAX &&
		    (r = persist__pids_push(v, (int)x)) < 0)
			return r;
	}
	return r < 0 ? -EPROTO : 0;
}

/* Where the kernel has no children files: every process whose parent is
 * pid, from the stat of every process io's /proc lists. */
static int scan_parents(struct persist__procio *io, int pid, struct persist__pids *v)
{
	struct persist__pfile dir, *f = NULL;
	struct persist__pids all = { 0 };
	int r;

	pfile(&dir, PERSIST__PF_DIR, 65536, "/proc", 0, 0);
	if ((r = persist__read_files(io, &dir, 1, NULL, NULL, 0)) < 0)
		return r;
	r = dir.len < 0 ? (int)dir.len : dirent_numbers(dir.data, (size_t)dir.len, &all);
	free(dir.data);
	if (r == 0 && all.n && !(f = calloc(all.n, sizeof *f)))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < all.n; i++)
		pfile(&f[i], PERSIST__PF_READ, STAT_SLOT, "/proc/%d/stat", all.a[i], 0);
	if (r == 0)
		r = persist__read_files(io, f, all.n, NULL, NULL, 0);
	for (size_t i = 0; r == 0 && i < all.n; i++) {
		struct persist_proc_stat ps;
		if (stat_of(&f[i], &ps, NULL) == 0 && ps.ppid == pid && all.a[i] != pid)
			r = persist__pids_push(v, all.a[i]);
	}
	if (f)
		files_free(f, all.n);
	free(f);
	persist__pids_free(&all);
	return r;
}

/* The children of pid from its task directory's dirents and the children
 * file of its main task (read already: most processes have one task), the
 * other tasks' files read now. */
static int children_from(struct persist__procio *io, int pid, const struct persist__pfile *task,
			 const struct persist__pfile *main_kids, struct persist__pids *v)
{
	struct persist__pids tids = { 0 };
	struct persist__pfile *f = NULL;
	size_t nf = 0;
	int r, missing = 0, files = 0;

	if (task->len == -ENOENT || task->len == -ESRCH)
		return -ESRCH;
	if (task->len < 0)
		return (int)task->len;
	if ((r = dirent_numbers(task->data, (size_t)task->len, &tids)) < 0)
		goto out;
	if (main_kids->len >= 0) {
		files++;
		if ((r = persist__parse_pids(main_kids->data, (size_t)main_kids->len, v)) < 0)
			goto out;
	} else if (main_kids->len == -ENOENT) {
		missing++;
	} else if (main_kids->len != -ESRCH) {
		r = (int)main_kids->len;
		goto out;
	}
	if (tids.n > 1 && !(f = calloc(tids.n, sizeof *f))) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; f && i < tids.n; i++)
		if (tids.a[i] != pid)
			pfile(&f[nf++], PERSIST__PF_READ, LIST_SLOT, "/proc/%d/task/%d/children",
			      pid, tids.a[i]);
	if (nf && (r = persist__read_files(io, f, nf, NULL, NULL, 0)) < 0)
		goto out;
	for (size_t i = 0; i < nf; i++) {
		/* A task that ended since the listing has no children file. */
		if (f[i].len == -ENOENT || f[i].len == -ESRCH) {
			missing++;
			continue;
		}
		if (f[i].len < 0) {
			r = (int)f[i].len;
			goto out;
		}
		files++;
		if ((r = persist__parse_pids(f[i].data, (size_t)f[i].len, v)) < 0)
			goto out;
	}
	/* Not one children file (no CONFIG_PROC_CHILDREN): the slow way. */
	if ((missing && !files) || persist__proc_force_scan) {
		v->n = 0;
		if ((r = scan_parents(io, pid, v)) < 0)
			goto out;
	}
	persist__pids_sort(v);
	r = 0;
out:
	if (f)
		files_free(f, nf);
	free(f);
	persist__pids_free(&tids);
	return r < 0 ? r : 0;
}

int persist__proc_children_at(struct persist__procio *io, int pid, struct persist__pids *v)
{
	struct persist__pfile f[2];
	int r;

	if (pid <= 0)
		return -ESRCH;
	pfile(&f[0], PERSIST__PF_DIR, LIST_SLOT, "/proc/%d/task", pid, 0);
	pfile(&f[1], PERSIST__PF_READ, LIST_SLOT, "/proc/%d/task/%d/children", pid, pid);
	if ((r = persist__read_files(io, f, 2, NULL, NULL, 0)) == 0)
		r = children_from(io, pid, &f[0], &f[1], v);
	files_free(f, 2);
	return r;
}

static int cmp_kproc(const void *a, const void *b)
{
	const struct persist__kproc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int in_sorted(const struct persist__pids *v, int pid)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->a[mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->n && v->a[lo] == pid;
}

int persist__snapshot_cmdlines(struct persist__procio *io, struct persist__snapshot *s)
{
	struct persist__pfile *f;
	size_t n = 0, j = 0;
	int r = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->procs[i].cmd_later;
	if (!n)
		return 0;
	if (!(f = calloc(n, sizeof *f)))
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		if (s->procs[i].cmd_later)
			pfile(&f[j++], PERSIST__PF_READ, CMDLINE_SLOT, "/proc/%d/cmdline",
			      s->procs[i].pid, 0);
	r = persist__read_files(io, f, n, NULL, NULL, 0);
	for (size_t i = 0, k = 0; i < s->n && r == 0; i++) {
		struct persist__kproc *p = &s->procs[i];

		if (!p->cmd_later)
			continue;
		p->cmd_later = 0;
		if (f[k].len > 0)
			r = persist__parse_cmdline(f[k].data, (size_t)f[k].len, &p->cmdline,
						   &p->cmdlen);
		k++;
	}
	files_free(f, n);
	free(f);
	return r;
}

void persist__snapshot_free(struct persist__snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->procs[i].cmdline);
	free(s->procs);
	memset(s, 0, sizeof *s);
}

int persist__snapshot_read(struct persist__procio *io, int pid, unsigned long long starttime,
			   const int *pids, size_t npids, struct persist__snapshot *out)
{
	struct persist__pids recs = { 0 }, kids = { 0 }, others = { 0 }, listed = { 0 };
	struct persist__pfile head[5], *f = NULL, *fl = NULL;
	struct near_request *pre = NULL;
	int64_t *pre_res = NULL;
	size_t nf = 0, nl = 0, nhead = 4, npre;
	int r = 0, self, by_list;

	memset(out, 0, sizeof *out);
	memset(head, 0, sizeof head);
	for (size_t i = 0; i < npids && r == 0; i++)
		if (pids[i] > 0)
			r = persist__pids_push(&recs, pids[i]);
	if (r < 0)
		goto out;
	persist__pids_sort(&recs);
	/* Whether each record's pid exists at all (most stale ones do not):
	 * a kill(pid, 0) each when they are few, else the one listing of
	 * /proc, since even pipelined each syscall costs the thread a few
	 * microseconds and thousands of records are thousands of them. */
	by_list = recs.n > EXISTS_BY_KILL_MAX;
	npre = 1 + (by_list ? 0 : recs.n);
	if (!(pre = malloc(npre * sizeof *pre)) || !(pre_res = malloc(npre * sizeof *pre_res))) {
		r = -ENOMEM;
		goto out;
	}
	near_request_set(&pre[0], __NR_getpid, 0, 0, 0, 0, 0, 0);
	for (size_t i = 1; i < npre; i++)
		near_request_set(&pre[i], __NR_kill, recs.a[i - 1], 0, 0, 0, 0, 0);
	/* Round trip set 1: who reads (getpid and its /proc/self/stat must
	 * agree, or this /proc belongs to another pid namespace), the thread,
	 * its tasks and its main task's children, and the records' pids. */
	pfile(&head[0], PERSIST__PF_READ, STAT_SLOT, "/proc/self/stat", 0, 0);
	pfile(&head[1], PERSIST__PF_READ, STAT_SLOT, "/proc/%d/stat", pid, 0);
	pfile(&head[2], PERSIST__PF_DIR, LIST_SLOT, "/proc/%d/task", pid, 0);
	pfile(&head[3], PERSIST__PF_READ, LIST_SLOT, "/proc/%d/task/%d/children", pid, pid);
	if (by_list)
		pfile(&head[nhead++], PERSIST__PF_DIR, PROC_LIST_SLOT, "/proc", 0, 0);
	if ((r = persist__read_files(io, head, nhead, pre, pre_res, npre)) < 0)
		goto out;
	if (head[0].len < 0) {
		r = (int)head[0].len; /* no /proc at all (-ENOENT) */
		goto out;
	}
	self = persist__parse_stat_pid(head[0].data, (size_t)head[0].len);
	if (self < 0 || pre_res[0] <= 0 || self != pre_res[0]) {
		r = self < 0 ? self : pre_res[0] < 0 ? (int)pre_res[0] : -EXDEV;
		goto out;
	}
	if (by_list) {
		if (head[4].len < 0) {
			r = (int)head[4].len;
			goto out;
		}
		if ((r = dirent_numbers(head[4].data, (size_t)head[4].len, &listed)) < 0)
			goto out;
		persist__pids_sort(&listed);
	}
	r = stat_of(&head[1], &out->self, NULL);
	if (r == -EPROTO || (r < 0 && r != -ESRCH))
		goto out;
	out->alive = r == 0 && persist__stat_alive(&out->self, starttime);
	r = 0;
	if (out->alive) {
		r = children_from(io, pid, &head[2], &head[3], &kids);
		if (r == -ESRCH) {
			out->alive = 0; /* it ended since its stat */
			r = 0;
		} else if (r < 0) {
			goto out;
		}
	}
	/* Set 2: stat and cmdline of each child; stat of each record's pid
	 * that exists (kill said so: 0, or -EPERM for another uid's; or /proc
	 * lists it) and is not a child. */
	for (size_t i = 0; i < recs.n && r == 0; i++)
		if ((by_list ? in_sorted(&listed, recs.a[i]) : pre_res[i + 1] != -ESRCH) &&
		    !in_sorted(&kids, recs.a[i]))
			r = persist__pids_push(&others, recs.a[i]);
	if (r < 0)
		goto out;
	/* A child whose pid is a running record's is almost always that
	 * record's process, whose argv the store has: its cmdline waits
	 * (cmd_later) until recovery knows whether the record claims it
	 * (persist__snapshot_cmdlines).  With a thousand children that halves
	 * what is read here. */
	nf = 2 * kids.n + others.n;
	if (nf && !(f = calloc(nf, sizeof *f))) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < kids.n; i++) {
		pfile(&f[2 * i], PERSIST__PF_READ, STAT_SLOT, "/proc/%d/stat", kids.a[i], 0);
		if (!in_sorted(&recs, kids.a[i]))
			pfile(&f[2 * i + 1], PERSIST__PF_READ, CMDLINE_SLOT, "/proc/%d/cmdline",
			      kids.a[i], 0);
	}
	for (size_t i = 0; i < others.n; i++)
		pfile(&f[2 * kids.n + i], PERSIST__PF_READ, STAT_SLOT, "/proc/%d/stat",
		      others.a[i], 0);
	/* The files to read, without the cmdlines left for later: fl points
	 * into f. */
	if (nf && !(fl = calloc(nf, sizeof *fl))) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nf; i++)
		if (f[i].path[0])
			fl[nl++] = f[i];
	if (nl)
		r = persist__read_files(io, fl, nl, NULL, NULL, 0);
	for (size_t i = 0, j = 0; i < nf; i++) /* the data is f's to free */
		if (f[i].path[0])
			f[i] = fl[j++];
	if (r < 0)
		goto out;
	if ((kids.n || others.n) &&
	    !(out->procs = calloc(kids.n + others.n, sizeof *out->procs))) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < kids.n + others.n; i++) {
		int child = i < kids.n;
		struct persist__pfile *sf = child ? &f[2 * i] : &f[2 * kids.n + (i - kids.n)];
		struct persist__kproc *k = &out->procs[out->n];

		memset(k, 0, sizeof *k);
		k->pid = child ? kids.a[i] : others.a[i - kids.n];
		k->err = stat_of(sf, &k->st, &k->flags);
		/* Gone since it was listed: the snapshot does not have it. */
		if (k->err == -ESRCH)
			continue;
		k->child = child;
		k->cmd_later = child && k->err == 0 && !f[2 * i + 1].path[0];
		if (child && k->err == 0 && f[2 * i + 1].len > 0 &&
		    (r = persist__parse_cmdline(f[2 * i + 1].data, (size_t)f[2 * i + 1].len,
						&k->cmdline, &k->cmdlen)) < 0)
			goto out;
		out->n++;
		out->children += child;
	}
	if (out->n > 1)
		qsort(out->procs, out->n, sizeof *out->procs, cmp_kproc);
out:
	files_free(head, nhead);
	if (f)
		files_free(f, nf);
	free(f);
	free(fl);
	free(pre);
	free(pre_res);
	persist__pids_free(&recs);
	persist__pids_free(&kids);
	persist__pids_free(&others);
	persist__pids_free(&listed);
	if (r < 0)
		persist__snapshot_free(out);
	return r;
}
