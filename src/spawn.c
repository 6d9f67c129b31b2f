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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "spawnfs/config.h"
#include "spawnfs/settings.h"
#include "spawnfs/state.h"
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

static pid_t spawner_fork(struct spawner *sp, const struct child_plan *plan,
			  int cgroup, bool *join);

/* This process's oom_score_adj, or CFG_OOM_KERNEL if unreadable. */
static int self_oom_score_adj(void)
{
	char text[16];
	int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return CFG_OOM_KERNEL;
	text[n] = '\0';
	return atoi(text);
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
	/* Left as the daemon's: the spawner's may differ, pass it on. */
	if (c->spawner && plan.oom_score_adj == CFG_OOM_KERNEL)
		plan.oom_score_adj = self_oom_score_adj();
	f.parent.pid = c->spawner
			       ? spawner_fork(c->spawner, &plan, cgroup, &join)
			       : -ENOSYS;
	if (f.parent.pid == -ENOSYS) {
		f.parent.pid = fork_into(cgroup, &join);
		if (f.parent.pid < 0)
			f.parent.pid = -errno;
		if (join)
			plan.cgroup = cgroup;
		if (f.parent.pid == 0)
			child_run(&plan);
	}
	if (f.parent.pid < 0) {
		rc = f.parent.pid;
		f.parent.pid = 0;
		goto out;
	}
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

/* ---- the spawner: a small process that forks the runs ----
 *
 * fork in a daemon with thousands of runs copies its fd table and page
 * tables, and the exec closes every fd the child inherited: a spawn
 * costs O(fds). The spawner is forked at start, when the daemon is
 * small, keeps no fd but its socket, and makes each run with
 * clone3(CLONE_PARENT): the run is the daemon's own child (its exit
 * status, its death signal, its cgroup) and costs what the first did.
 * A request is one SEQPACKET message: the plan, encoded as a state box,
 * with the child's fds (stdin, stdout, stderr, report, cgroup leaf) as
 * SCM_RIGHTS; the answer is the pid or -errno, and whether the child
 * joins its cgroup itself. -ENOSYS (no clone3: old kernels, valgrind)
 * sends every later run back to the daemon's own fork. The spawner is
 * this program run afresh (spawnfs --spawner 3): small, with a command
 * line of its own. A run gets the daemon's environment, limits and
 * oom_score_adj through the plan; what a plan does not carry (umask,
 * nice value) is the daemon's as it was when the spawner started.
 */

#define SPAWNER_FDS	5
#define SPAWNER_MSG_MAX (1024 * 1024)

struct spawner {
	int sock;
	pid_t pid;
	bool off;	  /* the spawner cannot make runs: the daemon forks */
	uint32_t version; /* of the requests it reads (the state's) */
};

struct spawner_answer {
	int32_t pid; /* or -errno */
	int32_t join;
};

static void plan_encode(struct state_w *w, const struct child_plan *c,
			bool cgroup)
{
	size_t i;

	state_begin(w, STATE_SETTINGS);
	state_u64(w, cgroup);
	state_u64(w, settings_argc(c->argv));
	for (i = 0; c->argv[i]; i++)
		state_str(w, c->argv[i]);
	state_u64(w, settings_argc(c->envp));
	for (i = 0; c->envp[i]; i++)
		state_str(w, c->envp[i]);
	state_str(w, c->cwd);
	state_str(w, c->home);
	state_u64(w, c->user->uid);
	state_u64(w, c->user->gid);
	state_u64(w, c->user->found);
	state_str(w, c->user->found ? c->user->pw.pw_name : NULL);
	state_u64(w, c->switch_user);
	state_i64(w, c->oom_score_adj);
	state_u64(w, c->nofile != NULL);
	state_u64(w, c->nofile ? c->nofile->rlim_cur : 0);
	state_u64(w, c->nofile ? c->nofile->rlim_max : 0);
	state_u64(w, c->pty);
	state_i64(w, c->parent);
	state_end(w);
}

/* The strings of a vector, into a NULL-terminated array of pointers into
 * the message (valid while it is). */
static char **vec_decode(struct state_r *r)
{
	uint64_t n = state_get_u64(r), i;
	char **v;
	const char *p;
	size_t len;

	if (r->err || n > SPAWNER_MSG_MAX)
		return NULL;
	v = calloc((size_t)n + 1, sizeof(char *));
	for (i = 0; v && i < n && !r->err; i++) {
		p = state_get_bytes(r, &len);
		v[i] = strndup(p ? p : "", len);
	}
	return v;
}

/* In the spawner: the plan of a message (fds from the message's). */
static int plan_decode(struct state_r *r, const int *fds, struct child_plan *c,
		       struct spawn_user *u, struct rlimit *nofile, int *cgroup)
{
	char *name;

	memset(c, 0, sizeof(*c));
	memset(u, 0, sizeof(*u));
	if (!state_enter(r, STATE_SETTINGS))
		return -EINVAL;
	*cgroup = state_get_bool(r) ? fds[4] : -1;
	c->argv = vec_decode(r);
	c->envp = vec_decode(r);
	c->cwd = state_get_str(r);
	c->home = state_get_str(r);
	u->uid = (uid_t)state_get_u64(r);
	u->gid = (gid_t)state_get_u64(r);
	u->found = state_get_bool(r);
	name = state_get_str(r);
	if (name && strlen(name) < sizeof(u->buf)) {
		strcpy(u->buf, name);
		u->pw.pw_name = u->buf;
	}
	free(name);
	c->user = u;
	c->switch_user = state_get_bool(r);
	c->oom_score_adj = (int)state_get_i64(r);
	if (state_get_bool(r)) {
		nofile->rlim_cur = (rlim_t)state_get_u64(r);
		nofile->rlim_max = (rlim_t)state_get_u64(r);
		c->nofile = nofile;
	} else {
		state_get_u64(r);
		state_get_u64(r);
	}
	c->pty = state_get_bool(r);
	c->parent = (pid_t)state_get_i64(r);
	state_leave(r);
	if (r->err || !c->argv || !c->argv[0] || !c->envp ||
	    (u->found && !u->pw.pw_name))
		return -EINVAL;
	c->fds[0] = fds[0];
	c->fds[1] = fds[1];
	c->fds[2] = fds[2];
	c->report_fd = fds[3];
	c->cgroup = -1;
	return 0;
}

/* In the spawner: clone3 with CLONE_PARENT, into the cgroup fd. */
static pid_t fork_parent(int cgroup, bool *join)
{
	struct clone_args a;
	long pid;

	*join = false;
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_PARENT;
	if (cgroup >= 0) {
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)cgroup;
	}
	pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid < 0 && cgroup >= 0 && errno == EINVAL) {
		/* No CLONE_INTO_CGROUP here: the child joins by itself. */
		a.flags = CLONE_PARENT;
		a.cgroup = 0;
		pid = syscall(SYS_clone3, &a, sizeof(a));
		*join = pid >= 0;
	}
	return pid < 0 ? -errno : (pid_t)pid;
}

