/* ring: a byte ring addressed by absolute offsets (its memory from the arena).
 */
#ifndef SPAWNFS_RING_H
#define SPAWNFS_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct ring;

/* A ring keeping at most cap bytes; memory is allocated on first write.
 * Returns NULL with errno EINVAL (cap 0) or ENOMEM. */
struct ring *ring_new(size_t cap);

/* Free r; NULL is a no-op. */
void ring_free(struct ring *r);

/* Absolute offset one past the newest byte (bytes written in total). */
uint64_t ring_head(const struct ring *r);

/* Absolute offset of the oldest byte still held. */
uint64_t ring_tail(const struct ring *r);

size_t ring_cap(const struct ring *r);

/*
 * Describe up to max bytes of free space at the head (max is capped at
 * cap) as one or two iovecs; writing there overwrites the oldest bytes
 * when the ring is full. Returns the number of iovecs (0 when max is 0),
 * or -ENOMEM when the first allocation fails. Commit with ring_commit.
 */
int ring_reserve(struct ring *r, size_t max, struct iovec iov[2]);

/* Make n bytes written into the reserved space part of the ring, dropping
 * the oldest bytes beyond cap. n must not exceed what was reserved. */
void ring_commit(struct ring *r, size_t n);

/* Copy n bytes in (overwriting the oldest). Returns 0 or -ENOMEM. */
int ring_append(struct ring *r, const void *p, size_t n);

/*
 * Describe up to max bytes from absolute offset off as one or two iovecs
 * into the ring (valid until the next reserve, commit or append).
 * Returns the number of iovecs; 0 when off == head; -ERANGE when off is
 * below the tail or past the head. *n receives the byte count.
 */
int ring_peek(const struct ring *r, uint64_t off, size_t max,
	      struct iovec iov[2], size_t *n);

/* Count n bytes as written without keeping them: head moves on by n and
 * nothing is retained (tail = head). */
void ring_skip(struct ring *r, uint64_t n);

/* Change the capacity to cap (> 0), keeping the newest bytes that fit
 * at their offsets. 0, or -ENOMEM with the ring unchanged. */
int ring_resize(struct ring *r, size_t cap);

/* Forget the bytes below off (tail <= off <= head). */
void ring_drop_to(struct ring *r, uint64_t off);

/* The offset of the first byte c in [from, limit) (clamped to what is
 * retained), or UINT64_MAX. */
uint64_t ring_find(const struct ring *r, uint64_t from, uint64_t limit,
		   unsigned char c);

struct state_w;
struct state_r;

/* Save r (its block stays in the arena), and make a ring of a saved one
 * (NULL, r failing, if the record is wrong). */
void ring_save(const struct ring *r, struct state_w *w);
struct ring *ring_load(struct state_r *r);

#endif
