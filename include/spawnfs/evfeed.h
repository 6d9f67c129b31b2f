/*
 * evfeed: what feeds one slot's events log (pure: no syscalls, no
 * logging). It numbers and renders the events, keeps the lines that wait
 * for room while an open reader holds a full events log (so no event
 * overwrites a byte that reader still needs), and turns the output logs'
 * bytes into stdout/stderr events.
 *
 * Output events are exact (st_size and offsets are the real
 * JSON Lines log), so every output byte becomes part of an event before
 * it leaves its output log's ring. While nobody has the events log open,
 * output events are not rendered at once: they wait as ranges of the
 * output logs (at most EVFEED_DEFER_MAX) whose JSON length is counted
 * once, in bulk, when they are deferred (jscan.c's vector scanners); an
 * event that newer output is sure to push out of the events log before
 * anyone can read it is then skipped by that length, never rendered, and
 * the log's size (evfeed_size) is known without rendering anything. So a
 * child streaming to a stdout reader pays one classification per byte,
 * not for events nobody reads. With events off nothing is done per byte
 * at all.
 */
#ifndef SPAWNFS_EVFEED_H
#define SPAWNFS_EVFEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawnfs/logs.h"
#include <time.h>

#include "spawnfs/events.h"
#include "spawnfs/stream.h"

#define EVFEED_RESERVE	 4096 /* events log room kept for non-output */
#define EVFEED_DEFER_MAX 64   /* output events waiting to be rendered */

struct evfeed;

/*
 * A feed into events from outs[0..LOGS_NPIPES) (named logs_name(i) in the
 * events); all borrowed and outliving it. Output events carry at most
 * chunk bytes. off ([stream] events = off): no event is made at all.
 * NULL with errno ENOMEM.
 */
struct evfeed *evfeed_new(struct stream *events, struct stream *const *outs,
			  size_t chunk, bool off);

/* The events log's size with the waiting output events in it, rendered
 * or not (its st_size), without rendering them. */
uint64_t evfeed_size(const struct evfeed *f);
void evfeed_free(struct evfeed *f);

/* Events that are not output: rendered in order after the output read
 * before them. */
void evfeed_start(struct evfeed *f, const struct timespec *t, pid_t pid,
		  char *const *argv, uint64_t restart);
/* Bytes [from, to) of output log left its window unread (output keep). */
void evfeed_skip(struct evfeed *f, const struct timespec *t, unsigned log,
		 uint64_t from, uint64_t to);
void evfeed_signal(struct evfeed *f, const struct timespec *t, int sig,
		   const char *name);
void evfeed_eof(struct evfeed *f, const struct timespec *t);
void evfeed_error(struct evfeed *f, const struct timespec *t, const char *msg);
/* The run's last line: the events log ends once it is in. */
void evfeed_end(struct evfeed *f, const struct timespec *t, int exit_code,
		const char *signame, int status, const char *reason);

/* A new run begins feeding outs[log] at its current head. */
void evfeed_out_reset(struct evfeed *f, unsigned log);

/* The bytes of outs[log] up to its head that are in no event yet become
 * output events read at t; a UTF-8 sequence cut at the end waits for more
 * unless eof. */
void evfeed_output(struct evfeed *f, unsigned log, const struct timespec *t,
		   bool eof);

/* Whether a read of max bytes into outs[log] would overwrite bytes that
 * are in no rendered or counted event yet (evfeed_before_read must run,
 * with the pipe's fill level). */
bool evfeed_at_stake(struct evfeed *f, unsigned log, size_t max);

/*
 * Before up to max bytes are read into outs[log]: the events still to be
 * made from bytes that read would overwrite are made now, in order.
 * avail is what the pipe holds (0 when unknown); the read must then be
 * of the returned size at most.
 */
size_t evfeed_before_read(struct evfeed *f, unsigned log, size_t max,
			  size_t avail, const struct timespec *t);

/* Render every waiting output event (before the events log is opened or
 * its size is shown). */
void evfeed_sync(struct evfeed *f);

/* Move the lines waiting for room into the events log as far as they fit
 * (after a reader made room), at time t. */
void evfeed_flush(struct evfeed *f, const struct timespec *t);

/* Bytes of lines waiting for room: while any wait, pipes must not read. */
size_t evfeed_waiting(const struct evfeed *f);

/* End the events log once the lines waiting are in. */
void evfeed_finish(struct evfeed *f);

/* The events log will be started again by a new run. */
void evfeed_reopen(struct evfeed *f);

/* Events dropped for want of memory so far. */
uint64_t evfeed_lost(const struct evfeed *f);

/* How many bytes the pipe holds now, asked only when the read's size
 * matters to the events (FIONREAD): > 0, 0 empty, < 0 unknown. */
typedef long (*evfeed_avail_cb)(void *arg);

/*
 * How many bytes a read from the pipe that feeds outs[log] may take now:
 * as far as outs[log] and the events log hold the pipe (back-pressure;
 * the events log counted for the events the bytes make), 0 while lines
 * wait for room in the events log, at most cap. Without avail that is
 * all (the pipe's epoll interest). With avail the read is about to
 * happen at t: when it would overwrite bytes that are in no event yet,
 * those events are made first and the read is held to what the pipe
 * holds, or to 0 for an empty pipe whose writers are still there (hup
 * false: a read would only render those events for nothing).
 */
size_t evfeed_pipe_budget(struct evfeed *f, unsigned log, uint64_t cap,
			  bool hup, evfeed_avail_cb avail, void *arg,
			  const struct timespec *t);

/* An upgrade in place: what the feed has not written yet and where it
 * stands, and a feed of the loaded logs made from it. */
struct state_w;
struct state_r;
void evfeed_save(const struct evfeed *f, struct state_w *w);
struct evfeed *evfeed_load(struct stream *events, struct stream *const *outs,
			   struct state_r *r);

#endif
