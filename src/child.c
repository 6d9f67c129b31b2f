/*
 * child: one record per child the daemon waits for, in a pid hash. On
 * SIGCHLD, waitid(P_ALL) finds each change: a stop or continue goes to
 * the child's owner, an exit is reaped (waitid(P_PID)) and its status
 * goes to its owner; no fd per child, and no walk of every child. A
 * kept record only reserves its pid. Any other child that exits is an
 * orphan handed to the subreaper, and is reaped at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawnfs/child.h"
#include "spawnfs/idmap.h"
#include "spawnfs/log.h"
#include "spawnfs/state.h"

struct child {
	struct child_set *set;
	pid_t pid;
	child_exit_cb exit_cb; /* NULL: kept, its owner reaps it */
	child_stop_cb stop_cb;
	void *arg;
	struct idmap_node bypid;
};

struct child_set {
	struct loop *loop;
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
	idmap_add(&s->pids, &c->bypid, (uint64_t)pid);
	return c;
}

void child_unwatch(struct child *c)
{
	struct child_set *s;

	if (!c)
		return;
	s = c->set;
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

/* Stops and continues, one waitid each (it consumes the change), told to
 * the child's owner: none walks every child. */
static void stops_changed(struct child_set *s)
{
	struct child *c;
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WSTOPPED | WCONTINUED | WNOHANG) <
			    0 ||
		    si.si_pid == 0)
			return;
		c = child_by_pid(s, si.si_pid);
		if (!c || !c->stop_cb)
			continue;
		if (si.si_code == CLD_STOPPED || si.si_code == CLD_TRAPPED)
			c->stop_cb(c->arg, true);
		else if (si.si_code == CLD_CONTINUED)
			c->stop_cb(c->arg, false);
	}
}

void child_set_sigchld(struct child_set *s)
{
	stops_changed(s);
	reap_orphans(s); /* every exit: a watched child's goes to its owner */
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

struct child *child_watch(struct child_set *s, pid_t pid, child_exit_cb exit_cb,
			  child_stop_cb stop_cb, void *arg)
{
	struct child *c = child_add(s, pid);

	if (!c)
		return NULL;
	c->exit_cb = exit_cb;
	c->stop_cb = stop_cb;
	c->arg = arg;
	return c;
}

void child_check(struct child *c)
{
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
