/*
 * child: one record per child the daemon waits for, in one list for
 * SIGCHLD and a pid hash for the orphans' reaping. A watch record holds
 * the pidfd and its loop watch, or -1 where the kernel has none; an exit
 * is reaped with waitid(P_PIDFD) or waitid(P_PID). A kept record only
 * reserves its pid. Any other child that exits is an orphan handed to
 * the subreaper, and is reaped at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawnfs/child.h"
#include "spawnfs/idmap.h"
#include "spawnfs/log.h"
#include "spawnfs/state.h"

struct child {
	struct child_set *set;
	pid_t pid;
	int pidfd; /* -1: reaped on SIGCHLD instead */
	struct loop_io *io;
	child_exit_cb exit_cb; /* NULL: kept, its owner reaps it */
	child_stop_cb stop_cb;
	void *arg;
	struct child *prev, *next; /* in all */
	struct idmap_node bypid;
};

struct child_set {
	struct loop *loop;
	struct child *all;
	struct idmap pids; /* every child waited for, by pid */
	bool blocked;	   /* an orphan's reaping waits on a kept child */
	uint64_t orphans;
};

struct child_set *child_set_new(struct loop *loop)
{
	struct child_set *s = calloc(1, sizeof(*s));

	if (!s || idmap_init(&s->pids) < 0) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->loop = loop;
	return s;
}

void child_set_free(struct child_set *s)
{
	if (!s)
		return;
	idmap_fini(&s->pids);
	free(s);
}

static struct child *child_by_pid(const struct child_set *s, pid_t pid)
{
	struct idmap_node *n = idmap_get(&s->pids, (uint64_t)pid);

	return n ? container_of(n, struct child, bypid) : NULL;
}

/* A new record for pid, linked in; NULL with errno ENOMEM. */
static struct child *child_add(struct child_set *s, pid_t pid)
{
	struct child *c = calloc(1, sizeof(*c));

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->set = s;
	c->pid = pid;
	c->pidfd = -1;
	c->next = s->all;
	if (s->all)
		s->all->prev = c;
	s->all = c;
	idmap_add(&s->pids, &c->bypid, (uint64_t)pid);
	return c;
}

void child_unwatch(struct child *c)
{
	struct child_set *s;

	if (!c)
		return;
	s = c->set;
	loop_io_close(&c->io, &c->pidfd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	idmap_del(&s->pids, &c->bypid);
	/* Orphans that exited behind a kept child are reaped on the next
	 * round: a SIGCHLD of our own, not a call back from here. */
	if (!c->exit_cb && s->blocked) {
		s->blocked = false;
		kill(getpid(), SIGCHLD);
	}
	free(c);
}

/* Reap c if it has exited; true when it was (c is then freed). */
static bool child_try_reap(struct child *c)
{
	child_exit_cb cb = c->exit_cb;
	void *arg = c->arg;
	siginfo_t si;
	int rc;

	memset(&si, 0, sizeof(si));
	if (c->pidfd >= 0)
		rc = waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG);
	else
		rc = waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG);
	if (rc < 0) {
		log_error("child %d: waitid: %s", (int)c->pid, strerror(errno));
		return false;
	}
	if (si.si_pid == 0)
		return false;
	child_unwatch(c);
	cb(arg, &si);
	return true;
}

/* Whether a live child was stopped or continued. */
static void child_try_stopped(struct child *c)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si, WSTOPPED | WCONTINUED | WNOHANG) <
	    0) {
		if (errno != ECHILD)
			log_error("child %d: waitid: %s", (int)c->pid,
				  strerror(errno));
		return;
	}
	if (si.si_pid == 0 || !c->stop_cb)
		return;
	if (si.si_code == CLD_STOPPED || si.si_code == CLD_TRAPPED)
		c->stop_cb(c->arg, true);
	else if (si.si_code == CLD_CONTINUED)
		c->stop_cb(c->arg, false);
}

/*
 * Reap the children nobody waits for. waitid(WNOWAIT) shows the oldest
 * exited child without taking its status: a watched one is reaped by its
 * watch (its owner gets the status), a kept one stops the walk until its
 * owner has reaped it, any other is an orphan and goes at once.
 */
static void reap_orphans(struct child_set *s)
{
	struct child *c;
	siginfo_t si;

	s->blocked = false;
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == 0)
			return;
		c = child_by_pid(s, si.si_pid);
		if (c && !c->exit_cb) {
			s->blocked = true;
			return;
		}
		if (c) {
			if (!child_try_reap(c))
				return;
			continue;
		}
		if (waitid(P_PID, (id_t)si.si_pid, &si, WEXITED | WNOHANG) < 0)
			return;
		s->orphans++;
	}
}

void child_set_sigchld(struct child_set *s)
{
	struct child *c, *next;

	for (c = s->all; c; c = next) {
		next = c->next;
		if (!c->exit_cb)
			continue;
		if (c->pidfd < 0 && child_try_reap(c))
			continue;
		child_try_stopped(c);
	}
	reap_orphans(s);
}

void child_set_orphans(struct child_set *s)
{
	reap_orphans(s);
}

uint64_t child_set_orphans_reaped(const struct child_set *s)
{
	return s->orphans;
}

struct child *child_keep(struct child_set *s, pid_t pid)
{
	return child_add(s, pid);
}

static void pidfd_readable(void *arg, uint32_t events)
{
	(void)events;
	child_try_reap(arg);
}

struct child *child_watch(struct child_set *s, pid_t pid, child_exit_cb exit_cb,
			  child_stop_cb stop_cb, void *arg)
{
	struct child *c = child_add(s, pid);
	int err;

	if (!c)
		return NULL;
	c->exit_cb = exit_cb;
	c->stop_cb = stop_cb;
	c->arg = arg;
	c->pidfd = pidfd_open(pid, 0);
	if (c->pidfd < 0 && errno != ENOSYS)
		goto fail;
	if (c->pidfd >= 0) {
		c->io = loop_io_add(s->loop, c->pidfd, EPOLLIN, pidfd_readable,
				    c);
		if (!c->io)
			goto fail;
	}
	return c;
fail:
	err = errno;
	child_unwatch(c);
	errno = err;
	return NULL;
}

void child_check(struct child *c)
{
	if (c->pidfd < 0)
		child_try_reap(c);
}

void child_set_save(const struct child_set *s, struct state_w *w)
{
	state_begin(w, STATE_CHILDREN);
	state_u64(w, s->orphans);
	state_end(w);
}

int child_set_load(struct child_set *s, struct state_r *r)
{
	if (!state_enter(r, STATE_CHILDREN))
		return r->err;
	s->orphans = state_get_u64(r);
	state_leave(r);
	return r->err;
}
