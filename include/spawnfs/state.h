/*
 * state: what an upgrade in place hands to the next program image, in
 * one versioned format (pure: no syscalls).
 *
 * Layout (little-endian as the host, the same machine reads it):
 *   header  "SPAWNFS\0", u32 version, u32 0, u64 body length, u64
 *           state_checksum of the body
 *   body    records: u32 tag, u32 length, then length bytes
 *
 * A tag with STATE_BOX set is a box: its bytes are records again. The
 * other tags are leaves: U64 and I64 (8 bytes), BYTES (any length),
 * NUL (a NULL string, 0 bytes) and FD (4 bytes: a descriptor the next
 * image inherits). Each module writes and reads its own box with its
 * own fields in its own order; the version changes whenever any box
 * does, and a program refuses a version it does not know.
 *
 * Version 1 boxes, outermost first: DAEMON holds FS (the session, its
 * saved INIT request, upgrade counters), ARENA (the rings' memory),
 * CGROUP, SLOTS (PROCCTX, CHILDREN, then one SLOT per slot: SETTINGS and
 * PROC, which holds OUTCOME, SETTINGS, RESTART, LEADER, TREE, PUMP,
 * INPUT, three STREAMs with their RING, EVFEED), and HANDLES (one HANDLE
 * each: its READERs' positions, CTL session, PARKed requests).
 */
#ifndef SPAWNFS_STATE_H
#define SPAWNFS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STATE_VERSION 1
#define STATE_HEADER  32
#define STATE_BOX     0x80000000u
#define STATE_DEPTH   16

enum state_tag {
	STATE_U64 = 1,
	STATE_I64 = 2,
	STATE_BYTES = 3,
	STATE_NUL = 4,
	STATE_FD = 5,
	STATE_DAEMON = STATE_BOX | 1,
	STATE_FS = STATE_BOX | 2,
	STATE_ARENA = STATE_BOX | 3,
	STATE_CGROUP = STATE_BOX | 4,
	STATE_SLOTS = STATE_BOX | 5,
	STATE_SLOT = STATE_BOX | 6,
	STATE_SETTINGS = STATE_BOX | 7,
	STATE_PROC = STATE_BOX | 8,
	STATE_OUTCOME = STATE_BOX | 9,
	STATE_RESTART = STATE_BOX | 10,
	STATE_LEADER = STATE_BOX | 11,
	STATE_TREE = STATE_BOX | 12,
	STATE_PUMP = STATE_BOX | 13,
	STATE_INPUT = STATE_BOX | 14,
	STATE_STREAM = STATE_BOX | 15,
	STATE_RING = STATE_BOX | 16,
	STATE_EVFEED = STATE_BOX | 17,
	STATE_HANDLES = STATE_BOX | 18,
	STATE_HANDLE = STATE_BOX | 19,
	STATE_READER = STATE_BOX | 20,
	STATE_CTL = STATE_BOX | 21,
	STATE_PARK = STATE_BOX | 22,
	STATE_PROCCTX = STATE_BOX | 23,
	STATE_CHILDREN = STATE_BOX | 24,
	STATE_TAG_LAST = 24 /* the highest box number of this version */
};

/* A state being written. Errors are sticky: the first one stays in err
 * (-ENOMEM, or -EINVAL for unbalanced boxes) and later calls do
 * nothing. */
struct state_w {
	unsigned char *buf;
	size_t len, cap;
	size_t open[STATE_DEPTH]; /* where each open box's record starts */
	unsigned depth;
	int err;
	int *fds; /* the FD leaves written, in order */
	size_t nfds, fdcap;
};

void state_w_init(struct state_w *w);
void state_w_fini(struct state_w *w);
void state_begin(struct state_w *w, enum state_tag box);
void state_end(struct state_w *w);
void state_u64(struct state_w *w, uint64_t v);
void state_i64(struct state_w *w, int64_t v);
void state_bytes(struct state_w *w, const void *p, size_t n);
void state_str(struct state_w *w, const char *s); /* NULL: a NUL leaf */
void state_ts(struct state_w *w, const struct timespec *ts);
void state_fd(struct state_w *w, int fd); /* -1: none, not listed */

/* The header's checksum of a body: FNV-1a's step on 8-byte words. */
uint64_t state_checksum(const void *buf, size_t n);

/* Close the body and write the header with version: 0 or w->err. */
int state_w_finish(struct state_w *w, uint32_t version);

/* A state being read, from a buffer the caller keeps. Errors are
 * sticky: getters then return zeros, why says what was wrong. */
struct state_r {
	const unsigned char *buf;
	size_t len, pos;
	size_t end[STATE_DEPTH]; /* where each entered box ends */
	unsigned depth;
	uint32_t version;
	int err;
	char why[160];
};

/* Check the header (magic, a version this program knows, the length and
 * the checksum): 0, or -EINVAL with r->why. */
int state_r_init(struct state_r *r, const void *buf, size_t len);

/* Check every record of the body: known tags, leaf sizes, boxes whose
 * records fill them exactly. 0 or -EINVAL with r->why. */
int state_r_walk(struct state_r *r);

/* Enter the next record, which must be box. false (and an error) if not. */
bool state_enter(struct state_r *r, enum state_tag box);
/* Pass over the next record, which must be box. */
void state_skip(struct state_r *r, enum state_tag box);
/* Leave the innermost box, which must have been read to its end. */
void state_leave(struct state_r *r);
/* Whether the innermost box (or the body) has records left. */
bool state_more(const struct state_r *r);
/* Whether the next record is box (without reading it). */
bool state_next_is(const struct state_r *r, enum state_tag box);

uint64_t state_get_u64(struct state_r *r);
int64_t state_get_i64(struct state_r *r);
bool state_get_bool(struct state_r *r);
/* Bytes in place (valid while the buffer is): n set, NULL on error. */
const void *state_get_bytes(struct state_r *r, size_t *n);
/* A copy of a string leaf (NUL: NULL, *ok stays true). */
char *state_get_str(struct state_r *r);
void state_get_ts(struct state_r *r, struct timespec *ts);
/* A string leaf that must be NUL or one of names (NULL-terminated):
 * the static name it equals, or NULL (r fails on any other string). */
const char *state_get_name(struct state_r *r, const char *const *names);
int state_get_fd(struct state_r *r);

/* Make r fail with a message (the first failure stays). */
void state_fail(struct state_r *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
