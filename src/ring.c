/*
 * ring: a fixed-capacity byte ring addressed by absolute offsets. The head
 * is the number of bytes ever written; bytes below head - cap are gone.
 * Memory is allocated on the first write so an idle log costs nothing.
 * Its memory comes from the arena (arena.c), which an upgrade in place
 * hands over whole: a ring saves only where its block is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/arena.h"
#include "spawnfs/ring.h"
#include "spawnfs/state.h"

struct ring {
	unsigned char *buf;
	size_t cap;
	uint64_t head;
	uint64_t tail;
};

struct ring *ring_new(size_t cap)
{
	struct ring *r;

	if (cap == 0) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cap = cap;
	return r;
}

void ring_free(struct ring *r)
{
	if (!r)
		return;
	arena_free(r->buf, r->cap);
	free(r);
}

uint64_t ring_head(const struct ring *r)
{
	return r->head;
}

uint64_t ring_tail(const struct ring *r)
{
	return r->tail;
}

size_t ring_cap(const struct ring *r)
{
	return r->cap;
}

/* Split [off, off + n) of the ring into at most two contiguous spans. */
static int ring_span(const struct ring *r, uint64_t off, size_t n,
		     struct iovec iov[2])
{
	size_t pos = off % r->cap;
	size_t first = r->cap - pos;

	if (n == 0)
		return 0;
	iov[0].iov_base = r->buf + pos;
	if (first >= n) {
		iov[0].iov_len = n;
		return 1;
	}
	iov[0].iov_len = first;
	iov[1].iov_base = r->buf;
	iov[1].iov_len = n - first;
	return 2;
}

int ring_reserve(struct ring *r, size_t max, struct iovec iov[2])
{
	if (!r->buf && max > 0) {
		r->buf = arena_alloc(r->cap);
		if (!r->buf)
			return -ENOMEM;
	}
	if (max > r->cap)
		max = r->cap;
	return ring_span(r, r->head, max, iov);
}

void ring_commit(struct ring *r, size_t n)
{
	r->head += n;
	if (r->head - r->tail > r->cap)
		r->tail = r->head - r->cap;
}

int ring_append(struct ring *r, const void *p, size_t n)
{
	const unsigned char *src = p;
	struct iovec iov[2];
	int cnt, i;

	if (n > r->cap) {
		/* Only the newest cap bytes can be kept. */
		src += n - r->cap;
		r->head += n - r->cap;
		r->tail = r->head;
		n = r->cap;
	}
	cnt = ring_reserve(r, n, iov);
	if (cnt < 0)
		return cnt;
	for (i = 0; i < cnt; i++) {
		memcpy(iov[i].iov_base, src, iov[i].iov_len);
		src += iov[i].iov_len;
	}
	ring_commit(r, n);
	return 0;
}

int ring_peek(const struct ring *r, uint64_t off, size_t max,
	      struct iovec iov[2], size_t *n)
{
	uint64_t avail;

	*n = 0;
	if (off < r->tail || off > r->head)
		return -ERANGE;
	avail = r->head - off;
	if (avail > max)
		avail = max;
	*n = avail;
	return ring_span(r, off, avail, iov);
}

void ring_skip(struct ring *r, uint64_t n)
{
	r->head += n;
	r->tail = r->head;
}

int ring_resize(struct ring *r, size_t cap)
{
	uint64_t tail = r->head - r->tail > cap ? r->head - cap : r->tail;
	struct iovec iov[2];
	unsigned char *buf = NULL;
	size_t n, at;
	int cnt, i;

	if (cap == 0)
		return -EINVAL;
	if (r->buf) {
		buf = arena_alloc(cap);
		if (!buf)
			return -ENOMEM;
		cnt = ring_peek(r, tail, (size_t)(r->head - tail), iov, &n);
		for (i = 0, at = tail % cap; i < cnt; i++) {
			/* Each span lands at its offset modulo the new cap. */
			size_t k = iov[i].iov_len, first = cap - at;

			if (k <= first) {
				memcpy(buf + at, iov[i].iov_base, k);
			} else {
				memcpy(buf + at, iov[i].iov_base, first);
				memcpy(buf,
				       (unsigned char *)iov[i].iov_base + first,
				       k - first);
			}
			at = (at + k) % cap;
		}
		arena_free(r->buf, r->cap);
	}
	r->buf = buf;
	r->cap = cap;
	r->tail = tail;
	return 0;
}

void ring_drop_to(struct ring *r, uint64_t off)
{
	if (off > r->tail && off <= r->head)
		r->tail = off;
}

uint64_t ring_find(const struct ring *r, uint64_t from, uint64_t limit,
		   unsigned char c)
{
	struct iovec iov[2];
	const unsigned char *hit;
	uint64_t off;
	size_t n;
	int cnt, i;

	if (from < r->tail)
		from = r->tail;
	if (limit > r->head)
		limit = r->head;
	if (from >= limit)
		return UINT64_MAX;
	cnt = ring_peek(r, from, (size_t)(limit - from), iov, &n);
	for (i = 0, off = from; i < cnt; off += iov[i].iov_len, i++) {
		hit = memchr(iov[i].iov_base, c, iov[i].iov_len);
		if (hit)
			return off +
			       (uint64_t)(hit - (const unsigned char *)iov[i]
							.iov_base);
	}
	return UINT64_MAX;
}

void ring_save(const struct ring *r, struct state_w *w)
{
	state_begin(w, STATE_RING);
	state_u64(w, r->cap);
	state_u64(w, r->head);
	state_u64(w, r->tail);
	state_u64(w, r->buf ? arena_offset(r->buf) : UINT64_MAX);
	state_end(w);
}

struct ring *ring_load(struct state_r *r)
{
	struct ring *g;
	uint64_t cap, head, tail, off;

	if (!state_enter(r, STATE_RING))
		return NULL;
	cap = state_get_u64(r);
	head = state_get_u64(r);
	tail = state_get_u64(r);
	off = state_get_u64(r);
	state_leave(r);
	if (r->err)
		return NULL;
	if (cap == 0 || cap > SIZE_MAX || tail > head || head - tail > cap) {
		state_fail(r, "ring: %llu bytes kept in %llu",
			   (unsigned long long)(head - tail),
			   (unsigned long long)cap);
		return NULL;
	}
	g = ring_new((size_t)cap);
	if (!g) {
		state_fail(r, "ring: out of memory");
		return NULL;
	}
	g->head = head;
	g->tail = tail;
	if (off != UINT64_MAX) {
		g->buf = arena_at(off, (size_t)cap);
		if (!g->buf) {
			free(g);
			state_fail(r, "ring: block at %llu is not in the arena",
				   (unsigned long long)off);
			return NULL;
		}
	}
	return g;
}
