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

struct run_settings {
	struct spawn_opts opts;
	long timeout_ms;	   /* the run's lifetime limit; 0: none */
	struct tree_limits limits; /* of the run's tree */
	char **argv; /* the last start's, NULL before any; NULL-terminated */
	char *line;  /* its command line; NULL for exec */
};

/* Empty settings (no env line, nothing started). 0 or -ENOMEM. */
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

#endif
