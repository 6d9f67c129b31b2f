/*
 * stream: one output log. It owns a ring and knows its open readers, each
 * a cursor with a read position. The back-pressure rule (README
 * "stdout and stderr")
 * lives here: a log with open readers may not overwrite a byte its
 * slowest reader still needs, and a pipe may be read only as far as every
 * log holding it has room. In keep mode it never holds a
 * pipe: the window keeps the newest bytes, a sequential reader left
 * behind goes on at the window's start, and the ranges that left the
 * window unread by an open handle are told to the owner. Pure: no
 * syscalls, no logging.
 */
#include <errno.h>
#include <stdlib.h>

#include "spawnfs/ring.h"
#include "spawnfs/state.h"
#include "spawnfs/stream.h"

struct stream {
	struct ring *ring;
	struct stream_reader *readers;
	unsigned nreaders, nstalled;
	uint64_t max_read;
	/* The lowest position of the readers that are not stalled, and how
	 * many stand there, kept as they move so that closing many readers
	 * is not quadratic; recounted only when the last one leaves it. */
	uint64_t min_pos;
	unsigned min_count;
	bool min_stale;
	struct timespec mtime;
	bool finished;
	bool paused;
	bool lines;	     /* evict whole lines only */
	size_t base_cap;     /* the window in pause mode */
	bool keep;	     /* output keep: never hold a pipe */
	bool keep_unread;    /* act as keep while no handle is open */
	uint64_t dropped;    /* bytes that left the window nobody had read */
	uint64_t skip_from;  /* a range left the window unread by an open */
	uint64_t skip_to;    /* handle, not told yet (from == to: none) */
	stream_skip_cb skip; /* tells the owner of such a range */
	void *skip_arg;
};

struct stream_reader {
	struct stream *s;
	struct stream_reader *prev, *next;
	stream_wake_cb wake;
	void *data;
	uint64_t pos;
	uint64_t shift;
	uint64_t last_ms; /* last read, for stall_timeout */
	bool read_once;
	bool stalled;
};

static uint64_t stream_read_pos(const struct stream *s);

/* An active (not stalled) reader now stands at pos. */
static void min_add(struct stream *s, uint64_t pos)
{
	if (s->min_stale)
		return;
	if (s->min_count == 0 || pos < s->min_pos) {
		s->min_pos = pos;
		s->min_count = 1;
	} else if (pos == s->min_pos) {
		s->min_count++;
	}
}

/* An active reader left pos (it moved, stalled or closed). */
static void min_drop(struct stream *s, uint64_t pos)
{
	if (s->min_stale || pos != s->min_pos || s->min_count == 0)
		return;
	if (--s->min_count == 0 && s->nreaders > s->nstalled + 1)
		s->min_stale = true; /* others remain: find the new lowest */
}

/* An active reader moves from one position to another. */
static void min_move(struct stream *s, uint64_t from, uint64_t to)
{
	if (from == to)
		return;
	min_drop(s, from);
	min_add(s, to);
}

struct stream *stream_new(size_t cap)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ring = ring_new(cap);
	if (!s->ring) {
		free(s);
		return NULL;
	}
	s->base_cap = cap;
	return s;
}

void stream_free(struct stream *s)
{
	if (!s)
		return;
	ring_free(s->ring);
	free(s);
}

uint64_t stream_head(const struct stream *s)
{
	return ring_head(s->ring);
}

uint64_t stream_tail(const struct stream *s)
{
	return ring_tail(s->ring);
}

size_t stream_cap(const struct stream *s)
{
	return ring_cap(s->ring);
}

unsigned stream_nreaders(const struct stream *s)
{
	return s->nreaders;
}

bool stream_finished(const struct stream *s)
{
	return s->finished;
}

bool stream_paused(const struct stream *s)
{
	return s->paused;
}

const struct timespec *stream_mtime(const struct stream *s)
{
	return &s->mtime;
}

/* What a reader may wait for happened: tell every reader's owner. */
static void wake_readers(struct stream *s)
{
	struct stream_reader *r;

	for (r = s->readers; r; r = r->next)
		if (r->wake)
			r->wake(r->data);
}

/* The lowest position of every open reader, stalled ones too. */
static uint64_t lowest_pos(const struct stream *s)
{
	const struct stream_reader *r;
	uint64_t min = UINT64_MAX;

	for (r = s->readers; r; r = r->next)
		if (r->pos < min)
			min = r->pos;
	return min;
}

