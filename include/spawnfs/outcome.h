/*
 * outcome: how a slot's current or last run stands, as the state machine
 * of README "status and wait" names it (pure: no syscalls, no logging). A plain
 * record its slot owns: the state (new, running, exited, killed, or failed
 * before exec), the times, the exit code or signal, the shell-style
 * status that wait answers, and the last error. The owner tells it what
 * happened and when; it names the states status shows and fills the
 * outcome's part of the status view.
 */
#ifndef SPAWNFS_OUTCOME_H
#define SPAWNFS_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "spawnfs/events.h"
#include "spawnfs/spawn.h"

/* The states of a run, in the order of status's names. */
enum outcome_state {
	OUTCOME_NEW,
	OUTCOME_RUNNING,
	OUTCOME_EXITED,
	OUTCOME_KILLED,
	OUTCOME_FAILED /* the last start failed before exec */
};

/* Status's names: the states, then a stopped leader and a frozen tree. */
#define OUTCOME_STOPPED	   5
#define OUTCOME_FROZEN	   6
#define OUTCOME_RESTARTING 7 /* between two runs of a restart policy */
#define OUTCOME_NSTATES	   8
#define OUTCOME_ERROR_MAX  512
#define OUTCOME_QUOTE_MAX  200 /* bytes of a line quoted in an error */

struct outcome {
	enum outcome_state state;
	int exit_code; /* the leader's exit code; -1 when none */
	int signo;     /* the signal that killed it; 0 when none */
	int wstatus;   /* the shell-style status; -1 when none */
	struct timespec t_start, t_end;
	char *error; /* the last error (owned), or NULL */
	/* Why the run ended: the first of timeout, stop, kill or shutdown
	 * that was asked of it, else exit or signal at the reap; NULL
	 * before. A static string. */
	const char *reason;
};

/* A run that never started (new). */
void outcome_init(struct outcome *o);

/* Free what o holds. */
void outcome_fini(struct outcome *o);

/* The leader's exec happened at now: running; the last error goes (it
 * stays in the events log), status tells the present. */
void outcome_started(struct outcome *o, const struct timespec *now);

/* The leader was reaped at now: code and status as waitid's si_code and
 * si_status (CLD_EXITED: exited with status, else killed by it). */
void outcome_reaped(struct outcome *o, const struct timespec *now, int code,
		    int status);

/* The run is being ended for reason (timeout, stop, kill, shutdown):
 * the first one given counts. */
void outcome_set_reason(struct outcome *o, const char *reason);

/* A start failed before exec: failed, wait answers status. */
void outcome_failed(struct outcome *o, int status);

/* A start failed at step with err before exec: the error names the step
 * and argv0, or for SPAWN_CWD the directory (cwd; NULL: the home), and
 * wait answers like a shell (spawn_fail_status). */
void outcome_spawn_failed(struct outcome *o, enum spawn_step step, int err,
			  const char *argv0, const char *cwd);

/* Record "BEFORE LINE AFTER: strerror(err)" as the error: the one
 * formatter of status.error. Of line, at most OUTCOME_QUOTE_MAX bytes are
 * quoted, control bytes shown as '?'; before and after are the caller's
 * own text. Nothing when out of memory. */
void outcome_set_error_in(struct outcome *o, const char *before,
			  const char *line, size_t len, const char *after,
			  int err);

/* outcome_set_error_in with nothing before or after line. */
void outcome_set_error(struct outcome *o, const char *line, size_t len,
		       int err);

/* The shell-style status of a run that ended or failed, else -1. */
int outcome_wait_status(const struct outcome *o);

/* The name of the signal that killed the leader ("TERM"), else NULL. */
const char *outcome_signal_name(const struct outcome *o);

/* The index of status's state: frozen (a frozen tree that lives), else
 * stopped (a live leader stopped by a signal), else the state. */
unsigned outcome_index(const struct outcome *o, bool frozen, bool stopped);

/* "new", "running", ... for an index below OUTCOME_NSTATES, else NULL. */
const char *outcome_state_name(unsigned index);

/* Fill v's started, ended, start_time, end_time, exit_code, signal,
 * status and error (borrowed from o). */
void outcome_view(const struct outcome *o, struct status_view *v);

/* An upgrade in place. */
struct state_w;
struct state_r;
void outcome_save(const struct outcome *o, struct state_w *w);
int outcome_load(struct outcome *o, struct state_r *r);

#endif
