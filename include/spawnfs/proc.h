/*
 * proc: a process slot. It holds the settings for the next run, the
 * current or last run (child, pipes, exit status) and the output logs.
 * It spawns, pumps the pipes into the logs under the back-pressure rule,
 * reaps, signals, and tells its owner (fs) through hooks.
 */
#ifndef SPAWNFS_PROC_H
#define SPAWNFS_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawnfs/config.h"
#include "spawnfs/ctl.h"
#include "spawnfs/events.h"
#include "spawnfs/loop.h"
#include "spawnfs/stream.h"

/* The logs of a slot; the first PROC_NPIPES are fed by a pipe each (or
 * stdout by the pty), events by both. */
enum proc_log { PROC_STDOUT, PROC_STDERR, PROC_EVENTS, PROC_NLOGS };
#define PROC_NPIPES 2

struct proc;

/* What a slot tells its owner; each may be NULL. */
struct proc_hooks {
	/* New bytes in log, or its end. */
	void (*output)(void *arg, struct proc *p, enum proc_log log);
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

/* Shared by every slot of a daemon. */
struct proc_ctx {
	struct loop *loop;
	const struct cfg *cfg;
	const struct proc_hooks *hooks;
	void *arg;
	unsigned nbusy;	       /* slots with a child or open pipes */
	uint64_t runs_started; /* for metrics: runs whose exec succeeded */
	uint64_t runs_failed;  /* and starts that failed */
	struct proc *sigchld;  /* runs reaped on SIGCHLD (no pidfd) */
	struct proc *live;     /* every run not reaped (stop and continue) */
};

/* Raise the daemon's open-file limit to its hard limit (each running
 * slot holds three fds); children get the limit the daemon started with.
 * Call once at start. */
void proc_raise_nofile(void);

/* SIGCHLD arrived: reap the runs that have no pidfd, and note which
 * live leaders were stopped or continued. */
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
struct stream *proc_log(const struct proc *p, enum proc_log log);
/* The data given to proc_new. */
void *proc_data(const struct proc *p);

/* A child is alive or its output is still being drained. */
bool proc_busy(const struct proc *p);

/* The child is alive (not reaped yet) or being started. */
bool proc_running(const struct proc *p);

/* The states of status, in the order of proc_state_index. */
#define PROC_NSTATES 6

/* 0 new, 1 running, 2 exited, 3 killed, 4 failed (the last start failed
 * before exec), 5 stopped (the leader was stopped by a signal). */
unsigned proc_state_index(const struct proc *p);

/* "new", "running", ... for an index below PROC_NSTATES, else NULL. */
const char *proc_state_name(unsigned index);

/* A ctl line was applied to the slot, or a start was tried. */
bool proc_touched(const struct proc *p);

/* The owner made the slot through clone (kept for it). */
void proc_set_cloned(struct proc *p);
bool proc_cloned(const struct proc *p);

/* Whether a pipe of the run waits for readers to make room. */
bool proc_paused(const struct proc *p);

/* A start is waiting for its child's exec (see proc_ctl). */
bool proc_starting(const struct proc *p);

/* The result of the last start that went through -EINPROGRESS: 0 or
 * the -errno of its failure. Valid once the started hook has run. */
int proc_start_result(const struct proc *p);

/* The run has ended but its output is still open (unread, or held by a
 * grandchild): close it; what was not read into the logs is dropped. */
void proc_discard(struct proc *p);

/* The slot left the tree: its logs end, waits answer end of file. */
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
 * Apply one ctl line; text is the line as written, for status.error.
 * uid is the caller's. Returns 0 or -errno: EBUSY
 * (settings while running, start while busy, any line while a start is
 * under way), ESRCH (signal when not running), EPERM,
 * EOPNOTSUPP for lines this build does not run, and for start/exec
 * -EINPROGRESS: the child's exec is awaited from the loop and the
 * started hook gives the answer (0, or ENOENT, EACCES... of the failed
 * exec). A failure is recorded in status.error.
 */
int proc_ctl(struct proc *p, const struct ctl_line *l, uid_t uid,
	     const char *text, size_t len);

/* Record a failed ctl line (text, bounded) and its errno for status. */
void proc_set_error(struct proc *p, const char *line, size_t len, int err);

/* Write to the child's stdin: bytes written (> 0), -EAGAIN when the pipe
 * is full (the hook fires when it drains), -EPIPE when not connected. */
ssize_t proc_stdin_write(struct proc *p, const void *buf, size_t n);

/* Re-evaluate which pipes may be read (after reads, opens, closes). */
void proc_update(struct proc *p);

/* Render status as JSON into b. */
void proc_status(struct proc *p, struct jbuf *b);

/* Make the output events that wait to be rendered (while nobody has the
 * events log open) part of the events log: before the log is opened or
 * its size is shown. */
void proc_events_sync(struct proc *p);

/* The daemon exits without waiting: KILL the run's group, reap its
 * leader and release everything the run holds. */
void proc_abandon(struct proc *p);

/* The daemon stops: TERM to the group now, KILL after kill_grace; the
 * output is drained as after any exit, except that a pipe nobody reads
 * is closed once drain_timeout has passed. */
void proc_terminate(struct proc *p);

/* Render the ctl lines that would recreate the slot's settings and its
 * last start line into b. */
void proc_ctl_text(const struct proc *p, struct jbuf *b);

/* The pid of the running child, 0 when none. */
pid_t proc_pid(const struct proc *p);

#endif
