/*
 * pump: a run's output pipes (stdout and stderr, or a pty master as
 * stdout) read straight into the logs' rings. It is the one place that
 * decides when a pipe is read: only while every log that holds the pipe
 * has room (stream_pipe_budget, the events log counted for the events
 * its bytes make); otherwise the pipe is taken out of epoll and the child
 * blocks in write(2). After the leader's exit, drain_timeout bounds the
 * wait for end of file from a pipe a grandchild holds. Owns the parent's
 * ends of the pipes and the drain and stall timers.
 */
#ifndef SPAWNFS_PUMP_H
#define SPAWNFS_PUMP_H

#include <stdbool.h>

#include "spawnfs/config.h"
#include "spawnfs/evfeed.h"
#include "spawnfs/loop.h"
#include "spawnfs/stream.h"

struct pump;

/* What the pump tells its owner. */
struct pump_hooks {
	/* A pump callback is done (reads, a close, a timer): look again at
	 * what the run's state depends on. */
	void (*settled)(void *arg);
};

/*
 * A pump into logs[0..2] (stdout, stderr, events) fed by feed; name is
 * the slot's, for messages. All borrowed, outliving it. NULL with errno.
 */
struct pump *pump_new(struct loop *loop, const struct cfg *cfg,
		      struct stream *const *logs, struct evfeed *feed,
		      const char *name, const struct pump_hooks *hooks,
		      void *arg);

/* Close what is open, without hooks. NULL is a no-op. */
void pump_free(struct pump *pm);

/* Take over the pipes' read ends (*out, *err; -1 for none), which are
 * then -1. 0, or -errno with nothing taken. */
int pump_attach(struct pump *pm, int *out, int *err);

/* Whether any pipe is open; whether log's is. */
bool pump_open(const struct pump *pm);
bool pump_fed(const struct pump *pm, unsigned log);

/* The fd of log's pipe (a pty master for stdout), -1 when closed. */
int pump_fd(const struct pump *pm, unsigned log);

/* Whether a pipe waits for readers to make room. */
bool pump_paused(const struct pump *pm);

/* Fill logs[0..2] (stdout, stderr, events; names are the caller's) with
 * what each log holds and whether its pipe waits for readers: the logs'
 * part of a slot's status. */
void pump_view(const struct pump *pm, struct status_log *logs);

/* Decide again which pipes may be read (after reads, opens, closes),
 * and arm stall_timeout when a reader is waited for. */
void pump_update(struct pump *pm);

/* The leader was reaped: drain_timeout starts for open pipes. */
void pump_exited(struct pump *pm);

/* The daemon stops: once drain_timeout has passed since the exit (at
 * once if it has), pipes whose logs no open handle reads are dropped. */
void pump_stopping(struct pump *pm);

/* A new start while the pipes are still open: take what they hold now
 * and close them. 0, or -EBUSY when readers must first make room. */
int pump_take_rest(struct pump *pm);

/* Drop what the pipes still hold and close them. */
void pump_close(struct pump *pm);

struct state_w;
struct state_r;
/* An upgrade in place: the pipes (inherited fds) and timers; loading
 * into a new pump of the loaded logs watches the pipes again. */
void pump_save(const struct pump *pm, struct state_w *w);
int pump_load(struct pump *pm, struct state_r *r);

#endif
