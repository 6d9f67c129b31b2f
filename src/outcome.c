/*
 * outcome: the record of a run's state and result (pure). It decides
 * what wait and status answer from what the owner tells: the exec, the
 * reaping, a failure before exec, and errors. Owns the error text.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/ctl.h"
#include "spawnfs/outcome.h"
#include "spawnfs/state.h"

void outcome_init(struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->state = OUTCOME_NEW;
	o->exit_code = o->wstatus = -1;
}

void outcome_fini(struct outcome *o)
{
	free(o->error);
	o->error = NULL;
}

void outcome_started(struct outcome *o, const struct timespec *now)
{
	o->state = OUTCOME_RUNNING;
	free(o->error);
	o->error = NULL;
	o->exit_code = o->wstatus = -1;
	o->signo = 0;
	o->reason = NULL;
	o->t_start = *now;
	memset(&o->t_end, 0, sizeof(o->t_end));
}

void outcome_reaped(struct outcome *o, const struct timespec *now, int code,
		    int status)
{
	o->t_end = *now;
	if (!o->reason)
		o->reason = code == CLD_EXITED ? "exit" : "signal";
	if (code == CLD_EXITED) {
		o->state = OUTCOME_EXITED;
		o->exit_code = status;
		o->wstatus = status;
	} else {
		o->state = OUTCOME_KILLED;
		o->signo = status;
		o->wstatus = 128 + status;
	}
}

void outcome_set_reason(struct outcome *o, const char *reason)
{
	if (!o->reason && o->state == OUTCOME_RUNNING)
		o->reason = reason;
}

/* Shell-style: 127 not found, 126 not executable, 1 for the rest. */
void outcome_failed(struct outcome *o, int status)
{
	o->state = OUTCOME_FAILED;
	o->reason = NULL;
	o->wstatus = status;
	o->exit_code = -1;
	o->signo = 0;
}

void outcome_set_error_in(struct outcome *o, const char *before,
			  const char *line, size_t len, const char *after,
			  int err)
{
	char *msg = malloc(OUTCOME_ERROR_MAX);
	size_t i, at = strlen(before);

	if (!msg)
		return;
	if (len > OUTCOME_QUOTE_MAX)
		len = OUTCOME_QUOTE_MAX;
	snprintf(msg, OUTCOME_ERROR_MAX, "%s%.*s%s: %s", before, (int)len, line,
		 after, strerror(err));
	/* Keep the message printable whatever the line held. */
	for (i = at; i < at + len && msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20)
			msg[i] = '?';
	free(o->error);
	o->error = msg;
}

void outcome_set_error(struct outcome *o, const char *line, size_t len, int err)
{
	outcome_set_error_in(o, "", line, len, "", err);
}

void outcome_spawn_failed(struct outcome *o, enum spawn_step step, int err,
			  const char *argv0, const char *cwd)
{
	char what[300];

	snprintf(what, sizeof(what), "%s %s", spawn_step_name(step),
		 step != SPAWN_CWD ? argv0
		 : cwd		   ? cwd
				   : "home");
	outcome_set_error(o, what, strlen(what), err);
	outcome_failed(o, spawn_fail_status(step, err));
}

int outcome_wait_status(const struct outcome *o)
{
	return o->state == OUTCOME_EXITED || o->state == OUTCOME_KILLED ||
			       o->state == OUTCOME_FAILED
		       ? o->wstatus
		       : -1;
}

const char *outcome_signal_name(const struct outcome *o)
{
	return o->state == OUTCOME_KILLED ? ctl_signal_name(o->signo) : NULL;
}

unsigned outcome_index(const struct outcome *o, bool frozen, bool stopped)
{
	if (frozen)
		return OUTCOME_FROZEN;
	if (stopped)
		return OUTCOME_STOPPED;
	return (unsigned)o->state;
}

const char *outcome_state_name(unsigned index)
{
	static const char *const names[OUTCOME_NSTATES] = {
		"new",	  "running", "exited", "killed",
		"failed", "stopped", "frozen", "restarting"};

	return index < OUTCOME_NSTATES ? names[index] : NULL;
}

void outcome_view(const struct outcome *o, struct status_view *v)
{
	v->started = o->state != OUTCOME_NEW && o->state != OUTCOME_FAILED;
	v->ended = o->state == OUTCOME_EXITED || o->state == OUTCOME_KILLED;
	v->start_time = o->t_start;
	v->end_time = o->t_end;
	v->exit_code = o->state == OUTCOME_EXITED ? o->exit_code : -1;
	v->signal = outcome_signal_name(o);
	v->status = outcome_wait_status(o);
	v->error = o->error;
	v->end_reason = v->ended ? o->reason : NULL;
}

void outcome_save(const struct outcome *o, struct state_w *w)
{
	state_begin(w, STATE_OUTCOME);
	state_u64(w, o->state);
	state_i64(w, o->exit_code);
	state_i64(w, o->signo);
	state_i64(w, o->wstatus);
	state_ts(w, &o->t_start);
	state_ts(w, &o->t_end);
	state_str(w, o->error);
	state_str(w, o->reason);
	state_end(w);
}

int outcome_load(struct outcome *o, struct state_r *r)
{
	outcome_init(o);
	if (!state_enter(r, STATE_OUTCOME))
		return r->err;
	o->state = (enum outcome_state)state_get_u64(r);
	o->exit_code = (int)state_get_i64(r);
	o->signo = (int)state_get_i64(r);
	o->wstatus = (int)state_get_i64(r);
	state_get_ts(r, &o->t_start);
	state_get_ts(r, &o->t_end);
	o->error = state_get_str(r);
	{
		static const char *const reasons[] = {
			"exit", "signal",   "timeout", "stop",
			"kill", "shutdown", NULL};

		o->reason = state_get_name(r, reasons);
	}
	state_leave(r);
	if (!r->err && o->state > OUTCOME_RESTARTING)
		state_fail(r, "outcome: state %d", (int)o->state);
	return r->err;
}
