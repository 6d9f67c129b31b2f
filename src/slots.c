/*
 * slots: the slot table, the record fs keeps per slot, the rules for
 * making and removing slots, the proc hooks, metrics counts and the
 * phases of a clean stop. See slots.h.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawnfs/log.h"
#include "spawnfs/slots.h"
#include "spawnfs/state.h"
#include "spawnfs/tab.h"

/* On a stop, runs not over this long after kill_grace + drain_timeout
 * are forced. */
#define SLOTS_STOP_SLACK_MS 1000
/* Removed slots leave small blocks all over the heap: this long after a
 * removal, free pages go back to the system. */
#define SLOTS_TRIM_DELAY_MS 500

/* What is kept per slot; proc_data of the slot's proc. Freed once the
 * slot has left the table and its last handle is closed. */
struct slot {
	struct slots *sl;
	struct proc *p;
	bool cloned;  /* made by reading clone */
	bool touched; /* a ctl line was applied (or a start tried) */
	struct run_settings settings; /* the next run's, ctl's to edit */
	struct timespec t_ctl;	      /* the last ctl line applied */
	struct loop_timer reap_timer; /* reap_after or reap_new_after */
	struct slot *prev, *next;     /* every record, removed ones too */
};

struct slots {
	struct loop *loop;
	const struct cfg *cfg;
	struct handle_set *hs;
	const char *const *reserved;
	void (*stopped_cb)(void *arg);
	void *arg;
	struct proc_ctx *pctx;
	struct proc_hooks phooks;
	struct tab *tab;
	uint64_t next_id, next_clone;
	bool stopping;
	bool lingering;			/* stopping, every run over */
	bool ended;			/* the session ended */
	bool stopped;			/* the stopped hook has fired */
	struct loop_timer stop_timer;	/* runs not over in time: forced */
	struct loop_timer linger_timer; /* files still open: stop anyway */
	struct loop_timer trim_timer;	/* give freed heap back, once */
	uint64_t bytes_gone[LOGS_N];	/* of the slots removed: metrics */
	uint64_t dropped_gone[LOGS_N];	/* likewise */
	uint64_t lost_gone;		/* their events lost, likewise */
	struct timespec t_changed;	/* a slot was made or removed */
	struct slot *all;		/* every record */
};

static void shutdown_done(struct slots *sl);
static void shutdown_drained(struct slots *sl);
static void reap_expired(void *arg);
static void trim_expired(void *arg);
static void linger_expired(void *arg);
static void stop_forced(void *arg);

struct proc *slots_by_name(const struct slots *sl, const char *name)
{
	return tab_by_name(sl->tab, name);
}

struct proc *slots_by_id(const struct slots *sl, uint64_t id)
{
	return tab_by_id(sl->tab, id);
}

struct proc *slots_next(const struct slots *sl, uint64_t id, uint64_t *next)
{
	return tab_next(sl->tab, id, next);
}

struct proc *slots_by_pid(const struct slots *sl, const char *text)
{
	struct proc *p;
	uint64_t id = 0;
	char *end;
	long pid;

	errno = 0;
	pid = strtol(text, &end, 10);
	if (errno || *end || end == text || pid <= 0)
		return NULL;
	while ((p = tab_next(sl->tab, id, &id)))
		if (proc_pid(p) == (pid_t)pid)
			return p;
	return NULL;
}

/* ---- making and removing slots ---- */

static bool name_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > SLOTS_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static bool name_reserved(const struct slots *sl, const char *name)
{
	const char *const *r;

	for (r = sl->reserved; r && *r; r++)
		if (strcmp(*r, name) == 0)
			return true;
	return false;
}

static void slot_link(struct slot *s)
{
	s->next = s->sl->all;
	if (s->next)
		s->next->prev = s;
	s->sl->all = s;
}

