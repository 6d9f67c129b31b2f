/*
 * tree: a run's process tree, by cgroup2 leaf or by process group. See
 * tree.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawnfs/log.h"
#include "spawnfs/state.h"
#include "spawnfs/tree.h"

#define TREE_POLL_MS	100  /* a process group that outlived its leader */
#define TREE_TEXT_MAX	1024 /* cgroup.events, cpu.stat, memory.* */
#define TREE_CPU_PERIOD 100000u

struct tree {
	struct tree_set *ts;
	struct tree *next, **pprev; /* in ts->trees */
	char name[48];		    /* the leaf: "ID-RUN" */
	bool leaf;		    /* the leaf exists (opened per use) */
	int wd;			    /* its cgroup.events watch, -1 */
	pid_t pid;		    /* the leader (and pgid); 0 before */
	bool leader;		    /* the leader is not reaped yet */
	bool empty;		    /* emptied (the leaf is gone) */
	bool frozen;
	bool dropped; /* tree_free came first: free once empty */
	bool have_cpu;
	struct cgroup_cpu cpu; /* kept once empty */
	uint64_t mem_peak;     /* kept once empty */
	tree_empty_cb cb;
	void *arg;
};

struct tree_set {
	struct loop *loop;
	struct cgroup_root *cg;
	int ifd; /* inotify on the leaves' cgroup.events */
	struct loop_io *io;
	struct tree *trees;
	struct loop_timer poll;	 /* groups that outlived their leader */
	void (*reap)(void *arg); /* reaps exited orphans, while settling */
	void *reap_arg;
	uint64_t cpu_done; /* usage_usec of the trees emptied */
	/* Without cgroups: every live process's group, sorted, from one scan
	 * of /proc that serves every tree for TREE_CENSUS_MS. */
	pid_t *census;
	size_t ncensus, capcensus;
	uint64_t census_ms; /* when it was taken; 0: never */
};

#define TREE_CENSUS_MS 100

static void poll_arm(struct tree_set *ts);

/* ---- emptiness ---- */

static void tree_unlink(struct tree *t)
{
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = &t->next;
}

/* The leaf's directory for one use (the caller closes it), or -1: a
 * running slot holds no fd for its leaf. */
static int leaf_open(const struct tree *t)
{
	return t->leaf ? cgroup_leaf_open(t->ts->cg, t->name) : -1;
}

static void fd_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Read the figures kept once the leaf is gone. */
static void keep_figures(struct tree *t)
{
	char text[TREE_TEXT_MAX];
	int fd = leaf_open(t);

	t->have_cpu = cgroup_read(fd, "cpu.stat", text, sizeof(text)) >= 0 &&
		      cgroup_cpu_parse(text, &t->cpu) == 0;
	if (cgroup_read(fd, "memory.peak", text, sizeof(text)) >= 0)
		t->mem_peak = strtoull(text, NULL, 10);
	fd_close(fd);
}

static void leaf_drop(struct tree *t)
{
	int rc;

	if (t->wd >= 0)
		inotify_rm_watch(t->ts->ifd, t->wd);
	t->wd = -1;
	if (!t->leaf)
		return;
	t->leaf = false;
	rc = cgroup_leaf_remove(t->ts->cg, t->name);
	if (rc < 0)
		log_warn("cgroup: cannot remove leaf %s: %s", t->name,
			 strerror(-rc));
}

/* Nothing of the tree lives: remove the leaf and tell the owner (or
 * free the tree if the owner dropped it). */
static void tree_emptied(struct tree *t)
{
	if (t->empty)
		return;
	t->empty = true;
	t->frozen = false;
	if (t->leaf)
		keep_figures(t);
	t->ts->cpu_done += t->have_cpu ? t->cpu.usage_usec : 0;
	leaf_drop(t);
	tree_unlink(t);
	if (t->dropped) {
		free(t);
		return;
	}
	if (t->cb)
		t->cb(t->arg); /* last: it may free t */
}

