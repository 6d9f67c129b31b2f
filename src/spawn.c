/*
 * spawn: the fork and exec of one run. The parent prepares everything
 * the child needs (environment, fds, the account) before fork, so that
 * the child only makes syscalls and reports the first failing step
 * through a CLOEXEC pipe. Owns nothing after spawn_start returns: the
 * parent's ends go to the caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "spawnfs/config.h"
#include "spawnfs/ctl.h"
#include "spawnfs/spawn.h"

struct child_report {
	int step;
	int err;
};

/* The child's last word before exec: in the directory asked for (cwd,
 * or the user's home), or in "/" because the home was not there. */
static const unsigned char spawn_exec_mark = 'x';
static const unsigned char spawn_exec_mark_root = '/';

/* The fds of a start, as they are made. */
struct spawn_fds {
	int child_in, child_out, child_err; /* become 0, 1, 2 */
	int child_report;		    /* the child's end of the report */
	struct spawn_child parent;
};

/* What a child needs, prepared by the parent before fork. */
struct child_plan {
	char *const *argv;
	char **envp;
	const char *cwd;
	const char *home; /* without cwd: the user's home, else "/" */
	int fds[3];	  /* become 0, 1, 2 */
	int report_fd;
	const struct spawn_user *user;
	bool switch_user;
	int oom_score_adj;
	const struct rlimit *nofile;
	bool pty;     /* fds[0] is a terminal to make the controlling one */
	int cgroup;   /* the run's leaf to join by cgroup.procs, or -1 */
	pid_t parent; /* the daemon, for the death signal's check */
};

void spawn_user_lookup(const struct spawn_opts *o, uid_t uid, gid_t gid,
		       struct spawn_user *u)
{
	struct passwd *res = NULL;

	u->uid = o->run_as ? o->run_uid : uid;
	u->gid = o->run_as ? o->run_gid : gid;
	u->found =
		getpwuid_r(u->uid, &u->pw, u->buf, sizeof(u->buf), &res) == 0 &&
		res;
	if (u->found && o->run_as)
		u->gid = u->pw.pw_gid;
}

size_t spawn_env_name_len(const char *e)
{
	const char *eq = strchr(e, '=');

	return eq ? (size_t)(eq - e) : strlen(e);
}

int spawn_env_put(char ***vec, size_t *n, const char *e)
{
	size_t len = spawn_env_name_len(e), i;
	char *copy = strdup(e), **grown;

	if (!copy)
		return -ENOMEM;
	for (i = 0; i < *n; i++) {
		if (spawn_env_name_len((*vec)[i]) == len &&
		    strncmp((*vec)[i], e, len) == 0) {
			free((*vec)[i]);
			(*vec)[i] = copy;
			return 0;
		}
	}
	grown = realloc(*vec, (*n + 2) * sizeof(char *));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	*vec = grown;
	grown[(*n)++] = copy;
	grown[*n] = NULL;
	return 0;
}

/* Drop entries without '=' (the unsets) from a built environment. */
static void env_drop_unsets(char **vec, size_t *n)
{
	size_t i, j = 0;

	for (i = 0; i < *n; i++) {
		if (strchr(vec[i], '='))
			vec[j++] = vec[i];
		else
			free(vec[i]);
	}
	*n = j;
	vec[j] = NULL;
}

/* "NAME=value" into vec, the value bounded. */
static int env_put2(char ***vec, size_t *n, const char *name, const char *v)
{
	char line[4200];

	snprintf(line, sizeof(line), "%s=%s", name, v);
	return spawn_env_put(vec, n, line);
}

