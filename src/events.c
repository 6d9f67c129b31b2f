/*
 * events: the lines of the events log and the status object, rendered
 * with json.c (pure: no logging, no exit, no I/O). Output that is not
 * valid UTF-8 is carried as base64 so that no byte is lost.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "spawnfs/events.h"

#define LEN(s) (sizeof(s) - 1) /* of a string literal */

/* A borrowed C string as a JSON string, or null for NULL. */
static void json_cstr(struct jbuf *b, const char *s)
{
	if (s)
		json_str(b, s, strlen(s));
	else
		jbuf_puts(b, "null");
}

/* ,"key":N or ,"key":null when v is negative (or zero if zero_null). */
static void json_field_int(struct jbuf *b, const char *key, long v,
			   bool zero_null)
{
	if (v < 0 || (zero_null && v == 0))
		jbuf_printf(b, ",\"%s\":null", key);
	else
		jbuf_printf(b, ",\"%s\":%ld", key, v);
}

static void status_argv(struct jbuf *b, char *const *argv)
{
	size_t i;

	if (!argv) {
		jbuf_puts(b, "null");
		return;
	}
	jbuf_puts(b, "[");
	for (i = 0; argv[i]; i++) {
		if (i > 0)
			jbuf_puts(b, ",");
		json_cstr(b, argv[i]);
	}
	jbuf_puts(b, "]");
}

/* name through stdin */
static void status_setup(struct jbuf *b, const struct status_view *v)
{
	jbuf_puts(b, "{\"name\":");
	json_cstr(b, v->name);
	jbuf_puts(b, ",\"state\":");
	json_cstr(b, v->state);
	json_field_int(b, "pid", (long)v->pid, true);
	json_field_int(b, "pgid", (long)v->pgid, true);
	jbuf_puts(b, ",\"argv\":");
	status_argv(b, v->argv);
	jbuf_puts(b, ",\"cwd\":");
	json_cstr(b, v->cwd);
	if (v->pty)
		jbuf_printf(b, ",\"pty\":{\"cols\":%u,\"rows\":%u}", v->cols,
			    v->rows);
	else
		jbuf_puts(b, ",\"pty\":null");
	jbuf_puts(b, ",\"stdin\":");
	json_cstr(b, v->stdin_mode);
}

/* uid through error */
static void status_run(struct jbuf *b, const struct status_view *v)
{
	jbuf_printf(b, ",\"uid\":%lu", (unsigned long)v->uid);
	jbuf_puts(b, ",\"start_time\":");
	if (v->started)
		json_time(b, &v->start_time);
	else
		jbuf_puts(b, "null");
	jbuf_puts(b, ",\"end_time\":");
	if (v->ended)
		json_time(b, &v->end_time);
	else
		jbuf_puts(b, "null");
	json_field_int(b, "exit_code", v->exit_code, false);
	jbuf_puts(b, ",\"signal\":");
	json_cstr(b, v->signal);
	json_field_int(b, "status", v->status, false);
	jbuf_puts(b, ",\"end_reason\":");
	json_cstr(b, v->end_reason);
	jbuf_puts(b, ",\"restart\":{\"policy\":");
	json_cstr(b, v->restart_policy ? v->restart_policy : "no");
	jbuf_printf(b, ",\"count\":%" PRIu64 ",\"ended\":", v->restarts);
	json_cstr(b, v->restart_ended);
	jbuf_puts(b, "}");
	jbuf_puts(b, ",\"error\":");
	json_cstr(b, v->error);
}

static void status_logs(struct jbuf *b, const struct status_view *v)
{
	size_t i;

	jbuf_puts(b, ",\"logs\":{");
	for (i = 0; i < v->nlogs; i++) {
		const struct status_log *l = &v->logs[i];

		if (i > 0)
			jbuf_puts(b, ",");
		json_cstr(b, l->name ? l->name : "");
		jbuf_printf(b,
			    ":{\"bytes\":%" PRIu64 ",\"retained\":%" PRIu64
			    ",\"readers\":%u,\"paused\":%s,\"dropped\":%" PRIu64
			    "}",
			    l->bytes, l->retained, l->readers,
			    l->paused ? "true" : "false", l->dropped);
	}
	jbuf_puts(b, "}");
}

/* processes, cpu, memory, pids: the run's tree. */
static void status_tree(struct jbuf *b, const struct status_view *v)
{
	jbuf_printf(b, ",\"processes\":%u,\"cpu\":", v->processes);
	if (v->has_cpu)
		jbuf_printf(b,
			    "{\"usage_usec\":%" PRIu64 ",\"user_usec\":%" PRIu64
			    ",\"system_usec\":%" PRIu64 "}",
			    v->cpu_usage_usec, v->cpu_user_usec,
			    v->cpu_system_usec);
	else
		jbuf_puts(b, "null");
	jbuf_puts(b, ",\"memory\":");
	if (v->has_memory)
		jbuf_printf(b, "{\"current\":%" PRIu64 ",\"peak\":%" PRIu64 "}",
			    v->memory, v->memory_peak);
	else
		jbuf_puts(b, "null");
	jbuf_puts(b, ",\"pids\":");
	if (v->has_pids)
		jbuf_printf(b, "{\"current\":%" PRIu64 "}", v->pids);
	else
		jbuf_puts(b, "null");
}