/* Tell the owner of the range kept for it, if any. */
static void skip_flush(struct stream *s)
{
	uint64_t from = s->skip_from, to = s->skip_to;

	if (from == to)
		return;
	s->skip_from = s->skip_to = 0;
	if (s->skip)
		s->skip(s->skip_arg, from, to);
}

/* Bytes [t0, t1) left the window: count what nobody had read and, in
 * keep mode, note the range an open handle had not read (contiguous
 * ranges make one). */
static void evicted(struct stream *s, uint64_t t0, uint64_t t1)
{
	uint64_t low, from;

	if (t1 <= t0)
		return;
	if (t1 > s->max_read)
		s->dropped += t1 - (t0 > s->max_read ? t0 : s->max_read);
	if (!s->keep)
		return;
	low = lowest_pos(s);
	if (low >= t1) {
		skip_flush(s);
		return;
	}
	from = low > t0 ? low : t0;
	if (s->skip_from != s->skip_to && from > s->skip_to)
		skip_flush(s);
	if (s->skip_from == s->skip_to)
		s->skip_from = from;
	s->skip_to = t1;
}

void stream_finish(struct stream *s)
{
	skip_flush(s);
	s->finished = true;
	s->paused = false;
	wake_readers(s);
}

void stream_reopen(struct stream *s)
{
	s->finished = false;
}

int stream_reserve(struct stream *s, size_t max, struct iovec iov[2])
{
	return ring_reserve(s->ring, max, iov);
}

void stream_commit(struct stream *s, size_t n, const struct timespec *now)
{
	uint64_t t0 = stream_tail(s);

	if (n == 0)
		return;
	ring_commit(s->ring, n);
	evicted(s, t0, stream_tail(s));
	s->mtime = *now;
	wake_readers(s);
}

void stream_set_lines(struct stream *s)
{
	s->lines = true;
}

int stream_peek(const struct stream *s, uint64_t off, size_t max,
		struct iovec iov[2], size_t *n)
{
	return ring_peek(s->ring, off, max, iov, n);
}

void stream_skip(struct stream *s, uint64_t n, const struct timespec *now)
{
	if (n == 0 || s->nreaders)
		return;
	ring_skip(s->ring, n);
	s->mtime = *now;
}

/* Whether appending p[0..n) leaves the tail at a line start: the byte
 * before the new tail is a newline (looked up before it is overwritten). */
static bool tail_at_line(const struct stream *s, const unsigned char *p,
			 size_t n)
{
	uint64_t head = stream_head(s), old = stream_tail(s), before;
	size_t cap = stream_cap(s);
	struct iovec iov[2];
	size_t got;

	if (head + n <= old + cap)
		return true; /* nothing evicted */
	before = head + n - cap - 1;
	if (before >= head)
		return p[before - head] == '\n';
	if (ring_peek(s->ring, before, 1, iov, &got) <= 0)
		return false;
	return *(const unsigned char *)iov[0].iov_base == '\n';
}

int stream_append(struct stream *s, const void *p, size_t n,
		  const struct timespec *now)
{
	bool aligned = !s->lines || tail_at_line(s, p, n);
	uint64_t nl, t0 = stream_tail(s);
	int rc;

	if (n == 0)
		return 0;
	rc = ring_append(s->ring, p, n);
	if (rc < 0)
		return rc;
	s->mtime = *now;
	/* Drop the rest of a cut line, as far as no reader needs it. */
	if (!aligned) {
		nl = ring_find(s->ring, stream_tail(s),
			       stream_holds(s) ? stream_read_pos(s)
					       : stream_head(s),
			       '\n');
		if (nl != UINT64_MAX)
			ring_drop_to(s->ring, nl + 1);
	}
	evicted(s, t0, stream_tail(s));
	wake_readers(s);
	return 0;
}

/* Keep mode, or a stop's keep for a log nobody has open. */
static bool keeping(const struct stream *s)
{
	return s->keep || (s->keep_unread && s->nreaders == 0);
}

bool stream_holds(const struct stream *s)
{
	return !keeping(s) && s->nreaders > s->nstalled;
}

int stream_set_keep(struct stream *s, size_t keep)
{
	size_t cap = keep ? keep : s->base_cap;
	uint64_t t0 = stream_tail(s);
	int rc = cap == stream_cap(s) ? 0 : ring_resize(s->ring, cap);

	if (rc < 0)
		return rc;
	if (!keep)
		skip_flush(s);
	s->keep = keep != 0;
	evicted(s, t0, stream_tail(s));
	return 0;
}