char **spawn_env_build(const struct spawn_ctx *c, const struct spawn_opts *o,
		       const struct spawn_user *u)
{
	char **vec = calloc(1, sizeof(char *));
	size_t n = 0, i;
	int rc = vec ? 0 : -ENOMEM;

	rc = rc
		     ?: env_put2(&vec, &n, "PATH",
				 u->uid == 0 ? "/usr/local/sbin:/usr/local/bin:"
					       "/usr/sbin:/usr/bin:/sbin:/bin"
					     : "/usr/local/bin:/usr/bin:/bin");
	if (u->found) {
		rc = rc ?: env_put2(&vec, &n, "HOME", u->pw.pw_dir);
		rc = rc ?: env_put2(&vec, &n, "USER", u->pw.pw_name);
		rc = rc ?: env_put2(&vec, &n, "LOGNAME", u->pw.pw_name);
		rc = rc ?: env_put2(&vec, &n, "SHELL", u->pw.pw_shell);
	}
	if (o->pty && c->pty_term)
		rc = rc ?: env_put2(&vec, &n, "TERM", c->pty_term);
	for (i = 0; i < c->nenv; i++)
		rc = rc ?: spawn_env_put(&vec, &n, c->env[i]);
	for (i = 0; i < o->nenv; i++)
		rc = rc ?: spawn_env_put(&vec, &n, o->env[i]);
	if (rc < 0) {
		ctl_argv_free(vec);
		errno = ENOMEM;
		return NULL;
	}
	env_drop_unsets(vec, &n);
	return vec;
}

static void __attribute__((noreturn)) child_fail(int fd, int step)
{
	struct child_report r = {step, errno};
	ssize_t w;

	do
		w = write(fd, &r, sizeof(r));
	while (w < 0 && errno == EINTR);
	_exit(127);
}

/* In the child: make it, not the daemon, the OOM killer's choice. */
static void child_oom(int report_fd, int adj)
{
	char num[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC), n;

	n = snprintf(num, sizeof(num), "%d", adj);
	if (fd < 0 || write(fd, num, (size_t)n) != n)
		child_fail(report_fd, SPAWN_OOM);
	close(fd);
}

/* In the child: fds 0-2 from c->fds, nothing else open across exec. */
static void child_fds(const struct child_plan *c)
{
	int i, tmp[3];

	/* Move the ends clear of 0..2 first: a source may itself be 0..2. */
	for (i = 0; i < 3; i++) {
		tmp[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, 3);
		if (tmp[i] < 0)
			child_fail(c->report_fd, SPAWN_SETUP);
	}
	for (i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			child_fail(c->report_fd, SPAWN_SETUP);
	if (c->pty && ioctl(0, TIOCSCTTY, 0) < 0)
		child_fail(c->report_fd, SPAWN_SETUP);
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 ||
	    (c->nofile && setrlimit(RLIMIT_NOFILE, c->nofile) < 0))
		child_fail(c->report_fd, SPAWN_SETUP);
}

/* In the child: join the cgroup at dirfd (where clone3 could not put
 * it). 0 or -1 with errno. */
static int write_join(int dirfd)
{
	int fd = openat(dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "0", 1) != 1)
		return -1;
	close(fd);
	return 0;
}

