/*
 * proc: a process slot and its runs, as the state machine of README "status and
 * wait" (new, running, stopped, exited, killed, failed). It holds the logs and
 * the current or last run (with a copy of the settings it started
 * with; the next run's are the ctl side's), and decides
 * what happens to them: it starts runs through spawn, has leader await
 * the exec and watch the leader until it is reaped, input feed its
 * stdin, outcome record its state and result, pump read the pipes and
 * evfeed feed the events; it signals, applies timeouts, and tells its
 * owner (fs) through hooks. proc_end is the one way a run ends.
 */
#ifndef SPAWNFS_PROC_H
#define SPAWNFS_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "spawnfs/cgroup.h"
#include "spawnfs/child.h"
#include "spawnfs/config.h"
#include "spawnfs/ctl.h"
#include "spawnfs/events.h"
#include "spawnfs/logs.h"
#include "spawnfs/loop.h"
#include "spawnfs/metrics.h"
#include "spawnfs/settings.h"
#include "spawnfs/stream.h"

struct proc;

/* What a slot tells its owner; each may be NULL. */
struct proc_hooks {
	/* The run was reaped: wait has its answer. */
	void (*ended)(void *arg, struct proc *p);
	/* stdin became writable, or was closed. */
	void (*stdin_ready)(void *arg, struct proc *p);
	/* No run is left anywhere (used to finish a shutdown). */
	void (*idle)(void *arg);
	/* A run is completely over (reaped and drained). */
	void (*done)(void *arg, struct proc *p);
	/* A start has its answer (proc_start_result). */
	void (*started)(void *arg, struct proc *p);
};

/* What every slot of a daemon shares: the loop, the settings, the
 * hooks, the children's watch and counters. */
struct proc_ctx;

/* A context on loop with cfg (borrowed, outliving it); hooks go to arg;
 * nofile is the children's open-file limit (NULL: the daemon's); cg the
 * cgroup parent of the runs' leaves (borrowed; NULL: process groups).
 * NULL with errno ENOMEM. */
struct proc_ctx *proc_ctx_new(struct loop *loop, const struct cfg *cfg,
			      const struct proc_hooks *hooks, void *arg,
			      const struct rlimit *nofile,
			      struct cgroup_root *cg);

/* Every slot must have been removed: what is left of their trees is
 * killed and awaited (bounded), so their last hooks may run from here.
 * NULL is a no-op. */
void proc_ctx_free(struct proc_ctx *ctx);

/* Slots with a run not over yet (a child, a start or open pipes). */
unsigned proc_ctx_busy(const struct proc_ctx *ctx);

/* The daemon is the process it stays (after fuse_daemonize's fork):
 * the spawner that forks the runs is made now (once; before, and in
 * programs that never call this, such as the unit tests, the daemon
 * forks each run itself). */
void proc_ctx_started(struct proc_ctx *ctx);

/* The daemon-wide counts of metrics: runs started and failed, processes
 * alive in the runs' trees, orphans reaped, cpu time of every run so far
 * (0 without cgroups); v is otherwise left alone. */
void proc_ctx_metrics(const struct proc_ctx *ctx, struct metrics_view *v);

/* SIGCHLD arrived: reap the leaders watched without a pidfd, note which
 * live leaders were stopped or continued, reap orphans (without
 * cgroups). */
void proc_sigchld(struct proc_ctx *ctx);

/* A new slot holding one reference; data is the owner's (proc_data).
 * NULL with errno ENOMEM. */
struct proc *proc_new(struct proc_ctx *ctx, const char *name, uint64_t id,
		      uid_t uid, gid_t gid, void *data);

void proc_ref(struct proc *p);
/* Drop a reference; the last one frees the slot. NULL is a no-op. */
void proc_unref(struct proc *p);

const char *proc_name(const struct proc *p);
uint64_t proc_id(const struct proc *p);
uid_t proc_uid(const struct proc *p);
gid_t proc_gid(const struct proc *p);
struct stream *proc_log(const struct proc *p, enum logs_id log);
/* The data given to proc_new. */
void *proc_data(const struct proc *p);

/* A child is alive, its output is still being drained, something of
 * its tree lives, or a restart policy will start it again. */
bool proc_busy(const struct proc *p);

/* Being started, or the leader or anything of its tree alive: start
 * and settings give EBUSY. */
bool proc_tree_busy(const struct proc *p);

/* The child is alive (not reaped yet) or being started. */
bool proc_running(const struct proc *p);

/* A start is waiting for its child's exec (see proc_start). */
bool proc_starting(const struct proc *p);

/* The result of the last start that went through -EINPROGRESS: 0 or
 * the -errno of its failure. Valid once the started hook has run. */
int proc_start_result(const struct proc *p);

/* How proc_end brings a slot's run to its end. */
enum proc_end {
	/* The daemon stops: TERM the group (CONT too when stopped), KILL
	 * after kill_grace; reap and drain as after any exit, except that
	 * a pipe nobody reads is dropped once drain_timeout has passed. */
	PROC_END_STOP,
	/* The leader was reaped: drop what the pipes still hold (a
	 * grandchild's or unread output). Nothing while it lives. */
	PROC_END_CUT,
	/* KILL the group, reap the leader now, drop what the pipes hold. */
	PROC_END_KILL,
};

/*
 * The one teardown path of a run. A run is over once its leader is
 * reaped and its output drained or cut: then the done hook fires (at
 * once for CUT and KILL, later from the loop for STOP; this is the
 * asynchronous "tree is empty" step) and idle when no run is left.
 * Nothing happens to a slot without a run.
 */
