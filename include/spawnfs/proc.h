/*
 * proc: a process slot and its runs, as the state machine of DESIGN §11
 * (new, running, stopped, exited, killed, failed). It holds the logs, the
 * settings for the next run and the current or last run, and decides
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

/* Runs whose exec succeeded, and starts that failed, so far. */
void proc_ctx_runs(const struct proc_ctx *ctx, uint64_t *started,
		   uint64_t *failed);

/* Processes alive in every run's tree, and the cpu time of every run
 * so far in microseconds (0 without cgroups). */
uint64_t proc_ctx_processes(const struct proc_ctx *ctx);
uint64_t proc_ctx_cpu_usec(const struct proc_ctx *ctx);

/* Orphans of runs reaped so far (the daemon is their subreaper). */
uint64_t proc_ctx_orphans(const struct proc_ctx *ctx);

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

/* A child is alive, its output is still being drained or something of
 * its tree lives. */
bool proc_busy(const struct proc *p);

/* Being started, or the leader or anything of its tree alive: start
 * and settings give EBUSY. */
bool proc_tree_busy(const struct proc *p);

/* The child is alive (not reaped yet) or being started. */
bool proc_running(const struct proc *p);

/* The states of status, in the order of proc_state_index. */
#define PROC_NSTATES 7

/* 0 new, 1 running, 2 exited, 3 killed, 4 failed (the last start failed
 * before exec), 5 stopped (the leader was stopped by a signal), 6 frozen
 * (the tree, by freeze; before stopped); outcome_state_name names them. */
unsigned proc_state_index(const struct proc *p);

/* Whether a pipe of the run waits for readers to make room. */
bool proc_paused(const struct proc *p);

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

/* The settings of the next run, owned by p: ctl edits them while the
 * slot is not running (proc_running false). */
struct spawn_opts *proc_opts(struct proc *p);

/* The run's lifetime limit in ms for the next run (0: none). */
long proc_timeout(const struct proc *p);
void proc_set_timeout(struct proc *p, long ms);

/* The last start's command line (NULL after exec) and argv, for the
 * read-back; NULL before any start. */
const char *proc_start_line(const struct proc *p);
char *const *proc_argv(const struct proc *p);

/*
 * Start argv (taken over) as the next run; line (taken over) is the
 * start line to read back, NULL for exec. Returns -EBUSY while busy or
 * starting, -errno of a failure before fork, or -EINPROGRESS: the
 * child's exec is awaited from the loop and the started hook gives the
 * answer (proc_start_result).
 */
int proc_start(struct proc *p, char **argv, char *line);

/* Send sig to every process of the run's tree (KILL through
 * cgroup.kill), after the leader's exit too. -ESRCH when nothing of it
 * lives. */
int proc_signal(struct proc *p, int sig);

/* Thaw the tree, TERM and CONT it, KILL after grace_ms (< 0:
 * kill_grace). -ESRCH when nothing of it lives. */
int proc_stop(struct proc *p, long grace_ms);

/* Freeze or thaw the tree (cgroup.freeze). -EOPNOTSUPP without cgroups,
 * -ESRCH when nothing of it lives. */
int proc_freeze(struct proc *p, bool frozen);

/* Limits of the next run's tree; 0 is none. */
enum proc_limit {
	PROC_LIMIT_MEMORY, /* bytes: memory.max */
	PROC_LIMIT_CPU,	   /* thousandths of a CPU: cpu.max */
	PROC_LIMIT_PIDS,   /* processes: pids.max */
};

/* Set one (value 0: none). -EOPNOTSUPP where the controller is not
 * enabled for the leaves. */
int proc_set_limit(struct proc *p, enum proc_limit which, uint64_t value);
uint64_t proc_limit(const struct proc *p, enum proc_limit which);

/* Close a pipe stdin, or type ^D on a terminal. -ESRCH when not running. */
int proc_eof(struct proc *p);

/* The terminal's size: the running child's and the next run's. -ENOTTY
 * without a pty. */
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

/* Events of p dropped for want of memory so far. */
uint64_t proc_events_lost(const struct proc *p);

/* Make the output events that wait to be rendered (while nobody has the
 * events log open) part of the events log: before the log is opened or
 * its size is shown. */
void proc_events_sync(struct proc *p);

/* The pid of the running child, 0 when none. */
pid_t proc_pid(const struct proc *p);

#endif