size_t stream_keep(const struct stream *s)
{
	return s->keep ? stream_cap(s) : 0;
}

void stream_set_keep_unread(struct stream *s, bool on)
{
	s->keep_unread = on;
}

void stream_on_skip(struct stream *s, stream_skip_cb cb, void *arg)
{
	s->skip = cb;
	s->skip_arg = arg;
}

uint64_t stream_dropped(const struct stream *s)
{
	return s->dropped;
}

/* The read position R of the back-pressure rule; stalled readers do not
 * count. */
static uint64_t stream_read_pos(const struct stream *s)
{
	struct stream *m = (struct stream *)s; /* the cache only */
	const struct stream_reader *r;
	uint64_t min = UINT64_MAX;
	unsigned count = 0;

	if (s->nreaders == s->nstalled)
		return s->max_read;
	if (!s->min_stale && s->min_count)
		return s->min_pos;
	for (r = s->readers; r; r = r->next) {
		if (r->stalled || r->pos > min)
			continue;
		count = r->pos < min ? 1 : count + 1;
		min = r->pos;
	}
	m->min_pos = min;
	m->min_count = count;
	m->min_stale = false;
	return min;
}

unsigned stream_stall(struct stream *s, uint64_t now_ms, uint64_t stall_ms)
{
	struct stream_reader *r;
	unsigned n = 0;

	for (r = s->readers; r; r = r->next) {
		if (r->stalled || r->pos >= stream_head(s) ||
		    now_ms < r->last_ms + stall_ms)
			continue;
		min_drop(s, r->pos);
		r->stalled = true;
		s->nstalled++;
		n++;
	}
	return n;
}

size_t stream_room(const struct stream *s)
{
	uint64_t used;
	size_t cap = stream_cap(s);

	if (keeping(s))
		return cap;
	used = stream_head(s) - stream_read_pos(s);
	return used >= cap ? 0 : cap - (size_t)used;
}

static size_t feed_budget(const struct stream_feed *f)
{
	size_t room = stream_room(f->log);
	size_t per = f->per_byte ? f->per_byte : 1;

	if (room <= f->overhead)
		return 0;
	return (room - f->overhead) / per;
}

size_t stream_pipe_budget(const struct stream_feed *feeds, size_t n)
{
	size_t budget = SIZE_MAX, b, i;
	bool any = false;

	for (i = 0; i < n; i++) {
		if (!stream_holds(feeds[i].log))
			continue;
		any = true;
		b = feed_budget(&feeds[i]);
		if (b < budget)
			budget = b;
	}
	if (!any && n > 0)
		budget = feed_budget(&feeds[0]);
	for (i = 0; i < n && budget == 0; i++)
		if (stream_holds(feeds[i].log) || (!any && i == 0))
			feeds[i].log->paused |= feed_budget(&feeds[i]) == 0;
	return budget;
}

void stream_clear_paused(struct stream *s)
{
	s->paused = false;
}

struct stream_reader *stream_reader_new(struct stream *s, stream_wake_cb wake,
					void *data, uint64_t now_ms)
{
	struct stream_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->s = s;
	r->wake = wake;
	r->data = data;
	r->pos = stream_tail(s);
	r->last_ms = now_ms;
	r->next = s->readers;
	if (s->readers)
		s->readers->prev = r;
	s->readers = r;
	if (s->nreaders == s->nstalled) {
		s->min_count = 0; /* the first active reader */
		s->min_stale = false;
	}
	min_add(s, r->pos);
	s->nreaders++;
	return r;
}

void stream_reader_free(struct stream_reader *r)
{
	if (!r)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		r->s->readers = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (!r->stalled)
		min_drop(r->s, r->pos);
	r->s->nreaders--;
	if (r->stalled)
		r->s->nstalled--;
	free(r);
}

/* Map a handle offset to an absolute one, applying the first-read shift. */
static uint64_t reader_abs(const struct stream_reader *r, uint64_t off)
{
	if (!r->read_once && off == 0)
		return stream_tail(r->s);
	return off + r->shift;
}