static ssize_t recv_fds(int sock, char *buf, size_t size, int *fds,
			size_t *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SPAWNER_FDS)];
	struct iovec iov = {buf, size};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (cm = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; cm;
	     cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS) {
			*nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(cm), *nfds * sizeof(int));
		}
	}
	return n;
}

int spawn_serve(int sock)
{
	static char buf[SPAWNER_MSG_MAX];
	struct spawner_answer ans;
	struct child_plan plan;
	struct spawn_user user;
	struct rlimit nofile;
	struct state_r r;
	int fds[SPAWNER_FDS];
	size_t nfds, i;
	ssize_t n;
	bool join;
	pid_t pid;
	int cg;

	int type = 0;
	socklen_t tlen = sizeof(type);

	/* Only as the daemon's spawner: fd 3 a socket it holds the other
	 * end of, and a death signal set. */
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    type != SOCK_SEQPACKET || getppid() == 1) {
		fprintf(stderr, "spawnfs: --spawner is the daemon's own\n");
		return 2;
	}
	prctl(PR_SET_NAME, "spawnfs-spawner");
	for (;;) {
		n = recv_fds(sock, buf, sizeof(buf), fds, &nfds);
		if (n <= 0)
			_exit(0); /* the daemon closed its end, or is gone */
		ans = (struct spawner_answer){-EINVAL, 0};
		if (nfds == SPAWNER_FDS &&
		    state_r_init(&r, buf, (size_t)n) == 0 &&
		    plan_decode(&r, fds, &plan, &user, &nofile, &cg) == 0) {
			pid = fork_parent(cg, &join);
			if (pid == 0) {
				/* Until its exec, a copy of the daemon. */
				prctl(PR_SET_NAME, "spawnfs");
				plan.cgroup = join ? cg : -1;
				child_run(&plan);
			}
			ans = (struct spawner_answer){pid, join};
		}
		for (i = 0; i < nfds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (plan.argv)
			ctl_argv_free((char **)plan.argv);
		ctl_argv_free(plan.envp);
		free((char *)plan.cwd);
		free((char *)plan.home);
		memset(&plan, 0, sizeof(plan));
		if (send(sock, &ans, sizeof(ans), MSG_NOSIGNAL) < 0)
			_exit(0);
	}
}

