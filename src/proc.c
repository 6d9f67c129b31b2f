/*
 * proc: one process slot and its runs. A run is done only when its exit
 * status was reaped (pidfd) AND every output pipe reached end of file or
 * was cut by the drain timer, in either order. Pipes are read straight
 * into the logs' rings, and only while the back-pressure rule of
 * stream_pipe_budget allows; otherwise the pipe is taken out of epoll
 * and the child blocks in write(2). Owns: the child's pid and pidfd, the
 * parent ends of its pipes, the logs and the settings for the next run.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawnfs/evfeed.h"
#include "spawnfs/log.h"
#include "spawnfs/proc.h"

#define PROC_ERROR_MAX	    512
#define PROC_READS_PER_WAKE 4		 /* pipe reads per readiness */
#define PROC_ENV_MAX	    1024	 /* env lines kept per slot */
#define PROC_ENV_BYTES	    (256 * 1024) /* and their bytes together */

/* The order of status's names (proc_state_index); stopped is a running
 * leader that a signal stopped (PROC_STOPPED_INDEX). */
enum proc_state {
	PROC_NEW,
	PROC_RUNNING,
	PROC_EXITED,
	PROC_KILLED,
	PROC_FAILED /* the last start failed before exec */
};
#define PROC_STOPPED_INDEX 5

struct proc_pipe {
	struct proc *p;
	enum proc_log log;
	int fd;
	struct loop_io *io;
	uint64_t drain_left; /* UINT64_MAX until the drain timer fires */
};

struct proc {
	struct proc_ctx *ctx;
	unsigned refs;
	char *name;
	uint64_t id;
	uid_t uid;
	gid_t gid;
	/* settings for the next run */
	bool run_as;	/* "user NAME" chose run_uid/run_gid over uid/gid */
	char *run_name; /* and this is its name, for the read-back */
	uid_t run_uid;
	gid_t run_gid;
	char *cwd;
	char **env; /* "NAME=VALUE" sets, "NAME" unsets; NULL-terminated */
	size_t nenv;
	bool stdin_pipe;
	bool pty;
	unsigned cols, rows;
	long timeout_ms;
	char *start_line; /* the last start's command line; NULL for exec */
	/* the current or last run */
	enum proc_state state;
	char **argv;
	pid_t pid;
	bool alive;		/* the child is not reaped yet */
	bool stopped;		/* and a signal stopped it (SIGCHLD told) */
	struct proc *live_next; /* in ctx->live while alive */
	int pidfd; /* -1 where pidfd_open is missing: SIGCHLD instead */
	struct proc *sigchld_next;
	struct loop_io *pid_io;
	struct proc_pipe pipes[PROC_NPIPES];
	int stdin_fd;
	struct loop_io *stdin_io;
	struct loop_timer *drain_timer, *kill_timer, *life_timer, *stall_timer;
	int exit_code, signo, wstatus;
	struct timespec t_start, t_end;
	char *error;
	struct stream *logs[PROC_NLOGS];
	bool removed, counted;
	bool closed;	     /* every log ended: removed, or the daemon stops */
	struct evfeed *feed; /* what feeds the events log */
	/* a start whose exec has not reported yet */
	bool starting;
	pid_t start_pid;
	int start_fds[8];
	struct loop_io *report_io;
	int start_rc;
	bool stopping; /* the daemon is going away: cut unread output */
	void *data;
	bool cloned;  /* made by reading clone */
	bool touched; /* a ctl line was applied (or a start tried) */
};

static const char *const log_names[PROC_NLOGS] = {"stdout", "stderr", "events"};

static void feed_changed(void *arg);

struct proc *proc_new(struct proc_ctx *ctx, const char *name, uint64_t id,
		      uid_t uid, gid_t gid, void *data)
{
	struct proc *p = calloc(1, sizeof(*p));
	int i;

	if (!p)
		return NULL;
	p->ctx = ctx;
	p->refs = 1;
	p->id = id;
	p->uid = uid;
	p->gid = gid;
	p->data = data;
	p->pidfd = p->stdin_fd = -1;
	memset(p->start_fds, -1, sizeof(p->start_fds));
	p->wstatus = p->exit_code = -1;
	p->name = strdup(name);
	p->env = calloc(1, sizeof(char *));
	if (!p->name || !p->env)
		goto fail;
	for (i = 0; i < PROC_NPIPES; i++) {
		p->pipes[i].p = p;
		p->pipes[i].log = (enum proc_log)i;
		p->pipes[i].fd = -1;
	}
	for (i = 0; i < PROC_NLOGS; i++) {
		p->logs[i] = stream_new(ctx->cfg->buffer_size);
		if (!p->logs[i])
			goto fail;
	}
	stream_set_lines(p->logs[PROC_EVENTS]);
	p->feed = evfeed_new(p->logs[PROC_EVENTS], p->logs, log_names,
			     ctx->cfg->buffer_size / 16, feed_changed, p);
	if (!p->feed)
		goto fail;
	return p;
fail:
	proc_unref(p);
	errno = ENOMEM;
	return NULL;
}

void proc_ref(struct proc *p)
{
	p->refs++;
}

void proc_unref(struct proc *p)
{
	int i;

	if (!p || --p->refs > 0)
		return;
	for (i = 0; i < PROC_NLOGS; i++)
		stream_free(p->logs[i]);
	ctl_argv_free(p->env);
	ctl_argv_free(p->argv);
	free(p->start_line);
	free(p->run_name);
	free(p->cwd);
	free(p->error);
	evfeed_free(p->feed);
	free(p->name);
	free(p);
}

const char *proc_name(const struct proc *p)
{
	return p->name;
}

uint64_t proc_id(const struct proc *p)
{
	return p->id;
}

uid_t proc_uid(const struct proc *p)
{
	return p->uid;
}

gid_t proc_gid(const struct proc *p)
{
	return p->gid;
}

struct stream *proc_log(const struct proc *p, enum proc_log log)
{
	return p->logs[log];
}

void *proc_data(const struct proc *p)
{
	return p->data;
}

static bool pipes_open(const struct proc *p)
{
	int i;

	for (i = 0; i < PROC_NPIPES; i++)
		if (p->pipes[i].fd >= 0)
			return true;
	return false;
}

bool proc_busy(const struct proc *p)
{
	return p->starting || p->alive || pipes_open(p);
}

bool proc_removed(const struct proc *p)
{
	return p->removed;
}

int proc_wait_status(const struct proc *p)
{
	return p->state == PROC_EXITED || p->state == PROC_KILLED ||
			       p->state == PROC_FAILED
		       ? p->wstatus
		       : -1;
}

/* Every log ends (the events log once the lines waiting for room are in)
 * and wait has its answer, with or without a status. */
