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

/* Settings lines change the next run only. */
static int ctl_setting(struct proc *p, const struct ctl_line *l, uid_t writer)
{
	struct spawn_opts *o = proc_opts(p);
	char *copy;
	int rc;

	if (proc_tree_busy(p))
		return -EBUSY;
	switch (l->cmd) {
	case CTL_CWD:
		copy = strdup(l->arg);
		if (!copy)
			return -ENOMEM;
		free(o->cwd);
		o->cwd = copy;
		return 0;
	case CTL_ENV:
	case CTL_UNSET:
		rc = env_limit(o, l->arg);
		return rc ?: spawn_env_put(&o->env, &o->nenv, l->arg);
	case CTL_USER:
		return ctl_user(o, l->arg, writer);
	case CTL_ENV_CLEAR:
		return env_clear(o);
	case CTL_STDIN:
		o->stdin_pipe = l->num == 1;
		return 0;
	case CTL_TIMEOUT:
		proc_set_timeout(p, l->ms);
		return 0;
	case CTL_PTY:
		o->pty = l->num == 1;
		if (o->pty) {
			o->cols = l->cols;
			o->rows = l->rows;
		}
		return 0;
	case CTL_MEMORY:
		return proc_set_limit(p, PROC_LIMIT_MEMORY, l->value);
	case CTL_CPUS:
		return proc_set_limit(p, PROC_LIMIT_CPU, l->value);
	case CTL_PIDS:
		return proc_set_limit(p, PROC_LIMIT_PIDS, l->value);
	default:
		return -EOPNOTSUPP;
	}
}

static int ctl_run(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		   uid_t uid)
{
	if (proc_starting(p))
		return -EBUSY;
	switch (l->cmd) {
	case CTL_START:
	case CTL_EXEC:
		return ctl_start(c, p, l);
	case CTL_SIGNAL:
		return proc_signal(p, l->num);
	case CTL_KILL:
		return proc_signal(p, SIGKILL);
	case CTL_STOP:
		return proc_stop(p, l->ms);
	case CTL_EOF:
		return proc_eof(p);
	case CTL_RESIZE:
		return proc_resize(p, l->cols, l->rows);
	case CTL_FREEZE:
	case CTL_THAW:
		return proc_freeze(p, l->cmd == CTL_FREEZE);
	case CTL_MEMORY:
	case CTL_CPUS:
	case CTL_PIDS:
	case CTL_CWD:
	case CTL_ENV:
	case CTL_UNSET:
	case CTL_STDIN:
	case CTL_TIMEOUT:
	case CTL_PTY:
	case CTL_USER:
	case CTL_ENV_CLEAR:
		return ctl_setting(p, l, uid);
	default:
		return -EOPNOTSUPP;
	}
}

/* The controller a limit line needs, NULL for other lines. */
static const char *ctl_controller(const struct ctl_line *l)
{
	switch (l->cmd) {
	case CTL_MEMORY:
		return "memory";
	case CTL_CPUS:
		return "cpu";
	case CTL_PIDS:
		return "pids";
	case CTL_FREEZE:
	case CTL_THAW:
		return "cgroup2";
	default:
		return NULL;
	}
}

/* status.error for a failed line; a missing controller is named. */
static void ctl_error(struct proc *p, const struct ctl_line *l,
		      const char *text, size_t len, int err)
{
	const char *ctrl = ctl_controller(l);
	char after[64];

	if (err != EOPNOTSUPP || !ctrl) {
		proc_set_error(p, "", text, len, "", err);
		return;
	}
	snprintf(after, sizeof(after), " (no %s controller for the runs)",
		 ctrl);
	proc_set_error(p, "", text, len, after, err);
}

int ctlrun_line(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		uid_t uid, const char *text, size_t len)
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

static void ctl_limits_text(struct proc *p, struct jbuf *b)
{
	uint64_t v;

	if ((v = proc_limit(p, PROC_LIMIT_MEMORY)))
		jbuf_printf(b, "memory %" PRIu64 "\n", v);
	if ((v = proc_limit(p, PROC_LIMIT_CPU)))
		jbuf_printf(b, "cpus %" PRIu64 ".%03" PRIu64 "\n", v / 1000,
			    v % 1000);
	if ((v = proc_limit(p, PROC_LIMIT_PIDS)))
		jbuf_printf(b, "pids %" PRIu64 "\n", v);
}

void ctlrun_text(struct proc *p, struct jbuf *b)
{
	const struct spawn_opts *o = proc_opts(p);
	const char *line = proc_start_line(p);
	char *const *argv = proc_argv(p);
	long ms = proc_timeout(p);
	size_t i;

	if (o->run_as && o->run_name)
		ctl_setting_line(b, "user", o->run_name);
	if (o->cwd)
		ctl_setting_line(b, "cwd", o->cwd);
	for (i = 0; i < o->nenv; i++)
		ctl_setting_line(b, strchr(o->env[i], '=') ? "env" : "unset",
				 o->env[i]);
	if (o->stdin_pipe)
		jbuf_puts(b, "stdin pipe\n");
	if (o->pty)
		jbuf_printf(b, "pty %ux%u\n", o->cols, o->rows);
	if (ms > 0)
		jbuf_printf(b, "timeout %ld.%03ld\n", ms / 1000, ms % 1000);
	ctl_limits_text(p, b);
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
