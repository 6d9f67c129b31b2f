/*
 * pump: reads a run's pipes into its logs under the back-pressure rule,
 * a few reads per wake-up while the pipe comes back full. A pipe ends at
 * end of file (EIO from a pty master), at a read error, or when what the
 * drain timer left it is taken.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "spawnfs/log.h"
#include "spawnfs/pump.h"
#include "spawnfs/state.h"

#define PUMP_READS_PER_WAKE 4 /* pipe reads per readiness */

struct pump;

struct pump_pipe {
	struct pump *pm;
	unsigned log;
	int fd;
	struct loop_io *io;
	uint64_t drain_left; /* UINT64_MAX until the drain timer fires */
};

struct pump {
	struct loop *loop;
	const struct cfg *cfg;
	struct stream *logs[LOGS_N];
	struct evfeed *feed;
	const char *name;
	const struct pump_hooks *hooks;
	void *arg;
	struct pump_pipe pipes[LOGS_NPIPES];
	struct loop_timer drain_timer, stall_timer;
	bool exited;   /* the leader was reaped: the drain has begun */
	bool stopping; /* the daemon stops: drop what nobody reads */
};

static void drain_expired(void *arg);
static void stall_expired(void *arg);

struct pump *pump_new(struct loop *loop, const struct cfg *cfg,
		      struct stream *const *logs, struct evfeed *feed,
		      const char *name, const struct pump_hooks *hooks,
		      void *arg)
{
	struct pump *pm = calloc(1, sizeof(*pm));
	unsigned i;

	if (!pm) {
		errno = ENOMEM;
		return NULL;
	}
	*pm = (struct pump){.loop = loop,
			    .cfg = cfg,
			    .feed = feed,
			    .name = name,
			    .hooks = hooks,
			    .arg = arg};
	for (i = 0; i < LOGS_N; i++)
		pm->logs[i] = logs[i];
	for (i = 0; i < LOGS_NPIPES; i++)
		pm->pipes[i] = (struct pump_pipe){pm, i, -1, NULL, UINT64_MAX};
	loop_timer_init(&pm->drain_timer, loop, drain_expired, pm);
	loop_timer_init(&pm->stall_timer, loop, stall_expired, pm);
	return pm;
}

/* Stop watching a pipe and close it. */
static void pipe_drop(struct pump_pipe *pp)
{
	loop_io_close(&pp->io, &pp->fd);
}

static void timers_del(struct pump *pm)
{
	loop_timer_stop(&pm->drain_timer);
	loop_timer_stop(&pm->stall_timer);
}

void pump_free(struct pump *pm)
{
	unsigned i;

	if (!pm)
		return;
	for (i = 0; i < LOGS_NPIPES; i++)
		pipe_drop(&pm->pipes[i]);
	timers_del(pm);
	free(pm);
}

bool pump_open(const struct pump *pm)
{
	return pm->pipes[0].fd >= 0 || pm->pipes[1].fd >= 0;
}

bool pump_fed(const struct pump *pm, unsigned log)
{
	return log < LOGS_NPIPES && pm->pipes[log].fd >= 0;
}

void pump_view(const struct pump *pm, struct status_log *logs)
{
	const struct stream *s;
	bool fed;
	unsigned i;

	for (i = 0; i < LOGS_N; i++) {
		s = pm->logs[i];
		logs[i].bytes = stream_head(s);
		logs[i].retained = stream_head(s) - stream_tail(s);
		logs[i].readers = stream_nreaders(s);
		/* Paused only while a pipe still feeds the log. */
		fed = i < LOGS_NPIPES ? pump_fed(pm, i) : pump_open(pm);
		logs[i].paused = fed && stream_paused(s);
	}
}

int pump_fd(const struct pump *pm, unsigned log)
{
	return log < LOGS_NPIPES ? pm->pipes[log].fd : -1;
}

/* The pipe's end: its log ends once a UTF-8 tail cut by it is out. */
static void pipe_close(struct pump_pipe *pp)
{
	struct pump *pm = pp->pm;
	struct timespec now;

	if (pp->fd < 0)
		return;
	pipe_drop(pp);
	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_output(pm->feed, pp->log, &now, true);
	stream_finish(pm->logs[pp->log]);
	if (!pump_open(pm))
		timers_del(pm);
}

void pump_close(struct pump *pm)
{
	unsigned i;

	for (i = 0; i < LOGS_NPIPES; i++)
		pipe_close(&pm->pipes[i]);
}

/* How much the pipe may read now, for its epoll interest. */
static size_t pipe_budget(const struct pump_pipe *pp)
{
	return evfeed_pipe_budget(pp->pm->feed, pp->log, pp->drain_left, false,
				  NULL, NULL, NULL);
}

