/*
 * proc: one process slot and its runs, as the state machine of README
 * "status and wait" (new, running, stopped, exited, killed, failed). A run
 * starts through spawn, its leader is watched by child, its output pumped into
 * the logs by pump and its events fed by evfeed; it is over only when
 * its leader was reaped AND every output pipe reached end of file or was
 * cut, in either order, and proc_end is the one way to bring it there.
 * Owns: the logs, the copy of the settings the run started with, and the
 * run's leader, stdin, tree, timers and outcome.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include "spawnfs/child.h"
#include "spawnfs/evfeed.h"
#include "spawnfs/input.h"
#include "spawnfs/leader.h"
#include "spawnfs/log.h"
#include "spawnfs/outcome.h"
#include "spawnfs/proc.h"
#include "spawnfs/pump.h"
#include "spawnfs/restart.h"
#include "spawnfs/spawn.h"
#include "spawnfs/state.h"
#include "spawnfs/tree.h"

#define PROC_FDS_SPARE 32 /* fds kept apart from the capacity */

struct proc_ctx {
	struct loop *loop;
	const struct cfg *cfg;
	const struct proc_hooks *hooks;
	void *arg;
	unsigned nbusy;		     /* slots with a run not over */
	uint64_t runs_started;	     /* runs whose exec succeeded */
	uint64_t runs_failed;	     /* and starts that failed */
	struct child_set *children;  /* the runs' leaders */
	const struct rlimit *nofile; /* the children's open-file limit */
	struct tree_set *trees;	     /* every run's process tree */
	struct spawner *spawner;     /* forks the runs, made at the first */
	bool spawner_tried;
	uint64_t capacity; /* runs the open-file limit allows */
	bool said_join;	   /* logged how children join */
};

struct proc {
	struct proc_ctx *ctx;
	unsigned refs;
	char *name;
	uint64_t id;
	uid_t uid;
	gid_t gid;
	/* the current or last run */
	struct run_settings run; /* its settings (a copy), argv included */
	struct outcome out;	 /* its state and result */
	struct leader *leader;	 /* its start, then its leader until reaped */
	struct pump *pump;	 /* the run's output pipes */
	struct input *in;	 /* its stdin */
	struct loop_timer kill_timer, life_timer; /* stop's KILL, timeout */
	struct tree *tree;	 /* the run's process tree, until the next */
	uint64_t runs;		 /* runs started: names the next tree */
	struct restart_state rs; /* the restart policy's chain */
	struct loop_timer restart_timer; /* its delay */
	bool restarting;		 /* between two runs of the policy */
	bool restart_due;		 /* the delay is over */
	uint64_t run_ms0;		 /* the run's exec, monotonic */
	char *home;		 /* the run's user's home, for status.cwd */
	struct timespec t_state; /* the last state change (or the making) */
	const char *cwd_in; /* without cwd: where the run started (home, /) */
	struct stream *logs[LOGS_N];
	bool removed, counted;
	bool end_fed;	     /* the run's end event is in */
	bool closed;	     /* every log ended: removed, or the daemon stops */
	struct evfeed *feed; /* what feeds the events log */
	int start_rc;
	void *data; /* the owner's */
};

static void reap_orphans(void *children)
{
	child_set_orphans(children);
}

struct proc_ctx *proc_ctx_new(struct loop *loop, const struct cfg *cfg,
			      const struct proc_hooks *hooks, void *arg,
			      const struct rlimit *nofile,
			      struct cgroup_root *cg)
{
	struct proc_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	*ctx = (struct proc_ctx){.loop = loop,
				 .cfg = cfg,
				 .hooks = hooks,
				 .arg = arg,
				 .nofile = nofile};
	ctx->children = child_set_new(loop);
	ctx->trees = ctx->children ? tree_set_new(loop, cg) : NULL;
	if (!ctx->trees) {
		child_set_free(ctx->children);
		free(ctx);
		errno = ENOMEM;
		return NULL;
	}
	tree_set_reaper(ctx->trees, reap_orphans, ctx->children);
	return ctx;
}

void proc_ctx_free(struct proc_ctx *ctx)
{
	if (!ctx)
		return;
	tree_set_free(ctx->trees); /* the last runs may end from here */
	spawner_free(ctx->spawner);
	child_set_free(ctx->children);
	free(ctx);
}

/* The fds open now. */
static unsigned fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the dir's own fd */
}

void proc_ctx_started(struct proc_ctx *ctx)
{
	struct rlimit r;
	uint64_t base;

	if (ctx->spawner_tried)
		return;
	ctx->spawner_tried = true;
	ctx->spawner = spawner_new();
	if (!ctx->spawner)
		log_info("spawn: runs are forked by the daemon itself");
	/* A running slot holds its two pipes (a pty its master twice, a
	 * stdin pipe one more); what the daemon holds now stays, and a few
	 * are kept for the moments between (a start's pipes, a leaf open). */
	base = fds_open() + PROC_FDS_SPARE;
	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur > base)
		ctx->capacity = (r.rlim_cur - base) / 2;
}

unsigned proc_ctx_busy(const struct proc_ctx *ctx)
{
	return ctx->nbusy;
}

