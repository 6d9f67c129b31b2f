/*
 * leader: the process a run starts, from its fork to its reaping. Its
 * exec report (spawn) is awaited from the loop, never here: the child's
 * chdir or exec may need this very file system (a cwd inside the mount),
 * which only the loop can serve. Once exec happened the leader is watched
 * through child until it is reaped, and its stops are noted. The owner's
 * hooks get the answers and decide what they mean for the run. Owns the
 * child's parent ends until the report, the report's watch, the pid and
 * the child watch.
 */
#ifndef SPAWNFS_LEADER_H
#define SPAWNFS_LEADER_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "spawnfs/child.h"
#include "spawnfs/loop.h"
#include "spawnfs/spawn.h"

struct leader;

/* What a leader tells its owner. */
struct leader_hooks {
	/*
	 * The exec report of ch's child: ok, or the child failed at step
	 * with err and was reaped. ch (its report closed) is the hook's: it
	 * takes the ends it keeps and closes the rest (spawn_child_close).
	 * No report is pending any more; the hook may free the leader.
	 */
	void (*launched)(void *arg, struct spawn_child *ch, bool ok,
			 enum spawn_step step, int err);
	/* The watched leader exited or was killed (si from waitid): it is
	 * reaped and no longer alive. */
	void (*exited)(void *arg, const siginfo_t *si);
};

/* A leader on loop, watched through children; name is the slot's, for
 * messages; all borrowed and outliving it. NULL with errno ENOMEM. */
struct leader *leader_new(struct loop *loop, struct child_set *children,
			  const char *name, const struct leader_hooks *hooks,
			  void *arg);

/* Cancel a pending report (leader_cancel) and stop watching. NULL is a
 * no-op. */
void leader_free(struct leader *l);

/*
 * Take over *ch, just started by spawn_start (then closed: pid 0, fds
 * -1), and await its report from the loop; 0. When the report cannot be
 * watched, the child is killed and its report read at once: the
 * launched hook runs before this returns -ENOMEM.
 */
int leader_wait(struct leader *l, struct spawn_child *ch);

/* A report is awaited. */
bool leader_pending(const struct leader *l);

/* KILL the child whose report is pending: the report ends the wait
 * (from the loop). */
void leader_kill(struct leader *l);

/* KILL the child whose report is pending, reap it and close its ends,
 * without the hook. Nothing when no report is pending. */
void leader_cancel(struct leader *l);

/* After its exec: watch pid until it is reaped (the exited hook). 0 or
 * -errno. */
int leader_watch(struct leader *l, pid_t pid);

/* The watched leader runs: it is alive (and not stopped) from now on. */
void leader_started(struct leader *l);

/* A SIGCHLD may have come before the watch: look once now whether the
 * live leader exited (the exited hook then runs from here). */
void leader_check(struct leader *l);

/* The leader was KILLed (or never ran): reap it, without the hook, and
 * stop watching. */
void leader_reap(struct leader *l);

/* The leader was stopped or continued by a signal (SIGCHLD told). */
bool leader_stopped(const struct leader *l);

/* Alive: started and not reaped yet. */
bool leader_alive(const struct leader *l);

/* The pid of the last leader watched; 0 before any. */
pid_t leader_pid(const struct leader *l);

struct state_w;
struct state_r;
/* An upgrade in place: the leader's pid and state. A leader not reaped
 * yet is watched again (a pidfd of the same child); the caller looks
 * once for an exit during the switch (leader_check). Never pending: an
 * upgrade waits for every start. */
void leader_save(const struct leader *l, struct state_w *w);
int leader_load(struct leader *l, struct state_r *r);

#endif