bool pump_paused(const struct pump *pm)
{
	unsigned i;

	for (i = 0; i < LOGS_NPIPES; i++)
		if (pm->pipes[i].fd >= 0 &&
		    (stream_paused(pm->logs[i]) ||
		     stream_paused(pm->logs[LOGS_EVENTS])))
			return true;
	return false;
}

static void settled(struct pump *pm)
{
	if (pm->hooks->settled)
		pm->hooks->settled(pm->arg);
}

static void stall_expired(void *arg)
{
	struct pump *pm = arg;
	uint64_t now = loop_now_ms();
	unsigned n = 0, i;

	for (i = 0; i < LOGS_N; i++)
		n += stream_stall(pm->logs[i], now, pm->cfg->stall_timeout_ms);
	if (n)
		log_info("proc %s: %u reader(s) stalled, no longer waited for",
			 pm->name, n);
	settled(pm);
}

void pump_update(struct pump *pm)
{
	unsigned stall_ms = pm->cfg->stall_timeout_ms, i;
	bool waits_for_reader = false;
	struct pump_pipe *pp;
	size_t budget;

	for (i = 0; i < LOGS_N; i++)
		stream_clear_paused(pm->logs[i]);
	for (i = 0; i < LOGS_NPIPES; i++) {
		pp = &pm->pipes[i];
		if (pp->fd < 0)
			continue;
		budget = pipe_budget(pp);
		if (budget == 0 && (stream_holds(pm->logs[i]) ||
				    stream_holds(pm->logs[LOGS_EVENTS])))
			waits_for_reader = true;
		if (loop_io_mod(pp->io, budget ? EPOLLIN : 0) < 0)
			log_error("proc %s: epoll: %s", pm->name,
				  strerror(errno));
	}
	/* stall_timeout: look again once a waited-for reader could stall. */
	if (waits_for_reader && stall_ms && !loop_timer_armed(&pm->stall_timer))
		loop_timer_arm(&pm->stall_timer, stall_ms);
}

/* What the pipe holds now (the events need the read's true size). */
static long pipe_avail(void *arg)
{
	const struct pump_pipe *pp = arg;
	int avail;

	if (ioctl(pp->fd, FIONREAD, &avail) < 0 || avail < 0)
		return -1; /* unknown */
	return avail;
}

/* Read once from pp: how many bytes; *full when the read filled what it
 * asked for (the pipe may well hold more at once). hup: epoll said the
 * writers are gone. */
static size_t pipe_read_once(struct pump_pipe *pp, bool *full, bool hup)
{
	struct pump *pm = pp->pm;
	size_t budget, asked;
	struct stream *s = pm->logs[pp->log];
	struct timespec now;
	struct iovec iov[2];
	ssize_t n;
	int cnt;

	*full = false;
	/* One clock read: the events made before the read and the bytes it
	 * takes are stamped with it. */
	clock_gettime(CLOCK_REALTIME, &now);
	budget = evfeed_pipe_budget(pm->feed, pp->log, pp->drain_left, hup,
				    pipe_avail, pp, &now);
	if (budget == 0)
		return 0;
	cnt = stream_reserve(s, budget, iov);
	if (cnt < 0) {
		log_error("proc %s: %s buffer: %s", pm->name,
			  logs_name(pp->log), strerror(-cnt));
		pipe_close(pp);
		return 0;
	}
	asked = iov[0].iov_len + (cnt == 2 ? iov[1].iov_len : 0);
	n = readv(pp->fd, iov, cnt);
	if (n > 0) {
		stream_commit(s, (size_t)n, &now);
		evfeed_output(pm->feed, pp->log, &now, false);
		if (pp->drain_left != UINT64_MAX)
			pp->drain_left -= (uint64_t)n;
		*full = (size_t)n == asked || (size_t)n >= pm->cfg->pipe_size;
		if (pp->drain_left == 0)
			pipe_close(pp);
		return (size_t)n;
	}
	if (n == 0 || errno == EIO) {
		pipe_close(pp); /* EIO: a pty master whose slave closed */
	} else if (errno != EAGAIN && errno != EINTR) {
		log_error("proc %s: read %s: %s", pm->name, logs_name(pp->log),
			  strerror(errno));
		pipe_close(pp);
	}
	return 0;
}

static void pipe_readable(void *arg, uint32_t events)
{
	struct pump_pipe *pp = arg;
	struct pump *pm = pp->pm;
	bool full = true;
	int i;

	/* A full pipe: the child writes on while we read, so take a few
	 * reads per wake-up and let readers have it all at once. */
	for (i = 0; i < PUMP_READS_PER_WAKE && full && pp->fd >= 0; i++)
		pipe_read_once(pp, &full, events & (EPOLLHUP | EPOLLERR));
	settled(pm);
}

