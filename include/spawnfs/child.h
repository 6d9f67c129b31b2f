/*
 * child: watches the daemon's children until they are reaped, through
 * SIGCHLD and waitid(P_ALL), which names each child that stopped,
 * continued or exited: the cost is per change, not per child, and a
 * child holds no fd. Children it neither watches nor keeps are orphans
 * that came to the daemon as their subreaper: it reaps them. Owns the
 * watch records.
 */
#ifndef SPAWNFS_CHILD_H
#define SPAWNFS_CHILD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawnfs/loop.h"

struct child_set;
struct child;

/* The child exited or was killed: si from waitid; it is reaped and its
 * watch is gone (do not child_unwatch it). */
typedef void (*child_exit_cb)(void *arg, const siginfo_t *si);
/* The child was stopped (true) or continued (false) by a signal. */
typedef void (*child_stop_cb)(void *arg, bool stopped);

/* Every child of a daemon, watched from loop (borrowed). NULL with
 * errno ENOMEM. */
struct child_set *child_set_new(struct loop *loop);
/* Every watch must be gone. NULL is a no-op. */
void child_set_free(struct child_set *s);

/* SIGCHLD arrived: tell each stop and continue, reap each watched child
 * that exited (its owner gets the status) and the orphans (children
 * neither watched nor kept: the daemon is their subreaper). A kept
 * child's exit status is never taken here. */
void child_set_sigchld(struct child_set *s);

/* Reap the orphans that have exited now (as child_set_sigchld does). */
void child_set_orphans(struct child_set *s);

/* Orphans reaped so far. */
uint64_t child_set_orphans_reaped(const struct child_set *s);

/* Reserve pid, a child whose status its owner takes itself (one between
 * fork and its exec report): never reaped as an orphan. Free with
 * child_unwatch, after the owner has reaped it or once it is watched.
 * NULL with errno ENOMEM. */
struct child *child_keep(struct child_set *s, pid_t pid);

/* Watch pid (a child of this process) until it is reaped; no callback
 * runs before this returns. NULL with errno on failure. */
struct child *child_watch(struct child_set *s, pid_t pid, child_exit_cb exit_cb,
			  child_stop_cb stop_cb, void *arg);

/* Look once now whether c has exited (exit_cb then runs and c is gone):
 * a child that exited before it was watched had its SIGCHLD consumed
 * already. */
void child_check(struct child *c);

/* Stop watching (the caller reaps the child some other way). NULL is a
 * no-op. */
void child_unwatch(struct child *c);

/* An upgrade in place: the set's counters. Its watches are its owners'
 * to make again (pids survive the exec). */
struct state_w;
struct state_r;
void child_set_save(const struct child_set *s, struct state_w *w);
int child_set_load(struct child_set *s, struct state_r *r);

#endif
