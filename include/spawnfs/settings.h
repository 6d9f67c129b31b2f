/*
 * settings: what a slot's ctl lines set for its next run, as one value
 * (pure): the spawn options, the lifetime limit, the tree's limits and
 * the last start, for the read-back. The ctl side owns it (in slots'
 * record) and edits it while nothing of a run lives; proc copies what a
 * run needs at its start.
 */
#ifndef SPAWNFS_SETTINGS_H
#define SPAWNFS_SETTINGS_H

#include "spawnfs/spawn.h"
#include "spawnfs/tree.h"

/* When a run that ended is started again. */
enum restart_mode {
	RESTART_NO,
	RESTART_ON_FAILURE, /* after an exit status other than 0, a signal
			       or a failed start */
	RESTART_ALWAYS,
};

struct restart_policy {
	enum restart_mode mode;
	long delay_ms;	  /* the first delay, doubled after short runs */
	unsigned limit_n; /* at most limit_n starts ... */
	long limit_ms;	  /* ... within limit_ms, the first included */
};

#define RESTART_DELAY_MS  1000L /* restart_delay's default */
#define RESTART_LIMIT_N	  5U	/* restart_limit's default: 5/10s */
#define RESTART_LIMIT_MS  10000L
#define RESTART_DELAY_MAX 60000L /* the delay doubles up to this */
#define RESTART_SHORT_MS  10000L /* a run shorter than this doubles it */

struct run_settings {
	struct spawn_opts opts;
	long timeout_ms;	   /* the run's lifetime limit; 0: none */
	struct tree_limits limits; /* of the run's tree */
	char **argv; /* the last start's, NULL before any; NULL-terminated */
	char *line;  /* its command line; NULL for exec */
	size_t keep; /* output keep's window; 0: output pause */
	struct restart_policy restart;
};

/* Empty settings (no env line, nothing started, output pause, restart
 * no with the default delay and limit). 0 or -ENOMEM. */
int settings_init(struct run_settings *s);

/* Free what s holds; s may be zeroed or initialised. */
void settings_fini(struct run_settings *s);

/* A deep copy of src into dst (initialised by it): 0 or -ENOMEM, with
 * nothing held by dst then. */
int settings_copy(struct run_settings *dst, const struct run_settings *src);

/* A NULL-terminated copy of argc strings of argv; NULL with errno
 * ENOMEM. Free with ctl_argv_free. */
char **settings_argv_dup(char *const *argv, size_t argc);

/* The number of strings of a NULL-terminated vector. */
size_t settings_argc(char *const *argv);

/* An upgrade in place: s as saved, and settings made from a saved one
 * (0, or r's error with s left empty). */
struct state_w;
struct state_r;
void settings_save(const struct run_settings *s, struct state_w *w);
int settings_load(struct run_settings *s, struct state_r *r);

#endif