static void slot_unlink(struct slot *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		s->sl->all = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

/* A new slot record with its proc, added to the table. NULL with *err
 * ENOMEM. */
static struct proc *slot_new(struct slots *sl, const char *name, uid_t uid,
			     gid_t gid, int *err)
{
	struct slot *s = calloc(1, sizeof(*s));
	struct proc *p = NULL;

	if (s && settings_init(&s->settings) == 0) {
		s->sl = sl;
		loop_timer_init(&s->reap_timer, sl->loop, reap_expired, s);
		p = proc_new(sl->pctx, name, sl->next_id, uid, gid, s);
	}
	if (!p || tab_add(sl->tab, sl->next_id, proc_name(p), p) < 0) {
		proc_unref(p);
		if (s)
			settings_fini(&s->settings);
		free(s);
		*err = ENOMEM;
		return NULL;
	}
	s->p = p;
	slot_link(s);
	sl->next_id++;
	clock_gettime(CLOCK_REALTIME, &sl->t_changed);
	s->t_ctl = sl->t_changed;
	return p;
}

struct proc *slots_create(struct slots *sl, const char *name, uid_t uid,
			  gid_t gid, int *err)
{
	struct proc *p;

	*err = 0;
	if (strlen(name) > SLOTS_NAME_MAX)
		*err = ENAMETOOLONG;
	else if (!name_valid(name))
		*err = EINVAL;
	else if (sl->stopping)
		*err = ESHUTDOWN;
	else if (tab_by_name(sl->tab, name) || name_reserved(sl, name))
		*err = EEXIST;
	else if (tab_count(sl->tab) >= sl->cfg->max_processes)
		*err = ENOSPC;
	else if (getuid() != 0 && uid != getuid())
		*err = EPERM; /* its commands would run as the daemon's user */
	if (*err)
		return NULL;
	p = slot_new(sl, name, uid, gid, err);
	if (p)
		log_debug("slot %s: created by uid %u", name, (unsigned)uid);
	return p;
}

static void reap_arm(struct slot *s);

struct proc *slots_clone(struct slots *sl, uid_t uid, gid_t gid, int *err)
{
	char name[32];
	struct proc *p;

	do
		snprintf(name, sizeof(name), "%llu",
			 (unsigned long long)sl->next_clone++);
	while (tab_by_name(sl->tab, name));
	p = slots_create(sl, name, uid, gid, err);
	if (!p)
		return NULL;
	((struct slot *)proc_data(p))->cloned = true;
	reap_arm(proc_data(p));
	return p;
}

static void trim_expired(void *arg)
{
	(void)arg;
	malloc_trim(0);
}

/* How many handles are open on s. */
static unsigned slot_handles(const struct slot *s)
{
	return handle_slot_count(s->sl->hs, proc_id(s->p));
}

/* Free s once its slot has left the table, its last handle is closed
 * and its run is over (a killed tree empties asynchronously): the
 * slot's proc then has no run left to call hooks with it. */
static void slot_put(struct slot *s)
{
	if (!proc_removed(s->p) || slot_handles(s) || proc_busy(s->p))
		return;
	loop_timer_stop(&s->reap_timer);
	slot_unlink(s);
	settings_fini(&s->settings);
	free(s);
}

static void slot_drop(struct slots *sl, struct proc *p)
{
	struct slot *s = proc_data(p);
	struct metrics_view v = {0};
	int i;

	loop_timer_stop(&s->reap_timer);
	proc_metrics(p, &v);
	for (i = 0; i < LOGS_N; i++) {
		sl->bytes_gone[i] += v.bytes[i];
		sl->dropped_gone[i] += v.dropped[i];
	}
	sl->lost_gone += v.events_lost;
	tab_del(sl->tab, proc_id(p));
	clock_gettime(CLOCK_REALTIME, &sl->t_changed);
	proc_ref(p);	/* for slot_put: proc_remove drops the table's */
	proc_remove(p); /* only slots_free meets a running slot here */
	slot_put(s);
	proc_unref(p);
	if (!loop_timer_armed(&sl->trim_timer) && !sl->stopped)
		loop_timer_arm(&sl->trim_timer, SLOTS_TRIM_DELAY_MS);
}

int slots_remove(struct slots *sl, const char *name)
{
	struct proc *p = tab_by_name(sl->tab, name);

	if (!p)
		return -ENOENT;
	if (proc_running(p))
		return -EBUSY;
	/* Ended: output nobody read any more goes with the slot. */
	log_debug("slot %s: removed", proc_name(p));
	slot_drop(sl, p);
	return 0;
}

/* Whether reap_after may remove s: ended, drained, nobody has it open. */
static bool slot_reapable(const struct slot *s)
{
	const struct proc *p = s->p;

	return s->sl->cfg->reap_after_ms && !proc_removed(p) &&
	       !proc_running(p) && proc_wait_status(p) >= 0 && !slot_handles(s);
}

/* Whether reap_new_after may remove s: made by reading clone (a
 * recursive tool may have done that), never written to, and nobody has
 * it open. */
static bool slot_litter(const struct slot *s)
{
	const struct proc *p = s->p;

	return s->sl->cfg->reap_new_ms && s->cloned && !s->touched &&
	       !proc_removed(p) && !proc_running(p) && !slot_handles(s);
}

static void reap_expired(void *arg)
{
	struct slot *s = arg;
	bool litter = slot_litter(s);

	if (!litter && !slot_reapable(s))
		return;
	log_info("slot %s: removed after %s", proc_name(s->p),
		 litter ? "reap_new_after" : "reap_after");
	slot_drop(s->sl, s->p);
}

/* Arm reap_after or reap_new_after for s when one applies. The two never
 * apply at once: one needs an ended run, the other an untouched slot. */
static void reap_arm(struct slot *s)
{
	unsigned ms;

	if (loop_timer_armed(&s->reap_timer))
		return;
	if (slot_reapable(s))
		ms = s->sl->cfg->reap_after_ms;
	else if (slot_litter(s))
		ms = s->sl->cfg->reap_new_ms;
	else
		return;
	loop_timer_arm(&s->reap_timer, ms);
}

/* A run started or a handle opened: an armed reap no longer applies. */
static void reap_cancel(struct slot *s)
{
	loop_timer_stop(&s->reap_timer);
}

/* ---- handles ---- */

void slots_touch(struct proc *p)
{
	struct slot *s = proc_data(p);

	s->touched = true;
	clock_gettime(CLOCK_REALTIME, &s->t_ctl);
}

const struct timespec *slots_ctl_time(struct proc *p)
{
	return &((struct slot *)proc_data(p))->t_ctl;
}

const struct timespec *slots_changed_time(const struct slots *sl)
{
	return &sl->t_changed;
}

unsigned slots_clone_name_len(const struct slots *sl)
{
	char name[32];
	uint64_t n = sl->next_clone;
	int len;

	do
		len = snprintf(name, sizeof(name), "%llu",
			       (unsigned long long)n++);
	while (tab_by_name(sl->tab, name));
	return (unsigned)len + 1;
}

struct run_settings *slots_settings(struct proc *p)
{
	return &((struct slot *)proc_data(p))->settings;
}

void slots_hold(struct proc *p)
{
	proc_ref(p);
	reap_cancel(proc_data(p));
}

void slots_release(struct slots *sl, struct proc *p)
{
	struct slot *s;

	if (p) {
		s = proc_data(p);
		proc_update(p);
		reap_arm(s);
		slot_put(s);
		proc_unref(p);
	}
	if (sl->lingering && handle_count(sl->hs) == 0)
		shutdown_done(sl);
}

/* ---- what proc tells ---- */

static void hook_ended(void *arg, struct proc *p)
{
	struct slots *sl = arg;

	handle_wake_slot(sl->hs, proc_id(p), HANDLE_WAIT);
	reap_arm(proc_data(p));
}

static void hook_started(void *arg, struct proc *p)
{
	struct slots *sl = arg;

	if (proc_start_result(p) == 0)
		reap_cancel(proc_data(p));
	handle_wake_slot(sl->hs, proc_id(p), HANDLE_CTL);
}

static void hook_stdin(void *arg, struct proc *p)
{
	struct slots *sl = arg;

	handle_wake_slot(sl->hs, proc_id(p), HANDLE_STDIN);
}

static void hook_done(void *arg, struct proc *p)
{
	(void)arg;
	if (proc_removed(p))
		slot_put(proc_data(p)); /* its tree was the last to go */
	else
		reap_arm(proc_data(p));
}

static void hook_idle(void *arg)
{
	struct slots *sl = arg;

	if (sl->stopping && !sl->stopped)
		shutdown_drained(sl);
}

static void on_sigchld(void *arg, int signo)
{
	struct slots *sl = arg;

	(void)signo;
	proc_sigchld(sl->pctx);
}

/* ---- metrics ---- */

void slots_metrics(const struct slots *sl, struct metrics_view *v)
{
	struct proc *p;
	uint64_t id = 0;
	int i;

	for (i = 0; i < LOGS_N; i++) {
		v->bytes[i] = sl->bytes_gone[i];
		v->dropped[i] = sl->dropped_gone[i];
	}
	v->events_lost = sl->lost_gone;
	while ((p = tab_next(sl->tab, id, &id)))
		proc_metrics(p, v);
	proc_ctx_metrics(sl->pctx, v);
}

/* ---- a clean stop ---- */

/* The last phase of a stop is over: main may unmount and exit. */
static void shutdown_done(struct slots *sl)
{
	if (sl->stopped)
		return;
	sl->stopped = true;
	loop_timer_stop(&sl->stop_timer);
	loop_timer_stop(&sl->linger_timer);
	if (sl->stopped_cb)
		sl->stopped_cb(sl->arg);
}

static void linger_expired(void *arg)
{
	struct slots *sl = arg;

	log_info("stopping: %llu file(s) still open after shutdown_timeout",
		 (unsigned long long)handle_count(sl->hs));
	shutdown_done(sl);
}

/* Every run is over: end every log, so that readers get end of file and
 * wait readers the status, then wait for the handles to close. */
static void shutdown_drained(struct slots *sl)
{
	struct proc *p;
	uint64_t id = 0;

	if (sl->lingering)
		return;
	sl->lingering = true;
	loop_timer_stop(&sl->stop_timer);
	while ((p = tab_next(sl->tab, id, &id)))
		proc_close(p);
	if (sl->ended || handle_count(sl->hs) == 0) {
		shutdown_done(sl);
		return;
	}
	log_info("stopping: waiting for %llu open file(s) to close",
		 (unsigned long long)handle_count(sl->hs));
	loop_timer_arm(&sl->linger_timer, sl->cfg->shutdown_timeout_ms);
}

/* Runs that did not end or drain in time: KILL, reap and cut them. */
static void stop_forced(void *arg)
{
	struct slots *sl = arg;
	struct proc *p;
	uint64_t id = 0;

	log_warn("stopping: runs still going, killing them");
	while ((p = tab_next(sl->tab, id, &id)))
		if (proc_busy(p))
			proc_end(p, PROC_END_KILL);
	shutdown_drained(sl);
}

void slots_shutdown(struct slots *sl)
{
	struct proc *p;
	uint64_t id = 0, ms;

	if (sl->stopping)
		return;
	sl->stopping = true;
	handle_set_stopping(sl->hs);
	while ((p = tab_next(sl->tab, id, &id)))
		if (proc_busy(p))
			proc_end(p, PROC_END_STOP);
	if (proc_ctx_busy(sl->pctx) == 0) {
		shutdown_drained(sl);
		return;
	}
	ms = (uint64_t)sl->cfg->kill_grace_ms + sl->cfg->drain_timeout_ms +
	     SLOTS_STOP_SLACK_MS;
	loop_timer_arm(&sl->stop_timer, ms);
}

bool slots_session_ended(struct slots *sl)
{
	sl->ended = true;
	if (!sl->lingering)
		return false;
	shutdown_done(sl);
	return true;
}

/* ---- life of the set ---- */

struct slots *slots_new(struct loop *loop, const struct cfg *cfg,
			const struct rlimit *nofile, struct cgroup_root *cg,
			struct handle_set *hs, const char *const *reserved,
			void (*stopped)(void *arg), void *arg)
{
	struct slots *sl = calloc(1, sizeof(*sl));

	if (!sl)
		return NULL;
	sl->loop = loop;
	sl->cfg = cfg;
	sl->hs = hs;
	sl->reserved = reserved;
	sl->stopped_cb = stopped;
	sl->arg = arg;
	sl->next_id = 1;
	sl->next_clone = 1;
	loop_timer_init(&sl->stop_timer, loop, stop_forced, sl);
	loop_timer_init(&sl->linger_timer, loop, linger_expired, sl);
	loop_timer_init(&sl->trim_timer, loop, trim_expired, sl);
	sl->phooks = (struct proc_hooks){
		.ended = hook_ended,
		.stdin_ready = hook_stdin,
		.idle = hook_idle,
		.done = hook_done,
		.started = hook_started,
	};
	sl->pctx = proc_ctx_new(loop, cfg, &sl->phooks, sl, nofile, cg);
	sl->tab = tab_new();
	if (!sl->pctx || !sl->tab ||
	    loop_signal(loop, SIGCHLD, on_sigchld, sl) < 0) {
		tab_free(sl->tab);
		proc_ctx_free(sl->pctx);
		free(sl);
		return NULL;
	}
	return sl;
}

void slots_quiet(struct slots *sl)
{
	if (!sl)
		return;
	sl->stopped = true;
	loop_timer_stop(&sl->stop_timer);
	loop_timer_stop(&sl->linger_timer);
	loop_timer_stop(&sl->trim_timer);
}

void slots_free(struct slots *sl)
{
	struct proc *p;
	uint64_t id = 0;

	if (!sl)
		return;
	slots_quiet(sl);
	while ((p = tab_next(sl->tab, 0, &id)))
		slot_drop(sl, p);
	proc_ctx_free(sl->pctx); /* the killed trees end from here */
	tab_free(sl->tab);
	free(sl);
}

/* ---- an upgrade in place ---- */

void slots_save(const struct slots *sl, struct state_w *w)
{
	const struct slot *s;
	uint64_t n = 0;
	int i;

	state_begin(w, STATE_SLOTS);
	state_u64(w, sl->next_id);
	state_u64(w, sl->next_clone);
	for (i = 0; i < LOGS_N; i++) {
		state_u64(w, sl->bytes_gone[i]);
		state_u64(w, sl->dropped_gone[i]);
	}
	state_u64(w, sl->lost_gone);
	state_ts(w, &sl->t_changed);
	proc_ctx_save(sl->pctx, w);
	for (s = sl->all; s; s = s->next)
		n++;
	state_u64(w, n);
	for (s = sl->all; s; s = s->next) {
		state_begin(w, STATE_SLOT);
		state_u64(w, s->cloned);
		state_u64(w, s->touched);
		settings_save(&s->settings, w);
		state_ts(w, &s->t_ctl);
		loop_timer_save(&s->reap_timer, w);
		proc_save(s->p, w);
		state_end(w);
	}
	state_end(w);
}

static void slot_load(struct slots *sl, struct state_r *r)
{
	struct slot *s;

	if (!state_enter(r, STATE_SLOT))
		return;
	s = calloc(1, sizeof(*s));
	if (!s) {
		state_fail(r, "slots: out of memory");
		return;
	}
	s->sl = sl;
	loop_timer_init(&s->reap_timer, sl->loop, reap_expired, s);
	s->cloned = state_get_bool(r);
	s->touched = state_get_bool(r);
	settings_load(&s->settings, r);
	state_get_ts(r, &s->t_ctl);
	loop_timer_load(&s->reap_timer, r);
	s->p = r->err ? NULL : proc_load(sl->pctx, s, r);
	state_leave(r);
	if (!s->p || r->err ||
	    (!proc_removed(s->p) &&
	     tab_add(sl->tab, proc_id(s->p), proc_name(s->p), s->p) < 0)) {
		state_fail(r, "slots: a slot was not loaded");
		loop_timer_stop(&s->reap_timer);
		proc_unref(s->p);
		settings_fini(&s->settings);
		free(s);
		return;
	}
	slot_link(s);
}

int slots_load(struct slots *sl, struct state_r *r)
{
	uint64_t n, i;
	int k;

	if (!state_enter(r, STATE_SLOTS))
		return r->err;
	sl->next_id = state_get_u64(r);
	sl->next_clone = state_get_u64(r);
	for (k = 0; k < LOGS_N; k++) {
		sl->bytes_gone[k] = state_get_u64(r);
		sl->dropped_gone[k] = state_get_u64(r);
	}
	sl->lost_gone = state_get_u64(r);
	state_get_ts(r, &sl->t_changed);
	proc_ctx_load(sl->pctx, r);
	n = state_get_u64(r);
	for (i = 0; i < n && !r->err; i++)
		slot_load(sl, r);
	state_leave(r);
	return r->err;
}

void slots_resume(struct slots *sl)
{
	struct slot *s, *next;
	struct proc *p;

	/* A removed slot's table reference is gone: its handles (loaded
	 * by now) and its run hold it. */
	for (s = sl->all; s; s = next) {
		next = s->next;
		p = s->p;
		if (!proc_removed(p))
			continue;
		slot_put(s);
		proc_unref(p);
	}
	for (s = sl->all; s; s = next) {
		next = s->next;
		proc_resume(s->p);
	}
	proc_ctx_resume(sl->pctx);
}

bool slots_upgradable(const struct slots *sl, const char **why)
{
	const struct slot *s;

	if (sl->stopping) {
		*why = "the daemon is stopping";
		return false;
	}
	for (s = sl->all; s; s = s->next) {
		if (proc_starting(s->p)) {
			*why = "a start is under way";
			return false;
		}
	}
	return true;
}

struct proc *slots_find(const struct slots *sl, uint64_t id)
{
	const struct slot *s;
	struct proc *p = tab_by_id(sl->tab, id);

	for (s = sl->all; !p && s; s = s->next)
		if (proc_id(s->p) == id)
			p = s->p;
	return p;
}

void slots_started(struct slots *sl)
{
	proc_ctx_started(sl->pctx);
}