void events_render_status(struct jbuf *b, const struct status_view *v)
{
	status_setup(b, v);
	status_run(b, v);
	status_tree(b, v);
	status_logs(b, v);
	jbuf_puts(b, "}\n");
}

/* {"seq":N,"time":"...","type":"T" -- the caller adds fields and "}\n". */
static void event_begin(struct jbuf *b, uint64_t seq, const struct timespec *t,
			const char *type)
{
	jbuf_printf(b, "{\"seq\":%" PRIu64 ",\"time\":", seq);
	json_time(b, t);
	jbuf_puts(b, ",\"type\":");
	json_cstr(b, type);
}

void events_render_start(struct jbuf *b, uint64_t seq, const struct timespec *t,
			 pid_t pid, char *const *argv, uint64_t restart)
{
	size_t i;

	event_begin(b, seq, t, "start");
	jbuf_printf(b, ",\"pid\":%d,\"argv\":[", (int)pid);
	for (i = 0; argv && argv[i]; i++) {
		if (i)
			jbuf_puts(b, ",");
		json_cstr(b, argv[i]);
	}
	jbuf_puts(b, "]");
	if (restart)
		jbuf_printf(b, ",\"restart\":%" PRIu64, restart);
	jbuf_puts(b, "}\n");
}

void events_render_skip(struct jbuf *b, uint64_t seq, const struct timespec *t,
			const char *stream, uint64_t from, uint64_t to)
{
	event_begin(b, seq, t, "skip");
	jbuf_puts(b, ",\"stream\":");
	json_cstr(b, stream);
	jbuf_printf(b, ",\"from\":%" PRIu64 ",\"to\":%" PRIu64 "}\n", from, to);
}

void events_render_signal(struct jbuf *b, uint64_t seq,
			  const struct timespec *t, int sig, const char *name)
{
	event_begin(b, seq, t, "signal");
	jbuf_puts(b, ",\"signal\":");
	if (name)
		json_cstr(b, name);
	else
		jbuf_printf(b, "%d", sig);
	jbuf_puts(b, "}\n");
}

void events_render_eof(struct jbuf *b, uint64_t seq, const struct timespec *t)
{
	event_begin(b, seq, t, "eof");
	jbuf_puts(b, "}\n");
}

void events_render_end(struct jbuf *b, uint64_t seq, const struct timespec *t,
		       int exit_code, const char *signal, int status,
		       const char *reason)
{
	event_begin(b, seq, t, "end");
	if (exit_code >= 0)
		jbuf_printf(b, ",\"exit_code\":%d", exit_code);
	else
		jbuf_puts(b, ",\"exit_code\":null");
	jbuf_puts(b, ",\"signal\":");
	if (signal)
		json_cstr(b, signal);
	else
		jbuf_puts(b, "null");
	jbuf_printf(b, ",\"status\":%d", status);
	if (reason) {
		jbuf_puts(b, ",\"reason\":");
		json_cstr(b, reason);
	}
	jbuf_puts(b, "}\n");
}

void events_render_error(struct jbuf *b, uint64_t seq, const struct timespec *t,
			 const char *message)
{
	event_begin(b, seq, t, "error");
	jbuf_puts(b, ",\"error\":");
	json_cstr(b, message ? message : "");
	jbuf_puts(b, "}\n");
}

void events_render_output(struct jbuf *b, uint64_t seq,
			  const struct timespec *t, const char *type,
			  const void *p, size_t n)
{
	size_t mark;

	event_begin(b, seq, t, type);
	mark = b->len;
	jbuf_puts(b, ",\"data\":");
	if (!json_text(b, p, n)) {
		b->len = mark;
		jbuf_puts(b, ",\"data_base64\":\"");
		jbuf_base64(b, p, n);
		jbuf_puts(b, "\"");
	}
	jbuf_puts(b, "}\n");
}

/* The length of what event_begin writes, counted without writing it. */
static size_t event_begin_len(uint64_t seq, const struct timespec *t,
			      const char *type)
{
	size_t len = LEN("{\"seq\":0,\"time\":,\"type\":");

	for (; seq >= 10; seq /= 10)
		len++;
	len += json_time_len(t);
	len += type ? json_str_len(type, strlen(type)) : LEN("null");
	return len;
}

size_t events_output_len(uint64_t seq, const struct timespec *t,
			 const char *type, const void *p, size_t n)
{
	size_t len = event_begin_len(seq, t, type) + LEN("}\n"), text;

	if (json_text_len(p, n, &text))
		return len + LEN(",\"data\":") + text;
	return len + LEN(",\"data_base64\":\"\"") + (n + 2) / 3 * 4;
}

/* The line without its data field, at its longest. */
#define EV_FIXED                                                              \
	(sizeof("{\"seq\":18446744073709551615,\"time\":") - 1 +              \
	 sizeof("\"2026-11-28T03:21:44.123456Z\"") - 1 +                      \
	 sizeof(",\"type\":\"\"") - 1 + 6 * EVENTS_TYPE_MAX + sizeof("}\n") - \
	 1)

size_t events_output_max(size_t n)
{
	size_t text, b64;

	if (n > (SIZE_MAX - EV_FIXED - 64) / 6)
		return SIZE_MAX;
	text = sizeof(",\"data\":\"\"") - 1 + 6 * n;
	b64 = sizeof(",\"data_base64\":\"\"") - 1 + (n + 2) / 3 * 4;
	return EV_FIXED + (text > b64 ? text : b64);
}
