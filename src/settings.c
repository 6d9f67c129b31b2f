/*
 * settings: the value a slot's ctl lines build for its next run. See
 * settings.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/ctl.h"
#include "spawnfs/settings.h"

size_t settings_argc(char *const *argv)
{
	size_t n = 0;

	while (argv && argv[n])
		n++;
	return n;
}

char **settings_argv_dup(char *const *argv, size_t argc)
{
	char **copy = calloc(argc + 1, sizeof(char *));
	size_t i;

	if (!copy) {
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < argc; i++) {
		copy[i] = strdup(argv[i]);
		if (!copy[i]) {
			ctl_argv_free(copy);
			errno = ENOMEM;
			return NULL;
		}
	}
	return copy;
}

int settings_init(struct run_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->restart = (struct restart_policy){RESTART_NO, RESTART_DELAY_MS,
					     RESTART_LIMIT_N, RESTART_LIMIT_MS};
	s->opts.env = calloc(1, sizeof(char *));
	return s->opts.env ? 0 : -ENOMEM;
}

void settings_fini(struct run_settings *s)
{
	ctl_argv_free(s->opts.env);
	free(s->opts.run_name);
	free(s->opts.cwd);
	ctl_argv_free(s->argv);
	free(s->line);
	memset(s, 0, sizeof(*s));
}

/* A copy of a string that may be NULL; false when it could not. */
static bool str_copy(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

int settings_copy(struct run_settings *dst, const struct run_settings *src)
{
	*dst = *src;
	dst->opts.run_name = dst->opts.cwd = dst->line = NULL;
	dst->argv = NULL;
	dst->opts.env = settings_argv_dup(src->opts.env, src->opts.nenv);
	if (src->argv)
		dst->argv =
			settings_argv_dup(src->argv, settings_argc(src->argv));
	if (!str_copy(&dst->opts.run_name, src->opts.run_name) ||
	    !str_copy(&dst->opts.cwd, src->opts.cwd) ||
	    !str_copy(&dst->line, src->line) || !dst->opts.env ||
	    (src->argv && !dst->argv)) {
		settings_fini(dst);
		return -ENOMEM;
	}
	return 0;
}
