/*
 * child: one watch record per live child, in one list for SIGCHLD. Each
 * record holds the pidfd and its loop watch, or -1 where the kernel has
 * none; an exit is reaped with waitid(P_PIDFD) or waitid(P_PID).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawnfs/child.h"
#include "spawnfs/log.h"

struct child {
	struct child_set *set;
	pid_t pid;
	int pidfd; /* -1: reaped on SIGCHLD instead */
	struct loop_io *io;
	child_exit_cb exit_cb;
	child_stop_cb stop_cb;
	void *arg;
	struct child *prev, *next;
};

struct child_set {
	struct loop *loop;
	struct child *all;
};

struct child_set *child_set_new(struct loop *loop)
{
	struct child_set *s = calloc(1, sizeof(*s));

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->loop = loop;
	return s;
}

void child_set_free(struct child_set *s)
{
	free(s);
}

void child_unwatch(struct child *c)
{
	if (!c)
		return;
	loop_io_close(&c->io, &c->pidfd);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->set->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
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

void child_set_sigchld(struct child_set *s)
{
	struct child *c, *next;

	for (c = s->all; c; c = next) {
		next = c->next;
		if (c->pidfd < 0 && child_try_reap(c))
			continue;
		child_try_stopped(c);
	}
}

static void pidfd_readable(void *arg, uint32_t events)
{
	(void)events;
	child_try_reap(arg);
}

struct child *child_watch(struct child_set *s, pid_t pid, child_exit_cb exit_cb,
			  child_stop_cb stop_cb, void *arg)
{
	struct child *c = calloc(1, sizeof(*c));
	int err;

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	*c = (struct child){s,	     pid, -1,	NULL,  exit_cb,
			    stop_cb, arg, NULL, s->all};
	if (s->all)
		s->all->prev = c;
	s->all = c;
	c->pidfd = pidfd_open(pid, 0);
	if (c->pidfd < 0 && errno != ENOSYS)
		goto fail;
	if (c->pidfd >= 0) {
		c->io = loop_io_add(s->loop, c->pidfd, EPOLLIN, pidfd_readable,
				    c);
		if (!c->io)
			goto fail;
		return c;
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
