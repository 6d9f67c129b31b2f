/*
 * ctlrun: what a ctl line does to a slot (the parser, ctl.c, stays
 * pure). Settings lines edit the next run's settings, a value kept in
 * slots' record (EBUSY while a run is going), action lines go to proc,
 * which copies the settings at a start; the read-back renders the lines
 * that recreate the slot. Keeps the per-slot limits of the env lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawnfs/ctlrun.h"
#include "spawnfs/state.h"
#include "spawnfs/settings.h"
#include "spawnfs/spawn.h"

#define CTLRUN_ENV_MAX	 1024	      /* env lines kept per slot */
#define CTLRUN_ENV_BYTES (256 * 1024) /* and their bytes together */

/* What a line works on: the slot, its next run's settings, the writer. */
struct target {
	struct ctlrun *c;
	struct proc *p;
	struct run_settings *s;
	uid_t uid;
};

/* start or exec: run it; unless the slot is busy, it is the start the
 * read-back shows. */
static int do_start(const struct target *t, const struct ctl_line *l)
{
	char *sh[] = {t->c->shell, "-c", l->arg, NULL};
	char *const *argv = l->cmd == CTL_START ? sh : l->argv;
	char **copy = settings_argv_dup(argv, settings_argc(argv));
	char *line = l->cmd == CTL_START ? strdup(l->arg) : NULL;
	int rc;

	if (!copy || (l->cmd == CTL_START && !line)) {
		ctl_argv_free(copy);
		free(line);
		return -ENOMEM;
	}
	rc = proc_start(t->p, t->s, copy);
	if (rc == -EBUSY) {
		ctl_argv_free(copy);
		free(line);
		return rc;
	}
	ctl_argv_free(t->s->argv);
	free(t->s->line);
	t->s->argv = copy;
	t->s->line = line;
	return rc;
}

/* The slot's env lines together: at most CTLRUN_ENV_MAX variables and
 * CTLRUN_ENV_BYTES bytes, so a slot cannot pin unbounded memory. */
static int env_limit(const struct spawn_opts *o, const char *e)
{
	size_t len = spawn_env_name_len(e), total = strlen(e) + 1, i;
	bool replaces = false;

	for (i = 0; i < o->nenv; i++) {
		if (spawn_env_name_len(o->env[i]) == len &&
		    !strncmp(o->env[i], e, len))
			replaces = true;
		else
			total += strlen(o->env[i]) + 1;
	}
	if ((!replaces && o->nenv >= CTLRUN_ENV_MAX) ||
	    total > CTLRUN_ENV_BYTES)
		return -E2BIG;
	return 0;
}

/* "user NAME" (or a numeric uid): root only, and only a root daemon can
 * switch to it. An unknown user is -EINVAL. */
static int ctl_user(struct spawn_opts *o, const char *name, uid_t writer)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end, *copy;
	unsigned long n;

	if (writer != 0 || geteuid() != 0)
		return -EPERM;
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res) {
		o->run_uid = pw.pw_uid;
		o->run_gid = pw.pw_gid;
	} else {
		errno = 0;
		n = strtoul(name, &end, 10);
		if (!*name || *end || errno || n >= (uid_t)-1 ||
		    getpwuid_r((uid_t)n, &pw, buf, sizeof(buf), &res) || !res)
			return -EINVAL;
		o->run_uid = pw.pw_uid;
		o->run_gid = pw.pw_gid;
	}
	copy = strdup(pw.pw_name);
	if (!copy)
		return -ENOMEM;
	free(o->run_name);
	o->run_name = copy;
	o->run_as = true;
	return 0;
}

/* ---- one row per command: apply, needs-idle, controller, read-back ---- */

static int set_cwd(const struct target *t, const struct ctl_line *l)
{
	char *copy = strdup(l->arg);

	if (!copy)
		return -ENOMEM;
	free(t->s->opts.cwd);
	t->s->opts.cwd = copy;
	return 0;
}

