/*
 * ctlrun: what a ctl line does to a slot (the parser, ctl.c, stays
 * pure). Settings lines edit the next run's settings (EBUSY while a run
 * is going), action lines go to proc; the read-back renders the lines
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
#include "spawnfs/spawn.h"

#define CTLRUN_ENV_MAX	 1024	      /* env lines kept per slot */
#define CTLRUN_ENV_BYTES (256 * 1024) /* and their bytes together */

static char **argv_dup(char *const *argv, size_t argc)
{
	char **copy = calloc(argc + 1, sizeof(char *));
	size_t i;

	if (!copy)
		return NULL;
	for (i = 0; i < argc; i++) {
		copy[i] = strdup(argv[i]);
		if (!copy[i]) {
			ctl_argv_free(copy);
			return NULL;
		}
	}
	return copy;
}

static int ctl_start(struct ctlrun *c, struct proc *p, const struct ctl_line *l)
{
	char *sh[] = {c->shell, "-c", l->arg};
	char **argv, *line = NULL;

	if (l->cmd == CTL_START) {
		argv = argv_dup(sh, 3);
		line = strdup(l->arg);
		if (!line) {
			ctl_argv_free(argv);
			return -ENOMEM;
		}
	} else {
		argv = argv_dup(l->argv, l->argc);
	}
	if (!argv) {
		free(line);
		return -ENOMEM;
	}
	return proc_start(p, argv, line);
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

/* "env -": the slot's env and unset lines go. */
static int env_clear(struct spawn_opts *o)
{
	char **empty = calloc(1, sizeof(char *));

	if (!empty)
		return -ENOMEM;
	ctl_argv_free(o->env);
	o->env = empty;
	o->nenv = 0;
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

static int set_cwd(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		   uid_t uid)
{
	struct spawn_opts *o = proc_opts(p);
	char *copy = strdup(l->arg);

	(void)c;
	(void)uid;
	if (!copy)
		return -ENOMEM;
	free(o->cwd);
	o->cwd = copy;
	return 0;
}

static int set_env(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		   uid_t uid)
{
	struct spawn_opts *o = proc_opts(p);
	int rc = env_limit(o, l->arg);

	(void)c;
	(void)uid;
	return rc ?: spawn_env_put(&o->env, &o->nenv, l->arg);
}

static int set_env_clear(struct ctlrun *c, struct proc *p,
			 const struct ctl_line *l, uid_t uid)
{
	(void)c;
	(void)l;
	(void)uid;
	return env_clear(proc_opts(p));
}

static int set_user(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		    uid_t uid)
{
	(void)c;
	return ctl_user(proc_opts(p), l->arg, uid);
}

static int set_stdin(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		     uid_t uid)
{
	(void)c;
	(void)uid;
	proc_opts(p)->stdin_pipe = l->num == 1;
	return 0;
}

static int set_pty(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		   uid_t uid)
{
	struct spawn_opts *o = proc_opts(p);

	(void)c;
	(void)uid;
	o->pty = l->num == 1;
	if (o->pty) {
		o->cols = l->cols;
		o->rows = l->rows;
	}
	return 0;
}

static int set_timeout(struct ctlrun *c, struct proc *p,
		       const struct ctl_line *l, uid_t uid)
{
	(void)c;
	(void)uid;
	proc_set_timeout(p, l->ms);
	return 0;
}

/* The limit a limit line sets. */
static enum proc_limit limit_of(enum ctl_cmd cmd)
{
	return cmd == CTL_MEMORY ? PROC_LIMIT_MEMORY
	       : cmd == CTL_CPUS ? PROC_LIMIT_CPU
				 : PROC_LIMIT_PIDS;
}

static int set_limit(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		     uid_t uid)
{
	(void)c;
	(void)uid;
	return proc_set_limit(p, limit_of(l->cmd), l->value);
}

static int do_start(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		    uid_t uid)
{
	(void)uid;
	return ctl_start(c, p, l);
}

static int do_signal(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		     uid_t uid)
{
	(void)c;
	(void)uid;
	return proc_signal(p, l->cmd == CTL_KILL ? SIGKILL : l->num);
}

static int do_stop(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		   uid_t uid)
{
	(void)c;
	(void)uid;
	return proc_stop(p, l->ms);
}

static int do_eof(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		  uid_t uid)
{
	(void)c;
	(void)l;
	(void)uid;
	return proc_eof(p);
}

static int do_resize(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		     uid_t uid)
{
	(void)c;
	(void)uid;
	return proc_resize(p, l->cols, l->rows);
}

static int do_freeze(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		     uid_t uid)
{
	(void)c;
	(void)uid;
	return proc_freeze(p, l->cmd == CTL_FREEZE);
}

static void text_user(struct proc *p, struct jbuf *b);
static void text_cwd(struct proc *p, struct jbuf *b);
static void text_env(struct proc *p, struct jbuf *b);
static void text_stdin(struct proc *p, struct jbuf *b);
static void text_pty(struct proc *p, struct jbuf *b);
static void text_timeout(struct proc *p, struct jbuf *b);
static void text_memory(struct proc *p, struct jbuf *b);
static void text_cpus(struct proc *p, struct jbuf *b);
static void text_pids(struct proc *p, struct jbuf *b);
static void text_start(struct proc *p, struct jbuf *b);

/*
 * What each command does. apply runs it (0 or -errno); idle: a setting
 * for the next run, refused with EBUSY while something of a run lives;
 * controller: the one the line needs, named in status.error when it is
 * missing; text: its read-back, NULL for actions and for the commands
 * another row reads back (env covers unset and "env -", start covers
 * exec).
 */
struct ctl_row {
	int (*apply)(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		     uid_t uid);
	bool idle;
	const char *controller;
	void (*text)(struct proc *p, struct jbuf *b);
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
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* The read-back's order: the user first, the other settings, the
 * limits, then the start, which must come last. */
static const enum ctl_cmd text_order[] = {
	CTL_USER,    CTL_CWD,	 CTL_ENV,  CTL_STDIN, CTL_PTY,
	CTL_TIMEOUT, CTL_MEMORY, CTL_CPUS, CTL_PIDS,  CTL_START,
};

static const struct ctl_row *row_of(enum ctl_cmd cmd)
{
	return (unsigned)cmd < NROWS && rows[cmd].apply ? &rows[cmd] : NULL;
}

static int ctl_run(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		   uid_t uid)
{
	const struct ctl_row *row = row_of(l->cmd);

	if (!row)
		return -EOPNOTSUPP;
	if (proc_starting(p) || (row->idle && proc_tree_busy(p)))
		return -EBUSY;
	return row->apply(c, p, l, uid);
}

/* status.error for a failed line; a missing controller is named. */
static void ctl_error(struct proc *p, const struct ctl_line *l,
		      const char *text, size_t len, int err)
{
	const struct ctl_row *row = row_of(l->cmd);
	const char *ctrl = row ? row->controller : NULL;
	char after[64];

	if (err != EOPNOTSUPP || !ctrl) {
		proc_set_error(p, "", text, len, "", err);
		return;
	}
	snprintf(after, sizeof(after), " (no %s controller for the runs)",
		 ctrl);
	proc_set_error(p, "", text, len, after, err);
}

/* Apply one parsed line (text, len as written, for status.error). */
static int ctlrun_line(struct ctlrun *c, struct proc *p,
		       const struct ctl_line *l, uid_t uid, const char *text,
		       size_t len)
{
	int rc = ctl_run(c, p, l, uid);

	if ((rc == 0 || rc == -EINPROGRESS || l->cmd == CTL_START ||
	     l->cmd == CTL_EXEC) &&
	    c->touched)
		c->touched(c->arg, p);
	/* A start that failed in the child has already described itself. */
	if (rc < 0 && !((l->cmd == CTL_START || l->cmd == CTL_EXEC) &&
			rc != -EBUSY && rc != -ENOMEM))
		ctl_error(p, l, text, len, -rc);
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
	struct ctl_line l;
	const char *line;
	size_t pos = 0, len;
	int rc = 0;

	*used = 0;
	if (c->stopping)
		return -ESHUTDOWN;
	if (proc_removed(p))
		return -ENOENT;
	while (rc == 0 && ctl_next_line(buf, size, &pos, &line, &len)) {
		rc = ctl_parse_line(line, len, &l);
		if (rc < 0) {
			parse_error(p, line, len, -rc);
			break;
		}
		rc = ctlrun_line(c, p, &l, uid, line, len);
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

static void text_user(struct proc *p, struct jbuf *b)
{
	const struct spawn_opts *o = proc_opts(p);

	if (o->run_as && o->run_name)
		ctl_setting_line(b, "user", o->run_name);
}

static void text_cwd(struct proc *p, struct jbuf *b)
{
	const struct spawn_opts *o = proc_opts(p);

	if (o->cwd)
		ctl_setting_line(b, "cwd", o->cwd);
}

static void text_env(struct proc *p, struct jbuf *b)
{
	const struct spawn_opts *o = proc_opts(p);
	size_t i;

	for (i = 0; i < o->nenv; i++)
		ctl_setting_line(b, strchr(o->env[i], '=') ? "env" : "unset",
				 o->env[i]);
}

static void text_stdin(struct proc *p, struct jbuf *b)
{
	if (proc_opts(p)->stdin_pipe)
		jbuf_puts(b, "stdin pipe\n");
}

static void text_pty(struct proc *p, struct jbuf *b)
{
	const struct spawn_opts *o = proc_opts(p);

	if (o->pty)
		jbuf_printf(b, "pty %ux%u\n", o->cols, o->rows);
}

static void text_timeout(struct proc *p, struct jbuf *b)
{
	long ms = proc_timeout(p);

	if (ms > 0)
		jbuf_printf(b, "timeout %ld.%03ld\n", ms / 1000, ms % 1000);
}

static void text_memory(struct proc *p, struct jbuf *b)
{
	uint64_t v = proc_limit(p, PROC_LIMIT_MEMORY);

	if (v)
		jbuf_printf(b, "memory %" PRIu64 "\n", v);
}

static void text_cpus(struct proc *p, struct jbuf *b)
{
	uint64_t v = proc_limit(p, PROC_LIMIT_CPU);

	if (v)
		jbuf_printf(b, "cpus %" PRIu64 ".%03" PRIu64 "\n", v / 1000,
			    v % 1000);
}

static void text_pids(struct proc *p, struct jbuf *b)
{
	uint64_t v = proc_limit(p, PROC_LIMIT_PIDS);

	if (v)
		jbuf_printf(b, "pids %" PRIu64 "\n", v);
}

static void text_start(struct proc *p, struct jbuf *b)
{
	const char *line = proc_start_line(p);
	char *const *argv = proc_argv(p);
	size_t i;

	if (line) {
		jbuf_printf(b, "start %s\n", line);
	} else if (argv) {
		jbuf_puts(b, "exec");
		for (i = 0; argv[i]; i++) {
			jbuf_puts(b, " ");
			ctl_word(b, argv[i]);
		}
		jbuf_puts(b, "\n");
	}
}

void ctlrun_text(struct proc *p, struct jbuf *b)
{
	size_t i;

	for (i = 0; i < sizeof(text_order) / sizeof(text_order[0]); i++)
		rows[text_order[i]].text(p, b);
}