/* Whether the process group of t has a member (zombies included). */
static bool group_alive(const struct tree *t)
{
	return t->pid > 0 && (kill(-t->pid, 0) == 0 || errno == EPERM);
}

/* Look whether t is empty now. */
static void tree_look(struct tree *t)
{
	char text[TREE_TEXT_MAX];
	bool populated = true, frozen;
	int fd;

	if (t->empty || t->leader || t->pid == 0)
		return;
	if (t->leaf) {
		fd = leaf_open(t);
		if (cgroup_read(fd, "cgroup.events", text, sizeof(text)) < 0 ||
		    cgroup_events_parse(text, &populated, &frozen) < 0)
			populated = false; /* the leaf is gone */
		fd_close(fd);
	} else {
		populated = group_alive(t);
	}
	if (!populated)
		tree_emptied(t);
}

static void on_inotify(void *arg, uint32_t events)
{
	struct tree_set *ts = arg;
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	struct tree *t, *next;
	ssize_t n;
	char *at;

	(void)events;
	while ((n = read(ts->ifd, buf, sizeof(buf))) > 0) {
		for (at = buf; at < buf + n; at += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)(void *)at;
			for (t = ts->trees; t; t = next) {
				next = t->next;
				if (t->wd == e->wd) {
					tree_look(t);
					break;
				}
			}
		}
	}
}

static void poll_expired(void *arg)
{
	struct tree_set *ts = arg;

	tree_set_sigchld(ts);
}

/* Poll while a process group outlives its leader. */
static void poll_arm(struct tree_set *ts)
{
	struct tree *t;

	if (loop_timer_armed(&ts->poll) || ts->cg)
		return;
	for (t = ts->trees; t; t = t->next) {
		if (!t->leader && t->pid > 0 && !t->empty) {
			loop_timer_arm(&ts->poll, TREE_POLL_MS);
			return;
		}
	}
}

/* ---- the set ---- */

struct tree_set *tree_set_new(struct loop *loop, struct cgroup_root *cg)
{
	struct tree_set *ts = calloc(1, sizeof(*ts));