/* In the forked child: never returns. */
static void __attribute__((noreturn)) child_run(const struct child_plan *c)
{
	extern char **environ;
	const struct spawn_user *u = c->user;
	bool at_root = false;
	sigset_t none;
	int i;

	/* First, so that all it does and starts is in its tree. */
	if (c->cgroup >= 0 && write_join(c->cgroup) < 0)
		child_fail(c->report_fd, SPAWN_CGROUP);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	if (setsid() < 0)
		child_fail(c->report_fd, SPAWN_SETUP);
	child_fds(c);
	if (c->oom_score_adj != CFG_OOM_KERNEL)
		child_oom(c->report_fd, c->oom_score_adj);
	/* The user first, so that cwd is checked with the user's rights. */
	if (c->switch_user && ((u->found ? initgroups(u->pw.pw_name, u->gid)
					 : setgroups(0, NULL)) < 0 ||
			       setgid(u->gid) < 0 || setuid(u->uid) < 0))
		child_fail(c->report_fd, SPAWN_USER);
	/* After the user switch, which clears it; the daemon may have died
	 * before it was set. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->parent)
		child_fail(c->report_fd, SPAWN_SETUP);
	if (c->cwd ? chdir(c->cwd) < 0
		   : (!c->home || chdir(c->home) < 0) &&
			     (at_root = true, chdir("/") < 0))
		child_fail(c->report_fd, SPAWN_CWD);
	environ = c->envp;
	/* "exec next": end of file without it is a child that died. */
	if (write(c->report_fd,
		  at_root ? &spawn_exec_mark_root : &spawn_exec_mark, 1) != 1)
		child_fail(c->report_fd, SPAWN_SETUP);
	execvp(c->argv[0], c->argv);
	child_fail(c->report_fd, SPAWN_EXEC);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void spawn_child_close(struct spawn_child *ch)
{
	close_fd(&ch->in);
	close_fd(&ch->out);
	close_fd(&ch->err);
	close_fd(&ch->report);
}

static void fds_close(struct spawn_fds *f)
{
	close_fd(&f->child_in);
	close_fd(&f->child_out);
	close_fd(&f->child_err);
	close_fd(&f->child_report);
	spawn_child_close(&f->parent);
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* A CLOEXEC pipe into *rd and *wr. */
static int pipe_pair(int *rd, int *wr)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	*rd = p[0];
	*wr = p[1];
	return 0;
}

/* A terminal: the child's side becomes 0, 1 and 2; the parent writes
 * stdin to one end of the master and reads output from the other. */
static int make_pty(const struct spawn_opts *o, struct spawn_fds *f)
{
	struct winsize ws = {.ws_row = (unsigned short)o->rows,
			     .ws_col = (unsigned short)o->cols};
	char path[64];
	int m;

	m = f->parent.out = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
	    ptsname_r(m, path, sizeof(path)) != 0 ||
	    ioctl(m, TIOCSWINSZ, &ws) < 0)
		return -errno;
	f->child_in = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (f->child_in < 0)
		return -errno;
	f->child_out = fcntl(f->child_in, F_DUPFD_CLOEXEC, 0);
	f->child_err = fcntl(f->child_in, F_DUPFD_CLOEXEC, 0);
	f->parent.in = fcntl(m, F_DUPFD_CLOEXEC, 0);
	if (f->child_out < 0 || f->child_err < 0 || f->parent.in < 0)
		return -errno;
	return nonblock(m);
}

/* Pipes for stdout and stderr, stdin a pipe or /dev/null. */
static int make_pipes(const struct spawn_ctx *c, const struct spawn_opts *o,
		      struct spawn_fds *f)
{
	int rc;

	if (o->stdin_pipe) {
		rc = pipe_pair(&f->child_in, &f->parent.in);
		if (rc < 0 || (rc = nonblock(f->parent.in)) < 0)
			return rc;
	} else {
		f->child_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (f->child_in < 0)
			return -errno;
	}
	rc = pipe_pair(&f->parent.out, &f->child_out);
	rc = rc ?: pipe_pair(&f->parent.err, &f->child_err);
	rc = rc ?: nonblock(f->parent.out);
	rc = rc ?: nonblock(f->parent.err);
	if (rc < 0)
		return rc;
	/* Best effort: a smaller pipe only costs throughput. */
	fcntl(f->child_out, F_SETPIPE_SZ, (int)c->pipe_size);
	fcntl(f->child_err, F_SETPIPE_SZ, (int)c->pipe_size);
	return 0;
}

static int make_fds(const struct spawn_ctx *c, const struct spawn_opts *o,
		    struct spawn_fds *f)
{
	int rc = o->pty ? make_pty(o, f) : make_pipes(c, o, f);

	rc = rc ?: pipe_pair(&f->parent.report, &f->child_report);
	return rc ?: nonblock(f->parent.report);
}

/*
 * fork, into the cgroup at cgroup (-1: none) where the kernel can:
 * clone3(CLONE_INTO_CGROUP). Where clone3 is missing (old kernels,
 * valgrind) *join tells the child to write itself into cgroup.procs.
 */