static int set_env(const struct target *t, const struct ctl_line *l)
{
	struct spawn_opts *o = &t->s->opts;
	int rc = env_limit(o, l->arg);

	return rc ?: spawn_env_put(&o->env, &o->nenv, l->arg);
}

/* "env -": the slot's env and unset lines go. */
static int set_env_clear(const struct target *t, const struct ctl_line *l)
{
	struct spawn_opts *o = &t->s->opts;
	char **empty = calloc(1, sizeof(char *));

	(void)l;
	if (!empty)
		return -ENOMEM;
	ctl_argv_free(o->env);
	o->env = empty;
	o->nenv = 0;
	return 0;
}

static int set_user(const struct target *t, const struct ctl_line *l)
{
	return ctl_user(&t->s->opts, l->arg, t->uid);
}

static int set_stdin(const struct target *t, const struct ctl_line *l)
{
	t->s->opts.stdin_pipe = l->num == 1;
	return 0;
}

static int set_pty(const struct target *t, const struct ctl_line *l)
{
	struct spawn_opts *o = &t->s->opts;

	o->pty = l->num == 1;
	if (o->pty) {
		o->cols = l->cols;
		o->rows = l->rows;
	}
	return 0;
}

static int set_timeout(const struct target *t, const struct ctl_line *l)
{
	t->s->timeout_ms = l->ms;
	return 0;
}

static int set_limit(const struct target *t, const struct ctl_line *l)
{
	struct tree_limits *lim = &t->s->limits;

	if (l->cmd == CTL_MEMORY)
		lim->memory = l->value;
	else if (l->cmd == CTL_CPUS)
		lim->cpu_permille = (unsigned)l->value;
	else
		lim->pids = l->value;
	return 0;
}

/* output keep SIZE (from buffer_size to keep_max) or pause: now, for
 * the logs, and for the read-back. */
static int set_output(const struct target *t, const struct ctl_line *l)
{
	int rc;

	if (l->value &&
	    (l->value < t->c->keep_min || l->value > t->c->keep_max))
		return -EINVAL;
	rc = proc_set_output(t->p, (size_t)l->value);
	if (rc == 0)
		t->s->keep = (size_t)l->value;
	return rc;
}

static int set_restart(const struct target *t, const struct ctl_line *l)
{
	struct restart_policy *r = &t->s->restart;

	if (l->cmd == CTL_RESTART)
		r->mode = (enum restart_mode)l->num;
	else if (l->cmd == CTL_RESTART_DELAY)
		r->delay_ms = l->ms;
	else {
		r->limit_n = (unsigned)l->num;
		r->limit_ms = l->ms;
	}
	return 0;
}

static int do_signal(const struct target *t, const struct ctl_line *l)
{
	if (l->cmd == CTL_KILL)
		return proc_kill(t->p);
	return proc_signal(t->p, l->num);
}

static int do_stop(const struct target *t, const struct ctl_line *l)
{
	return proc_stop(t->p, l->ms);
}

static int do_eof(const struct target *t, const struct ctl_line *l)
{
	(void)l;
	return proc_eof(t->p);
}

/* The terminal's size: the running child's and the next run's. */
static int do_resize(const struct target *t, const struct ctl_line *l)
{
	struct spawn_opts *o = &t->s->opts;
	int rc;

	if (!o->pty)
		return -ENOTTY;
	rc = proc_resize(t->p, l->cols, l->rows);
	if (rc == 0) {
		o->cols = l->cols;
		o->rows = l->rows;
	}
	return rc;
}

static int do_freeze(const struct target *t, const struct ctl_line *l)
{
	return proc_freeze(t->p, l->cmd == CTL_FREEZE);
}