void proc_ctx_metrics(const struct proc_ctx *ctx, struct metrics_view *v)
{
	v->runs_started = ctx->runs_started;
	v->capacity = ctx->capacity;
	v->runs_failed = ctx->runs_failed;
	v->processes = tree_set_processes(ctx->trees);
	v->orphans = child_set_orphans_reaped(ctx->children);
	v->cpu_usec = tree_set_cpu_usec(ctx->trees);
}

static void pump_settled(void *arg);
static void stdin_ready(void *arg);
static void run_launched(void *arg, struct spawn_child *ch, bool ok,
			 enum spawn_step step, int err);
static void proc_reaped(void *arg, const siginfo_t *si);
static void kill_expired(void *arg);
static void life_expired(void *arg);
static void restart_expired(void *arg);
static void restart_try(struct proc *p);

static const struct pump_hooks pump_hooks = {
	.settled = pump_settled,
};

static const struct leader_hooks leader_hooks = {
	.launched = run_launched,
	.exited = proc_reaped,
};

/* A range of an output log left its window unread (output keep). */
static void log_skipped(struct proc *p, unsigned log, uint64_t from,
			uint64_t to)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_skip(p->feed, &now, log, from, to);
}

static void stdout_skipped(void *arg, uint64_t from, uint64_t to)
{
	log_skipped(arg, LOGS_STDOUT, from, to);
}

static void stderr_skipped(void *arg, uint64_t from, uint64_t to)
{
	log_skipped(arg, LOGS_STDERR, from, to);
}

struct proc *proc_new(struct proc_ctx *ctx, const char *name, uint64_t id,
		      uid_t uid, gid_t gid, void *data)
{
	struct proc *p = calloc(1, sizeof(*p));
	int i;

	if (!p)
		return NULL;
	p->ctx = ctx;
	p->refs = 1;
	p->id = id;
	p->uid = uid;
	p->gid = gid;
	p->data = data;
	outcome_init(&p->out);
	clock_gettime(CLOCK_REALTIME, &p->t_state);
	loop_timer_init(&p->kill_timer, ctx->loop, kill_expired, p);
	loop_timer_init(&p->life_timer, ctx->loop, life_expired, p);
	loop_timer_init(&p->restart_timer, ctx->loop, restart_expired, p);
	p->name = strdup(name);
	if (!p->name || settings_init(&p->run) < 0)
		goto fail;
	for (i = 0; i < LOGS_N; i++) {
		p->logs[i] = stream_new(ctx->cfg->buffer_size);
		if (!p->logs[i])
			goto fail;
	}
	stream_set_lines(p->logs[LOGS_EVENTS]);
	stream_on_skip(p->logs[LOGS_STDOUT], stdout_skipped, p);
	stream_on_skip(p->logs[LOGS_STDERR], stderr_skipped, p);
	p->feed = evfeed_new(p->logs[LOGS_EVENTS], p->logs,
			     ctx->cfg->buffer_size / 16, ctx->cfg->events_off);
	if (!p->feed)
		goto fail;
	p->pump = pump_new(ctx->loop, ctx->cfg, p->logs, p->feed, p->name,
			   &pump_hooks, p);
	p->in = input_new(ctx->loop, stdin_ready, p);
	p->leader =
		leader_new(ctx->loop, ctx->children, p->name, &leader_hooks, p);
	if (!p->pump || !p->in || !p->leader)
		goto fail;
	return p;
fail:
	proc_unref(p);
	errno = ENOMEM;
	return NULL;
}

void proc_ref(struct proc *p)
{
	p->refs++;
}

void proc_unref(struct proc *p)
{
	int i;

	if (!p || --p->refs > 0)
		return;
	loop_timer_stop(&p->kill_timer);
	loop_timer_stop(&p->life_timer);
	loop_timer_stop(&p->restart_timer);
	restart_fini(&p->rs);
	for (i = 0; i < LOGS_N; i++)
		stream_free(p->logs[i]);
	settings_fini(&p->run);
	free(p->home);
	outcome_fini(&p->out);
	leader_free(p->leader);
	input_free(p->in);
	pump_free(p->pump);
	evfeed_free(p->feed);
	tree_free(p->tree);
	free(p->name);
	free(p);
}

const char *proc_name(const struct proc *p)
{
	return p->name;
}

uint64_t proc_id(const struct proc *p)
{
	return p->id;
}

uid_t proc_uid(const struct proc *p)
{
	return p->uid;
}

gid_t proc_gid(const struct proc *p)
{
	return p->gid;
}

struct stream *proc_log(const struct proc *p, enum logs_id log)
{
	return p->logs[log];
}

void *proc_data(const struct proc *p)
{
	return p->data;
}

bool proc_busy(const struct proc *p)
{
	return proc_running(p) || pump_open(p->pump) ||
	       tree_populated(p->tree) || p->restarting;
}

bool proc_removed(const struct proc *p)
{
	return p->removed;
}

int proc_wait_status(const struct proc *p)
{
	return p->restarting ? -1 : outcome_wait_status(&p->out);
}

/* The run is over as far as wait can tell: answer it, unless the policy
 * starts the run again (then wait answers when the slot ends for good).
 * A stop, kill or shutdown asked of the run ends the policy. */