void proc_end(struct proc *p, enum proc_end how);

/* The slot leaves the tree: what is left of its run is killed and cut
 * (PROC_END_KILL), every log ends (waits answer end of file, open
 * handles still read what is retained), and the caller's reference (the
 * table's) is dropped. */
void proc_remove(struct proc *p);
bool proc_removed(const struct proc *p);

/* The daemon stops and the run is over: every log ends once what it
 * holds is read (the events log once its waiting lines are in), and
 * wait answers (end of file for a slot that never ran). */
void proc_close(struct proc *p);

/* Removed or closed: no more output or status will come. */
bool proc_closed(const struct proc *p);

/* The last run's shell-style status, or -1 while running or never run;
 * after a failed start 127 (exec ENOENT), 126 (other exec errors) or 1. */
int proc_wait_status(const struct proc *p);

/*
 * Start argv (borrowed) as the next run with the settings s (borrowed;
 * their argv and line are the ctl side's read-back and are not used): p
 * keeps a copy for the run. Returns -EBUSY while busy or starting,
 * -errno of a failure before fork, or -EINPROGRESS: the child's exec is
 * awaited from the loop and the started hook gives the answer
 * (proc_start_result).
 */
int proc_start(struct proc *p, const struct run_settings *s, char *const *argv);

/* Send sig to every process of the run's tree (KILL through
 * cgroup.kill), after the leader's exit too. -ESRCH when nothing of it
 * lives. */
int proc_signal(struct proc *p, int sig);

/* Thaw the tree, TERM and CONT it, KILL after grace_ms (< 0:
 * kill_grace). -ESRCH when nothing of it lives. */
int proc_stop(struct proc *p, long grace_ms);

/* The kill line: KILL the tree (end_reason kill). */
int proc_kill(struct proc *p);

/* output keep SIZE (keep > 0) or output pause (0) for every log of p,
 * now: 0 or -ENOMEM (nothing changed). */
int proc_set_output(struct proc *p, size_t keep);

/* Freeze or thaw the tree (cgroup.freeze). -EOPNOTSUPP without cgroups,
 * -ESRCH when nothing of it lives. */
int proc_freeze(struct proc *p, bool frozen);

/* Whether the runs' trees have controller name (cgroup2 itself:
 * "cgroup2"). */
bool proc_has_controller(const struct proc *p, const char *name);

/* Close a pipe stdin, or type ^D on a terminal. -ESRCH when not running. */
int proc_eof(struct proc *p);

/* Resize the running child's terminal (nothing without a pty or a
 * child). 0 or -errno of the ioctl. */
int proc_resize(struct proc *p, unsigned cols, unsigned rows);

/* Record a failed ctl line and its errno for status.error, as
 * outcome_set_error_in does: "BEFORE LINE AFTER: strerror(err)". */
void proc_set_error(struct proc *p, const char *before, const char *line,
		    size_t len, const char *after, int err);

/* Write to the child's stdin: bytes written (> 0), -EAGAIN when the pipe
 * is full (the hook fires when it drains), -EPIPE when not connected. */
ssize_t proc_stdin_write(struct proc *p, const void *buf, size_t n);

/* Re-evaluate which pipes may be read (after reads, opens, closes). */
void proc_update(struct proc *p);

/* Render status as JSON into b. */
void proc_status(struct proc *p, struct jbuf *b);

/* Bytes log has taken so far (its st_size), output events not yet
 * rendered included. */
uint64_t proc_log_bytes(struct proc *p, enum logs_id log);

/* Add p to the counts of metrics: its state, whether a pipe of its
 * running child waits for readers, the bytes each log took, its events
 * lost for want of memory. */
void proc_metrics(struct proc *p, struct metrics_view *v);

/* The bytes log retains now (its window; the waiting output events are
 * rendered first for the events log). */
uint64_t proc_retained(struct proc *p, enum logs_id log);

/* Copy what log retains now into b: 0, or -ENOMEM when it is more than
 * max bytes or memory runs out. Holds, pauses and resumes nothing. */
int proc_snapshot(struct proc *p, enum logs_id log, struct jbuf *b, size_t max);

/* Make the output events that wait to be rendered (while nobody has the
 * events log open) part of the events log: before the log is opened or
 * its size is shown. */
void proc_events_sync(struct proc *p);

/* When p's state last changed (made, started, ended, failed, frozen,
 * thawed, restarting), and when its last run ended (else the former). */
const struct timespec *proc_state_time(const struct proc *p);
const struct timespec *proc_end_time(const struct proc *p);

/* The pid of the running child, 0 when none. */
pid_t proc_pid(const struct proc *p);

/*
 * An upgrade in place. proc_save writes p with every part it owns (its
 * logs, feed, pipes, stdin, leader, tree, timers); proc_load makes a
 * proc of such a record (NULL, r failing, if it is wrong), holding the
 * table's reference and, for a run not over, the run's. proc_resume
 * looks once at the leader (it may have ended during the switch). The
 * context's part holds its counters, the children and the trees.
 */
struct state_w;
struct state_r;
void proc_ctx_save(const struct proc_ctx *ctx, struct state_w *w);
int proc_ctx_load(struct proc_ctx *ctx, struct state_r *r);
void proc_save(const struct proc *p, struct state_w *w);
struct proc *proc_load(struct proc_ctx *ctx, void *data, struct state_r *r);
void proc_resume(struct proc *p);
void proc_ctx_resume(struct proc_ctx *ctx); /* reaps, looks at trees */

#endif
