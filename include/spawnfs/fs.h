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
void fs_shutdown(struct fs *fs);

/* Answer what is parked, drop every slot, unmount and free. NULL: no-op. */
void fs_free(struct fs *fs);

#endif
