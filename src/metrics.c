/*
 * metrics: the Prometheus text exposition format (version 0.0.4) of a
 * plain record of counters. Every family has its HELP and TYPE lines,
 * counters end in _total, label values are fixed words (the last
 * upgrade's reason is text, escaped as the format says). Pure.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "spawnfs/metrics.h"

static void family(struct jbuf *b, const char *name, const char *type,
		   const char *help)
{
	jbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value(struct jbuf *b, const char *name, const char *labels,
		  uint64_t v)
{
	jbuf_printf(b, "%s%s %" PRIu64 "\n", name, labels, v);
}

/* The errno's symbolic name, such as "EINVAL", or NULL. */
static const char *errno_name(int e)
{
	return strerrorname_np(e);
}

/* A family with one sample and no labels. */
struct scalar {
	const char *name, *type, *help;
	size_t off; /* of its uint64_t in struct metrics_view */
	bool usec;  /* microseconds, shown as seconds */
};

#define SCALAR(n, t, h, f)                                       \
	{                                                        \
		n, t, h, offsetof(struct metrics_view, f), false \
	}
#define SCALAR_USEC(n, t, h, f)                                 \
	{                                                       \
		n, t, h, offsetof(struct metrics_view, f), true \
	}

static const struct scalar scalars[] = {
	SCALAR("spawnfs_runs_started_total", "counter",
	       "Runs whose program was executed.", runs_started),
	SCALAR("spawnfs_runs_failed_total", "counter",
	       "Starts that failed before the program ran (exec, cwd, user).",
	       runs_failed),
	SCALAR("spawnfs_run_capacity", "gauge",
	       "Runs that can go at once under the daemon's open-file limit "
	       "(two fds each).",
	       capacity),
	SCALAR("spawnfs_open_handles", "gauge", "Open files in the tree.",
	       handles),
	SCALAR("spawnfs_parked_requests", "gauge",
	       "Reads and writes waiting for output, an exit or room.", parked),
	SCALAR("spawnfs_paused_runs", "gauge",
	       "Running children paused because no reader made room.", paused),
	SCALAR("spawnfs_interrupts_total", "counter",
	       "Waiting requests answered EINTR after an interrupt.",
	       interrupts),
	SCALAR("spawnfs_processes", "gauge",
	       "Processes alive in the runs' trees.", processes),
	SCALAR("spawnfs_events_lost_total", "counter",
	       "Events dropped for want of memory.", events_lost),
	SCALAR("spawnfs_orphans_reaped_total", "counter",
	       "Orphans of runs reaped by the daemon as their subreaper.",
	       orphans),
	SCALAR_USEC("spawnfs_cpu_seconds_total", "counter",
		    "CPU time of every run's tree (with cgroups).", cpu_usec),
	SCALAR_USEC("spawnfs_busy_poll_seconds_total", "counter",
		    "Time the daemon polled for work before sleeping and none "
		    "came ([mount] busy_poll).",
		    busy_poll_usec),
	SCALAR("spawnfs_resident_memory_bytes", "gauge",
	       "Resident memory of the daemon.", rss_bytes),
	SCALAR("spawnfs_start_time_seconds", "gauge",
	       "When the daemon started, in seconds since the epoch.",
	       start_time),
};

/* A label value as the format escapes it: \\, \" and \n. */
static void label_escaped(struct jbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			jbuf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			jbuf_puts(b, "\\n");
		else
			jbuf_put(b, s, 1);
	}
}