static void text_user(const struct run_settings *s, struct jbuf *b);
static void text_cwd(const struct run_settings *s, struct jbuf *b);
static void text_env(const struct run_settings *s, struct jbuf *b);
static void text_stdin(const struct run_settings *s, struct jbuf *b);
static void text_pty(const struct run_settings *s, struct jbuf *b);
static void text_timeout(const struct run_settings *s, struct jbuf *b);
static void text_memory(const struct run_settings *s, struct jbuf *b);
static void text_cpus(const struct run_settings *s, struct jbuf *b);
static void text_pids(const struct run_settings *s, struct jbuf *b);
static void text_start(const struct run_settings *s, struct jbuf *b);
static void text_output(const struct run_settings *s, struct jbuf *b);
static void text_restart(const struct run_settings *s, struct jbuf *b);

/*
 * What each command does. apply runs it (0 or -errno); idle: a setting
 * for the next run, refused with EBUSY while something of a run lives;
 * controller: the one the line needs (for a limit: only to set one),
 * named in status.error when it is missing; text: its read-back, NULL
 * for actions and for the commands another row reads back (env covers
 * unset and "env -", start covers exec).
 */
struct ctl_row {
	int (*apply)(const struct target *t, const struct ctl_line *l);
	bool idle;
	const char *controller;
	void (*text)(const struct run_settings *s, struct jbuf *b);
};

