/* events: JSON rendering of events lines and status (pure). */
#ifndef SPAWNFS_EVENTS_H
#define SPAWNFS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define EVENTS_TYPE_MAX 16 /* longest type events_output_max allows for */

/*
 * A growable byte buffer; on allocation failure it sets oom and stops
 * appending (the contents are then incomplete and must not be used). data
 * is NULL until something is appended, then NUL-terminated at len. A
 * zeroed struct is a valid empty buffer; jbuf_free releases data and leaves
 * an empty buffer.
 */
struct jbuf {
	char *data;
	size_t len, cap;
	bool oom;
};

void jbuf_init(struct jbuf *b);
void jbuf_free(struct jbuf *b);
void jbuf_put(struct jbuf *b, const void *p, size_t n);
void jbuf_puts(struct jbuf *b, const char *s);
/* Append formatted text; a vsnprintf failure also sets oom. */
void jbuf_printf(struct jbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append the base64 of p[0..n) (RFC 4648 alphabet, '=' padding, no
 * quotes, no line breaks). */
void jbuf_base64(struct jbuf *b, const void *p, size_t n);
/* A JSON string literal (quotes included) of s[0..n), which may hold NUL
 * bytes. '"', '\\', bytes below 0x20 and 0x7f are escaped (\n \t \r \b \f,
 * else \u00xx); valid UTF-8 (RFC 3629) passes through; every byte that
 * does not start a valid, complete sequence becomes the escape \ufffd. At
 * most 6 bytes of output per input byte, plus the quotes. */
void json_str(struct jbuf *b, const char *s, size_t n);
/* RFC 3339 UTC with microseconds in quotes: "2026-11-28T03:21:44.123456Z"
 * (29 bytes). A time whose year is outside 0000..9999 renders as null; a
 * tv_nsec outside 0..999999999 counts as 0. */
void json_time(struct jbuf *b, const struct timespec *t);

/*
 * Length of the longest prefix of p[0..n) that is valid UTF-8 and ends on
 * a character boundary. If the rest is the start of a sequence that could
 * still complete (1 to 3 bytes), *partial is set to its length, else 0.
 * partial may be NULL. So the input is entirely valid exactly when the
 * result is n.
 */
size_t utf8_valid_prefix(const unsigned char *p, size_t n, size_t *partial);

/* When p[0..n) ends with the start of a UTF-8 sequence that more bytes
 * could complete, its length (1 to 3); else 0. */
size_t utf8_cut_tail(const unsigned char *p, size_t n);

/* One log's figures for status. */
struct status_log {
	const char *name; /* "stdout", "stderr", "events" */
	uint64_t bytes;	  /* captured in total */
	uint64_t retained;
	unsigned readers;
	bool paused; /* the child waits for readers of this log */
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
	int exit_code;	    /* -1: null */
	const char *signal; /* NULL: null; else "TERM" */
	int status;	    /* -1: null; else shell style */
	const char *error;  /* NULL: null */
	unsigned processes; /* alive in the run's tree */
	bool has_cpu;	    /* else cpu is null */
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
 * end_time, exit_code, signal, status, error, processes, cpu
 * ({"usage_usec","user_usec","system_usec"} or null), memory
 * ({"current","peak"} or null), pids ({"current"} or null), logs. pid and pgid
 * are null when 0; exit_code and status when negative; start_time/end_time
 * unless started/ended; pty is null or {"cols":C,"rows":R}; NULL strings are
 * null. logs is an object keyed by each log's name, in order, of
 * {"bytes":N,"retained":N,"readers":N,"paused":B}.
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

/* The length json_str would give s[0..n), quotes included. */
size_t json_str_len(const char *s, size_t n);

/* The other event lines, each ending with '\n'. */
void events_render_start(struct jbuf *b, uint64_t seq, const struct timespec *t,
			 pid_t pid, char *const *argv);
/* name NULL: the number is written instead. */
void events_render_signal(struct jbuf *b, uint64_t seq,
			  const struct timespec *t, int sig, const char *name);
void events_render_eof(struct jbuf *b, uint64_t seq, const struct timespec *t);
/* exit_code < 0 and signal NULL are written as null. */
void events_render_end(struct jbuf *b, uint64_t seq, const struct timespec *t,
		       int exit_code, const char *signal, int status);
void events_render_error(struct jbuf *b, uint64_t seq, const struct timespec *t,
			 const char *message);

/*
 * For tests: on, every function here takes its portable byte-by-byte path
 * instead of the SSE2 one (which exists where __SSE2__ is defined, so on
 * every x86-64); both give the same results. Off at start. Not for use
 * while another thread calls into this module.
 */
void events_force_scalar(bool on);

/* Worst-case size of the line events_render_output makes for n bytes,
 * whatever seq, time and type (up to EVENTS_TYPE_MAX bytes); SIZE_MAX when
 * the bound does not fit in size_t. */
size_t events_output_max(size_t n);

#endif
