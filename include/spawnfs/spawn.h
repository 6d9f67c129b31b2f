/*
 * spawn: start one child. It builds the environment, makes the pipes or
 * the terminal, forks, and in the child sets up the hygiene (fds 0-2
 * only, empty signal mask, default dispositions, a new session, the
 * open-file limit, oom_score_adj), switches user, changes directory and
 * execs; a failed step is reported through a CLOEXEC pipe whose end of
 * file means the exec happened. It keeps no slot state: the caller owns
 * the settings and the parent's ends it is handed.
 */
#ifndef SPAWNFS_SPAWN_H
#define SPAWNFS_SPAWN_H

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

/* The settings of a run: a plain record its slot owns and ctl edits. */
struct spawn_opts {
	bool run_as;	/* "user NAME" chose run_uid/run_gid */
	char *run_name; /* the NAME as given, for the read-back */
	uid_t run_uid;
	gid_t run_gid;
	char *cwd;  /* NULL: the user's HOME, else "/" */
	char **env; /* "NAME=VALUE" sets, "NAME" unsets; NULL-terminated */
	size_t nenv;
	bool stdin_pipe; /* else /dev/null */
	bool pty;
	unsigned cols, rows;
};

struct spawner;

/* What every run of a daemon shares (borrowed). */
struct spawn_ctx {
	char *const *env; /* the [env] section's "NAME=VALUE" lines */
	size_t nenv;
	size_t pipe_size;
	const char *pty_term;	     /* TERM of a pty run; NULL: none */
	int oom_score_adj;	     /* CFG_OOM_KERNEL: leave it */
	const struct rlimit *nofile; /* the children's open-file limit, or
					NULL to leave the daemon's */
	struct spawner *spawner;     /* forks the runs; NULL: fork here */
};

/* The account a run executes as; strings point into buf. An id without
 * a passwd entry still runs as that id (with no supplementary groups). */
struct spawn_user {
	uid_t uid;
	gid_t gid;
	struct passwd pw;
	char buf[4096];
	bool found;
};

/* A started child and the parent's ends of what connects it (-1: none).
 * The parent's ends are CLOEXEC; out, err and in are non-blocking. */
struct spawn_child {
	pid_t pid;
	int in;		  /* to the child's stdin: a pipe, or the pty master */
	int out;	  /* from its stdout, or the pty master */
	int err;	  /* from its stderr; -1 on a pty */
	int report;	  /* the exec report, see spawn_report */
	bool joined_late; /* joins its cgroup by cgroup.procs: no clone3 */
	bool at_root;	  /* without cwd, its home was missing: it is in "/" */
	unsigned char got[16]; /* the report's bytes so far */
	unsigned ngot;
};

/* A spawn_child with nothing open. */
#define SPAWN_CHILD_NONE \
	((struct spawn_child){.in = -1, .out = -1, .err = -1, .report = -1})

/* The step a child failed at, as its report says. */
enum spawn_step {
	SPAWN_SETUP = 1,
	SPAWN_CWD,
	SPAWN_USER,
	SPAWN_EXEC,
	SPAWN_OOM,
	SPAWN_CGROUP,
	SPAWN_DIED /* it died (a signal) before it tried exec: ECANCELED */
};

/* The run's account: run_uid/run_gid where o->run_as, else uid/gid. */
void spawn_user_lookup(const struct spawn_opts *o, uid_t uid, gid_t gid,
		       struct spawn_user *u);

/* Length of the NAME part of "NAME=VALUE" or "NAME". */
size_t spawn_env_name_len(const char *e);

/* Put a copy of e into the NULL-terminated *vec of *n entries, replacing
 * an entry with the same name. 0 or -ENOMEM. */
int spawn_env_put(char ***vec, size_t *n, const char *e);

/*
 * The environment of a run (pure): PATH, then HOME, USER, LOGNAME and
 * SHELL of u, then TERM (c's pty_term) for a pty run, then c's [env],
 * then o's env lines (an unset removes the name). NULL-terminated, to free with
 * ctl_argv_free; NULL with errno ENOMEM.
 */
char **spawn_env_build(const struct spawn_ctx *c, const struct spawn_opts *o,
		       const struct spawn_user *u);

/*
 * Fork argv (borrowed) as a new session with o's settings, running as u,
 * in the cgroup whose directory fd is cgroup (-1: stay), which it joins
 * before it runs anything (clone3 CLONE_INTO_CGROUP, else by writing
 * itself into cgroup.procs). The child dies with the daemon
 * (PR_SET_PDEATHSIG, set after the user switch). Returns 0 with ch filled (the
 * report to be read from the loop: the child's chdir or exec may need this very
 * file system), or -errno with nothing left open.
 */
int spawn_start(const struct spawn_ctx *c, const struct spawn_opts *o,
		const struct spawn_user *u, char *const *argv, int cgroup,
		struct spawn_child *ch);

/*
 * Read the exec report, to its end of file. The child writes one byte
 * just before exec, and a record of the failed step if a step (exec
 * included) fails. 1: the marker, then end of file: exec happened; 0:
 * no end of file yet (EAGAIN); -1: the child failed at *step with *err
 * (SPAWN_DIED with ECANCELED: end of file without the marker, the child
 * died before exec), and was reaped. The report fd stays open: its
 * owner deletes its watch, then closes it.
 */
int spawn_report(struct spawn_child *ch, enum spawn_step *step, int *err);

/* Wait for pid, a child that is dying or dead (KILLed, or one that
 * reported a failure), and reap it. */
void spawn_reap(pid_t pid);

/* What a failed step is called in messages ("cwd", "exec"...). */
const char *spawn_step_name(enum spawn_step step);

/* The shell-style status of a start that failed at step with err: 127
 * for exec ENOENT, 126 for other exec errors, 1 for the rest. */
int spawn_fail_status(enum spawn_step step, int err);

/* Close every fd of ch that is open and mark it closed. */
void spawn_child_close(struct spawn_child *ch);

/*
 * The spawner: a process forked while the daemon is small, which makes
 * each run with clone3(CLONE_PARENT) (still the daemon's child), so that
 * a spawn does not copy the daemon's fd table and page tables nor close
 * its fds at exec. spawner_new forks it (NULL with errno); spawn_start
 * uses it through spawn_ctx and forks itself where it cannot (no clone3,
 * a plan over 1 MiB). spawner_free ends and reaps it. Its pid is the
 * daemon's child: an orphan reaper must leave it alone (spawner_pid).
 */
struct spawner *spawner_new(void);
void spawner_free(struct spawner *sp);
pid_t spawner_pid(const struct spawner *sp);
/* spawnfs --spawner FD: serve the requests on the socket FD until the
 * daemon closes it; returns the exit status. */
int spawn_serve(int sock);
/* An upgrade in place: the spawner lives on (its socket inherited). */
struct state_w;
struct state_r;
void spawner_save(const struct spawner *sp, struct state_w *w);
struct spawner *spawner_load(struct state_r *r);

#endif