	if (!ts)
		return NULL;
	ts->loop = loop;
	loop_timer_init(&ts->poll, loop, poll_expired, ts);
	ts->cg = cg;
	ts->ifd = -1;
	/* Orphans of a run come back to the daemon, to be reaped at once
	 * (with cgroups too: PID 1 may never reap them). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("tree: child subreaper: %s", strerror(errno));
	if (!cg)
		return ts;
	ts->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ts->ifd >= 0)
		ts->io = loop_io_add(loop, ts->ifd, EPOLLIN, on_inotify, ts);
	if (!ts->io) {
		if (ts->ifd >= 0)
			close(ts->ifd);
		free(ts);
		return NULL;
	}
	return ts;
}

bool tree_set_cgroup(const struct tree_set *ts)
{
	return ts->cg != NULL;
}

bool tree_set_has(const struct tree_set *ts, const char *controller)
{
	return cgroup_root_has(ts->cg, controller);
}

void tree_set_sigchld(struct tree_set *ts)
{
	struct tree *t, *next;

	if (ts->cg)
		return;
	for (t = ts->trees; t; t = next) {
		next = t->next;
		tree_look(t);
	}
	poll_arm(ts);
}

uint64_t tree_set_processes(const struct tree_set *ts)
{
	const struct tree *t;
	uint64_t n = 0;

	for (t = ts->trees; t; t = t->next)
		n += tree_processes(t);
	return n;
}

uint64_t tree_set_cpu_usec(const struct tree_set *ts)
{
	const struct tree *t;
	struct cgroup_cpu cpu;
	uint64_t n = ts->cpu_done;

	for (t = ts->trees; t; t = t->next)
		if (tree_cpu(t, &cpu))
			n += cpu.usage_usec;
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec d = {0, ms * 1000000L};

	while (nanosleep(&d, &d) < 0 && errno == EINTR)
		;
}

void tree_set_reaper(struct tree_set *ts, void (*reap)(void *arg), void *arg)
{
	ts->reap = reap;
	ts->reap_arg = arg;
}

void tree_set_settle(struct tree_set *ts, unsigned ms)
{
	struct tree *t, *next;
	unsigned waited = 0;

	for (t = ts->trees; t; t = t->next)
		if (!t->empty && t->pid > 0)
			tree_signal(t, SIGKILL);
	while (ts->trees && waited < ms) {
		if (ts->reap)
			ts->reap(ts->reap_arg);
		for (t = ts->trees; t; t = next) {
			next = t->next;
			tree_look(t);
		}
		if (!ts->trees)
			break;
		sleep_ms(5);
		waited += 5;
	}
	if (ts->reap)
		ts->reap(ts->reap_arg);
	for (t = ts->trees; t; t = t->next)
		log_warn("tree %s: still not empty at exit", t->name);
}

void tree_set_free(struct tree_set *ts)
{
	struct tree *t;

	if (!ts)
		return;
	tree_set_settle(ts, 1000);
	while ((t = ts->trees)) {
		leaf_drop(t);
		tree_unlink(t);
		if (t->dropped)
			free(t);
	}
	loop_timer_stop(&ts->poll);
	loop_io_close(&ts->io, &ts->ifd);
	free(ts->census);
	free(ts);
}

/* ---- one tree ---- */

static int limits_apply(struct tree *t, int fd, const struct tree_limits *l)
{
	char text[64];
	int rc = 0;

	if (l->memory) {
		if (!cgroup_root_has(t->ts->cg, "memory"))
			return -EOPNOTSUPP;
		snprintf(text, sizeof(text), "%llu",
			 (unsigned long long)l->memory);
		rc = cgroup_write(fd, "memory.max", text);
	}
	if (rc == 0 && l->cpu_permille) {
		if (!cgroup_root_has(t->ts->cg, "cpu"))
			return -EOPNOTSUPP;
		snprintf(text, sizeof(text), "%u %u",
			 l->cpu_permille * (TREE_CPU_PERIOD / 1000),
			 TREE_CPU_PERIOD);
		rc = cgroup_write(fd, "cpu.max", text);
	}
	if (rc == 0 && l->pids) {
		if (!cgroup_root_has(t->ts->cg, "pids"))
			return -EOPNOTSUPP;
		snprintf(text, sizeof(text), "%llu",
			 (unsigned long long)l->pids);
		rc = cgroup_write(fd, "pids.max", text);
	}
	return rc;
}

static bool limits_any(const struct tree_limits *l)
{
	return l && (l->memory || l->cpu_permille || l->pids);
}

/* Make t's leaf, its limits and its watch. 0 or -errno. */
static int leaf_make(struct tree *t, const struct tree_limits *limits)
{
	char path[CGROUP_PATH_MAX * 2];
	int rc;

	int fd = cgroup_leaf_make(t->ts->cg, t->name);

	if (fd < 0)
		return fd;
	t->leaf = true;
	rc = limits ? limits_apply(t, fd, limits) : 0;
	close(fd);
	if (rc == 0)
		rc = cgroup_leaf_file(t->ts->cg, t->name, "cgroup.events", path,
				      sizeof(path));
	if (rc == 0) {
		t->wd = inotify_add_watch(t->ts->ifd, path, IN_MODIFY);
		if (t->wd < 0)
			rc = -errno;
	}
	return rc;
}

struct tree *tree_new(struct tree_set *ts, uint64_t id, uint64_t run,
		      const struct tree_limits *limits, tree_empty_cb cb,
		      void *arg)
{
	struct tree *t;
	int rc = 0;

	if (!ts->cg && limits_any(limits)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ts = ts;
	t->wd = -1;
	t->cb = cb;
	t->arg = arg;
	snprintf(t->name, sizeof(t->name), "%llu-%llu", (unsigned long long)id,
		 (unsigned long long)run);
	t->next = ts->trees;
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = &ts->trees;
	ts->trees = t;
	if (ts->cg)
		rc = leaf_make(t, limits);
	if (rc < 0) {
		t->empty = true;
		leaf_drop(t);
		tree_unlink(t);
		free(t);
		errno = -rc;
		return NULL;
	}
	return t;
}

int tree_open(const struct tree *t)
{
	return t ? leaf_open(t) : -1;
}

void tree_started(struct tree *t, pid_t pid)
{
	t->pid = pid;
	t->leader = true;
}

void tree_leader_gone(struct tree *t)
{
	if (!t)
		return;
	t->leader = false;
	if (t->pid == 0) {
		tree_emptied(t);
		return;
	}
	tree_look(t);
	if (!t->empty)
		poll_arm(t->ts);
}

bool tree_populated(const struct tree *t)
{
	return t && !t->empty && t->pid > 0;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The census: each live process's group, from /proc/PID/stat. */
static void census_take(struct tree_set *ts)
{
	char path[300], text[512], *paren;
	DIR *d = opendir("/proc");
	struct dirent *e;
	char state;
	int ppid, pgrp;
	pid_t *grown;

	ts->ncensus = 0;
	ts->census_ms = loop_now_ms();
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (cgroup_read(AT_FDCWD, path, text, sizeof(text)) <= 0)
			continue;
		paren = strrchr(text, ')');
		if (!paren ||
		    sscanf(paren + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 ||
		    state == 'Z')
			continue;
		if (ts->ncensus == ts->capcensus) {
			ts->capcensus = ts->capcensus ? ts->capcensus * 2 : 256;
			grown = realloc(ts->census,
					ts->capcensus * sizeof(*grown));
			if (!grown)
				break;
			ts->census = grown;
		}
		ts->census[ts->ncensus++] = pgrp;
	}
	closedir(d);
	qsort(ts->census, ts->ncensus, sizeof(*ts->census), pid_cmp);
}

/* Processes of a group: the census, taken again when it is old. */
static unsigned group_count(struct tree_set *ts, pid_t pgid)
{
	size_t lo = 0, hi, n = 0;

	if (!ts->census_ms || loop_now_ms() - ts->census_ms >= TREE_CENSUS_MS)
		census_take(ts);
	hi = ts->ncensus;
	while (lo < hi) { /* the first entry >= pgid */
		size_t mid = lo + (hi - lo) / 2;

		if (ts->census[mid] < pgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + n < ts->ncensus && ts->census[lo + n] == pgid)
		n++;
	return (unsigned)n;
}

unsigned tree_processes(const struct tree *t)
{
	unsigned n;
	int fd;

	if (!tree_populated(t))
		return 0;
	if (!t->leaf)
		return group_count(t->ts, t->pid);
	fd = leaf_open(t);
	n = fd >= 0 ? cgroup_count(fd) : 0;
	fd_close(fd);
	return n;
}

int tree_signal(struct tree *t, int sig)
{
	int n = 0, fd;

	if (!tree_populated(t))
		return -ESRCH;
	if (t->leaf) {
		fd = leaf_open(t);
		if (sig != SIGKILL || cgroup_write(fd, "cgroup.kill", "1"))
			n = cgroup_signal(fd, sig);
		else
			n = 1;
		fd_close(fd);
	} else if (kill(-t->pid, sig) == 0) {
		n = 1;
	}
	/* A leader that has not joined its leaf yet, or left its group. */
	if (t->leader && kill(t->pid, sig) == 0)
		n++;
	return n > 0 ? 0 : -ESRCH;
}

int tree_freeze(struct tree *t, bool frozen)
{
	int rc, fd;

	if (!tree_populated(t))
		return -ESRCH;
	if (!t->leaf)
		return -EOPNOTSUPP;
	if (t->frozen == frozen)
		return 0;
	fd = leaf_open(t);
	rc = cgroup_write(fd, "cgroup.freeze", frozen ? "1" : "0");
	fd_close(fd);
	if (rc == 0)
		t->frozen = frozen;
	return rc;
}

bool tree_frozen(const struct tree *t)
{
	return t && t->frozen;
}

/* tree_cpu with the leaf open at fd (-1: none). */
static bool cpu_at(const struct tree *t, int fd, struct cgroup_cpu *cpu)
{
	char text[TREE_TEXT_MAX];

	if (!t || (!t->have_cpu && !t->leaf))
		return false;
	if (!t->leaf) {
		*cpu = t->cpu;
		return true;
	}
	return cgroup_read(fd, "cpu.stat", text, sizeof(text)) >= 0 &&
	       cgroup_cpu_parse(text, cpu) == 0;
}

bool tree_cpu(const struct tree *t, struct cgroup_cpu *cpu)
{
	int fd = t ? leaf_open(t) : -1;
	bool ok = cpu_at(t, fd, cpu);

	fd_close(fd);
	return ok;
}

static uint64_t read_u64(int fd, const char *file)
{
	char text[64];

	if (cgroup_read(fd, file, text, sizeof(text)) < 0)
		return 0;
	return strtoull(text, NULL, 10);
}

static bool memory_at(const struct tree *t, int fd, uint64_t *current,
		      uint64_t *peak)
{
	if (!t || !cgroup_root_has(t->ts->cg, "memory"))
		return false;
	*current = t->leaf ? read_u64(fd, "memory.current") : 0;
	*peak = t->leaf ? read_u64(fd, "memory.peak") : t->mem_peak;
	return true;
}

static bool pids_at(const struct tree *t, int fd, uint64_t *current)
{
	if (!t || !cgroup_root_has(t->ts->cg, "pids"))
		return false;
	*current = t->leaf ? read_u64(fd, "pids.current") : 0;
	return true;
}

bool tree_memory(const struct tree *t, uint64_t *current, uint64_t *peak)
{
	int fd = t ? leaf_open(t) : -1;
	bool ok = memory_at(t, fd, current, peak);

	fd_close(fd);
	return ok;
}

bool tree_pids(const struct tree *t, uint64_t *current)
{
	int fd = t ? leaf_open(t) : -1;
	bool ok = pids_at(t, fd, current);

	fd_close(fd);
	return ok;
}

void tree_view(const struct tree *t, struct status_view *v)
{
	struct cgroup_cpu cpu = {0, 0, 0};
	int fd = t ? leaf_open(t) : -1; /* one open for every figure */

	v->processes = tree_populated(t) && t->leaf && fd >= 0
			       ? cgroup_count(fd)
			       : tree_processes(t);
	v->has_cpu = cpu_at(t, fd, &cpu);
	v->cpu_usage_usec = cpu.usage_usec;
	v->cpu_user_usec = cpu.user_usec;
	v->cpu_system_usec = cpu.system_usec;
	v->has_memory = memory_at(t, fd, &v->memory, &v->memory_peak);
	v->has_pids = pids_at(t, fd, &v->pids);
	fd_close(fd);
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	if (t->empty) {
		free(t);
		return;
	}
	t->dropped = true;
	t->leader = false;
	t->cb = NULL;
	if (t->pid == 0) {
		tree_emptied(t);
		return;
	}
	tree_signal(t, SIGKILL);
	tree_look(t); /* may free t */
}

/* ---- an upgrade in place ---- */

static void one_save(const struct tree *t, struct state_w *w)
{
	state_begin(w, STATE_TREE);
	state_str(w, t->name);
	state_u64(w, t->leaf);
	state_i64(w, t->wd);
	state_i64(w, t->pid);
	state_u64(w, t->leader);
	state_u64(w, t->empty);
	state_u64(w, t->frozen);
	state_u64(w, t->dropped);
	state_u64(w, t->have_cpu);
	state_u64(w, t->cpu.usage_usec);
	state_u64(w, t->cpu.user_usec);
	state_u64(w, t->cpu.system_usec);
	state_u64(w, t->mem_peak);
	state_end(w);
}

static struct tree *one_load(struct tree_set *ts, struct state_r *r)
{
	struct tree *t;
	char *name;

	if (!state_enter(r, STATE_TREE))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		state_fail(r, "tree: out of memory");
		return NULL;
	}
	t->ts = ts;
	t->pprev = &t->next;
	name = state_get_str(r);
	if (name && strlen(name) < sizeof(t->name))
		strcpy(t->name, name);
	else if (!r->err)
		state_fail(r, "tree: a name of %zu bytes",
			   name ? strlen(name) : 0);
	free(name);
	t->leaf = state_get_bool(r);
	t->wd = (int)state_get_i64(r);
	t->pid = (pid_t)state_get_i64(r);
	t->leader = state_get_bool(r);
	t->empty = state_get_bool(r);
	t->frozen = state_get_bool(r);
	t->dropped = state_get_bool(r);
	t->have_cpu = state_get_bool(r);
	t->cpu.usage_usec = state_get_u64(r);
	t->cpu.user_usec = state_get_u64(r);
	t->cpu.system_usec = state_get_u64(r);
	t->mem_peak = state_get_u64(r);
	state_leave(r);
	if (r->err) {
		free(t);
		return NULL;
	}
	if (!t->empty) { /* an emptied tree is in no list */
		t->next = ts->trees;
		if (t->next)
			t->next->pprev = &t->next;
		t->pprev = &ts->trees;
		ts->trees = t;
	}
	return t;
}

void tree_save(const struct tree *t, struct state_w *w)
{
	state_u64(w, t != NULL);
	if (t)
		one_save(t, w);
}

struct tree *tree_load(struct tree_set *ts, tree_empty_cb cb, void *arg,
		       struct state_r *r)
{
	struct tree *t;

	if (!state_get_bool(r))
		return NULL;
	t = one_load(ts, r);
	if (t) {
		t->cb = cb;
		t->arg = arg;
	}
	return t;
}

void tree_set_save(const struct tree_set *ts, struct state_w *w)
{
	const struct tree *t;
	uint64_t n = 0;

	state_fd(w, ts->ifd);
	loop_timer_save(&ts->poll, w);
	state_u64(w, ts->cpu_done);
	for (t = ts->trees; t; t = t->next)
		n += t->dropped;
	state_u64(w, n);
	for (t = ts->trees; t; t = t->next)
		if (t->dropped)
			one_save(t, w);
}

int tree_set_load(struct tree_set *ts, struct state_r *r)
{
	uint64_t n, i;
	int ifd = state_get_fd(r);

	if (!r->err && ifd >= 0 && ts->cg) {
		/* The watches are the saved inotify's: take it over. */
		fcntl(ifd, F_SETFD, FD_CLOEXEC);
		loop_io_close(&ts->io, &ts->ifd);
		ts->io = loop_io_add(ts->loop, ifd, EPOLLIN, on_inotify, ts);
		if (!ts->io)
			state_fail(r, "tree: watch inotify: %s",
				   strerror(errno));
		ts->ifd = ifd;
	} else if (ifd >= 0) {
		close(ifd);
	}
	loop_timer_load(&ts->poll, r);
	ts->cpu_done = state_get_u64(r);
	n = state_get_u64(r);
	for (i = 0; i < n && !r->err; i++)
		one_load(ts, r);
	return r->err;
}

void tree_set_look(struct tree_set *ts)
{
	struct tree *t, *next;

	for (t = ts->trees; t; t = next) {
		next = t->next;
		tree_look(t);
	}
	poll_arm(ts);
}
