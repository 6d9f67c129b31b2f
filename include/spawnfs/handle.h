/*
 * handle: the open files of a mount and the requests parked on them. It
 * owns every handle (its stream reader, poll handle and text rendered at
 * open), the FIFO of reads and writes each handle keeps waiting in
 * arrival order, and the list of interrupted ones: the interrupt
 * callback only marks a parked request and handle_answer_interrupts,
 * called by the loop after dispatch, answers it with EINTR. It answers
 * what its handles wait for (log and wait reads, stdin and ctl writes)
 * when woken, and counts for metrics. It never calls the file system
 * back: fs owns the session, slots each handle's slot reference and
 * tells a handle when something it waits for may have happened.
 */
#ifndef SPAWNFS_HANDLE_H
#define SPAWNFS_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fuse_lowlevel.h>

#include "spawnfs/ctlrun.h"
#include "spawnfs/metrics.h"
#include "spawnfs/proc.h"
#include "spawnfs/stream.h"

struct loop;

struct handle;
struct handle_set;

/* How a handle answers reads, writes and poll. */
enum handle_type {
	HANDLE_TEXT,  /* reads the text rendered at open (handle_set_text) */
	HANDLE_LOG,   /* reads a log through its own reader; waits at its end */
	HANDLE_WAIT,  /* reads the wait status; waits while there is none */
	HANDLE_STDIN, /* writes to the run's stdin; waits while it is full */
	HANDLE_CTL,   /* ctl writes (fail-stop), waits on a start; reads text */
	HANDLE_NTYPES,
};

/* An empty set; ctl writes apply their lines through ctlrun; loop holds
 * the deadline of interrupted ctl writes (both borrowed, outliving it).
 * NULL with errno ENOMEM. */
struct handle_set *handle_set_new(struct ctlrun *ctlrun, struct loop *loop);

/* Free the set, which must hold no handle. NULL is a no-op. */
void handle_set_free(struct handle_set *set);

/* The daemon stops: ctl writes fail with ESHUTDOWN from now on. */
void handle_set_stopping(struct handle_set *set);

/* How many handles are open. */
uint64_t handle_count(const struct handle_set *set);

/* Copy the counts (handles, parked, interrupts, ctl errors) into v. */
void handle_metrics(const struct handle_set *set, struct metrics_view *v);

/*
 * A new handle of type on p (borrowed: the caller holds a reference for
 * the handle's life; NULL for a file of no slot), linked into set and,
 * with p, into the set's handles of p's slot. tag is the owner's, for
 * handle_tag. A HANDLE_LOG reads log of p from its end of the window.
 * NULL with errno ENOMEM.
 */
struct handle *handle_new(struct handle_set *set, struct proc *p,
			  enum handle_type type, unsigned tag,
			  enum logs_id log);

/* How many handles are open on slot (its id). O(1). */
unsigned handle_slot_count(const struct handle_set *set, uint64_t slot);

/* Answer every parked request of h with EINTR, unlink it and free it.
 * Its slot reference is the caller's to drop. */
void handle_free(struct handle *h);

/* The handle's id: what the kernel keeps as the open file's fh (never
 * a pointer, never reused in a set's life). */
uint64_t handle_id(const struct handle *h);

/* The open handle with id, or NULL. O(1). */
struct handle *handle_by_id(const struct handle_set *set, uint64_t id);

/* The first handle of set, to close them all at the end; NULL if none. */
struct handle *handle_first(const struct handle_set *set);

/* An open handle on slot id, with tag where there is one, else any of
 * the slot's handles; NULL if none. O(handles of the slot). */
struct handle *handle_find(const struct handle_set *set, uint64_t id,
			   unsigned tag);

struct proc *handle_proc(const struct handle *h);
unsigned handle_tag(const struct handle *h);

/* Keep text (takes ownership: from malloc) for a text read. */
void handle_set_text(struct handle *h, char *text, size_t len);

/* The length of the text rendered at open (0 if none). */
size_t handle_text_len(const struct handle *h);

/* The bytes of text every open handle of set holds (snapshot_max). */
uint64_t handle_text_bytes(const struct handle_set *set);

/* Answer a read: text at once; a log or wait read when it would not
 * wait, else EAGAIN with O_NONBLOCK in flags, else parked. */
void handle_read(struct handle *h, fuse_req_t req, size_t size, off_t off,
		 int flags);

/* Answer a write: stdin as read does; ctl runs its lines (as the caller
 * uid of req), parked while a start waits for its exec. Any other type
 * answers EBADF. */
void handle_write(struct handle *h, fuse_req_t req, const char *buf,
		  size_t size, off_t off, int flags);

/* Answer a poll: keep ph (takes ownership) to notify on readiness. */
void handle_poll(struct handle *h, fuse_req_t req, struct fuse_pollhandle *ph);

/* Something h waits for may have happened: h joins its set's ready list,
 * and once the loop's dispatch returns (loop_after) what can be answered
 * is answered in order and a poll that became ready is notified. Never
 * answers from within the caller, so a hook may wake any handle. */
void handle_wake(struct handle *h);

/* handle_wake every handle of type open on slot (its id). */
void handle_wake_slot(struct handle_set *set, uint64_t slot,
		      enum handle_type type);

/* Answer the interrupted parked requests with EINTR (a ctl write waiting
 * on its start gets a grace period first): from the loop, after each
 * dispatch, never inside it. */
void handle_answer_interrupts(struct handle_set *set);

/* The bit the kernel sets in a request's unique when it sends it again
 * (FUSE_NOTIFY_RESEND). */
#define HANDLE_RESENT (1ULL << 63)

/* The request about to be dispatched: its unique, and for FUSE_POLL the
 * kernel's kh (libfuse's poll handle hides it). A re-sent request that
 * was parked before an upgrade is counted as come back. */
void handle_set_request(struct handle_set *set, uint64_t unique, uint64_t kh);

/*
 * An upgrade in place. Every open handle is saved under its id (the
 * kernel's fh) with its slot's id, its reader's position, its ctl
 * session, its text, whether it has a poll waiter (kh), and the uniques
 * of its parked requests (answered after the switch, when the kernel
 * sends them again). Loading finds each slot and holds it through hs.
 * handle_set_polls lists the kh of each poll waiter to wake.
 */
struct handle_slots {
	struct proc *(*find)(void *arg, uint64_t slot);
	void (*hold)(void *arg, struct proc *p);
	void *arg;
};
struct state_w;
struct state_r;
void handle_set_save(const struct handle_set *set, struct state_w *w);
int handle_set_load(struct handle_set *set, const struct handle_slots *hs,
		    struct state_r *r);
const uint64_t *handle_set_polls(const struct handle_set *set, size_t *n);
size_t handle_set_awaited(const struct handle_set *set); /* not back yet */
bool handle_set_parked_any(const struct handle_set *set);

#endif
