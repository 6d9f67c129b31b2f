/*
 * settings: the value a slot's ctl lines build for its next run. See
 * settings.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/ctl.h"
#include "spawnfs/settings.h"
#include "spawnfs/state.h"

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

/* A vector as a count and its strings; NULL as count UINT64_MAX. */
static void vec_save(struct state_w *w, char *const *v)
{
	size_t i, n = v ? settings_argc(v) : 0;

	state_u64(w, v ? n : UINT64_MAX);
	for (i = 0; i < n; i++)
		state_str(w, v[i]);
}

static char **vec_load(struct state_r *r, size_t *count)
{
	uint64_t n = state_get_u64(r), i;
	char **v;

	*count = 0;
	if (n == UINT64_MAX || r->err)
		return NULL;
	if (n > 1u << 20) {
		state_fail(r, "settings: a vector of %llu strings",
			   (unsigned long long)n);
		return NULL;
	}
	v = calloc((size_t)n + 1, sizeof(char *));
	if (!v) {
		state_fail(r, "settings: out of memory");
		return NULL;
	}
	for (i = 0; i < n && !r->err; i++)
		v[i] = state_get_str(r);
	if (!r->err)
		for (i = 0; i < n; i++)
			if (!v[i])
				state_fail(r, "settings: a NULL in a vector");
	*count = (size_t)n;
	return v;
}

void settings_save(const struct run_settings *s, struct state_w *w)
{
	const struct spawn_opts *o = &s->opts;

	state_begin(w, STATE_SETTINGS);
	state_u64(w, o->run_as);
	state_str(w, o->run_name);
	state_u64(w, o->run_uid);
	state_u64(w, o->run_gid);
	state_str(w, o->cwd);
	vec_save(w, o->env);
	state_u64(w, o->stdin_pipe);
	state_u64(w, o->pty);
	state_u64(w, o->cols);
	state_u64(w, o->rows);
	state_i64(w, s->timeout_ms);
	state_u64(w, s->limits.memory);
	state_u64(w, s->limits.cpu_permille);
	state_u64(w, s->limits.pids);
	vec_save(w, s->argv);
	state_str(w, s->line);
	state_u64(w, s->keep);
	state_u64(w, s->restart.mode);
	state_i64(w, s->restart.delay_ms);
	state_u64(w, s->restart.limit_n);
	state_i64(w, s->restart.limit_ms);
	state_end(w);
}

int settings_load(struct run_settings *s, struct state_r *r)
{
	struct spawn_opts *o = &s->opts;
	size_t n;

	memset(s, 0, sizeof(*s));
	if (!state_enter(r, STATE_SETTINGS))
		return r->err;
	o->run_as = state_get_bool(r);
	o->run_name = state_get_str(r);
	o->run_uid = (uid_t)state_get_u64(r);
	o->run_gid = (gid_t)state_get_u64(r);
	o->cwd = state_get_str(r);
	o->env = vec_load(r, &o->nenv);
	o->stdin_pipe = state_get_bool(r);
	o->pty = state_get_bool(r);
	o->cols = (unsigned)state_get_u64(r);
	o->rows = (unsigned)state_get_u64(r);
	s->timeout_ms = (long)state_get_i64(r);
	s->limits.memory = state_get_u64(r);
	s->limits.cpu_permille = (unsigned)state_get_u64(r);
	s->limits.pids = state_get_u64(r);
	s->argv = vec_load(r, &n);
	s->line = state_get_str(r);
	s->keep = (size_t)state_get_u64(r);
	s->restart.mode = (enum restart_mode)state_get_u64(r);
	s->restart.delay_ms = (long)state_get_i64(r);
	s->restart.limit_n = (unsigned)state_get_u64(r);
	s->restart.limit_ms = (long)state_get_i64(r);
	state_leave(r);
	if (!r->err && !o->env)
		state_fail(r, "settings: no environment vector");
	if (r->err)
		settings_fini(s);
	return r->err;
}
