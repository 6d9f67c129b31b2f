/*
 * kind: what each file of the tree is. Inode numbers are synthetic: 1 is
 * the root, 2 is clone, 3 is by-pid, 4 is metrics, and a slot with id N
 * has (N << 4) | kind for its directory and files; ids never repeat, so
 * an inode never changes meaning. One table gives each kind of file its
 * name in a slot's directory, its mode, the handle type that reads,
 * writes and polls it, who may open it, its size and the text an open
 * handle reads; the names the root holds besides the slots are listed
 * once. fs answers the FUSE requests with it.
 */
#ifndef SPAWNFS_KIND_H
#define SPAWNFS_KIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <fuse_lowlevel.h>

#include "spawnfs/config.h"
#include "spawnfs/events.h"
#include "spawnfs/handle.h"
#include "spawnfs/metrics.h"
#include "spawnfs/proc.h"
#include "spawnfs/slots.h"

#define KIND_ROOT_INO	 1
#define KIND_CLONE_INO	 2
#define KIND_BYPID_INO	 3
#define KIND_METRICS_INO 4
#define KIND_SLOT_INO	 16 /* the first inode number of a slot */

enum kind_id {
	KIND_DIR,
	KIND_CTL,
	KIND_STDIN,
	KIND_STDOUT,
	KIND_STDERR,
	KIND_EVENTS,
	KIND_STATUS,
	KIND_WAIT,
	KIND_STDOUT_NOW, /* snapshots of the logs' windows */
	KIND_STDERR_NOW,
	KIND_EVENTS_NOW,
	KIND_NSLOT,		   /* the kinds below are no file of a slot */
	KIND_PIDLINK = KIND_NSLOT, /* by-pid/PID -> ../NAME */
	KIND_CLONE,		   /* the root's clone */
	KIND_METRICS,		   /* the root's metrics */
	KIND_N,
};

struct loop;

/* What the kinds' attributes and texts are taken from (borrowed). */
struct kind_ctx {
	struct slots *sl;
	struct handle_set *hs;
	const struct cfg *cfg;
	struct timespec born;		  /* every file's times */
	bool read_only;			  /* -o ro */
	const struct metrics_upgrade *up; /* the daemon's upgrades */
	const struct loop *loop;	  /* for its busy-poll time */
};

/* What a kind of file does. */
struct kind_ops {
	const char *name; /* in a slot's directory; NULL: not there */
	mode_t mode;
	enum handle_type type; /* how an open handle reads, writes, polls */
	enum logs_id log;      /* the log it reads (a log or a snapshot) */
	int access;	       /* the O_ACCMODE open allows; -1: any */
	bool truncate;	       /* O_TRUNC (a size 0 setattr) is allowed */
	bool creates;	       /* opening it makes a slot: not read-only */
	bool sized_at_open;    /* an open handle's size is its text's */
	/* getattr: the size (and times) beyond what every file has */
	void (*attr)(struct proc *p, enum logs_id log, struct stat *st);
	/* the text an open handle reads, rendered at open for uid:gid; 0
	 * or -errno */
	int (*text)(const struct kind_ctx *c, uid_t uid, gid_t gid,
		    struct proc *p, enum logs_id log, struct jbuf *b);
};

/* A name the root holds besides the slots. */
struct kind_root {
	const char *name;
	fuse_ino_t ino;
	mode_t mode;
	enum kind_id kind; /* of a handle opened on it */
};

const struct kind_ops *kind_ops(enum kind_id k);

/* The root's names: the i-th (NULL past the last), by name, by inode;
 * and the names alone, NULL-terminated (no slot may take them). */
const struct kind_root *kind_root_at(size_t i);
const struct kind_root *kind_root_by_name(const char *name);
const struct kind_root *kind_root_by_ino(fuse_ino_t ino);
const char *const *kind_root_names(void);

static inline uint64_t kind_ino_id(fuse_ino_t ino)
{
	return (uint64_t)ino >> 4;
}

static inline enum kind_id kind_of_ino(fuse_ino_t ino)
{
	return (enum kind_id)(ino & 15);
}

static inline fuse_ino_t kind_ino(const struct proc *p, enum kind_id k)
{
	return (fuse_ino_t)((proc_id(p) << 4) | (uint64_t)k);
}

/* The slot in the table that ino belongs to; NULL if none. */
struct proc *kind_ino_proc(const struct kind_ctx *c, fuse_ino_t ino);

/* A file (not the directory) of a slot's directory (events is none with
 * [stream] events = off). */
bool kind_in_slot(const struct kind_ctx *c, enum kind_id k);

/* by-pid/PID is there while the slot's run is alive. */
bool kind_pidlink_live(const struct proc *p);

/* The attributes of ino; p may come from an open handle of a removed
 * slot (else NULL). 0 or -ENOENT. */
int kind_attr(const struct kind_ctx *c, fuse_ino_t ino, struct proc *p,
	      struct stat *st);

/* Render the text a handle of kind k on p reads, opened by uid:gid;
 * nothing for the kinds without one. 0 or -errno (ENOMEM, or clone's
 * errors). */
int kind_text(const struct kind_ctx *c, enum kind_id k, uid_t uid, gid_t gid,
	      struct proc *p, struct jbuf *b);

#endif