static void render_upgrade(struct jbuf *b, const struct metrics_view *v)
{
	static const char *const results[] = {"ok", "refused", "failed"};
	const struct metrics_upgrade *u = v->up;
	const uint64_t counts[] = {u->ok, u->refused, u->failed};
	char labels[64];
	size_t i;

	family(b, "spawnfs_build_info", "gauge",
	       "The program serving now, by version.");
	jbuf_printf(b, "spawnfs_build_info{version=\"%s\"} 1\n",
		    SPAWNFS_VERSION);
	family(b, "spawnfs_daemon_pid", "gauge",
	       "The daemon's process ID (an upgrade in place keeps it).");
	value(b, "spawnfs_daemon_pid", "", v->pid);
	family(b, "spawnfs_upgrades_total", "counter",
	       "Upgrades in place, by result (refused: the check or a "
	       "condition said no; failed: exec failed).");
	for (i = 0; i < 3; i++) {
		snprintf(labels, sizeof(labels), "{result=\"%s\"}", results[i]);
		value(b, "spawnfs_upgrades_total", labels, counts[i]);
	}
	family(b, "spawnfs_upgrade_generation", "gauge",
	       "Upgrades in place with a result so far.");
	value(b, "spawnfs_upgrade_generation", "", u->generation);
	if (!u->last)
		return;
	family(b, "spawnfs_upgrade_last", "gauge",
	       "The last upgrade's result and reason; the value is its "
	       "generation.");
	jbuf_printf(b, "spawnfs_upgrade_last{result=\"%s\",reason=\"", u->last);
	label_escaped(b, u->reason);
	jbuf_printf(b, "\"} %" PRIu64 "\n", u->generation);
	family(b, "spawnfs_upgrade_pause_seconds", "gauge",
	       "How long the last upgrade stopped serving.");
	jbuf_printf(b,
		    "spawnfs_upgrade_pause_seconds %" PRIu64 ".%06" PRIu64 "\n",
		    u->pause_usec / 1000000, u->pause_usec % 1000000);
}

void metrics_render(struct jbuf *b, const struct metrics_view *v)
{
	static const char *const states[METRICS_NSTATES] = {
		"new",	  "running", "exited", "killed",
		"failed", "stopped", "frozen", "restarting"};
	char labels[64];
	const char *name;
	size_t i;

	family(b, "spawnfs_slots", "gauge", "Process slots by state.");
	for (i = 0; i < METRICS_NSTATES; i++) {
		snprintf(labels, sizeof(labels), "{state=\"%s\"}", states[i]);
		value(b, "spawnfs_slots", labels, v->slots[i]);
	}
	family(b, "spawnfs_captured_bytes_total", "counter",
	       "Bytes written to the output logs, by log.");
	for (i = 0; i < LOGS_N; i++) {
		snprintf(labels, sizeof(labels), "{stream=\"%s\"}",
			 logs_name((unsigned)i));
		value(b, "spawnfs_captured_bytes_total", labels, v->bytes[i]);
	}
	family(b, "spawnfs_dropped_bytes_total", "counter",
	       "Bytes that left a log's window (output keep, or a stop) before "
	       "any handle read them, by log.");
	for (i = 0; i < LOGS_N; i++) {
		snprintf(labels, sizeof(labels), "{stream=\"%s\"}",
			 logs_name((unsigned)i));
		value(b, "spawnfs_dropped_bytes_total", labels, v->dropped[i]);
	}
	family(b, "spawnfs_ctl_errors_total", "counter",
	       "Failed ctl lines, by errno.");
	for (i = 1; i < METRICS_ERRNO_MAX; i++) {
		if (!v->ctl_errors[i] || !(name = errno_name((int)i)))
			continue;
		snprintf(labels, sizeof(labels), "{errno=\"%s\"}", name);
		value(b, "spawnfs_ctl_errors_total", labels, v->ctl_errors[i]);
	}
	for (i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		uint64_t n = *(const uint64_t *)(const void *)((const char *)v +
							       scalars[i].off);

		family(b, scalars[i].name, scalars[i].type, scalars[i].help);
		if (scalars[i].usec)
			jbuf_printf(b, "%s %" PRIu64 ".%06" PRIu64 "\n",
				    scalars[i].name, n / 1000000, n % 1000000);
		else
			value(b, scalars[i].name, "", n);
	}
	if (v->up)
		render_upgrade(b, v);
}