int stream_read(struct stream_reader *r, uint64_t off, size_t size,
		uint64_t now_ms, struct iovec iov[2], int *iovcnt, size_t *n)
{
	struct stream *s = r->s;
	uint64_t abs = reader_abs(r, off);
	uint64_t head = stream_head(s);

	*n = 0;
	*iovcnt = 0;
	r->last_ms = now_ms;
	if (!r->read_once) {
		r->read_once = true;
		if (off == 0)
			r->shift = abs;
	}
	/* In keep mode a sequential reader left behind goes on at the
	 * window's start, after the range it missed is told. */
	if (abs < stream_tail(s) && s->keep && off + r->shift == r->pos) {
		r->shift += stream_tail(s) - abs;
		abs = stream_tail(s);
	}
	if (s->keep && r->pos < stream_tail(s) && abs >= stream_tail(s))
		skip_flush(s); /* a reader moves past what it missed */
	/* A stalled reader whose bytes are gone stays stalled: it must
	 * reopen, and holds nothing back meanwhile. */
	if (abs < stream_tail(s))
		return -EIO;
	if (r->stalled) {
		r->stalled = false;
		s->nstalled--;
		if (s->nreaders == s->nstalled + 1) {
			s->min_count = 0; /* the only active reader */
			s->min_stale = false;
		}
		min_add(s, r->pos);
	}
	min_move(s, r->pos, abs < head ? abs : head);
	r->pos = abs < head ? abs : head;
	if (abs >= head)
		return s->finished ? 0 : -EAGAIN;
	*iovcnt = ring_peek(s->ring, abs, size, iov, n);
	min_move(s, r->pos, abs + *n);
	r->pos = abs + *n;
	if (r->pos > s->max_read)
		s->max_read = r->pos;
	return 0;
}

bool stream_readable(const struct stream_reader *r, uint64_t off)
{
	return r->s->finished || reader_abs(r, off) < stream_head(r->s);
}

void stream_save(const struct stream *s, struct state_w *w)
{
	state_begin(w, STATE_STREAM);
	ring_save(s->ring, w);
	state_u64(w, s->max_read);
	state_ts(w, &s->mtime);
	state_u64(w, s->finished);
	state_u64(w, s->paused);
	state_u64(w, s->lines);
	state_u64(w, s->base_cap);
	state_u64(w, s->keep);
	state_u64(w, s->keep_unread);
	state_u64(w, s->dropped);
	state_u64(w, s->skip_from);
	state_u64(w, s->skip_to);
	state_end(w);
}

struct stream *stream_load(struct state_r *r)
{
	struct stream *s;

	if (!state_enter(r, STATE_STREAM))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		state_fail(r, "stream: out of memory");
		return NULL;
	}
	s->ring = ring_load(r);
	s->max_read = state_get_u64(r);
	state_get_ts(r, &s->mtime);
	s->finished = state_get_bool(r);
	s->paused = state_get_bool(r);
	s->lines = state_get_bool(r);
	s->base_cap = (size_t)state_get_u64(r);
	s->keep = state_get_bool(r);
	s->keep_unread = state_get_bool(r);
	s->dropped = state_get_u64(r);
	s->skip_from = state_get_u64(r);
	s->skip_to = state_get_u64(r);
	state_leave(r);
	if (r->err || !s->ring) {
		stream_free(s);
		return NULL;
	}
	return s;
}

void stream_reader_save(const struct stream_reader *rd, struct state_w *w)
{
	state_begin(w, STATE_READER);
	state_u64(w, rd->pos);
	state_u64(w, rd->shift);
	state_u64(w, rd->last_ms);
	state_u64(w, rd->read_once);
	state_u64(w, rd->stalled);
	state_end(w);
}

struct stream_reader *stream_reader_load(struct stream *s, stream_wake_cb wake,
					 void *data, struct state_r *r)
{
	struct stream_reader *rd;
	uint64_t pos, shift, last;
	bool once, stalled;

	if (!state_enter(r, STATE_READER))
		return NULL;
	pos = state_get_u64(r);
	shift = state_get_u64(r);
	last = state_get_u64(r);
	once = state_get_bool(r);
	stalled = state_get_bool(r);
	state_leave(r);
	if (r->err)
		return NULL;
	if (pos > stream_head(s)) {
		state_fail(r, "reader at %llu past its log's %llu",
			   (unsigned long long)pos,
			   (unsigned long long)stream_head(s));
		return NULL;
	}
	rd = stream_reader_new(s, wake, data, last);
	if (!rd) {
		state_fail(r, "reader: out of memory");
		return NULL;
	}
	rd->pos = pos;
	rd->shift = shift;
	rd->read_once = once;
	if (stalled) {
		rd->stalled = true;
		s->nstalled++;
	}
	s->min_stale = true; /* the lowest position is found again */
	return rd;
}

struct stream *stream_reader_stream(const struct stream_reader *rd)
{
	return rd->s;
}
