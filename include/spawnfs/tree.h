/*
 * tree: the process tree of one run, which signals, stops, timeouts,
 * kills and freezes reach as a whole. With a cgroup2 parent (cgroup.c)
 * each run has its own leaf: the leader joins it before exec, every
 * descendant stays in it whatever it does (setsid, double fork), KILL
 * goes through cgroup.kill, freeze through cgroup.freeze, and one
 * inotify fd on the leaves' cgroup.events tells when a tree empties.
 * Without one, the run's process group stands in: the daemon is a child
 * subreaper (so orphans of a group come back to it and are reaped), a
 * group is polled while it outlives its leader, and a process that
 * leaves its group (setsid) escapes. A tree is empty once its leader is
 * gone and nothing of it lives; the leaf is then removed, keeping its
 * last cpu figures.
 */
#ifndef SPAWNFS_TREE_H
#define SPAWNFS_TREE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawnfs/cgroup.h"
#include "spawnfs/events.h"
#include "spawnfs/loop.h"

struct tree_set;
struct tree;

/* Limits for a run's leaf; 0 means none. */
struct tree_limits {
	uint64_t memory;       /* memory.max, bytes */
	unsigned cpu_permille; /* cpu.max: thousandths of one CPU */
	uint64_t pids;	       /* pids.max */
};

/* The tree became empty (leader gone, nothing of it alive). */
typedef void (*tree_empty_cb)(void *arg);

/* Every tree of a daemon, watched from loop; cg (borrowed, outliving
 * the set) or NULL for process groups. Makes the daemon a child
 * subreaper, in both modes. NULL with errno. */
struct tree_set *tree_set_new(struct loop *loop, struct cgroup_root *cg);

/* Kill what is left of every tree, wait (bounded) for them to empty,
 * remove their leaves and free. Every tree must have been freed, its
 * empty callback then no longer runs. NULL is a no-op. */
void tree_set_free(struct tree_set *ts);

/* Whether runs get cgroup leaves. */
bool tree_set_cgroup(const struct tree_set *ts);

/* Whether controller is enabled for the leaves. */
bool tree_set_has(const struct tree_set *ts, const char *controller);

/* SIGCHLD, once the orphans are reaped (child.c): without cgroups, look
 * whether the groups emptied. */
void tree_set_sigchld(struct tree_set *ts);

/* What reaps the exited orphans while the set settles at exit (a group
 * counts its zombies as members). */
void tree_set_reaper(struct tree_set *ts, void (*reap)(void *arg), void *arg);

/* Processes alive in every tree (a metrics gauge). */
uint64_t tree_set_processes(const struct tree_set *ts);

/* The cpu time of every tree so far, emptied ones included, in
 * microseconds (0 without cgroups). */
uint64_t tree_set_cpu_usec(const struct tree_set *ts);

/* Kill what is left in every tree and wait up to ms for them to empty
 * (the daemon exits): empty callbacks run from here. */
void tree_set_settle(struct tree_set *ts, unsigned ms);

/*
 * The tree for run number run of slot id, with limits (NULL: none);
 * cb(arg) when it empties. With a cgroup, its leaf exists when this
 * returns. NULL with errno; EOPNOTSUPP for a limit whose controller is
 * not enabled.
 */
struct tree *tree_new(struct tree_set *ts, uint64_t id, uint64_t run,
		      const struct tree_limits *limits, tree_empty_cb cb,
		      void *arg);

/* The leaf's directory opened anew, for a spawn into it (the caller
 * closes it), or -1 without cgroups. A tree holds no fd of its own. */
int tree_open(const struct tree *t);

/* The leader was forked: pid. */
void tree_started(struct tree *t, pid_t pid);

/* The leader is reaped (or never ran). The empty callback may run from
 * here. NULL is a no-op (as for the queries and tree_signal: a slot
 * that never ran has no tree). */
void tree_leader_gone(struct tree *t);

/* Whether anything of the tree may still be alive (its leader
 * included). */
bool tree_populated(const struct tree *t);

/* Processes alive in the tree now. */
unsigned tree_processes(const struct tree *t);

/* Send sig to every process of the tree (KILL through cgroup.kill).
 * 0, or -ESRCH when nothing is alive. */
int tree_signal(struct tree *t, int sig);

/* Freeze or thaw the tree. 0, -EOPNOTSUPP without a cgroup, -ESRCH when
 * nothing is alive. */
int tree_freeze(struct tree *t, bool frozen);

/* Whether the tree is frozen (by tree_freeze, and not thawed). */
bool tree_frozen(const struct tree *t);

/* The tree's cpu.stat (the last one read once it emptied). False
 * without a cgroup. */
bool tree_cpu(const struct tree *t, struct cgroup_cpu *cpu);

/* memory.current and memory.peak; false without the memory
 * controller. */
bool tree_memory(const struct tree *t, uint64_t *current, uint64_t *peak);

/* pids.current; false without the pids controller. */
bool tree_pids(const struct tree *t, uint64_t *current);

/* Fill v's processes, cpu, memory and pids (the tree's part of a slot's
 * status; NULL: a slot that never ran). */
void tree_view(const struct tree *t, struct status_view *v);

/* Drop the tree: what is left of it is killed; the leaf is removed once
 * it is empty, without blocking. NULL is a no-op. */
void tree_free(struct tree *t);

/* An upgrade in place. A tree (or none) as its owner's part, with its
 * leaf's fd (inherited); a tree_free'd tree not empty yet is the set's
 * part, with the inotify fd whose watches the trees name. After loading
 * every part, tree_set_look finds the trees that emptied meanwhile. */
struct state_w;
struct state_r;
void tree_save(const struct tree *t, struct state_w *w);
struct tree *tree_load(struct tree_set *ts, tree_empty_cb cb, void *arg,
		       struct state_r *r);
void tree_set_save(const struct tree_set *ts, struct state_w *w);
int tree_set_load(struct tree_set *ts, struct state_r *r);
void tree_set_look(struct tree_set *ts);

#endif