static const struct ctl_row rows[] = {
	[CTL_START] = {do_start, false, NULL, text_start},
	[CTL_EXEC] = {do_start, false, NULL, NULL},
	[CTL_CWD] = {set_cwd, true, NULL, text_cwd},
	[CTL_ENV] = {set_env, true, NULL, text_env},
	[CTL_UNSET] = {set_env, true, NULL, NULL},
	[CTL_STDIN] = {set_stdin, true, NULL, text_stdin},
	[CTL_PTY] = {set_pty, true, NULL, text_pty},
	[CTL_TIMEOUT] = {set_timeout, true, NULL, text_timeout},
	[CTL_USER] = {set_user, true, NULL, text_user},
	[CTL_SIGNAL] = {do_signal, false, NULL, NULL},
	[CTL_STOP] = {do_stop, false, NULL, NULL},
	[CTL_KILL] = {do_signal, false, NULL, NULL},
	[CTL_EOF] = {do_eof, false, NULL, NULL},
	[CTL_RESIZE] = {do_resize, false, NULL, NULL},
	[CTL_ENV_CLEAR] = {set_env_clear, true, NULL, NULL},
	[CTL_FREEZE] = {do_freeze, false, "cgroup2", NULL},
	[CTL_THAW] = {do_freeze, false, "cgroup2", NULL},
	[CTL_MEMORY] = {set_limit, true, "memory", text_memory},
	[CTL_CPUS] = {set_limit, true, "cpu", text_cpus},
	[CTL_PIDS] = {set_limit, true, "pids", text_pids},
	[CTL_OUTPUT] = {set_output, false, NULL, text_output},
	[CTL_RESTART] = {set_restart, true, NULL, text_restart},
	[CTL_RESTART_DELAY] = {set_restart, true, NULL, NULL},
	[CTL_RESTART_LIMIT] = {set_restart, true, NULL, NULL},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* The read-back's order: the user first, the other settings, the
 * limits, then the start, which must come last. */
static const enum ctl_cmd text_order[] = {
	CTL_USER,   CTL_CWD,  CTL_ENV,	CTL_STDIN,  CTL_PTY,	 CTL_TIMEOUT,
	CTL_MEMORY, CTL_CPUS, CTL_PIDS, CTL_OUTPUT, CTL_RESTART, CTL_START,
};

static const struct ctl_row *row_of(enum ctl_cmd cmd)
{
	return (unsigned)cmd < NROWS && rows[cmd].apply ? &rows[cmd] : NULL;
}

/* A limit other than none needs its controller; freeze and thaw find
 * out for themselves. */
static bool limit_unsupported(const struct target *t, const struct ctl_row *row,
			      const struct ctl_line *l)
{
	return row->controller && row->idle && l->value &&
	       !proc_has_controller(t->p, row->controller);
}

static int ctl_run(const struct target *t, const struct ctl_line *l)
{
	const struct ctl_row *row = row_of(l->cmd);

	if (!row)
		return -EOPNOTSUPP;
	if (proc_starting(t->p) || (row->idle && proc_tree_busy(t->p)))
		return -EBUSY;
	if (limit_unsupported(t, row, l))
		return -EOPNOTSUPP;
	return row->apply(t, l);
}

/* status.error for a failed line; a missing controller and an unknown
 * user are named. */
static void ctl_error(struct proc *p, const struct ctl_line *l,
		      const char *text, size_t len, int err)
{
	const struct ctl_row *row = row_of(l->cmd);
	const char *ctrl = row ? row->controller : NULL;
	char after[64];

	if (l->cmd == CTL_USER && err == EINVAL) {
		proc_set_error(p, "no such user \"", l->arg, strlen(l->arg),
			       "\"", err);
		return;
	}
	if (err != EOPNOTSUPP || !ctrl) {
		proc_set_error(p, "", text, len, "", err);
		return;
	}
	snprintf(after, sizeof(after), " (no %s controller for the runs)",
		 ctrl);
	proc_set_error(p, "", text, len, after, err);
}

/* Apply one parsed line (text, len as written, for status.error). */
static int ctlrun_line(const struct target *t, const struct ctl_line *l,
		       const char *text, size_t len)
{
	int rc = ctl_run(t, l);
	bool start = l->cmd == CTL_START || l->cmd == CTL_EXEC;

	if ((rc == 0 || rc == -EINPROGRESS || start) && t->c->touched)
		t->c->touched(t->c->arg, t->p);
	/* A start that failed in the child has already described itself. */
	if (rc < 0 && !(start && rc != -EBUSY && rc != -ENOMEM))
		ctl_error(t->p, l, text, len, -rc);
	return rc;
}

/* ---- sessions: the writes of one open ctl file ---- */

struct ctl_session {
	int failed; /* the errno of the first failed write, 0 if none */
	uid_t uid;  /* the writer of the write kept */
	char *rest; /* the lines after a start that is awaited */
	size_t rest_len;
};

struct ctl_session *ctlrun_session_new(void)
{
	struct ctl_session *s = calloc(1, sizeof(*s));

	if (!s)
		errno = ENOMEM;
	return s;
}

void ctlrun_session_cancel(struct ctl_session *s)
{
	free(s->rest);
	s->rest = NULL;
	s->rest_len = 0;
}

void ctlrun_session_free(struct ctl_session *s)
{
	if (!s)
		return;
	ctlrun_session_cancel(s);
	free(s);
}

void ctlrun_metrics(const struct ctlrun *c, struct metrics_view *v)
{
	memcpy(v->ctl_errors, c->errors, sizeof(v->ctl_errors));
}

/* A failed line, for metrics. */
static void count(struct ctlrun *c, int rc)
{
	if (rc < 0 && rc != -EINPROGRESS && -rc < METRICS_ERRNO_MAX)
		c->errors[-rc]++;
}

/* status.error for a line that does not parse; an unknown command is
 * named, so a typo shows at once. */
static void parse_error(struct proc *p, const char *line, size_t len, int err)
{
	const char *w;
	size_t n;

	if (err == EINVAL && len > 0 && line[len - 1] == '\r') {
		proc_set_error(p, "", line, len - 1,
			       " ends in a carriage return (\\r): write lines "
			       "ending in \\n only",
			       err);
		return;
	}
	if (err != EINVAL || ctl_command_known(line, len, &w, &n) || n == 0) {
		proc_set_error(p, "", line, len, "", err);
		return;
	}
	proc_set_error(p, "unknown command \"", w, n, "\"", err);
}

/* Run the lines of buf in order; *used is how far it got (past a start
 * whose exec is awaited: -EINPROGRESS). */
static int apply(struct ctlrun *c, struct proc *p, uid_t uid, const char *buf,
		 size_t size, size_t *used)
{
	struct target t = {c, p, NULL, uid};
	struct ctl_line l;
	const char *line;
	size_t pos = 0, len;
	int rc = 0;

	*used = 0;
	if (c->stopping)
		return -ESHUTDOWN;
	if (proc_removed(p))
		return -ENOENT;
	t.s = c->settings(c->arg, p);
	while (rc == 0 && ctl_next_line(buf, size, &pos, &line, &len)) {
		rc = ctl_parse_line(line, len, &l);
		if (rc < 0) {
			parse_error(p, line, len, -rc);
			break;
		}
		rc = ctlrun_line(&t, &l, line, len);
		ctl_line_free(&l);
	}
	*used = pos;
	count(c, rc);
	return rc;
}

/* The write's outcome through s: a failure stops s; an awaited start
 * keeps the rest of buf in s (ENOMEM when it cannot). */
static int settle(struct ctl_session *s, int rc, uid_t uid, const char *buf,
		  size_t size, size_t used)
{
	char *rest;

	if (rc == -EINPROGRESS) {
		rest = malloc((size - used) ? (size - used) : 1);
		if (!rest)
			return -ENOMEM;
		memcpy(rest, buf + used, size - used);
		ctlrun_session_cancel(s);
		s->rest = rest;
		s->rest_len = size - used;
		s->uid = uid;
		return rc;
	}
	if (rc < 0 && !s->failed)
		s->failed = -rc;
	return rc;
}

int ctlrun_write(struct ctlrun *c, struct ctl_session *s, struct proc *p,
		 uid_t uid, const char *buf, size_t size)
{
	size_t used;
	int rc;

	if (s->failed)
		return -s->failed;
	rc = apply(c, p, uid, buf, size, &used);
	return settle(s, rc, uid, buf, size, used);
}

int ctlrun_resume(struct ctlrun *c, struct ctl_session *s, struct proc *p)
{
	char *rest = s->rest;
	size_t used = 0, len = s->rest_len;
	int rc;

	if (proc_starting(p))
		return -EINPROGRESS;
	rc = proc_start_result(p);
	count(c, rc);
	s->rest = NULL;
	s->rest_len = 0;
	if (rc == 0 && rest)
		rc = apply(c, p, s->uid, rest, len, &used);
	rc = settle(s, rc, s->uid, rest ? rest : "", len, used);
	free(rest);
	return rc;
}

/* One word as the ctl tokenizer reads it back. */
static void ctl_word(struct jbuf *b, const char *w)
{
	const char *c;

	if (*w &&
	    strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789_./:=@%+,-") == strlen(w)) {
		jbuf_puts(b, w);
		return;
	}
	jbuf_puts(b, "'");
	for (c = w; *c; c++) {
		if (*c == '\'')
			jbuf_puts(b, "'\\''");
		else
			jbuf_put(b, c, 1);
	}
	jbuf_puts(b, "'");
}

static void ctl_setting_line(struct jbuf *b, const char *cmd, const char *arg)
{
	jbuf_puts(b, cmd);
	jbuf_puts(b, " ");
	ctl_word(b, arg);
	jbuf_puts(b, "\n");
}

static void text_user(const struct run_settings *s, struct jbuf *b)
{
	if (s->opts.run_as && s->opts.run_name)
		ctl_setting_line(b, "user", s->opts.run_name);
}

static void text_cwd(const struct run_settings *s, struct jbuf *b)
{
	if (s->opts.cwd)
		ctl_setting_line(b, "cwd", s->opts.cwd);
}

static void text_env(const struct run_settings *s, struct jbuf *b)
{
	size_t i;

	for (i = 0; i < s->opts.nenv; i++)
		ctl_setting_line(b,
				 strchr(s->opts.env[i], '=') ? "env" : "unset",
				 s->opts.env[i]);
}

static void text_stdin(const struct run_settings *s, struct jbuf *b)
{
	if (s->opts.stdin_pipe)
		jbuf_puts(b, "stdin pipe\n");
}

static void text_pty(const struct run_settings *s, struct jbuf *b)
{
	if (s->opts.pty)
		jbuf_printf(b, "pty %ux%u\n", s->opts.cols, s->opts.rows);
}

static void text_timeout(const struct run_settings *s, struct jbuf *b)
{
	long ms = s->timeout_ms;

	if (ms > 0)
		jbuf_printf(b, "timeout %ld.%03ld\n", ms / 1000, ms % 1000);
}

static void text_memory(const struct run_settings *s, struct jbuf *b)
{
	if (s->limits.memory)
		jbuf_printf(b, "memory %" PRIu64 "\n", s->limits.memory);
}

static void text_cpus(const struct run_settings *s, struct jbuf *b)
{
	unsigned v = s->limits.cpu_permille;

	if (v)
		jbuf_printf(b, "cpus %u.%03u\n", v / 1000, v % 1000);
}

static void text_pids(const struct run_settings *s, struct jbuf *b)
{
	if (s->limits.pids)
		jbuf_printf(b, "pids %" PRIu64 "\n", s->limits.pids);
}

static void text_start(const struct run_settings *s, struct jbuf *b)
{
	size_t i;

	if (s->line) {
		jbuf_printf(b, "start %s\n", s->line);
	} else if (s->argv) {
		jbuf_puts(b, "exec");
		for (i = 0; s->argv[i]; i++) {
			jbuf_puts(b, " ");
			ctl_word(b, s->argv[i]);
		}
		jbuf_puts(b, "\n");
	}
}

static void text_output(const struct run_settings *s, struct jbuf *b)
{
	if (s->keep)
		jbuf_printf(b, "output keep %zu\n", s->keep);
}

/* A duration as restart_delay and restart_limit read it. */
static void text_ms(struct jbuf *b, long ms)
{
	if (ms % 1000)
		jbuf_printf(b, "%ldms", ms);
	else
		jbuf_printf(b, "%lds", ms / 1000);
}

/* The three restart lines, when any differs from its default. */
static void text_restart(const struct run_settings *s, struct jbuf *b)
{
	static const char *const modes[] = {"no", "on-failure", "always"};
	const struct restart_policy *r = &s->restart;

	if (r->mode != RESTART_NO)
		jbuf_printf(b, "restart %s\n", modes[r->mode]);
	if (r->delay_ms != RESTART_DELAY_MS) {
		jbuf_puts(b, "restart_delay ");
		text_ms(b, r->delay_ms);
		jbuf_puts(b, "\n");
	}
	if (r->limit_n != RESTART_LIMIT_N || r->limit_ms != RESTART_LIMIT_MS) {
		jbuf_printf(b, "restart_limit %u/", r->limit_n);
		text_ms(b, r->limit_ms);
		jbuf_puts(b, "\n");
	}
}

void ctlrun_text(const struct run_settings *s, struct jbuf *b)
{
	size_t i;

	for (i = 0; i < sizeof(text_order) / sizeof(text_order[0]); i++)
		rows[text_order[i]].text(s, b);
}

void ctlrun_session_save(const struct ctl_session *s, struct state_w *w)
{
	state_begin(w, STATE_CTL);
	state_i64(w, s->failed);
	state_u64(w, s->uid);
	state_end(w);
}

struct ctl_session *ctlrun_session_load(struct state_r *r)
{
	struct ctl_session *s;

	if (!state_enter(r, STATE_CTL))
		return NULL;
	s = ctlrun_session_new();
	if (!s) {
		state_fail(r, "ctl: out of memory");
		return NULL;
	}
	s->failed = (int)state_get_i64(r);
	s->uid = (uid_t)state_get_u64(r);
	state_leave(r);
	return s;
}