static void run_ended(struct proc *p)
{
	const char *why = p->out.reason;

	clock_gettime(CLOCK_REALTIME, &p->t_state);
	uint64_t now = loop_now_ms();
	uint64_t ran = p->out.state == OUTCOME_FAILED ? 0 : now - p->run_ms0;
	long delay = 0;

	if (why && strcmp(why, "exit") && strcmp(why, "signal") &&
	    strcmp(why, "timeout"))
		restart_end(&p->rs, why);
	else if (!p->closed)
		delay = restart_next(&p->rs, &p->run.restart,
				     p->out.wstatus != 0, ran, now);
	if (delay > 0) {
		p->restarting = true;
		loop_timer_arm(&p->restart_timer, (uint64_t)delay);
		return;
	}
	if (p->ctx->hooks->ended)
		p->ctx->hooks->ended(p->ctx->arg, p);
}

/* Stop restarting for why (stop, kill, rmdir, shutdown); wait answers
 * (told: the ended hook fires here). False when not restarting. */
static bool restart_cancel(struct proc *p, const char *why, bool tell)
{
	if (!p->restarting)
		return false;
	loop_timer_stop(&p->restart_timer);
	p->restarting = p->restart_due = false;
	clock_gettime(CLOCK_REALTIME, &p->t_state);
	restart_end(&p->rs, why);
	if (tell && p->ctx->hooks->ended)
		p->ctx->hooks->ended(p->ctx->arg, p);
	return true;
}

/* The delay is over: what is left of the last run's tree is killed, and
 * the run starts again once it is gone. */
static void restart_expired(void *arg)
{
	struct proc *p = arg;

	p->restart_due = true;
	if (tree_populated(p->tree))
		tree_signal(p->tree, SIGKILL);
	restart_try(p);
}

/* Every log ends (the events log once the lines waiting for room are in)
 * and wait has its answer, with or without a status. */
static void proc_end_logs(struct proc *p)
{
	int i;

	for (i = 0; i < LOGS_N; i++) {
		if (i == LOGS_EVENTS) {
			evfeed_finish(p->feed);
			continue;
		}
		stream_finish(p->logs[i]);
	}
	if (p->ctx->hooks->ended)
		p->ctx->hooks->ended(p->ctx->arg, p);
}

void proc_remove(struct proc *p)
{
	restart_cancel(p, "rmdir", false);
	proc_end(p, PROC_END_KILL);
	p->removed = p->closed = true;
	proc_end_logs(p);
	proc_unref(p);
}

void proc_close(struct proc *p)
{
	restart_cancel(p, "shutdown", false);
	p->closed = true;
	proc_end_logs(p);
}

bool proc_closed(const struct proc *p)
{
	return p->closed;
}

void proc_set_error(struct proc *p, const char *before, const char *line,
		    size_t len, const char *after, int err)
{
	outcome_set_error_in(&p->out, before, line, len, after, err);
}

void proc_events_sync(struct proc *p)
{
	evfeed_sync(p->feed);
}

uint64_t proc_log_bytes(struct proc *p, enum logs_id log)
{
	if (log == LOGS_EVENTS)
		return evfeed_size(p->feed);
	return stream_head(p->logs[log]);
}

uint64_t proc_retained(struct proc *p, enum logs_id log)
{
	if (log == LOGS_EVENTS)
		evfeed_sync(p->feed);
	return stream_head(p->logs[log]) - stream_tail(p->logs[log]);
}

int proc_snapshot(struct proc *p, enum logs_id log, struct jbuf *b, size_t max)
{
	struct stream *s = p->logs[log];
	uint64_t n = proc_retained(p, log);
	struct iovec iov[2];
	size_t got;
	int cnt, i;

	if (n > max)
		return -ENOMEM;
	cnt = stream_peek(s, stream_tail(s), (size_t)n, iov, &got);
	for (i = 0; i < cnt; i++)
		jbuf_put(b, iov[i].iov_base, iov[i].iov_len);
	return b->oom ? -ENOMEM : 0;
}

/* The leader is reaped and every pipe at end of file or cut: the run's
 * end event (once). A run is over once nothing of its tree lives too. */
static void proc_run_done(struct proc *p)
{
	struct timespec now;

	if (leader_alive(p->leader) || pump_open(p->pump))
		return;
	if (p->counted && !p->end_fed) {
		p->end_fed = true;
		clock_gettime(CLOCK_REALTIME, &now);
		evfeed_end(p->feed, &now, p->out.exit_code,
			   outcome_signal_name(&p->out), p->out.wstatus,
			   p->out.reason);
	}
	if (tree_populated(p->tree))
		return;
	loop_timer_stop(&p->kill_timer);
	loop_timer_stop(&p->life_timer);
	if (!p->counted)
		return;
	p->counted = false;
	if (p->ctx->hooks->done)
		p->ctx->hooks->done(p->ctx->arg, p);
	if (--p->ctx->nbusy == 0 && p->ctx->hooks->idle)
		p->ctx->hooks->idle(p->ctx->arg);
	proc_unref(p);
}

void proc_update(struct proc *p)
{
	struct timespec now;

	if (evfeed_waiting(p->feed)) {
		clock_gettime(CLOCK_REALTIME, &now);
		evfeed_flush(p->feed, &now);
	}
	pump_update(p->pump);
}

static void pump_settled(void *arg)
{
	struct proc *p = arg;

	proc_ref(p);
	proc_update(p);
	proc_run_done(p);
	restart_try(p);
	proc_unref(p);
}

