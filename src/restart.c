/*
 * restart: when a policy starts a run again. See restart.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/restart.h"

const char *restart_mode_name(enum restart_mode mode)
{
	static const char *const names[] = {"no", "on-failure", "always"};

	return (unsigned)mode < 3 ? names[mode] : "no";
}

static void push(struct restart_state *r, uint64_t now_ms)
{
	if (!r->cap)
		return;
	if (r->n < r->cap) {
		r->starts[(r->first + r->n++) % r->cap] = now_ms;
		return;
	}
	r->starts[r->first] = now_ms;
	r->first = (r->first + 1) % r->cap;
}

int restart_begin(struct restart_state *r, const struct restart_policy *pol,
		  uint64_t now_ms)
{
	restart_fini(r);
	if (pol->mode == RESTART_NO)
		return 0;
	r->starts = calloc(pol->limit_n, sizeof(*r->starts));
	if (!r->starts)
		return -ENOMEM;
	r->cap = pol->limit_n;
	r->delay_ms = pol->delay_ms;
	push(r, now_ms);
	return 0;
}

void restart_fini(struct restart_state *r)
{
	free(r->starts);
	memset(r, 0, sizeof(*r));
}

long restart_next(struct restart_state *r, const struct restart_policy *pol,
		  bool failed, uint64_t ran_ms, uint64_t now_ms)
{
	long delay;

	if (!r->cap || r->ended || pol->mode == RESTART_NO ||
	    (pol->mode == RESTART_ON_FAILURE && !failed))
		return 0;
	if (ran_ms >= RESTART_SHORT_MS)
		r->delay_ms = pol->delay_ms;
	delay = r->delay_ms;
	/* The next start would be one too many within limit_ms. */
	if (r->n == r->cap &&
	    now_ms + (uint64_t)delay <
		    r->starts[r->first] + (uint64_t)pol->limit_ms) {
		r->ended = "limit";
		return 0;
	}
	r->delay_ms =
		delay * 2 > RESTART_DELAY_MAX ? RESTART_DELAY_MAX : delay * 2;
	if (r->delay_ms < pol->delay_ms)
		r->delay_ms = pol->delay_ms;
	return delay;
}

void restart_started(struct restart_state *r, uint64_t now_ms)
{
	r->count++;
	push(r, now_ms);
}

void restart_end(struct restart_state *r, const char *why)
{
	if (r->cap && !r->ended)
		r->ended = why;
}
