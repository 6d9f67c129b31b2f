/*
 * ctlrun: applies parsed ctl lines (ctl.h) to a slot (proc.h) and renders
 * the read-back of ctl.
 */
#ifndef SPAWNFS_CTLRUN_H
#define SPAWNFS_CTLRUN_H

#include <stddef.h>
#include <sys/types.h>

#include "spawnfs/ctl.h"
#include "spawnfs/events.h"
#include "spawnfs/proc.h"

/* What every slot's ctl shares. */
struct ctlrun {
	char *shell; /* for "start CMDLINE": shell -c CMDLINE (borrowed) */
	/* A line was applied to p, or a start tried (NULL: not told). */
	void (*touched)(void *arg, struct proc *p);
	void *arg;
};

/*
 * Apply one ctl line to p; uid is the writer's, text the line as written
 * (for status.error). Returns 0 or -errno: EBUSY (settings while running,
 * start while busy, any line while a start is under way), ESRCH (signal
 * when not running), EPERM (user by a non-root writer), E2BIG (env
 * limits), EINVAL, ENOTTY (resize without pty), and for start/exec
 * -EINPROGRESS: the exec is awaited from the loop and proc's started
 * hook gives the answer. A failure is recorded in status.error.
 */
int ctlrun_line(struct ctlrun *c, struct proc *p, const struct ctl_line *l,
		uid_t uid, const char *text, size_t len);

/* The ctl lines that recreate p's settings and its last start into b. */
void ctlrun_text(struct proc *p, struct jbuf *b);

#endif