/* stdin became writable, or was closed. */
static void stdin_ready(void *arg)
{
	struct proc *p = arg;

	if (p->ctx->hooks->stdin_ready)
		p->ctx->hooks->stdin_ready(p->ctx->arg, p);
}

ssize_t proc_stdin_write(struct proc *p, const void *buf, size_t n)
{
	return input_write(p->in, buf, n);
}

/* The leader was reaped: nothing feeds its stdin any more; a timeout
 * stays for what is left of its tree. */
static void proc_reaped(void *arg, const siginfo_t *si)
{
	struct proc *p = arg;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	outcome_reaped(&p->out, &now, si->si_code, si->si_status);
	input_close(p->in);
	log_debug("proc %s: pid %d ended, status %d", p->name,
		  (int)leader_pid(p->leader), p->out.wstatus);
	pump_exited(p->pump);
	run_ended(p);
	proc_ref(p);
	tree_leader_gone(p->tree); /* may end the run */
	proc_run_done(p);
	restart_try(p);
	proc_unref(p);
}

/* Nothing of the run's tree is alive any more. */
static void tree_emptied(void *arg)
{
	struct proc *p = arg;

	proc_ref(p);
	proc_update(p);
	proc_run_done(p);
	restart_try(p);
	proc_unref(p);
}

void proc_sigchld(struct proc_ctx *ctx)
{
	child_set_sigchld(ctx->children);
	tree_set_sigchld(ctx->trees);
}