struct spawner *spawner_new(void)
{
	struct spawner *sp;
	int sv[2], big = SPAWNER_MSG_MAX + 4096;

	/* Without clone3 (valgrind has none) the spawner could make no run:
	 * none is started. A size of 0 is EINVAL where clone3 exists. */
	if (syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS)
		return NULL;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(sp);
		return NULL;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	sp->pid = fork();
	if (sp->pid == 0) {
		/* Dies with the daemon; runs this very program afresh (small,
		 * and its own command line), with only its socket (as 3). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(sv[1], 3) < 0)
			_exit(126);
		close_range(4, ~0U, 0);
		execl("/proc/self/exe", "spawnfs", "--spawner", "3",
		      (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (sp->pid < 0) {
		close(sv[0]);
		free(sp);
		return NULL;
	}
	sp->sock = sv[0];
	sp->version = STATE_VERSION;
	return sp;
}

void spawner_free(struct spawner *sp)
{
	if (!sp)
		return;
	close(sp->sock); /* the spawner ends */
	while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(sp);
}

pid_t spawner_pid(const struct spawner *sp)
{
	return sp ? sp->pid : 0;
}

static pid_t spawner_fork(struct spawner *sp, const struct child_plan *plan,
			  int cgroup, bool *join)
{
	int fds[SPAWNER_FDS] = {plan->fds[0], plan->fds[1], plan->fds[2],
				plan->report_fd, cgroup};
	char cbuf[CMSG_SPACE(sizeof(fds))];
	struct spawner_answer ans;
	struct state_w w;
	struct iovec iov = {NULL, 0};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n;
	int nfds = SPAWNER_FDS;

	*join = false;
	if (sp->off)
		return -ENOSYS;
	if (cgroup < 0) /* a placeholder, which the spawner closes */
		fds[4] = plan->fds[0];
	state_w_init(&w);
	plan_encode(&w, plan, cgroup >= 0);
	if (state_w_finish(&w, STATE_VERSION) < 0 || w.len > SPAWNER_MSG_MAX) {
		state_w_fini(&w);
		return -ENOSYS; /* too big for a message: the daemon forks */
	}
	iov.iov_base = w.buf;
	iov.iov_len = w.len;
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	do
		n = sendmsg(sp->sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	state_w_fini(&w);
	do
		n = n < 0 ? -1 : recv(sp->sock, &ans, sizeof(ans), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(ans) || ans.pid == -ENOSYS) {
		sp->off = true;
		return -ENOSYS;
	}
	*join = ans.join && cgroup >= 0;
	return ans.pid;
}

void spawner_save(const struct spawner *sp, struct state_w *w)
{
	state_u64(w, sp != NULL);
	if (!sp)
		return;
	state_fd(w, sp->sock);
	state_i64(w, sp->pid);
	state_u64(w, sp->off);
	state_u64(w, sp->version);
}

struct spawner *spawner_load(struct state_r *r)
{
	struct spawner *sp;

	if (!state_get_bool(r))
		return NULL;
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		state_fail(r, "spawner: out of memory");
		return NULL;
	}
	sp->sock = state_get_fd(r);
	sp->pid = (pid_t)state_get_i64(r);
	sp->off = state_get_bool(r);
	sp->version = (uint32_t)state_get_u64(r);
	if (r->err || sp->sock < 0) {
		free(sp);
		return NULL;
	}
	fcntl(sp->sock, F_SETFD, FD_CLOEXEC);
	if (sp->version != STATE_VERSION) {
		/* It reads another version of the requests: a new one. */
		spawner_free(sp);
		return spawner_new();
	}
	return sp;
}