static void proc_end_logs(struct proc *p)
{
	int i;

	for (i = 0; i < PROC_NLOGS; i++) {
		if (i == PROC_EVENTS) {
			evfeed_finish(p->feed);
			continue;
		}
		stream_finish(p->logs[i]);
		if (p->ctx->hooks->output)
			p->ctx->hooks->output(p->ctx->arg, p, (enum proc_log)i);
	}
	if (p->ctx->hooks->ended)
		p->ctx->hooks->ended(p->ctx->arg, p);
}

void proc_remove(struct proc *p)
{
	p->removed = p->closed = true;
	proc_end_logs(p);
}

void proc_close(struct proc *p)
{
	p->closed = true;
	proc_end_logs(p);
}

bool proc_closed(const struct proc *p)
{
	return p->closed;
}

void proc_set_error(struct proc *p, const char *line, size_t len, int err)
{
	char *msg = malloc(PROC_ERROR_MAX);
	size_t i;

	if (!msg)
		return;
	if (len > 200)
		len = 200;
	/* Keep the message printable whatever the line held. */
	snprintf(msg, PROC_ERROR_MAX, "%.*s: %s", (int)len, line,
		 strerror(err));
	for (i = 0; i < len && msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20)
			msg[i] = '?';
	free(p->error);
	p->error = msg;
}

/* The events log grew or ended: wake its readers. */
static void feed_changed(void *arg)
{
	struct proc *p = arg;

	if (p->ctx->hooks->output)
		p->ctx->hooks->output(p->ctx->arg, p, PROC_EVENTS);
}

void proc_events_sync(struct proc *p)
{
	evfeed_sync(p->feed);
}

/* A run is over: reaped, and every pipe at end of file or cut. */
static void proc_run_done(struct proc *p)
{
	struct timespec now;

	if (p->alive || pipes_open(p))
		return;
	loop_timer_del(p->drain_timer);
	p->drain_timer = NULL;
	loop_timer_del(p->kill_timer);
	p->kill_timer = NULL;
	loop_timer_del(p->stall_timer);
	p->stall_timer = NULL;
	if (!p->counted)
		return;
	p->counted = false;
	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_end(p->feed, &now, p->exit_code,
		   p->state == PROC_KILLED ? ctl_signal_name(p->signo) : NULL,
		   p->wstatus);
	if (p->ctx->hooks->done)
		p->ctx->hooks->done(p->ctx->arg, p);
	if (--p->ctx->nbusy == 0 && p->ctx->hooks->idle)
		p->ctx->hooks->idle(p->ctx->arg);
	proc_unref(p);
}

/* Stop watching an fd and close it; both are then marked gone. */
static void watch_close(struct loop_io **io, int *fd)
{
	loop_io_del(*io);
	*io = NULL;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pipe_close(struct proc_pipe *pp)
{
	struct proc *p = pp->p;
	struct timespec now;

	if (pp->fd < 0)
		return;
	watch_close(&pp->io, &pp->fd);
	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_output(p->feed, pp->log, &now, true); /* a cut UTF-8 tail */
	stream_finish(p->logs[pp->log]);
	if (p->ctx->hooks->output)
		p->ctx->hooks->output(p->ctx->arg, p, pp->log);
}

/* How much the pipe may read now: its own log and the events log, each
 * as far as it holds the pipe (stream_pipe_budget), the events log for
 * as many bytes as the read can make of events. */
static size_t pipe_budget(struct proc_pipe *pp)
{
	struct stream_feed feeds[2] = {
		{pp->p->logs[pp->log], 1, 0},
		{pp->p->logs[PROC_EVENTS], evfeed_per_byte(), evfeed_extra()},
	};
	size_t budget;

	budget = stream_pipe_budget(feeds, 2);
	/* Events waiting for room go first, to keep their order. */
	if (evfeed_waiting(pp->p->feed))
		budget = 0;
	if (budget > pp->drain_left)
		budget = (size_t)pp->drain_left;
	return budget;
}

static void stall_expired(void *arg)
{
	struct proc *p = arg;
	uint64_t now = loop_now_ms();
	unsigned n = 0;
	int i;

	p->stall_timer = NULL;
	for (i = 0; i < PROC_NLOGS; i++)
		n += stream_stall(p->logs[i], now,
				  p->ctx->cfg->stall_timeout_ms);
	if (n)
		log_info("proc %s: %u reader(s) stalled, no longer waited for",
			 p->name, n);
	proc_update(p);
}

void proc_update(struct proc *p)
{
	unsigned stall_ms = p->ctx->cfg->stall_timeout_ms;
	bool waits_for_reader = false;
	struct proc_pipe *pp;
	size_t budget;
	int i;

	if (evfeed_waiting(p->feed)) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		evfeed_flush(p->feed, &now);
	}
	for (i = 0; i < PROC_NLOGS; i++)
		stream_clear_paused(p->logs[i]);
	for (i = 0; i < PROC_NPIPES; i++) {
		pp = &p->pipes[i];
		if (pp->fd < 0)
			continue;
		budget = pipe_budget(pp);
		if (budget == 0 && (stream_holds(p->logs[i]) ||
				    stream_holds(p->logs[PROC_EVENTS])))
			waits_for_reader = true;
		if (loop_io_mod(pp->io, budget ? EPOLLIN : 0) < 0)
			log_error("proc %s: epoll: %s", p->name,
				  strerror(errno));
	}
	/* stall_timeout: look again once a waited-for reader could stall. */
	if (waits_for_reader && stall_ms && !p->stall_timer)
		p->stall_timer = loop_timer_add(p->ctx->loop, stall_ms,
						stall_expired, p);
}

/* Read once from pp: how many bytes; *full when the read filled what it
 * asked for (the pipe may well hold more at once). */
static size_t pipe_read_once(struct proc_pipe *pp, bool *full);

static void pipe_readable(void *arg, uint32_t events)
{
	struct proc_pipe *pp = arg;
	struct proc *p = pp->p;
	bool full = true;
	size_t got = 0;
	int i;

	(void)events;
	/* A full pipe: the child writes on while we read, so take a few
	 * reads per wake-up and let readers have it all at once. */
	for (i = 0; i < PROC_READS_PER_WAKE && full && pp->fd >= 0; i++)
		got += pipe_read_once(pp, &full);
	if (p->ctx->hooks->output && got > 0)
		p->ctx->hooks->output(p->ctx->arg, p, pp->log);
	proc_update(p);
	proc_run_done(p);
}