static pid_t fork_into(int cgroup, bool *join)
{
	struct clone_args a;
	long pid;

	*join = false;
	if (cgroup < 0)
		return fork();
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_INTO_CGROUP;
	a.exit_signal = SIGCHLD;
	a.cgroup = (uint64_t)cgroup;
	pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != E2BIG))
		return (pid_t)pid;
	*join = true;
	return fork();
}

int spawn_start(const struct spawn_ctx *c, const struct spawn_opts *o,
		const struct spawn_user *u, char *const *argv, int cgroup,
		struct spawn_child *ch)
{
	bool join;

	struct spawn_fds f = {-1, -1, -1, -1, SPAWN_CHILD_NONE};
	struct child_plan plan;
	int rc;

	memset(&plan, 0, sizeof(plan));
	plan.envp = spawn_env_build(c, o, u);
	rc = plan.envp ? make_fds(c, o, &f) : -ENOMEM;
	if (rc < 0)
		goto out;
	plan.argv = argv;
	plan.cwd = o->cwd;
	plan.home = u->found ? u->pw.pw_dir : NULL;
	plan.fds[0] = f.child_in;
	plan.fds[1] = f.child_out;
	plan.fds[2] = f.child_err;
	plan.pty = o->pty;
	plan.report_fd = f.child_report;
	plan.user = u;
	plan.switch_user = geteuid() == 0 && u->uid != 0;
	plan.oom_score_adj = c->oom_score_adj;
	plan.nofile = c->nofile;
	plan.parent = getpid();
	plan.cgroup = -1;
	f.parent.pid = fork_into(cgroup, &join);
	if (join)
		plan.cgroup = cgroup;
	if (f.parent.pid < 0) {
		rc = -errno;
		goto out;
	}
	if (f.parent.pid == 0)
		child_run(&plan);
	f.parent.joined_late = join;
	*ch = f.parent;
	f.parent = SPAWN_CHILD_NONE;
out:
	fds_close(&f);
	ctl_argv_free(plan.envp);
	return rc;
}

/* The report read to its end of file: see spawn_report. */
static int report_parse(struct spawn_child *ch, enum spawn_step *step, int *err)
{
	struct child_report r = {SPAWN_DIED, ECANCELED};
	unsigned off = ch->ngot > 0 && (ch->got[0] == spawn_exec_mark ||
					ch->got[0] == spawn_exec_mark_root);

	ch->at_root = off && ch->got[0] == spawn_exec_mark_root;

	if (off == 1 && ch->ngot == 1)
		return 1;
	if (ch->ngot - off == sizeof(r))
		memcpy(&r, ch->got + off, sizeof(r));
	else if (ch->ngot != 0)
		r = (struct child_report){SPAWN_SETUP, EIO};
	spawn_reap(ch->pid); /* it died, or calls _exit after the report */
	*step = (enum spawn_step)r.step;
	*err = r.err;
	return -1;
}

int spawn_report(struct spawn_child *ch, enum spawn_step *step, int *err)
{
	ssize_t n;

	for (;;) {
		if (ch->ngot == sizeof(ch->got)) {
			kill(ch->pid, SIGKILL); /* more than any report */
			break;
		}
		n = read(ch->report, ch->got + ch->ngot,
			 sizeof(ch->got) - ch->ngot);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			kill(ch->pid, SIGKILL);
			ch->ngot = sizeof(ch->got);
		}
		if (n <= 0)
			break;
		ch->ngot += (unsigned)n;
	}
	return report_parse(ch, step, err);
}

void spawn_reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

const char *spawn_step_name(enum spawn_step step)
{
	switch (step) {
	case SPAWN_CWD:
		return "cwd";
	case SPAWN_USER:
		return "user";
	case SPAWN_EXEC:
		return "exec";
	case SPAWN_OOM:
		return "oom_score_adj for";
	case SPAWN_CGROUP:
		return "cgroup for";
	case SPAWN_DIED:
		return "the child died before exec of";
	default:
		return "spawn";
	}
}

int spawn_fail_status(enum spawn_step step, int err)
{
	if (step != SPAWN_EXEC)
		return 1;
	return err == ENOENT ? 127 : 126;
}
