/* metrics: the daemon's counters as Prometheus text exposition. Pure. */
#ifndef SPAWNFS_METRICS_H
#define SPAWNFS_METRICS_H

#include <stdint.h>

#include "spawnfs/logs.h"

#include "spawnfs/events.h"

#define METRICS_ERRNO_MAX 134 /* ctl errors are counted by errno below it */
#define METRICS_NSTATES	  8   /* slot states shown (status's names) */
#define METRICS_SLOTS_MAX 8   /* room for the states */

/* What the file system counts; main's figures come from the caller. */
/* Upgrades in place of this daemon (fs keeps them across each one). */
struct metrics_upgrade {
	uint64_t ok, refused, failed; /* by result */
	uint64_t generation;	      /* upgrades with a result so far */
	const char *last;	      /* "ok", "refused", "failed"; NULL */
	char reason[160];	      /* why the last was not ok */
	uint64_t pause_usec;	      /* the last one's pause */
};

struct metrics_view {
	/* by state: new, running, exited, killed, failed, stopped, frozen */
	uint64_t slots[METRICS_SLOTS_MAX];
	uint64_t runs_started;	  /* runs whose exec succeeded */
	uint64_t runs_failed;	  /* starts that failed (exec, cwd, user) */
	uint64_t capacity;	  /* runs the open-file limit allows at once */
	uint64_t bytes[LOGS_N];	  /* captured, by log */
	uint64_t dropped[LOGS_N]; /* left the window unread, by log */
	uint64_t handles;	  /* open files */
	uint64_t parked;	  /* reads and writes waiting */
	uint64_t paused;	  /* runs paused: no reader made room */
	uint64_t interrupts;	  /* interrupted requests answered */
	uint64_t processes;	  /* alive in the runs' trees */
	uint64_t orphans;	  /* orphans reaped as subreaper */
	uint64_t events_lost;	  /* events dropped for want of memory */
	uint64_t cpu_usec;	  /* cpu time of every run so far */
	uint64_t ctl_errors[METRICS_ERRNO_MAX]; /* by errno */
	uint64_t rss_bytes;		  /* the daemon's resident memory */
	uint64_t start_time;		  /* the daemon's start, Unix seconds */
	uint64_t pid;			  /* the daemon's */
	uint64_t busy_poll_usec;	  /* polled with no event coming */
	const struct metrics_upgrade *up; /* NULL: none rendered */
};

/* Append the exposition of v to b: HELP and TYPE for every family. */
void metrics_render(struct jbuf *b, const struct metrics_view *v);

#endif