static size_t pipe_read_once(struct proc_pipe *pp, bool *full)
{
	struct proc *p = pp->p;
	struct timespec now;
	struct iovec iov[2];
	size_t budget = pipe_budget(pp), asked;
	ssize_t n;
	int cnt, avail;

	*full = false;
	if (budget > 0 && evfeed_at_stake(p->feed, pp->log, budget)) {
		/* Events are made of the bytes this read overwrites: the
		 * read must be as long as assumed, so ask the pipe. */
		if (ioctl(pp->fd, FIONREAD, &avail) < 0 || avail < 0)
			avail = 0;
		clock_gettime(CLOCK_REALTIME, &now);
		budget = evfeed_before_read(p->feed, pp->log, budget,
					    (size_t)avail, &now);
	}
	if (budget == 0)
		return 0;
	cnt = stream_reserve(p->logs[pp->log], budget, iov);
	if (cnt < 0) {
		log_error("proc %s: %s buffer: %s", p->name, log_names[pp->log],
			  strerror(-cnt));
		pipe_close(pp);
		return 0;
	}
	asked = iov[0].iov_len + (cnt == 2 ? iov[1].iov_len : 0);
	n = readv(pp->fd, iov, cnt);
	if (n > 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		stream_commit(p->logs[pp->log], (size_t)n, &now);
		evfeed_output(p->feed, pp->log, &now, false);
		if (pp->drain_left != UINT64_MAX)
			pp->drain_left -= (uint64_t)n;
		*full = (size_t)n == asked ||
			(size_t)n >= p->ctx->cfg->pipe_size;
		if (pp->drain_left == 0)
			pipe_close(pp);
		return (size_t)n;
	}
	if (n == 0 || errno == EIO) {
		pipe_close(pp); /* EIO: a pty master whose slave closed */
	} else if (errno != EAGAIN && errno != EINTR) {
		log_error("proc %s: read %s: %s", p->name, log_names[pp->log],
			  strerror(errno));
		pipe_close(pp);
	}
	return 0;
}

/* Whether an open handle reads a log the pipe feeds. */
static bool pipe_read_by_anyone(const struct proc_pipe *pp)
{
	return stream_nreaders(pp->p->logs[pp->log]) ||
	       stream_nreaders(pp->p->logs[PROC_EVENTS]);
}

/* drain_timeout after the exit: take only what the pipe holds now; when
 * the daemon stops, drop what nobody reads. */
static void drain_expired(void *arg)
{
	struct proc *p = arg;
	struct proc_pipe *pp;
	int i, avail;

	p->drain_timer = NULL;
	for (i = 0; i < PROC_NPIPES; i++) {
		pp = &p->pipes[i];
		if (pp->fd < 0)
			continue;
		if (p->stopping && !pipe_read_by_anyone(pp))
			pipe_close(pp); /* nobody can read it any more */
		else if (ioctl(pp->fd, FIONREAD, &avail) < 0 || avail <= 0)
			pipe_close(pp);
		else
			pp->drain_left = (uint64_t)avail;
	}
	proc_update(p);
	proc_run_done(p);
}

static void stdin_close(struct proc *p)
{
	if (p->stdin_fd < 0)
		return;
	watch_close(&p->stdin_io, &p->stdin_fd);
	if (p->ctx->hooks->stdin_ready)
		p->ctx->hooks->stdin_ready(p->ctx->arg, p);
}

static void stdin_writable(void *arg, uint32_t events)
{
	struct proc *p = arg;

	(void)events;
	loop_io_mod(p->stdin_io, 0);
	if (p->ctx->hooks->stdin_ready)
		p->ctx->hooks->stdin_ready(p->ctx->arg, p);
}

ssize_t proc_stdin_write(struct proc *p, const void *buf, size_t n)
{
	ssize_t w;

	if (p->stdin_fd < 0)
		return -EPIPE;
	w = write(p->stdin_fd, buf, n);
	if (w >= 0)
		return w;
	if (errno == EAGAIN) {
		loop_io_mod(p->stdin_io, EPOLLOUT);
		return -EAGAIN;
	}
	if (errno == EINTR)
		return -EAGAIN;
	stdin_close(p);
	return -EPIPE;
}

static void sigchld_unlist(struct proc *p);

static void close_pipes(struct proc *p);

static void live_unlist(struct proc *p);

/* The child is reaped: drop what watched it and what fed it. */
static void run_forget_child(struct proc *p)
{
	p->alive = false;
	p->stopped = false;
	live_unlist(p);
	watch_close(&p->pid_io, &p->pidfd);
	sigchld_unlist(p);
	loop_timer_del(p->life_timer);
	p->life_timer = NULL;
	stdin_close(p);
}

static void proc_reaped(struct proc *p, const siginfo_t *si)
{
	clock_gettime(CLOCK_REALTIME, &p->t_end);
	if (si->si_code == CLD_EXITED) {
		p->state = PROC_EXITED;
		p->exit_code = si->si_status;
		p->wstatus = si->si_status;
	} else {
		p->state = PROC_KILLED;
		p->signo = si->si_status;
		p->wstatus = 128 + si->si_status;
	}
	run_forget_child(p);
	log_debug("proc %s: pid %d ended, status %d", p->name, (int)p->pid,
		  p->wstatus);
	if (pipes_open(p))
		p->drain_timer = loop_timer_add(p->ctx->loop,
						p->ctx->cfg->drain_timeout_ms,
						drain_expired, p);
	if (p->ctx->hooks->ended)
		p->ctx->hooks->ended(p->ctx->arg, p);
	proc_run_done(p);
}

static void sigchld_unlist(struct proc *p)
{
	struct proc **pp;

	for (pp = &p->ctx->sigchld; *pp; pp = &(*pp)->sigchld_next) {
		if (*pp == p) {
			*pp = p->sigchld_next;
			return;
		}
	}
}

/* Reap p if it has exited; by pidfd, or by pid without one. */
static void proc_try_reap(struct proc *p)
{
	siginfo_t si;
	int rc;

	memset(&si, 0, sizeof(si));
	if (p->pidfd >= 0)
		rc = waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG);
	else
		rc = waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG);
	if (rc < 0) {
		log_error("proc %s: waitid: %s", p->name, strerror(errno));
		return;
	}
	if (si.si_pid != 0)
		proc_reaped(p, &si);
}

static void live_unlist(struct proc *p)
{
	struct proc **pp;

	for (pp = &p->ctx->live; *pp; pp = &(*pp)->live_next) {
		if (*pp == p) {
			*pp = p->live_next;
			return;
		}
	}
}

/* Whether a live leader was stopped or continued. Without WEXITED this
 * never consumes an exit status (the pidfd or the reap above has it). */
static void proc_try_stopped(struct proc *p)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)p->pid, &si, WSTOPPED | WCONTINUED | WNOHANG) <
	    0) {
		if (errno != ECHILD)
			log_error("proc %s: waitid: %s", p->name,
				  strerror(errno));
		return;
	}
	if (si.si_pid == 0)
		return;
	if (si.si_code == CLD_STOPPED || si.si_code == CLD_TRAPPED)
		p->stopped = true;
	else if (si.si_code == CLD_CONTINUED)
		p->stopped = false;
}

