/*
 * upgrade: replace the daemon's program image under its running jobs,
 * open files and waiting readers (an upgrade in place). On SIGUSR2 the
 * daemon, between two dispatches and dispatching nothing meanwhile,
 * writes its state to a memfd, runs the program it was started from as
 * a child that checks the state (--check-state), and only then execs
 * that program with the state; a refusal or a failed exec leaves it
 * serving, logged and counted. The state's layout: state.h.
 */
#ifndef SPAWNFS_UPGRADE_H
#define SPAWNFS_UPGRADE_H

#include <stdint.h>
#include <sys/resource.h>

#include "spawnfs/cgroup.h"
#include "spawnfs/fs.h"
#include "spawnfs/loop.h"

struct upgrade;

/* The environment variable naming the state's fd in the next image. */
#define UPGRADE_ENV "SPAWNFS_STATE_FD"

/* For the daemon running from argv (kept: the next image gets it), given
 * in directory cwd (the check and the next image start there, so that a
 * relative -c still names the file), with its parts. NULL with errno. */
struct upgrade *upgrade_new(struct loop *loop, struct fs *fs,
			    struct cgroup_root *cg, char **argv,
			    const char *cwd, const struct rlimit *nofile);
void upgrade_free(struct upgrade *u);

/* SIGUSR2: upgrade now, or once no start is under way. */
void upgrade_request(struct upgrade *u);

/* What the next image reads before its parts: the instant the old image
 * stopped dispatching (CLOCK_MONOTONIC, µs) and the children's open-file
 * limit. */
struct upgrade_head {
	uint64_t t0_usec;
	bool have_nofile;
	struct rlimit nofile;
};

/* In the next image: map the state at fd (closed), check it, enter its
 * daemon box, read the head and take over the arena. 0, or -errno with
 * *why. The caller loads the cgroup root and fs from r, then calls
 * upgrade_load_done. */
struct state_r;
int upgrade_load_begin(int fd, struct state_r *r, struct upgrade_head *h,
		       const char **why);
int upgrade_load_done(struct state_r *r);

/* --check-state FD: 0 if a state this program can take over, else 1
 * with the reason on stderr. */
int upgrade_check(int fd);

/* --upgrade MOUNTPOINT: trigger the daemon serving it and wait for the
 * result: 0 upgraded, 1 not (the reason on stderr). */
int upgrade_client(const char *mnt);

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t upgrade_now_usec(void);

#endif
