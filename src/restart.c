/*
 * restart: when a policy starts a run again. See restart.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/restart.h"
#include "spawnfs/state.h"

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

void restart_save(const struct restart_state *r, struct state_w *w)
{
	unsigned i;

	state_begin(w, STATE_RESTART);
	state_u64(w, r->cap);
	state_u64(w, r->n);
	for (i = 0; i < r->n; i++)
		state_u64(w, r->starts[(r->first + i) % r->cap]);
	state_i64(w, r->delay_ms);
	state_u64(w, r->count);
	state_str(w, r->ended);
	state_end(w);
}

int restart_load(struct restart_state *r, struct state_r *sr)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	if (!state_enter(sr, STATE_RESTART))
		return sr->err;
	r->cap = (unsigned)state_get_u64(sr);
	r->n = (unsigned)state_get_u64(sr);
	if (r->n > r->cap || r->cap > 1000000)
		state_fail(sr, "restart: %u starts in %u", r->n, r->cap);
	if (r->cap && !sr->err) {
		r->starts = calloc(r->cap, sizeof(*r->starts));
		if (!r->starts)
			state_fail(sr, "restart: out of memory");
	}
	for (i = 0; i < r->n && !sr->err; i++)
		r->starts[i] = state_get_u64(sr);
	r->delay_ms = (long)state_get_i64(sr);
	r->count = state_get_u64(sr);
	{
		static const char *const why[] = {"limit", "stop",     "kill",
						  "rmdir", "shutdown", NULL};

		r->ended = state_get_name(sr, why);
	}
	state_leave(sr);
	if (sr->err)
		restart_fini(r);
	return sr->err;
}