int proc_signal(struct proc *p, int sig)
{
	struct timespec now;
	int rc = tree_signal(p->tree, sig);

	if (rc < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_signal(p->feed, &now, sig, ctl_signal_name(sig));
	return 0;
}

static void kill_expired(void *arg)
{
	struct proc *p = arg;

	if (proc_busy(p))
		proc_signal(p, SIGKILL);
}

/* While a run is being stopped, a log nobody has open is read on (as
 * output keep), so that a TERM handler can print and exit. */
static void keep_unread(struct proc *p, bool on)
{
	int i;

	for (i = 0; i < LOGS_N; i++)
		stream_set_keep_unread(p->logs[i], on);
	if (on)
		proc_update(p);
}

int proc_set_output(struct proc *p, size_t keep)
{
	size_t old = stream_keep(p->logs[0]);
	int i, rc = 0;

	for (i = 0; i < LOGS_N; i++) {
		rc = stream_set_keep(p->logs[i], keep);
		if (rc < 0)
			break;
	}
	if (rc < 0)
		while (i-- > 0)
			stream_set_keep(p->logs[i], old);
	proc_update(p);
	return rc;
}

int proc_kill(struct proc *p)
{
	int rc;

	if (restart_cancel(p, "kill", true)) {
		rc = tree_signal(p->tree, SIGKILL);
		return rc == -ESRCH ? 0 : rc;
	}
	outcome_set_reason(&p->out, "kill");
	return proc_signal(p, SIGKILL);
}

/* TERM the tree (thawed, CONT) and KILL it after grace_ms (< 0:
 * kill_grace); reason is why, for end_reason. */
static int stop_run(struct proc *p, long grace_ms, const char *reason)
{
	int rc;

	outcome_set_reason(&p->out, reason);
	keep_unread(p, true);
	/* A frozen or stopped tree would sit out the grace period. */
	rc = tree_freeze(p->tree, false);
	if (rc < 0 && rc != -ESRCH && rc != -EOPNOTSUPP)
		log_warn("proc %s: thaw: %s", p->name, strerror(-rc));
	rc = proc_signal(p, SIGTERM);
	/* TERM reached nobody, but the tree lives (a leader that has not
	 * joined its leaf yet): the KILL still follows. */
	if (rc < 0 && !tree_populated(p->tree))
		return rc;
	rc = tree_signal(p->tree, SIGCONT);
	if (rc < 0 && rc != -ESRCH)
		log_warn("proc %s: SIGCONT: %s", p->name, strerror(-rc));
	if (grace_ms < 0)
		grace_ms = p->ctx->cfg->kill_grace_ms;
	loop_timer_arm(&p->kill_timer, (uint64_t)grace_ms);
	return 0;
}

int proc_stop(struct proc *p, long grace_ms)
{
	if (restart_cancel(p, "stop", true) && !tree_populated(p->tree))
		return 0;
	return stop_run(p, grace_ms, "stop");
}

bool proc_running(const struct proc *p)
{
	return leader_pending(p->leader) || leader_alive(p->leader);
}

bool proc_starting(const struct proc *p)
{
	return leader_pending(p->leader);
}

int proc_start_result(const struct proc *p)
{
	return p->start_rc;
}

/* The daemon stops: TERM the group, KILL after kill_grace, drain as
 * after any exit; once drain_timeout has passed since the exit, what
 * nobody reads goes at once. */
static void end_stop(struct proc *p)
{
	restart_cancel(p, "shutdown", true);
	pump_stopping(p->pump);
	if (leader_pending(p->leader)) {
		leader_kill(p->leader); /* its report ends the start */
		return;
	}
	if (tree_populated(p->tree)) {
		stop_run(p, -1, "shutdown");
		return;
	}
	/* Over but for unread output. */
	proc_update(p);
	proc_run_done(p);
}

/* KILL the tree and reap the leader at once; the tree empties
 * asynchronously. */
static void end_kill(struct proc *p)
{
	leader_cancel(p->leader);
	tree_signal(p->tree, SIGKILL);
	if (leader_alive(p->leader)) {
		leader_reap(p->leader);
		input_close(p->in);
	}
	tree_leader_gone(p->tree);
}

void proc_end(struct proc *p, enum proc_end how)
{
	switch (how) {
	case PROC_END_STOP:
		end_stop(p);
		return;
	case PROC_END_KILL:
		proc_ref(p);
		restart_cancel(p, "shutdown", true);
		end_kill(p);
		pump_close(p->pump);
		proc_run_done(p);
		proc_unref(p);
		return;
	case PROC_END_CUT:
		if (proc_running(p))
			return;
		break;
	}
	pump_close(p->pump);
	proc_run_done(p);
}

static void life_expired(void *arg)
{
	struct proc *p = arg;

	log_info("proc %s: timeout, stopping", p->name);
	stop_run(p, -1, "timeout");
}

/* A start failed before exec: state failed, and wait answers like a
 * shell would (127 not found, 126 not executable, 1 for the rest). */
static void run_failed(struct proc *p, int status)
{
	outcome_failed(&p->out, status);
	run_ended(p);
}

/* The child failed at step before exec (and was reaped). */
static int run_report(struct proc *p, enum spawn_step step, int err)
{
	outcome_spawn_failed(&p->out, step, err, p->run.argv[0],
			     p->run.opts.cwd);
	run_ended(p);
	return -err;
}

/* Watch the started child and take over the parent's ends of ch. */
static int run_watch(struct proc *p, struct spawn_child *ch)
{
	int rc;

	rc = leader_watch(p->leader, ch->pid);
	if (rc < 0)
		return rc;
	rc = pump_attach(p->pump, &ch->out, &ch->err);
	if (rc < 0)
		return rc;
	if (ch->in >= 0)
		return input_attach(p->in, &ch->in, p->run.opts.pty);
	return 0;
}

/* Undo a run whose child exists but could not be watched. */
static void run_abort(struct proc *p)
{
	tree_signal(p->tree, SIGKILL);
	leader_reap(p->leader);
	tree_leader_gone(p->tree);
	pump_close(p->pump);
}

static void run_started(struct proc *p, pid_t pid)
{
	struct timespec now;
	int i;

	leader_started(p->leader);
	p->run_ms0 = loop_now_ms();
	clock_gettime(CLOCK_REALTIME, &now);
	outcome_started(&p->out, &now);
	p->t_state = now;
	for (i = 0; i < LOGS_NPIPES; i++)
		stream_reopen(p->logs[i]);
	evfeed_reopen(p->feed);
	keep_unread(p, false);
	/* A terminal has one output: nothing feeds stderr in this run. */
	if (p->run.opts.pty)
		stream_finish(p->logs[LOGS_STDERR]);
	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_start(p->feed, &now, pid, p->run.argv, p->rs.count);
	if (p->run.timeout_ms > 0)
		loop_timer_arm(&p->life_timer, (uint64_t)p->run.timeout_ms);
	proc_update(p);
	log_debug("proc %s: started pid %d", p->name, (int)pid);
}

/* A run that failed to start: undo what starting it counted. */
static void run_fail(struct proc *p)
{
	p->counted = false;
	if (--p->ctx->nbusy == 0 && p->ctx->hooks->idle)
		p->ctx->hooks->idle(p->ctx->arg);
	proc_unref(p);
}

/* The exec report: the run started, or failed before exec. */
static void run_launched(void *arg, struct spawn_child *ch, bool ok,
			 enum spawn_step step, int err)
{
	struct proc *p = arg;
	struct timespec now;
	int rc;

	if (ok) {
		rc = run_watch(p, ch);
		if (rc < 0) {
			run_abort(p);
			run_failed(p, 1);
		} else {
			p->cwd_in = ch->at_root || !p->home ? "/" : p->home;
			run_started(p, ch->pid);
		}
	} else {
		rc = run_report(p, step, err);
		clock_gettime(CLOCK_REALTIME, &now);
		evfeed_error(p->feed, &now, p->out.error);
	}
	spawn_child_close(ch);
	p->start_rc = rc;
	if (rc < 0)
		p->ctx->runs_failed++;
	else
		p->ctx->runs_started++;
	if (p->ctx->hooks->started)
		p->ctx->hooks->started(p->ctx->arg, p);
	proc_ref(p);
	if (rc < 0) {
		run_fail(p);
		tree_leader_gone(p->tree); /* reaped by spawn_report */
	} else {
		/* A SIGCHLD may have come before the watch: look once now. */
		leader_check(p->leader);
	}
	proc_unref(p);
}

/* The run counts as busy from here; its child's exec is awaited from
 * the loop (leader). Returns -EINPROGRESS. */
static int run_wait_report(struct proc *p, struct spawn_child *ch)
{
	int rc;

	p->start_rc = 0;
	proc_ref(p);
	p->counted = true;
	p->end_fed = false;
	p->ctx->nbusy++;
	rc = leader_wait(p->leader, ch);
	if (rc < 0)
		return p->start_rc < 0 ? p->start_rc : rc;
	return -EINPROGRESS;
}

/* Spawn a run with settings run, whose contents p takes over (a shallow
 * copy) unless -EBUSY. */
static int proc_spawn(struct proc *p, const struct run_settings *run)
{
	struct spawn_ctx sc = {
		.env = p->ctx->cfg->env,
		.nenv = p->ctx->cfg->nenv,
		.pipe_size = p->ctx->cfg->pipe_size,
		.pty_term = p->ctx->cfg->pty_term,
		.oom_score_adj = p->ctx->cfg->oom_score_adj,
		.nofile = p->ctx->nofile,
	};
	struct spawn_user user;
	struct spawn_child ch;
	int rc, leaf;

	if (leader_alive(p->leader) || tree_populated(p->tree) ||
	    (pump_open(p->pump) && pump_take_rest(p->pump) < 0)) {
		return -EBUSY;
	}
	sc.spawner = p->ctx->spawner; /* NULL until the daemon started it */
	/* Taking the rest may have closed the last pipe without a read:
	 * the old run is over now, and must be counted out before the new
	 * one is counted in. */
	proc_run_done(p);
	assert(!p->counted);
	settings_fini(&p->run);
	p->run = *run;
	if (p->ctx->capacity && p->ctx->nbusy >= p->ctx->capacity) {
		char why[96];

		snprintf(why, sizeof(why),
			 "start: %llu runs at once is what the daemon's "
			 "open-file limit allows",
			 (unsigned long long)p->ctx->capacity);
		proc_set_error(p, "", why, strlen(why), "", EMFILE);
		rc = -EMFILE;
		goto fail;
	}
	tree_free(p->tree);
	p->tree = tree_new(p->ctx->trees, p->id, ++p->runs, &p->run.limits,
			   tree_emptied, p);
	if (!p->tree) {
		rc = -errno;
		proc_set_error(p, "", "cgroup", 6, "", -rc);
		goto fail;
	}
	spawn_user_lookup(&p->run.opts, p->uid, p->gid, &user);
	free(p->home);
	p->home = user.found ? strdup(user.pw.pw_dir) : NULL;
	p->cwd_in = NULL;
	leaf = tree_open(p->tree);
	rc = spawn_start(&sc, &p->run.opts, &user, p->run.argv, leaf, &ch);
	if (leaf >= 0)
		close(leaf);
	if (rc < 0) {
		tree_free(p->tree);
		p->tree = NULL;
		goto fail;
	}
	tree_started(p->tree, ch.pid);
	if (ch.joined_late && !p->ctx->said_join) {
		p->ctx->said_join = true;
		log_info("cgroup: no clone3 here; children join their leaf "
			 "through cgroup.procs");
	}
	return run_wait_report(p, &ch);
fail:
	p->ctx->runs_failed++;
	run_failed(p, 1);
	return rc;
}

int proc_start(struct proc *p, const struct run_settings *s, char *const *argv)
{
	struct restart_state old = p->rs;
	struct run_settings run;
	int rc;

	if (leader_pending(p->leader) || p->restarting)
		return -EBUSY;
	rc = settings_copy(&run, s);
	if (rc < 0)
		return rc;
	ctl_argv_free(run.argv);
	free(run.line);
	run.line = NULL;
	run.argv = settings_argv_dup(argv, settings_argc(argv));
	/* A start by hand begins a new chain of the policy. */
	memset(&p->rs, 0, sizeof(p->rs));
	if (!run.argv ||
	    restart_begin(&p->rs, &run.restart, loop_now_ms()) < 0) {
		restart_fini(&p->rs);
		p->rs = old;
		settings_fini(&run);
		return -ENOMEM;
	}
	rc = proc_spawn(p, &run);
	if (rc == -EBUSY) {
		restart_fini(&p->rs);
		p->rs = old;
		settings_fini(&run);
	} else {
		restart_fini(&old);
	}
	return rc;
}

/* Start the run again once the delay is over and nothing of the last
 * one lives; from the loop (the timer, the last run's end). */
static void restart_try(struct proc *p)
{
	struct run_settings run;
	int rc;

	if (!p->restart_due || leader_alive(p->leader) ||
	    tree_populated(p->tree))
		return;
	if (settings_copy(&run, &p->run) < 0) {
		loop_timer_arm(&p->restart_timer, 1000); /* try again */
		return;
	}
	p->restarting = p->restart_due = false;
	restart_started(&p->rs, loop_now_ms());
	log_info("proc %s: restart %" PRIu64, p->name, p->rs.count);
	rc = proc_spawn(p, &run);
	if (rc == -EBUSY) {
		/* Output of the last run still waits for a reader. */
		settings_fini(&run);
		p->restarting = p->restart_due = true;
		p->rs.count--;
	}
}

int proc_resize(struct proc *p, unsigned cols, unsigned rows)
{
	struct winsize ws = {.ws_row = (unsigned short)rows,
			     .ws_col = (unsigned short)cols};

	if (!p->run.opts.pty || !leader_alive(p->leader))
		return 0;
	p->run.opts.cols = cols;
	p->run.opts.rows = rows;
	if (pump_fd(p->pump, LOGS_STDOUT) >= 0 &&
	    ioctl(pump_fd(p->pump, LOGS_STDOUT), TIOCSWINSZ, &ws) < 0)
		return -errno;
	return 0;
}

int proc_eof(struct proc *p)
{
	struct timespec now;
	int rc;

	if (!leader_alive(p->leader))
		return -ESRCH;
	rc = input_eof(p->in);
	if (rc < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	evfeed_eof(p->feed, &now);
	return 0;
}

int proc_freeze(struct proc *p, bool frozen)
{
	int rc;

	if (!tree_set_cgroup(p->ctx->trees))
		return -EOPNOTSUPP;
	rc = tree_freeze(p->tree, frozen);
	if (rc == 0)
		clock_gettime(CLOCK_REALTIME, &p->t_state);
	return rc;
}

const struct timespec *proc_state_time(const struct proc *p)
{
	return &p->t_state;
}

const struct timespec *proc_end_time(const struct proc *p)
{
	return p->out.t_end.tv_sec ? &p->out.t_end : &p->t_state;
}

bool proc_tree_busy(const struct proc *p)
{
	return proc_running(p) || tree_populated(p->tree) || p->restarting;
}

bool proc_has_controller(const struct proc *p, const char *name)
{
	return tree_set_has(p->ctx->trees, name);
}

/* The index of p's state (outcome_state_name names them): the outcome's,
 * or frozen (a frozen tree) or stopped (the leader stopped by a signal). */
static unsigned proc_state_index(const struct proc *p)
{
	if (p->restarting)
		return OUTCOME_RESTARTING;
	return outcome_index(
		&p->out, tree_frozen(p->tree) && tree_populated(p->tree),
		leader_alive(p->leader) && leader_stopped(p->leader));
}

void proc_metrics(struct proc *p, struct metrics_view *v)
{
	unsigned state = proc_state_index(p);
	int i;

	if (state < METRICS_SLOTS_MAX)
		v->slots[state]++;
	v->paused += proc_running(p) && pump_paused(p->pump);
	for (i = 0; i < LOGS_N; i++)
		v->bytes[i] += proc_log_bytes(p, (enum logs_id)i);
	for (i = 0; i < LOGS_N; i++)
		v->dropped[i] += stream_dropped(p->logs[i]);
	v->events_lost += evfeed_lost(p->feed);
}

void proc_status(struct proc *p, struct jbuf *b)
{
	struct status_log logs[LOGS_N];
	struct status_view v;
	int i;

	memset(&v, 0, sizeof(v));
	pump_view(p->pump, logs);
	for (i = 0; i < LOGS_N; i++) {
		logs[i].name = logs_name(i);
		logs[i].dropped = stream_dropped(p->logs[i]);
	}
	/* The events log's size counts the waiting output events, which
	 * are not rendered for it. */
	logs[LOGS_EVENTS].bytes = evfeed_size(p->feed);
	logs[LOGS_EVENTS].retained =
		logs[LOGS_EVENTS].bytes - stream_tail(p->logs[LOGS_EVENTS]);
	if (logs[LOGS_EVENTS].retained > stream_cap(p->logs[LOGS_EVENTS]))
		logs[LOGS_EVENTS].retained = stream_cap(p->logs[LOGS_EVENTS]);
	v.name = p->name;
	v.state = outcome_state_name(proc_state_index(p));
	v.pid = proc_pid(p);
	v.pgid = v.pid;
	v.argv = p->run.argv;
	v.cwd = p->run.opts.cwd ? p->run.opts.cwd : p->cwd_in;
	v.pty = p->run.opts.pty;
	v.cols = p->run.opts.cols;
	v.rows = p->run.opts.rows;
	v.stdin_mode = p->run.opts.pty		? "pty"
		       : p->run.opts.stdin_pipe ? "pipe"
						: "null";
	v.uid = p->run.opts.run_as ? p->run.opts.run_uid : p->uid;
	v.restart_policy = restart_mode_name(p->run.restart.mode);
	v.restarts = p->rs.count;
	v.restart_ended = p->rs.ended;
	outcome_view(&p->out, &v);
	tree_view(p->tree, &v);
	v.logs = logs;
	v.nlogs = LOGS_N;
	events_render_status(b, &v);
}

pid_t proc_pid(const struct proc *p)
{
	return leader_alive(p->leader) ? leader_pid(p->leader) : 0;
}

/* ---- an upgrade in place ---- */

void proc_ctx_save(const struct proc_ctx *ctx, struct state_w *w)
{
	state_begin(w, STATE_PROCCTX);
	state_u64(w, ctx->runs_started);
	state_u64(w, ctx->runs_failed);
	state_u64(w, ctx->said_join);
	state_u64(w, ctx->spawner_tried);
	state_u64(w, ctx->capacity);
	spawner_save(ctx->spawner, w);
	child_set_save(ctx->children, w);
	tree_set_save(ctx->trees, w);
	state_end(w);
}

int proc_ctx_load(struct proc_ctx *ctx, struct state_r *r)
{
	if (!state_enter(r, STATE_PROCCTX))
		return r->err;
	ctx->runs_started = state_get_u64(r);
	ctx->runs_failed = state_get_u64(r);
	ctx->said_join = state_get_bool(r);
	ctx->spawner_tried = state_get_bool(r);
	ctx->capacity = state_get_u64(r);
	ctx->spawner = spawner_load(r);
	child_set_load(ctx->children, r);
	tree_set_load(ctx->trees, r);
	state_leave(r);
	return r->err;
}

/* Where a run without cwd started, as a number. */
enum { CWD_NONE, CWD_ROOT, CWD_HOME };

void proc_save(const struct proc *p, struct state_w *w)
{
	int i;

	state_begin(w, STATE_PROC);
	state_str(w, p->name);
	state_u64(w, p->id);
	state_u64(w, p->uid);
	state_u64(w, p->gid);
	settings_save(&p->run, w);
	outcome_save(&p->out, w);
	state_u64(w, p->runs);
	restart_save(&p->rs, w);
	state_u64(w, p->restarting);
	state_u64(w, p->restart_due);
	state_u64(w, p->run_ms0);
	state_str(w, p->home);
	state_ts(w, &p->t_state);
	state_u64(w, !p->cwd_in			   ? CWD_NONE
		     : strcmp(p->cwd_in, "/") == 0 ? CWD_ROOT
						   : CWD_HOME);
	for (i = 0; i < LOGS_N; i++)
		stream_save(p->logs[i], w);
	evfeed_save(p->feed, w);
	pump_save(p->pump, w);
	input_save(p->in, w);
	leader_save(p->leader, w);
	tree_save(p->tree, w);
	loop_timer_save(&p->kill_timer, w);
	loop_timer_save(&p->life_timer, w);
	loop_timer_save(&p->restart_timer, w);
	state_u64(w, p->removed);
	state_u64(w, p->counted);
	state_u64(w, p->end_fed);
	state_u64(w, p->closed);
	state_i64(w, p->start_rc);
	state_end(w);
}

/* The parts of p that come from the record, in save's order. */
static void proc_load_parts(struct proc *p, struct state_r *r)
{
	struct proc_ctx *ctx = p->ctx;
	uint64_t cwd;
	int i;

	settings_load(&p->run, r);
	outcome_load(&p->out, r);
	p->runs = state_get_u64(r);
	restart_load(&p->rs, r);
	p->restarting = state_get_bool(r);
	p->restart_due = state_get_bool(r);
	p->run_ms0 = state_get_u64(r);
	p->home = state_get_str(r);
	state_get_ts(r, &p->t_state);
	cwd = state_get_u64(r);
	p->cwd_in = cwd == CWD_ROOT ? "/" : cwd == CWD_HOME ? p->home : NULL;
	for (i = 0; i < LOGS_N; i++)
		if (!r->err)
			p->logs[i] = stream_load(r);
	if (r->err)
		return;
	stream_on_skip(p->logs[LOGS_STDOUT], stdout_skipped, p);
	stream_on_skip(p->logs[LOGS_STDERR], stderr_skipped, p);
	p->feed = evfeed_load(p->logs[LOGS_EVENTS], p->logs, r);
	if (r->err)
		return;
	p->pump = pump_new(ctx->loop, ctx->cfg, p->logs, p->feed, p->name,
			   &pump_hooks, p);
	p->in = input_new(ctx->loop, stdin_ready, p);
	p->leader =
		leader_new(ctx->loop, ctx->children, p->name, &leader_hooks, p);
	if (!p->pump || !p->in || !p->leader) {
		state_fail(r, "proc: out of memory");
		return;
	}
	pump_load(p->pump, r);
	input_load(p->in, r);
	leader_load(p->leader, r);
	p->tree = tree_load(ctx->trees, tree_emptied, p, r);
	loop_timer_load(&p->kill_timer, r);
	loop_timer_load(&p->life_timer, r);
	loop_timer_load(&p->restart_timer, r);
	p->removed = state_get_bool(r);
	p->counted = state_get_bool(r);
	p->end_fed = state_get_bool(r);
	p->closed = state_get_bool(r);
	p->start_rc = (int)state_get_i64(r);
}

struct proc *proc_load(struct proc_ctx *ctx, void *data, struct state_r *r)
{
	struct proc *p;

	if (!state_enter(r, STATE_PROC))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		state_fail(r, "proc: out of memory");
		return NULL;
	}
	p->ctx = ctx;
	p->refs = 1;
	p->data = data;
	outcome_init(&p->out);
	loop_timer_init(&p->kill_timer, ctx->loop, kill_expired, p);
	loop_timer_init(&p->life_timer, ctx->loop, life_expired, p);
	loop_timer_init(&p->restart_timer, ctx->loop, restart_expired, p);
	p->name = state_get_str(r);
	p->id = state_get_u64(r);
	p->uid = (uid_t)state_get_u64(r);
	p->gid = (gid_t)state_get_u64(r);
	if (!r->err && !p->name)
		state_fail(r, "proc: no name");
	if (!r->err)
		proc_load_parts(p, r);
	state_leave(r);
	if (r->err) {
		proc_unref(p);
		return NULL;
	}
	if (p->counted) { /* as run_wait_report counted it */
		ctx->nbusy++;
		proc_ref(p);
	}
	return p;
}

void proc_ctx_resume(struct proc_ctx *ctx)
{
	child_set_sigchld(ctx->children);
	tree_set_look(ctx->trees);
}

void proc_resume(struct proc *p)
{
	proc_ref(p);
	leader_check(p->leader); /* it may have ended during the switch */
	proc_update(p);
	proc_unref(p);
}