void proc_sigchld(struct proc_ctx *ctx)
{
	struct proc *p, *next;

	for (p = ctx->sigchld; p; p = next) {
		next = p->sigchld_next;
		proc_try_reap(p);
	}
	/* A pidfd does not wake on a stop: look at every live leader. */
	for (p = ctx->live; p; p = p->live_next)
		proc_try_stopped(p);
}

static void pidfd_readable(void *arg, uint32_t events)
{
	(void)events;
	proc_try_reap(arg);
}

/* Signal the run's process group. */
static int proc_kill(struct proc *p, int sig)
{
	if (!p->alive && !pipes_open(p))
		return -ESRCH;
	struct timespec now;

	if (kill(-p->pid, sig) < 0)
		return -errno;
	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_signal(p->feed, &now, sig, ctl_signal_name(sig));
	return 0;
}

static void kill_expired(void *arg)
{
	struct proc *p = arg;

	p->kill_timer = NULL;
	if (proc_busy(p))
		proc_kill(p, SIGKILL);
}

static int proc_stop(struct proc *p, long grace_ms)
{
	int rc;

	if (!p->alive)
		return -ESRCH;
	rc = proc_kill(p, SIGTERM);
	if (rc < 0)
		return rc;
	/* A stopped leader would sit out the grace period: wake it. */
	if (p->stopped)
		proc_kill(p, SIGCONT);
	if (grace_ms < 0)
		grace_ms = p->ctx->cfg->kill_grace_ms;
	loop_timer_del(p->kill_timer);
	p->kill_timer = loop_timer_add(p->ctx->loop, (uint64_t)grace_ms,
				       kill_expired, p);
	return p->kill_timer ? 0 : -ENOMEM;
}

/* Output nobody will read any more: the daemon is stopping. */
static void close_pipes(struct proc *p)
{
	int i;

	for (i = 0; i < PROC_NPIPES; i++)
		pipe_close(&p->pipes[i]);
}

bool proc_running(const struct proc *p)
{
	return p->starting || p->alive;
}

bool proc_starting(const struct proc *p)
{
	return p->starting;
}

int proc_start_result(const struct proc *p)
{
	return p->start_rc;
}

void proc_discard(struct proc *p)
{
	if (p->alive || !pipes_open(p))
		return;
	close_pipes(p);
	proc_run_done(p);
}

void proc_terminate(struct proc *p)
{
	p->stopping = true;
	if (p->starting) {
		kill(p->start_pid,
		     SIGKILL); /* its exec report ends the start */
		return;
	}
	if (p->alive) {
		proc_stop(p, -1);
		return;
	}
	/* Exited, but a grandchild or unread output keeps the pipes: TERM
	 * what is left, and drain as after any exit; once drain_timeout has
	 * passed, what nobody reads goes at once. */
	proc_kill(p, SIGTERM);
	if (!p->drain_timer)
		drain_expired(p);
}

static void life_expired(void *arg)
{
	struct proc *p = arg;

	p->life_timer = NULL;
	log_info("proc %s: timeout, stopping", p->name);
	proc_stop(p, -1);
}

/* Length of the NAME part of "NAME=VALUE" or "NAME". */
static size_t env_name_len(const char *e)
{
	const char *eq = strchr(e, '=');

	return eq ? (size_t)(eq - e) : strlen(e);
}

/* Put e (copied) into *vec, replacing an entry with the same name; a
 * NULL-terminated vector of *n entries. 0 or -ENOMEM. */
static int env_put(char ***vec, size_t *n, const char *e)
{
	size_t len = env_name_len(e), i;
	char *copy = strdup(e), **grown;

	if (!copy)
		return -ENOMEM;
	for (i = 0; i < *n; i++) {
		if (env_name_len((*vec)[i]) == len &&
		    strncmp((*vec)[i], e, len) == 0) {
			free((*vec)[i]);
			(*vec)[i] = copy;
			return 0;
		}
	}
	grown = realloc(*vec, (*n + 2) * sizeof(char *));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	*vec = grown;
	grown[(*n)++] = copy;
	grown[*n] = NULL;
	return 0;
}

/* Drop entries without '=' (the unsets) from a built environment. */
static void env_drop_unsets(char **vec, size_t *n)
{
	size_t i, j = 0;

	for (i = 0; i < *n; i++) {
		if (strchr(vec[i], '='))
			vec[j++] = vec[i];
		else
			free(vec[i]);
	}
	*n = j;
	vec[j] = NULL;
}

/* The account a run executes as; strings point into buf. An id without
 * a passwd entry still runs as that id (with no supplementary groups). */
struct run_user {
	uid_t uid;
	gid_t gid;
	struct passwd pw;
	char buf[4096];
	bool found;
};

static void run_user_lookup(const struct proc *p, struct run_user *u)
{
	struct passwd *res = NULL;

	u->uid = p->run_as ? p->run_uid : p->uid;
	u->gid = p->run_as ? p->run_gid : p->gid;
	u->found =
		getpwuid_r(u->uid, &u->pw, u->buf, sizeof(u->buf), &res) == 0 &&
		res;
	if (u->found && p->run_as)
		u->gid = u->pw.pw_gid;
}

static char **env_build(const struct proc *p, const struct run_user *u)
{
	char **vec = calloc(1, sizeof(char *)), line[4200];
	size_t n = 0, i;
	int rc = vec ? 0 : -ENOMEM;

	rc = rc
		     ?: env_put(&vec, &n,
				u->uid == 0
					? "PATH=/usr/local/sbin:/usr/local/bin:"
					  "/usr/sbin:/usr/bin:/sbin:/bin"
					: "PATH=/usr/local/bin:/usr/bin:/bin");
	if (u->found) {
		snprintf(line, sizeof(line), "HOME=%s", u->pw.pw_dir);
		rc = rc ?: env_put(&vec, &n, line);
		snprintf(line, sizeof(line), "USER=%s", u->pw.pw_name);
		rc = rc ?: env_put(&vec, &n, line);
		snprintf(line, sizeof(line), "LOGNAME=%s", u->pw.pw_name);
		rc = rc ?: env_put(&vec, &n, line);
		snprintf(line, sizeof(line), "SHELL=%s", u->pw.pw_shell);
		rc = rc ?: env_put(&vec, &n, line);
	}
	for (i = 0; i < p->ctx->cfg->nenv; i++)
		rc = rc ?: env_put(&vec, &n, p->ctx->cfg->env[i]);
	for (i = 0; i < p->nenv; i++)
		rc = rc ?: env_put(&vec, &n, p->env[i]);
	if (rc < 0) {
		ctl_argv_free(vec);
		errno = ENOMEM;
		return NULL;
	}
	env_drop_unsets(vec, &n);
	return vec;
}

