/*
 * fs: the FUSE low-level file system: inodes, lookup, readdir, open,
 * read, write, poll, release. Reads that must wait are parked on their
 * handle and answered from the loop; interrupts only mark them.
 */
#ifndef SPAWNFS_FS_H
#define SPAWNFS_FS_H

#include <stdbool.h>
#include <sys/resource.h>

#include "spawnfs/cgroup.h"
#include "spawnfs/config.h"
#include "spawnfs/loop.h"

struct fs;
struct fuse_args;

/* What the file system tells main. */
struct fs_hooks {
	void (*ended)(void *arg);   /* the session ended (unmount) */
	void (*stopped)(void *arg); /* fs_shutdown is complete: exit */
};

/* fs_new flags */
#define FS_READ_ONLY 1u /* mounted with -o ro: EROFS for all but reading */

/*
 * A file system on loop with settings cfg (borrowed; both outlive it).
 * args are FUSE options for the session; nofile the open-file limit to
 * give the children (NULL: the daemon's); cg the cgroup parent of the
 * runs (borrowed; NULL: process groups). NULL with errno.
 */
struct fs *fs_new(struct loop *loop, const struct cfg *cfg,
		  struct fuse_args *args, unsigned flags,
		  const struct rlimit *nofile, struct cgroup_root *cg,
		  const struct fs_hooks *hooks, void *arg);

/* Mount on mountpoint and start serving from the loop. 0 or -errno. */
int fs_mount(struct fs *fs, const char *mountpoint);

/*
 * Stop the daemon cleanly, from the loop: every running group gets TERM,
 * then KILL after kill_grace; runs are reaped and their output drained
 * into the logs (a pipe nobody reads is cut after drain_timeout). Then
 * every log ends, so readers get end of file and wait readers the
 * status; the tree keeps serving until every open file is closed or
 * shutdown_timeout passes (at once if the session has ended), and the
 * stopped hook fires. New slots and ctl writes fail with ESHUTDOWN.
 */
/* The daemon is the process it stays (after daemonizing). */
void fs_started(struct fs *fs);

void fs_shutdown(struct fs *fs);

/* Answer what is parked, drop every slot, unmount and free. NULL: no-op. */
void fs_free(struct fs *fs);

/*
 * An upgrade in place. fs_upgradable says whether one may run now, else
 * why. fs_save writes the session (the kernel's INIT request kept at
 * start, what it negotiated, the device fd, the mount) with the slots
 * and handles. In the next image fs_load adopts the device, marks the
 * session initialised with the kept INIT, and loads slots and handles;
 * fs_resumed then reaps what ended meanwhile, asks the kernel to send
 * the requests that were waiting again, wakes the poll waiters and
 * counts the upgrade. fs_check_state is the check a new program runs
 * on a state: the same connection negotiated. fs_upgrade_result counts
 * one outcome (ok, refused, failed) for metrics.
 */
struct fs_conn {
	uint64_t want, max_write, max_read, max_readahead, max_background,
		congestion_threshold, time_gran;
};
struct state_w;
struct state_r;
bool fs_upgradable(const struct fs *fs, const char **why);
void fs_save(const struct fs *fs, struct state_w *w);
int fs_load(struct fs *fs, struct state_r *r);
void fs_resumed(struct fs *fs, uint64_t pause_usec);
int fs_check_state(struct state_r *r);
void fs_upgrade_result(struct fs *fs, const char *result, const char *reason,
		       uint64_t pause_usec);

#endif
