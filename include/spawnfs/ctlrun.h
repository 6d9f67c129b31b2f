/*
 * ctlrun: the ctl side of a slot. One table row per command says what it
 * does, whether it needs the slot idle, the controller it needs and how
 * it reads back; a ctl session runs the lines of the writes made through
 * one open ctl file, in order, with their fail-stop. The parser (ctl.h)
 * stays pure.
 */
#ifndef SPAWNFS_CTLRUN_H
#define SPAWNFS_CTLRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawnfs/ctl.h"
#include "spawnfs/events.h"
#include "spawnfs/metrics.h"
#include "spawnfs/proc.h"

/* What every slot's ctl shares. */
struct ctlrun {
	char *shell; /* for "start CMDLINE": shell -c CMDLINE (borrowed) */
	size_t keep_min, keep_max; /* output keep's bounds */
	/* A line was applied to p, or a start tried (NULL: not told). */
	void (*touched)(void *arg, struct proc *p);
	/* The settings of p's next run, which its lines edit. */
	struct run_settings *(*settings)(void *arg, struct proc *p);
	void *arg;
	bool stopping; /* the daemon stops: every write gets ESHUTDOWN */
	uint64_t errors[METRICS_ERRNO_MAX]; /* failed lines by errno */
};

/* The writes made through one open ctl file. */
struct ctl_session;

/* A new session; NULL with errno ENOMEM. */
struct ctl_session *ctlrun_session_new(void);

/* Free s (and the rest of a write it kept). NULL is a no-op. */
void ctlrun_session_free(struct ctl_session *s);

/*
 * Run the lines of one write (buf, size) to p through s, as uid, in
 * order, until one fails. 0: all ran; -errno: the first failure (also
 * in status.error) and, from then on, every later write through s fails
 * with it and runs nothing (fail-stop: a shell writes a script one line
 * per write). -EINPROGRESS: a start's exec is awaited from the loop; s
 * keeps the rest of the write, and ctlrun_resume goes on once proc's
 * started hook has run. ESHUTDOWN while the daemon stops, ENOENT for a
 * removed slot.
 */
int ctlrun_write(struct ctlrun *c, struct ctl_session *s, struct proc *p,
		 uid_t uid, const char *buf, size_t size);

/* Go on with the write s keeps, as ctlrun_write; -EINPROGRESS while
 * its start (or a later one in the same write) is under way. */
int ctlrun_resume(struct ctlrun *c, struct ctl_session *s, struct proc *p);

/* Drop the rest of the write s keeps (its writer was interrupted). */
void ctlrun_session_cancel(struct ctl_session *s);

/* Copy the failed-line counts into v. */
void ctlrun_metrics(const struct ctlrun *c, struct metrics_view *v);

/* A line fails with: EBUSY (settings while running, start while busy,
 * any line while a start is under way), ESRCH (signal when not running),
 * EPERM (user by a non-root writer), E2BIG (env limits), EINVAL (a line
 * that does not parse, an unknown command), ENOTTY (resize without pty),
 * EOPNOTSUPP (a limit without its controller), or the exec's errno. */

/* The ctl lines that recreate the settings s and their last start into
 * b. */
void ctlrun_text(const struct run_settings *s, struct jbuf *b);

/* An upgrade in place: a session's fail-stop state (an upgrade waits
 * for every start, so no lines wait in it). */
struct state_w;
struct state_r;
void ctlrun_session_save(const struct ctl_session *s, struct state_w *w);
struct ctl_session *ctlrun_session_load(struct state_r *r);

#endif