/* What the child reports through its exec pipe when a step fails. */
enum child_step {
	STEP_NONE,
	STEP_SETUP,
	STEP_CWD,
	STEP_USER,
	STEP_EXEC,
	STEP_OOM
};

struct child_report {
	int step;
	int err;
};

/* What a child needs, prepared by the parent before fork. */
struct child_plan {
	char **argv, **envp;
	const char *cwd;
	const char *home; /* without cwd: the user's home, else "/" */
	int fds[3];	  /* become 0, 1, 2 */
	int report_fd;
	const struct run_user *user;
	bool switch_user;
	int oom_score_adj; /* CFG_OOM_KERNEL: leave it */
	bool pty; /* fds[0] is a terminal to make the controlling one */
};

static void __attribute__((noreturn)) child_fail(int fd, int step)
{
	struct child_report r = {step, errno};
	ssize_t w;

	do
		w = write(fd, &r, sizeof(r));
	while (w < 0 && errno == EINTR);
	_exit(127);
}

/* In the child: make it, not the daemon, the OOM killer's choice. */
static void child_oom(int report_fd, int adj)
{
	char num[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC), n;

	n = snprintf(num, sizeof(num), "%d", adj);
	if (fd < 0 || write(fd, num, (size_t)n) != n)
		child_fail(report_fd, STEP_OOM);
	close(fd);
}

/* The open-file limit the daemon started with, for its children. */
static struct rlimit nofile_orig;
static bool nofile_raised;

void proc_raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur >= r.rlim_max)
		return;
	nofile_orig = r;
	r.rlim_cur = r.rlim_max;
	nofile_raised = setrlimit(RLIMIT_NOFILE, &r) == 0;
}

/* In the forked child: never returns. */
static void __attribute__((noreturn)) child_run(const struct child_plan *c)
{
	extern char **environ;
	sigset_t none;
	int i, tmp[3];

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	if (setsid() < 0)
		child_fail(c->report_fd, STEP_SETUP);
	/* Move the ends clear of 0..2 first: a source may itself be 0..2. */
	for (i = 0; i < 3; i++) {
		tmp[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, 3);
		if (tmp[i] < 0)
			child_fail(c->report_fd, STEP_SETUP);
	}
	for (i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			child_fail(c->report_fd, STEP_SETUP);
	if (c->pty && ioctl(0, TIOCSCTTY, 0) < 0)
		child_fail(c->report_fd, STEP_SETUP);
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 ||
	    (nofile_raised && setrlimit(RLIMIT_NOFILE, &nofile_orig) < 0))
		child_fail(c->report_fd, STEP_SETUP);
	if (c->oom_score_adj != CFG_OOM_KERNEL)
		child_oom(c->report_fd, c->oom_score_adj);
	/* The user first, so that cwd is checked with the user's rights. */
	if (c->switch_user &&
	    ((c->user->found ? initgroups(c->user->pw.pw_name, c->user->gid)
			     : setgroups(0, NULL)) < 0 ||
	     setgid(c->user->gid) < 0 || setuid(c->user->uid) < 0))
		child_fail(c->report_fd, STEP_USER);
	if (c->cwd ? chdir(c->cwd) < 0
		   : (!c->home || chdir(c->home) < 0) && chdir("/") < 0)
		child_fail(c->report_fd, STEP_CWD);
	environ = c->envp;
	execvp(c->argv[0], c->argv);
	child_fail(c->report_fd, STEP_EXEC);
}

/* Close every fd in fds[0..n) that is open and mark it closed. */
static void close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* A terminal for one run: fds[0] the child's side, fds[1] and fds[2] the
 * parent's (one to write stdin, one to read output); no stderr pipe. */
