/* events: JSON rendering of events lines and status (pure). */
#ifndef SPAWNFS_EVENTS_H
#define SPAWNFS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "spawnfs/json.h"

#define EVENTS_TYPE_MAX 16 /* longest type events_output_max allows for */

/* One log's figures for status. */
struct status_log {
	const char *name; /* "stdout", "stderr", "events" */
	uint64_t bytes;	  /* captured in total */
	uint64_t retained;
	unsigned readers;
	bool paused;	  /* the child waits for readers of this log */
	uint64_t dropped; /* left the window before anyone read them */
};

/* A snapshot of a slot, filled by the caller; strings are borrowed. */
struct status_view {
	const char *name;
	const char *state; /* new, failed, running, stopped, frozen, exited,
			      killed */
	pid_t pid;	   /* 0 when none */
	pid_t pgid;
	char *const *argv; /* NULL when never started */
	const char *cwd;   /* NULL: the daemon's default */
	bool pty;
	unsigned cols, rows;
	const char *stdin_mode; /* "pipe", "null" or "pty" */
	uid_t uid;
	bool started, ended;
	struct timespec start_time, end_time;
	int exit_code;		    /* -1: null */
	const char *signal;	    /* NULL: null; else "TERM" */
	int status;		    /* -1: null; else shell style */
	const char *error;	    /* NULL: null */
	const char *end_reason;	    /* NULL: null; exit, signal, timeout, ... */
	const char *restart_policy; /* no, on-failure, always */
	uint64_t restarts;	    /* runs restarted by the policy */
	const char *restart_ended;  /* NULL: null; limit, stop, ... */
	unsigned processes;	    /* alive in the run's tree */
	bool has_cpu;		    /* else cpu is null */
	uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
	bool has_memory; /* else memory is null */
	uint64_t memory, memory_peak;
	bool has_pids; /* else pids is null */
	uint64_t pids;
	const struct status_log *logs;
	size_t nlogs;
};

/*
 * Render v as one compact JSON object and a newline into b, keys in this
 * order: name, state, pid, pgid, argv, cwd, pty, stdin, uid, start_time,
 * end_time, exit_code, signal, status, end_reason, restart ({"policy",
 * "count","ended"}), error, processes, cpu
 * ({"usage_usec","user_usec","system_usec"} or null), memory
 * ({"current","peak"} or null), pids ({"current"} or null), logs. pid and pgid
 * are null when 0; exit_code and status when negative; start_time/end_time
 * unless started/ended; pty is null or {"cols":C,"rows":R}; NULL strings are
 * null. logs is an object keyed by each log's name, in order, of
 * {"bytes":N,"retained":N,"readers":N,"paused":B,"dropped":N}.
 */
void events_render_status(struct jbuf *b, const struct status_view *v);

/*
 * Render one output event line ("stdout"/"stderr"): data when p[0..n) is
 * valid UTF-8, else data_base64. Ends with '\n'. type is at most
 * EVENTS_TYPE_MAX bytes (events_output_max counts on it).
 */
void events_render_output(struct jbuf *b, uint64_t seq,
			  const struct timespec *t, const char *type,
			  const void *p, size_t n);

/*
 * The exact length of the line events_render_output would make, without
 * making it (for a line that is sure to be overwritten before anyone can
 * read it). It makes no allocation of its own.
 */
size_t events_output_len(uint64_t seq, const struct timespec *t,
			 const char *type, const void *p, size_t n);

/* The other event lines, each ending with '\n'. */
/* restart: the how-manieth restart of a policy this run is (0: none,
 * not written). */
void events_render_start(struct jbuf *b, uint64_t seq, const struct timespec *t,
			 pid_t pid, char *const *argv, uint64_t restart);
/* Bytes [from, to) of stream left the window unread (output keep). */
void events_render_skip(struct jbuf *b, uint64_t seq, const struct timespec *t,
			const char *stream, uint64_t from, uint64_t to);
/* name NULL: the number is written instead. */
void events_render_signal(struct jbuf *b, uint64_t seq,
			  const struct timespec *t, int sig, const char *name);
void events_render_eof(struct jbuf *b, uint64_t seq, const struct timespec *t);
/* exit_code < 0 and signal NULL are written as null; reason (exit,
 * signal, timeout, stop, kill, shutdown) NULL is left out. */
void events_render_end(struct jbuf *b, uint64_t seq, const struct timespec *t,
		       int exit_code, const char *signal, int status,
		       const char *reason);
void events_render_error(struct jbuf *b, uint64_t seq, const struct timespec *t,
			 const char *message);

/* Worst-case size of the line events_render_output makes for n bytes,
 * whatever seq, time and type (up to EVENTS_TYPE_MAX bytes); SIZE_MAX when
 * the bound does not fit in size_t. */
size_t events_output_max(size_t n);

#endif