/* Whether an open handle reads a log the pipe feeds. */
static bool pipe_read_by_anyone(const struct pump_pipe *pp)
{
	return stream_nreaders(pp->pm->logs[pp->log]) ||
	       stream_nreaders(pp->pm->logs[LOGS_EVENTS]);
}

/* drain_timeout after the exit: take only what the pipe holds now; when
 * the daemon stops, drop what nobody reads. */
static void drain_now(struct pump *pm)
{
	struct pump_pipe *pp;
	unsigned i;
	int avail;

	for (i = 0; i < LOGS_NPIPES; i++) {
		pp = &pm->pipes[i];
		if (pp->fd < 0)
			continue;
		if (pm->stopping && !pipe_read_by_anyone(pp))
			pipe_close(pp); /* nobody can read it any more */
		else if (ioctl(pp->fd, FIONREAD, &avail) < 0 || avail <= 0)
			pipe_close(pp);
		else
			pp->drain_left = (uint64_t)avail;
	}
}

static void drain_expired(void *arg)
{
	struct pump *pm = arg;

	drain_now(pm);
	pump_update(pm);
	settled(pm);
}

void pump_exited(struct pump *pm)
{
	pm->exited = true;
	if (!pump_open(pm) || loop_timer_armed(&pm->drain_timer))
		return;
	loop_timer_arm(&pm->drain_timer, pm->cfg->drain_timeout_ms);
}

void pump_stopping(struct pump *pm)
{
	pm->stopping = true;
	if (pm->exited && !loop_timer_armed(&pm->drain_timer) && pump_open(pm))
		drain_now(pm);
}

int pump_take_rest(struct pump *pm)
{
	unsigned i;

	loop_timer_stop(&pm->drain_timer);
	drain_now(pm);
	pump_update(pm);
	for (i = 0; i < LOGS_NPIPES; i++)
		if (pm->pipes[i].fd >= 0)
			pipe_readable(&pm->pipes[i], EPOLLIN);
	return pump_open(pm) ? -EBUSY : 0;
}

int pump_attach(struct pump *pm, int *out, int *err)
{
	int *ends[LOGS_NPIPES] = {out, err}, rc = 0;
	struct pump_pipe *pp;
	unsigned i;

	for (i = 0; i < LOGS_NPIPES; i++) {
		pp = &pm->pipes[i];
		pp->drain_left = UINT64_MAX;
		evfeed_out_reset(pm->feed, i);
		if (*ends[i] < 0)
			continue; /* stderr of a pty run */
		pp->io = loop_io_add(pm->loop, *ends[i], 0, pipe_readable, pp);
		if (!pp->io) {
			rc = -errno;
			break;
		}
		pp->fd = *ends[i];
	}
	if (rc < 0) {
		for (i = 0; i < LOGS_NPIPES; i++) {
			loop_io_del(pm->pipes[i].io);
			pm->pipes[i].io = NULL;
			pm->pipes[i].fd = -1;
		}
		return rc;
	}
	for (i = 0; i < LOGS_NPIPES; i++)
		*ends[i] = -1;
	pm->exited = pm->stopping = false;
	return 0;
}

void pump_save(const struct pump *pm, struct state_w *w)
{
	unsigned i;

	state_begin(w, STATE_PUMP);
	for (i = 0; i < LOGS_NPIPES; i++) {
		state_fd(w, pm->pipes[i].fd);
		state_u64(w, pm->pipes[i].drain_left);
	}
	loop_timer_save(&pm->drain_timer, w);
	loop_timer_save(&pm->stall_timer, w);
	state_u64(w, pm->exited);
	state_u64(w, pm->stopping);
	state_end(w);
}

int pump_load(struct pump *pm, struct state_r *r)
{
	struct pump_pipe *pp;
	unsigned i;
	int fd;

	if (!state_enter(r, STATE_PUMP))
		return r->err;
	for (i = 0; i < LOGS_NPIPES; i++) {
		pp = &pm->pipes[i];
		fd = state_get_fd(r);
		pp->drain_left = state_get_u64(r);
		if (fd < 0 || r->err)
			continue;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		pp->io = loop_io_add(pm->loop, fd, 0, pipe_readable, pp);
		if (!pp->io) {
			state_fail(r, "pump: watch fd %d: %s", fd,
				   strerror(errno));
			close(fd);
			continue;
		}
		pp->fd = fd;
	}
	loop_timer_load(&pm->drain_timer, r);
	loop_timer_load(&pm->stall_timer, r);
	pm->exited = state_get_bool(r);
	pm->stopping = state_get_bool(r);
	state_leave(r);
	if (!r->err)
		pump_update(pm);
	return r->err;
}