static int run_pty(struct proc *p, int fds[8])
{
	struct winsize ws = {.ws_row = (unsigned short)p->rows,
			     .ws_col = (unsigned short)p->cols};
	char path[64];

	fds[2] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fds[2] < 0 || grantpt(fds[2]) < 0 || unlockpt(fds[2]) < 0 ||
	    ptsname_r(fds[2], path, sizeof(path)) != 0 ||
	    ioctl(fds[2], TIOCSWINSZ, &ws) < 0)
		return -errno;
	fds[0] = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fds[0] < 0)
		return -errno;
	fds[1] = fcntl(fds[2], F_DUPFD_CLOEXEC, 0);
	if (fds[1] < 0 || fcntl(fds[2], F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	if (pipe2(&fds[6], O_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* Pipes of one run: [0..1] stdin, [2..3] stdout, [4..5] stderr,
 * [6..7] the exec report; the parent's ends are non-blocking. */
static int run_pipes(struct proc *p, int fds[8])
{
	int i;

	if (p->pty)
		return run_pty(p, fds);
	if (p->stdin_pipe) {
		if (pipe2(&fds[0], O_CLOEXEC) < 0)
			return -errno;
		fcntl(fds[1], F_SETFL, O_NONBLOCK);
	} else {
		fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fds[0] < 0)
			return -errno;
	}
	for (i = 2; i < 8; i += 2)
		if (pipe2(&fds[i], O_CLOEXEC) < 0)
			return -errno;
	for (i = 2; i < 6; i += 2) {
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		/* Best effort: a smaller pipe only costs throughput. */
		fcntl(fds[i + 1], F_SETPIPE_SZ, (int)p->ctx->cfg->pipe_size);
	}
	return 0;
}

/* A start failed before exec: state failed, and wait answers like a
 * shell would (127 not found, 126 not executable, 1 for the rest). */
static void run_failed(struct proc *p, int status)
{
	p->state = PROC_FAILED;
	p->wstatus = status;
	p->exit_code = -1;
	p->signo = 0;
	if (p->ctx->hooks->ended)
		p->ctx->hooks->ended(p->ctx->arg, p);
}

static const char *step_name(int step)
{
	switch (step) {
	case STEP_CWD:
		return "cwd";
	case STEP_USER:
		return "user";
	case STEP_EXEC:
		return "exec";
	case STEP_OOM:
		return "oom_score_adj for";
	default:
		return "spawn";
	}
}

/* The child failed before exec: reap it and describe the failure. */
static int run_report(struct proc *p, pid_t pid, const struct child_report *rep,
		      ssize_t n)
{
	struct child_report r = *rep;
	char what[300];

	if (n != (ssize_t)sizeof(r))
		r = (struct child_report){STEP_SETUP, n < 0 ? errno : EIO};
	/* It calls _exit right after writing the report. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	snprintf(what, sizeof(what), "%s %s", step_name(r.step),
		 r.step != STEP_CWD ? p->argv[0]
		 : p->cwd	    ? p->cwd
				    : "home");
	proc_set_error(p, what, strlen(what), r.err);
	run_failed(p, r.step != STEP_EXEC ? 1 : r.err == ENOENT ? 127 : 126);
	return -r.err;
}

static int run_watch(struct proc *p, pid_t pid, int fds[8])
{
	int i;

	p->pidfd = pidfd_open(pid, 0);
	if (p->pidfd < 0 && errno != ENOSYS)
		return -errno;
	if (p->pidfd < 0) {
		/* Without pidfds (old kernels, valgrind): SIGCHLD + waitid. */
		p->sigchld_next = p->ctx->sigchld;
		p->ctx->sigchld = p;
	} else {
		p->pid_io = loop_io_add(p->ctx->loop, p->pidfd, EPOLLIN,
					pidfd_readable, p);
		if (!p->pid_io)
			return -errno;
	}
	for (i = 0; i < PROC_NPIPES; i++) {
		p->pipes[i].fd = fds[2 + 2 * i];
		fds[2 + 2 * i] = -1;
		p->pipes[i].drain_left = UINT64_MAX;
		evfeed_out_reset(p->feed, (unsigned)i);
		if (p->pipes[i].fd < 0)
			continue; /* stderr of a pty run */
		p->pipes[i].io = loop_io_add(p->ctx->loop, p->pipes[i].fd, 0,
					     pipe_readable, &p->pipes[i]);
		if (!p->pipes[i].io)
			return -errno;
	}
	if (p->stdin_pipe || p->pty) {
		p->stdin_fd = fds[1];
		fds[1] = -1;
		p->stdin_io = loop_io_add(p->ctx->loop, p->stdin_fd, 0,
					  stdin_writable, p);
		if (!p->stdin_io)
			return -errno;
	}
	return 0;
}

/* Undo a run whose child exists but could not be watched. */
static void run_abort(struct proc *p, pid_t pid)
{
	int i;

	kill(-pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	watch_close(&p->pid_io, &p->pidfd);
	sigchld_unlist(p);
	for (i = 0; i < PROC_NPIPES; i++)
		watch_close(&p->pipes[i].io, &p->pipes[i].fd);
	watch_close(&p->stdin_io, &p->stdin_fd);
}

static void run_started(struct proc *p, pid_t pid)
{
	struct timespec now;
	int i;

	p->pid = pid;
	p->alive = true;
	p->stopped = false;
	p->live_next = p->ctx->live;
	p->ctx->live = p;
	p->state = PROC_RUNNING;
	/* The last error stays in events; status tells the present. */
	free(p->error);
	p->error = NULL;
	p->exit_code = p->wstatus = -1;
	p->signo = 0;
	clock_gettime(CLOCK_REALTIME, &p->t_start);
	memset(&p->t_end, 0, sizeof(p->t_end));
	for (i = 0; i < PROC_NPIPES; i++)
		stream_reopen(p->logs[i]);
	evfeed_reopen(p->feed);
	/* A terminal has one output: nothing feeds stderr in this run. */
	if (p->pty)
		stream_finish(p->logs[PROC_STDERR]);
	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_start(p->feed, &now, pid, p->argv);
	if (p->timeout_ms > 0)
		p->life_timer = loop_timer_add(
			p->ctx->loop, (uint64_t)p->timeout_ms, life_expired, p);
	proc_update(p);
	log_debug("proc %s: started pid %d", p->name, (int)pid);
}

/* Start argv (taken over) as the slot's new run. 0 or -errno. */
/*
 * A new start while the last run's output is still open (a grandchild
 * holds it): take what the pipes hold now, as the drain timer would, and
 * close them. -EBUSY when readers have not yet made room for it all.
 */
static int drain_cut(struct proc *p)
{
	int i;

	loop_timer_del(p->drain_timer);
	drain_expired(p);
	for (i = 0; i < PROC_NPIPES; i++)
		if (p->pipes[i].fd >= 0)
			pipe_readable(&p->pipes[i], EPOLLIN);
	return pipes_open(p) ? -EBUSY : 0;
}

/* A run that failed to start: undo what starting it counted. */
static void run_fail(struct proc *p)
{
	p->counted = false;
	if (--p->ctx->nbusy == 0 && p->ctx->hooks->idle)
		p->ctx->hooks->idle(p->ctx->arg);
	proc_unref(p);
}

/* The exec report: end of file means exec succeeded. */
static void report_readable(void *arg, uint32_t events)
{
	struct proc *p = arg;
	struct child_report r;
	struct timespec now;
	pid_t pid = p->start_pid;
	ssize_t n;
	int rc;

	(void)events;
	n = read(p->start_fds[6], &r, sizeof(r));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	watch_close(&p->report_io, &p->start_fds[6]);
	p->starting = false;
	if (n == 0) {
		rc = run_watch(p, pid, p->start_fds);
		if (rc < 0) {
			run_abort(p, pid);
			run_failed(p, 1);
		} else {
			run_started(p, pid);
		}
	} else {
		rc = run_report(p, pid, &r, n);
		clock_gettime(CLOCK_REALTIME, &now);
		evfeed_error(p->feed, &now, p->error);
	}
	close_all(p->start_fds, 8);
	p->start_rc = rc;
	if (rc < 0)
		p->ctx->runs_failed++;
	else
		p->ctx->runs_started++;
	if (p->ctx->hooks->started)
		p->ctx->hooks->started(p->ctx->arg, p);
	if (rc < 0)
		run_fail(p);
	/* Without a pidfd, a child that exited before it was put on the
	 * SIGCHLD list had its signal consumed already: look once now. */
	else if (p->alive && p->pidfd < 0)
		proc_try_reap(p);
}

/*
 * Wait for the child's exec from the loop, not here: its chdir or exec
 * may need this very file system (a cwd inside the mount), which only
 * the loop can serve. Takes over fds. Returns -EINPROGRESS.
 */
static int run_wait_report(struct proc *p, pid_t pid, int fds[8])
{
	int i;

	for (i = 0; i < 8; i++) {
		p->start_fds[i] = fds[i];
		fds[i] = -1;
	}
	p->start_pid = pid;
	p->starting = true;
	p->start_rc = 0;
	proc_ref(p);
	p->counted = true;
	p->ctx->nbusy++;
	fcntl(p->start_fds[6], F_SETFL, O_NONBLOCK);
	p->report_io = loop_io_add(p->ctx->loop, p->start_fds[6], EPOLLIN,
				   report_readable, p);
	if (!p->report_io) {
		kill(pid, SIGKILL); /* the report pipe then ends: a dead run */
		fcntl(p->start_fds[6], F_SETFL, 0);
		report_readable(p, EPOLLIN);
		return p->start_rc < 0 ? p->start_rc : -ENOMEM;
	}
	return -EINPROGRESS;
}

static int proc_spawn(struct proc *p, char **argv)
{
	int fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1}, rc;
	struct child_plan plan;
	struct run_user user;
	pid_t pid;

	if (p->alive || (pipes_open(p) && drain_cut(p) < 0)) {
		ctl_argv_free(argv);
		return -EBUSY;
	}
	ctl_argv_free(p->argv);
	p->argv = argv;
	run_user_lookup(p, &user);
	memset(&plan, 0, sizeof(plan));
	plan.envp = env_build(p, &user);
	rc = plan.envp ? run_pipes(p, fds) : -ENOMEM;
	if (rc < 0)
		goto out;
	plan.argv = argv;
	plan.cwd = p->cwd;
	plan.home = user.found ? user.pw.pw_dir : NULL;
	plan.fds[0] = fds[0];
	plan.fds[1] = p->pty ? fds[0] : fds[3];
	plan.fds[2] = p->pty ? fds[0] : fds[5];
	plan.pty = p->pty;
	plan.report_fd = fds[7];
	plan.user = &user;
	plan.switch_user = geteuid() == 0 && user.uid != 0;
	plan.oom_score_adj = p->ctx->cfg->oom_score_adj;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0)
		child_run(&plan);
	close_all(&fds[7], 1);
	rc = run_wait_report(p, pid, fds);
out:
	if (rc < 0 && rc != -EINPROGRESS) {
		p->ctx->runs_failed++;
		run_failed(p, 1);
	}
	close_all(fds, 8);
	ctl_argv_free(plan.envp);
	return rc;
}

static char **argv_dup(char *const *argv, size_t argc)
{
	char **copy = calloc(argc + 1, sizeof(char *));
	size_t i;

	if (!copy)
		return NULL;
	for (i = 0; i < argc; i++) {
		copy[i] = strdup(argv[i]);
		if (!copy[i]) {
			ctl_argv_free(copy);
			return NULL;
		}
	}
	return copy;
}

static int ctl_start(struct proc *p, const struct ctl_line *l)
{
	char *sh[] = {p->ctx->cfg->shell, "-c", l->arg};
	char **argv, *line = NULL;
	int rc;

	if (l->cmd == CTL_START) {
		argv = argv_dup(sh, 3);
		line = strdup(l->arg);
		if (!line) {
			ctl_argv_free(argv);
			return -ENOMEM;
		}
	} else {
		argv = argv_dup(l->argv, l->argc);
	}
	if (!argv) {
		free(line);
		return -ENOMEM;
	}
	rc = proc_spawn(p, argv);
	if (rc != -EBUSY) {
		free(p->start_line);
		p->start_line = line;
	} else {
		free(line);
	}
	return rc;
}

/* resize: the terminal of the running child, or the next run's size. */
static int ctl_resize(struct proc *p, unsigned cols, unsigned rows)
{
	struct winsize ws = {.ws_row = (unsigned short)rows,
			     .ws_col = (unsigned short)cols};

	if (!p->pty)
		return -ENOTTY;
	p->cols = cols;
	p->rows = rows;
	if (p->alive && p->pipes[PROC_STDOUT].fd >= 0 &&
	    ioctl(p->pipes[PROC_STDOUT].fd, TIOCSWINSZ, &ws) < 0)
		return -errno;
	return 0;
}

/* eof: close a pipe stdin; on a terminal, type the EOF character. */
static int ctl_eof(struct proc *p)
{
	static const char veof = 4; /* ^D */
	struct timespec now;

	if (!p->alive)
		return -ESRCH;
	if (p->pty && p->stdin_fd >= 0) {
		if (write(p->stdin_fd, &veof, 1) < 0)
			return -errno;
	} else {
		stdin_close(p);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_eof(p->feed, &now);
	return 0;
}

/* The slot's env lines together: at most PROC_ENV_MAX variables and
 * PROC_ENV_BYTES bytes, so a slot cannot pin unbounded memory. */
static int env_limit(const struct proc *p, const char *e)
{
	size_t len = env_name_len(e), total = strlen(e) + 1, i;
	bool replaces = false;

	for (i = 0; i < p->nenv; i++) {
		if (env_name_len(p->env[i]) == len &&
		    !strncmp(p->env[i], e, len))
			replaces = true;
		else
			total += strlen(p->env[i]) + 1;
	}
	if ((!replaces && p->nenv >= PROC_ENV_MAX) || total > PROC_ENV_BYTES)
		return -E2BIG;
	return 0;
}

/* "env -": the slot's env and unset lines go. */
static int env_clear(struct proc *p)
{
	char **empty = calloc(1, sizeof(char *));

	if (!empty)
		return -ENOMEM;
	ctl_argv_free(p->env);
	p->env = empty;
	p->nenv = 0;
	return 0;
}

/* "user NAME" (or a numeric uid): root only, and only a root daemon can
 * switch to it. An unknown user is -EINVAL. */
static int ctl_user(struct proc *p, const char *name, uid_t writer)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end, *copy;
	unsigned long n;

	if (writer != 0 || geteuid() != 0)
		return -EPERM;
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res) {
		p->run_uid = pw.pw_uid;
		p->run_gid = pw.pw_gid;
	} else {
		errno = 0;
		n = strtoul(name, &end, 10);
		if (!*name || *end || errno || n >= (uid_t)-1 ||
		    getpwuid_r((uid_t)n, &pw, buf, sizeof(buf), &res) || !res)
			return -EINVAL;
		p->run_uid = pw.pw_uid;
		p->run_gid = pw.pw_gid;
	}
	copy = strdup(pw.pw_name);
	if (!copy)
		return -ENOMEM;
	free(p->run_name);
	p->run_name = copy;
	p->run_as = true;
	return 0;
}

