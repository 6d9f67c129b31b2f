/*
 * restart: the arithmetic of a restart policy, pure: when
 * a run that ended is started again, after which delay, and when the
 * policy gives up. The delay doubles after each run shorter than
 * RESTART_SHORT_MS, up to RESTART_DELAY_MAX, and goes back to the base
 * after a longer one; at most limit_n starts (the first included) fall
 * within any limit_ms.
 */
#ifndef SPAWNFS_RESTART_H
#define SPAWNFS_RESTART_H

#include <stdbool.h>
#include <stdint.h>

#include "spawnfs/settings.h"

struct restart_state {
	uint64_t *starts;  /* a ring of the latest start times (ms) */
	unsigned cap, n;   /* its size (limit_n) and fill */
	unsigned first;	   /* the oldest */
	long delay_ms;	   /* the next delay */
	uint64_t count;	   /* restarts so far */
	const char *ended; /* why the policy stopped (static), or NULL */
};

/* A start by hand at now_ms begins a new chain under pol. 0 or -ENOMEM
 * (no policy then). r starts zeroed. */
int restart_begin(struct restart_state *r, const struct restart_policy *pol,
		  uint64_t now_ms);

void restart_fini(struct restart_state *r);

/*
 * The run ended at now_ms after ran_ms; failed: a status other than 0 or
 * a failed start. Returns the delay before the next start (> 0), or 0:
 * no restart (the policy says so, or limit: then r->ended is "limit").
 */
long restart_next(struct restart_state *r, const struct restart_policy *pol,
		  bool failed, uint64_t ran_ms, uint64_t now_ms);

/* A restart happens at now_ms. */
void restart_started(struct restart_state *r, uint64_t now_ms);

/* The policy stops for why (stop, kill, rmdir, shutdown) unless it
 * already has. */
void restart_end(struct restart_state *r, const char *why);

/* "no", "on-failure", "always". */
const char *restart_mode_name(enum restart_mode mode);

/* An upgrade in place: the chain as saved, and back (0 or r's error). */
struct state_w;
struct state_r;
void restart_save(const struct restart_state *r, struct state_w *w);
int restart_load(struct restart_state *r, struct state_r *sr);

#endif
