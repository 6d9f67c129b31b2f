/*
 * slots: the slots of a mount and what happens to them outside FUSE. It
 * owns the slot table (names, ids, the clone counter), the record kept
 * per slot (its reap timer, whether clone made it, its next run's
 * settings), the rules for making a
 * slot (names, limits, owner) and removing one (rmdir, reap_after,
 * reap_new_after), the proc hooks that wake the handles waiting on a
 * slot, the counts metrics shows, and the phases of a clean stop: TERM
 * every run, KILL what is left after the bound, end every log, wait for
 * the open files, then tell main. fs turns FUSE requests into these
 * calls; handle answers the requests parked on a slot's handles.
 */
#ifndef SPAWNFS_SLOTS_H
#define SPAWNFS_SLOTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "spawnfs/config.h"
#include "spawnfs/handle.h"
#include "spawnfs/loop.h"
#include "spawnfs/metrics.h"
#include "spawnfs/proc.h"

#define SLOTS_NAME_MAX 64 /* the longest slot name */

struct slots;

/*
 * The slots of a mount on loop with settings cfg; hs is the mount's
 * handle set, reserved the names the root holds besides the slots
 * (NULL-terminated); all borrowed, outliving it. nofile is the open-file
 * limit to give the children (NULL: the daemon's), cg the cgroup parent
 * of the runs (NULL: process groups). stopped is called once a stop is
 * complete. NULL with errno.
 */
struct slots *slots_new(struct loop *loop, const struct cfg *cfg,
			const struct rlimit *nofile, struct cgroup_root *cg,
			struct handle_set *hs, const char *const *reserved,
			void (*stopped)(void *arg), void *arg);

/* No hook and no timer from now on: the handles are about to be closed
 * and the slots freed. */
void slots_quiet(struct slots *sl);

/* Drop every slot (killing what still runs) and free. NULL: no-op. */
void slots_free(struct slots *sl);

/* The daemon is the process it stays: see proc_ctx_started. */
void slots_started(struct slots *sl);

struct proc *slots_by_name(const struct slots *sl, const char *name);
struct proc *slots_by_id(const struct slots *sl, uint64_t id);
/* The slot whose run has pid text (by-pid); NULL if none. */
struct proc *slots_by_pid(const struct slots *sl, const char *text);
/* The first slot with an id above id, in id order; *next its id. */
struct proc *slots_next(const struct slots *sl, uint64_t id, uint64_t *next);

/*
 * A new slot name owned by uid:gid. Returns it (borrowed) or NULL with
 * *err: ENAMETOOLONG, EINVAL (a bad name), ESHUTDOWN, EEXIST (a slot or
 * a reserved name), ENOSPC (max_processes), EPERM (a non-root daemon
 * runs commands only for its own user), ENOMEM.
 */
struct proc *slots_create(struct slots *sl, const char *name, uid_t uid,
			  gid_t gid, int *err);

/* A new slot named by the first free number of the clone counter, as
 * slots_create; reap_new_after removes it if nobody ever uses it. */
struct proc *slots_clone(struct slots *sl, uid_t uid, gid_t gid, int *err);

/* rmdir: remove the slot name once its run is over (its output goes
 * with it). 0, -ENOENT or -EBUSY. */
int slots_remove(struct slots *sl, const char *name);

/* The settings of p's next run, which the ctl lines edit. They live
 * as long as p's record: until p has left the table and its last
 * handle is closed. */
struct run_settings *slots_settings(struct proc *p);
/* A handle is opening on p: p is referenced for it (no reap meanwhile). */
void slots_hold(struct proc *p);

/* A ctl line was applied to p, or a start tried: p is no clone litter. */
void slots_touch(struct proc *p);
/* When a ctl line was last applied to p (else when p was made). */
const struct timespec *slots_ctl_time(struct proc *p);
/* When a slot was last made or removed (zero: never). */
const struct timespec *slots_changed_time(const struct slots *sl);
/* The length of what reading clone would give now ("N\n"). */
unsigned slots_clone_name_len(const struct slots *sl);
/* A handle's reference to p goes (it closed or never opened); p may be
 * NULL (a file of the root). */
void slots_release(struct slots *sl, struct proc *p);

/* The slot and run counts of metrics (v is otherwise left alone). */
void slots_metrics(const struct slots *sl, struct metrics_view *v);

/* Start a clean stop (fs_shutdown's contract). */
void slots_shutdown(struct slots *sl);
/* The session ended: nobody can read any more. True if that completed a
 * stop (nothing more to tell main). */
bool slots_session_ended(struct slots *sl);

/*
 * An upgrade in place. slots_save writes every slot record (removed ones
 * that open handles still hold too) with its proc, and the context's
 * part; slots_load makes them again. Once the handles are loaded,
 * slots_resume lets go of what only the table held and looks at what
 * ended during the switch. slots_upgradable says whether an upgrade may
 * run now (false while stopping or while a start is under way, with
 * why).
 */
struct state_w;
struct state_r;
void slots_save(const struct slots *sl, struct state_w *w);
int slots_load(struct slots *sl, struct state_r *r);
void slots_resume(struct slots *sl);
/* A slot by id, removed ones still held open too. */
struct proc *slots_find(const struct slots *sl, uint64_t id);
bool slots_upgradable(const struct slots *sl, const char **why);

#endif
