/*
 * leader: a run's leader process. Between fork and exec it is watched
 * through the CLOEXEC report pipe of spawn (a marker, then end of file
 * once exec happened; a record of the failed step, or nothing at all
 * when the child died, otherwise); after exec through
 * child, until it is reaped. Owns the spawn_child until the report, the
 * report's watch, and the child watch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "spawnfs/leader.h"
#include "spawnfs/log.h"
#include "spawnfs/state.h"

struct leader {
	struct loop *loop;
	struct child_set *children;
	const char *name;
	const struct leader_hooks *hooks;
	void *arg;
	bool pending;		/* between leader_wait and the report */
	struct spawn_child ch;	/* the child's pid and parent's ends */
	struct loop_io *report; /* the watch on ch.report */
	struct child *kept;	/* ch.pid, reserved until the report */
	pid_t pid;
	bool child;	     /* pid is a child of ours, not reaped yet */
	bool alive;	     /* and it runs (leader_started) */
	bool stopped;	     /* and a signal stopped it */
	struct child *watch; /* until it is reaped */
};

struct leader *leader_new(struct loop *loop, struct child_set *children,
			  const char *name, const struct leader_hooks *hooks,
			  void *arg)
{
	struct leader *l = calloc(1, sizeof(*l));

	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	l->loop = loop;
	l->children = children;
	l->name = name;
	l->hooks = hooks;
	l->arg = arg;
	l->ch = SPAWN_CHILD_NONE;
	return l;
}

void leader_free(struct leader *l)
{
	if (!l)
		return;
	leader_cancel(l);
	child_unwatch(l->watch);
	free(l);
}

bool leader_pending(const struct leader *l)
{
	return l->pending;
}

/* The report: end of file means exec succeeded. The hook gets the child
 * from the stack, nothing pending, as it may free the leader. */
static void report_readable(void *arg, uint32_t events)
{
	struct leader *l = arg;
	struct spawn_child ch;
	enum spawn_step step = SPAWN_SETUP;
	int rc, err = 0;

	(void)events;
	rc = spawn_report(&l->ch, &step, &err);
	if (rc == 0)
		return;
	loop_io_close(&l->report, &l->ch.report);
	child_unwatch(l->kept);
	l->kept = NULL;
	l->pending = false;
	ch = l->ch;
	l->ch = SPAWN_CHILD_NONE;
	l->hooks->launched(l->arg, &ch, rc > 0, step, err);
}

int leader_wait(struct leader *l, struct spawn_child *ch)
{
	l->ch = *ch;
	*ch = SPAWN_CHILD_NONE;
	l->pending = true;
	l->kept = child_keep(l->children, l->ch.pid);
	if (l->kept)
		l->report = loop_io_add(l->loop, l->ch.report, EPOLLIN,
					report_readable, l);
	if (l->report)
		return 0;
	/* A dead child: its report pipe ends at once. */
	kill(l->ch.pid, SIGKILL);
	if (fcntl(l->ch.report, F_SETFL, 0) < 0)
		log_error("proc %s: report pipe: %s", l->name, strerror(errno));
	report_readable(l, EPOLLIN);
	return -ENOMEM;
}

void leader_kill(struct leader *l)
{
	if (l->pending)
		kill(l->ch.pid, SIGKILL);
}

void leader_cancel(struct leader *l)
{
	if (!l->pending)
		return;
	kill(l->ch.pid, SIGKILL);
	spawn_reap(l->ch.pid);
	loop_io_close(&l->report, &l->ch.report);
	child_unwatch(l->kept);
	l->kept = NULL;
	spawn_child_close(&l->ch);
	l->ch = SPAWN_CHILD_NONE;
	l->pending = false;
}

/* Reaped by child (its watch is gone). */
static void leader_exited(void *arg, const siginfo_t *si)
{
	struct leader *l = arg;

	l->watch = NULL;
	l->child = l->alive = l->stopped = false;
	l->hooks->exited(l->arg, si);
}

static void leader_stop(void *arg, bool stopped)
{
	((struct leader *)arg)->stopped = stopped;
}

int leader_watch(struct leader *l, pid_t pid)
{
	l->pid = pid;
	l->child = true;
	l->watch = child_watch(l->children, pid, leader_exited, leader_stop, l);
	return l->watch ? 0 : -errno;
}

void leader_started(struct leader *l)
{
	l->alive = true;
	l->stopped = false;
}

void leader_check(struct leader *l)
{
	if (l->alive)
		child_check(l->watch);
}

void leader_reap(struct leader *l)
{
	if (!l->child)
		return;
	spawn_reap(l->pid);
	l->child = l->alive = l->stopped = false;
	child_unwatch(l->watch);
	l->watch = NULL;
}

bool leader_stopped(const struct leader *l)
{
	return l->stopped;
}

bool leader_alive(const struct leader *l)
{
	return l->alive;
}

pid_t leader_pid(const struct leader *l)
{
	return l->pid;
}

void leader_save(const struct leader *l, struct state_w *w)
{
	state_begin(w, STATE_LEADER);
	state_i64(w, l->pid);
	state_u64(w, l->child);
	state_u64(w, l->alive);
	state_u64(w, l->stopped);
	state_end(w);
}

int leader_load(struct leader *l, struct state_r *r)
{
	pid_t pid;
	bool child, alive, stopped;

	if (!state_enter(r, STATE_LEADER))
		return r->err;
	pid = (pid_t)state_get_i64(r);
	child = state_get_bool(r);
	alive = state_get_bool(r);
	stopped = state_get_bool(r);
	state_leave(r);
	if (r->err)
		return r->err;
	l->pid = pid;
	if (child && leader_watch(l, pid) < 0) {
		state_fail(r, "leader %d: %s", (int)pid, strerror(errno));
		return r->err;
	}
	l->alive = alive;
	l->stopped = stopped;
	return 0;
}