/* Settings lines change the next run only. */
static int ctl_setting(struct proc *p, const struct ctl_line *l, uid_t writer)
{
	int rc;

	char *copy;

	if (p->alive)
		return -EBUSY;
	switch (l->cmd) {
	case CTL_CWD:
		copy = strdup(l->arg);
		if (!copy)
			return -ENOMEM;
		free(p->cwd);
		p->cwd = copy;
		return 0;
	case CTL_ENV:
	case CTL_UNSET:
		rc = env_limit(p, l->arg);
		return rc ?: env_put(&p->env, &p->nenv, l->arg);
	case CTL_USER:
		return ctl_user(p, l->arg, writer);
	case CTL_ENV_CLEAR:
		return env_clear(p);
	case CTL_STDIN:
		p->stdin_pipe = l->num == 1;
		return 0;
	case CTL_TIMEOUT:
		p->timeout_ms = l->ms;
		return 0;
	case CTL_PTY:
		p->pty = l->num == 1;
		if (p->pty) {
			p->cols = l->cols;
			p->rows = l->rows;
		}
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int proc_ctl_run(struct proc *p, const struct ctl_line *l, uid_t uid)
{
	if (p->starting)
		return -EBUSY;
	switch (l->cmd) {
	case CTL_START:
	case CTL_EXEC:
		return ctl_start(p, l);
	case CTL_SIGNAL:
		return !p->alive ? -ESRCH : proc_kill(p, l->num);
	case CTL_KILL:
		return !p->alive ? -ESRCH : proc_kill(p, SIGKILL);
	case CTL_STOP:
		return proc_stop(p, l->ms);
	case CTL_EOF:
		return ctl_eof(p);
	case CTL_RESIZE:
		return ctl_resize(p, l->cols, l->rows);
	case CTL_CWD:
	case CTL_ENV:
	case CTL_UNSET:
	case CTL_STDIN:
	case CTL_TIMEOUT:
	case CTL_PTY:
	case CTL_USER:
	case CTL_ENV_CLEAR:
		return ctl_setting(p, l, uid);
	default:
		return -EOPNOTSUPP;
	}
}

int proc_ctl(struct proc *p, const struct ctl_line *l, uid_t uid,
	     const char *text, size_t len)
{
	int rc = proc_ctl_run(p, l, uid);

	if (rc == 0 || rc == -EINPROGRESS || l->cmd == CTL_START ||
	    l->cmd == CTL_EXEC)
		p->touched = true;
	/* A start that failed in the child has already described itself. */
	if (rc < 0 && !((l->cmd == CTL_START || l->cmd == CTL_EXEC) &&
			rc != -EBUSY && rc != -ENOMEM))
		proc_set_error(p, text, len, -rc);
	return rc;
}

unsigned proc_state_index(const struct proc *p)
{
	if (p->alive && p->stopped)
		return PROC_STOPPED_INDEX;
	return (unsigned)p->state;
}

bool proc_touched(const struct proc *p)
{
	return p->touched;
}

void proc_set_cloned(struct proc *p)
{
	p->cloned = true;
}

bool proc_cloned(const struct proc *p)
{
	return p->cloned;
}

bool proc_paused(const struct proc *p)
{
	int i;

	for (i = 0; i < PROC_NPIPES; i++)
		if (p->pipes[i].fd >= 0 &&
		    (stream_paused(p->logs[i]) ||
		     stream_paused(p->logs[PROC_EVENTS])))
			return true;
	return false;
}

const char *proc_state_name(unsigned index)
{
	static const char *const names[PROC_NSTATES] = {
		"new", "running", "exited", "killed", "failed", "stopped"};

	return index < PROC_NSTATES ? names[index] : NULL;
}

void proc_status(struct proc *p, struct jbuf *b)
{
	struct status_log logs[PROC_NLOGS];
	struct status_view v;
	bool fed;
	int i;

	evfeed_sync(p->feed); /* the events log's size counts them */
	memset(&v, 0, sizeof(v));
	for (i = 0; i < PROC_NLOGS; i++) {
		logs[i].name = log_names[i];
		logs[i].bytes = stream_head(p->logs[i]);
		logs[i].retained =
			stream_head(p->logs[i]) - stream_tail(p->logs[i]);
		logs[i].readers = stream_nreaders(p->logs[i]);
		/* Paused only while a pipe still feeds the log. */
		fed = i < PROC_NPIPES ? p->pipes[i].fd >= 0 : pipes_open(p);
		logs[i].paused = fed && stream_paused(p->logs[i]);
	}
	v.name = p->name;
	v.state = proc_state_name(proc_state_index(p));
	v.pid = p->alive ? p->pid : 0;
	v.pgid = v.pid;
	v.argv = p->argv;
	v.cwd = p->cwd;
	v.pty = p->pty;
	v.cols = p->cols;
	v.rows = p->rows;
	v.stdin_mode = p->pty ? "pty" : p->stdin_pipe ? "pipe" : "null";
	v.uid = p->run_as ? p->run_uid : p->uid;
	v.started = p->state != PROC_NEW && p->state != PROC_FAILED;
	v.ended = p->state == PROC_EXITED || p->state == PROC_KILLED;
	v.start_time = p->t_start;
	v.end_time = p->t_end;
	v.exit_code = p->state == PROC_EXITED ? p->exit_code : -1;
	v.signal = p->state == PROC_KILLED ? ctl_signal_name(p->signo) : NULL;
	v.status = proc_wait_status(p);
	v.error = p->error;
	v.logs = logs;
	v.nlogs = PROC_NLOGS;
	events_render_status(b, &v);
}

void proc_abandon(struct proc *p)
{
	if (p->starting) {
		kill(p->start_pid, SIGKILL);
		while (waitpid(p->start_pid, NULL, 0) < 0 && errno == EINTR)
			;
		watch_close(&p->report_io, &p->start_fds[6]);
		close_all(p->start_fds, 8);
		p->starting = false;
	}
	if (p->alive) {
		kill(-p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		run_forget_child(p);
	}
	close_pipes(p);
	proc_run_done(p);
}

pid_t proc_pid(const struct proc *p)
{
	return p->alive ? p->pid : 0;
}

/* One word as the ctl tokenizer reads it back. */
static void ctl_word(struct jbuf *b, const char *w)
{
	const char *c;

	if (*w &&
	    strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789_./:=@%+,-") == strlen(w)) {
		jbuf_puts(b, w);
		return;
	}
	jbuf_puts(b, "'");
	for (c = w; *c; c++) {
		if (*c == '\'')
			jbuf_puts(b, "'\\''");
		else
			jbuf_put(b, c, 1);
	}
	jbuf_puts(b, "'");
}

static void ctl_setting_line(struct jbuf *b, const char *cmd, const char *arg)
{
	jbuf_puts(b, cmd);
	jbuf_puts(b, " ");
	ctl_word(b, arg);
	jbuf_puts(b, "\n");
}

void proc_ctl_text(const struct proc *p, struct jbuf *b)
{
	size_t i;

	if (p->run_as && p->run_name)
		ctl_setting_line(b, "user", p->run_name);
	if (p->cwd)
		ctl_setting_line(b, "cwd", p->cwd);
	for (i = 0; i < p->nenv; i++)
		ctl_setting_line(b, strchr(p->env[i], '=') ? "env" : "unset",
				 p->env[i]);
	if (p->stdin_pipe)
		jbuf_puts(b, "stdin pipe\n");
	if (p->pty)
		jbuf_printf(b, "pty %ux%u\n", p->cols, p->rows);
	if (p->timeout_ms > 0)
		jbuf_printf(b, "timeout %ld.%03ld\n", p->timeout_ms / 1000,
			    p->timeout_ms % 1000);
	if (p->start_line) {
		jbuf_printf(b, "start %s\n", p->start_line);
	} else if (p->argv) {
		jbuf_puts(b, "exec");
		for (i = 0; p->argv[i]; i++) {
			jbuf_puts(b, " ");
			ctl_word(b, p->argv[i]);
		}
		jbuf_puts(b, "\n");
	}
}
