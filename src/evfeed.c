/*
 * evfeed: numbers, renders and queues the lines of one events log, and
 * makes output events from the output logs' bytes (deferred and only
 * counted where nobody can read them; see the header). Pure: time and
 * the pipe's fill level come from the caller. Owns: the waiting lines,
 * the deferred ranges and the per-output position of the next event.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/evfeed.h"
#include "spawnfs/state.h"

#define EVFEED_CHUNK_MIN 256
/* The render buffer kept between output events, at most: a 64 KiB read
 * of text reserves 6 bytes a byte (escapes), 384 KiB. */
#define EVFEED_RENDER_KEEP (1u << 20)

/* An output event not rendered yet: bytes [off, off + len) of an output
 * log, read at t; json is its line's length but for the digits of its
 * number (counted once, when it was deferred). */
struct ev_defer {
	uint64_t off;
	struct timespec t;
	size_t len;
	size_t json;
	unsigned log;
};

struct evfeed {
	struct stream *events;
	struct stream *outs[LOGS_NPIPES];
	size_t chunk;
	uint64_t seq;		      /* of the last event */
	uint64_t ev_off[LOGS_NPIPES]; /* first byte in no event yet */
	struct jbuf pending;	      /* lines waiting for room, in order */
	struct jbuf render;	      /* output events are rendered here */
	bool pending_finish;	      /* end the log once they are in */
	struct ev_defer *defer;	      /* a ring of EVFEED_DEFER_MAX */
	unsigned defer_first, ndefer;
	uint64_t defer_raw; /* output bytes the deferred events hold */
	uint64_t lost;
	uint64_t defer_json; /* the deferred lines' lengths, without digits */
	struct timespec now; /* the latest time a caller gave */
	bool off;	     /* [stream] events = off: no events at all */
};

struct evfeed *evfeed_new(struct stream *events, struct stream *const *outs,
			  size_t chunk, bool off)
{
	struct evfeed *f = calloc(1, sizeof(*f));
	unsigned i;

	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->events = events;
	for (i = 0; i < LOGS_NPIPES; i++) {
		f->outs[i] = outs[i];
	}
	f->chunk = chunk < EVFEED_CHUNK_MIN ? EVFEED_CHUNK_MIN : chunk;
	f->off = off;
	jbuf_init(&f->pending);
	jbuf_init(&f->render);
	return f;
}

void evfeed_free(struct evfeed *f)
{
	if (!f)
		return;
	jbuf_free(&f->pending);
	jbuf_free(&f->render);
	free(f->defer);
	free(f);
}

static size_t evfeed_per_byte(void)
{
	/* A byte takes at most 6 bytes of events (a \u00XX escape) plus its
	 * share of the framing of an event of at least EVFEED_CHUNK_MIN
	 * bytes (under 1). */
	return 7;
}

static size_t evfeed_extra(void)
{
	/* A carried UTF-8 sequence, and the reserve for other events. */
	return events_output_max(0) + 6 * 4 + EVFEED_RESERVE;
}

size_t evfeed_waiting(const struct evfeed *f)
{
	return f->pending.len;
}

uint64_t evfeed_lost(const struct evfeed *f)
{
	return f->lost;
}

/* How many leading bytes of the waiting lines fit the events log now:
 * whole lines only, and all of them when no open reader holds it. */
static size_t pending_fit(const struct evfeed *f)
{
	size_t room, n = 0;
	const char *nl;

	if (!stream_holds(f->events))
		return f->pending.len;
	room = stream_room(f->events);
	while (n < f->pending.len) {
		nl = memchr(f->pending.data + n, '\n', f->pending.len - n);
		if (!nl || (size_t)(nl - f->pending.data) + 1 > room)
			break;
		n = (size_t)(nl - f->pending.data) + 1;
	}
	return n;
}

/* Move what fits; the log's mtime is the latest time given. */
static void pending_move(struct evfeed *f)
{
	size_t n = pending_fit(f);

	if (n > 0) {
		if (stream_append(f->events, f->pending.data, n, &f->now) < 0)
			f->lost++;
		memmove(f->pending.data, f->pending.data + n,
			f->pending.len - n);
		f->pending.len -= n;
	}
	if (f->pending.len == 0 && f->pending_finish) {
		f->pending_finish = false;
		stream_finish(f->events);
	}
}

void evfeed_flush(struct evfeed *f, const struct timespec *t)
{
	f->now = *t;
	pending_move(f);
}

/* Put one rendered line in the log, straight when nothing waits and it
 * fits, else after the waiting lines; then move what fits. */
static void line_put(struct evfeed *f, const struct jbuf *b)
{
	if (f->off)
		return;
	if (b->oom) {
		f->lost++;
	} else if (!f->pending.len && (!stream_holds(f->events) ||
				       b->len <= stream_room(f->events))) {
		if (stream_append(f->events, b->data, b->len, &f->now) < 0)
			f->lost++;
	} else if (jbuf_put(&f->pending, b->data, b->len), f->pending.oom) {
		f->lost++;
		jbuf_free(&f->pending);
		jbuf_init(&f->pending);
	}
	pending_move(f);
}

/* line_put, then free b. */
static void line_append(struct evfeed *f, struct jbuf *b)
{
	line_put(f, b);
	jbuf_free(b);
}

/* Bytes of an output log as one span: straight from the ring, or copied
 * into *tmp (to free) when they wrap. NULL when gone or out of memory. */
static const unsigned char *out_span(const struct evfeed *f, unsigned log,
				     uint64_t off, size_t len,
				     unsigned char **tmp)
{
	struct iovec iov[2];
	size_t got;
	int cnt = stream_peek(f->outs[log], off, len, iov, &got);

	*tmp = NULL;
	if (cnt < 0 || got != len)
		return NULL;
	if (cnt < 2)
		return cnt ? iov[0].iov_base : (const unsigned char *)"";
	*tmp = malloc(len);
	if (!*tmp)
		return NULL;
	memcpy(*tmp, iov[0].iov_base, iov[0].iov_len);
	memcpy(*tmp + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
	return *tmp;
}

/* How many bytes before end start a UTF-8 sequence that end cuts,
 * looking no further back than from. */
static size_t out_cut_tail(const struct evfeed *f, unsigned log, uint64_t from,
			   uint64_t end)
{
	size_t n = end - from < 3 ? (size_t)(end - from) : 3, cut;
	unsigned char *tmp;
	const unsigned char *b = out_span(f, log, end - n, n, &tmp);

	cut = b ? utf8_cut_tail(b, n) : 0;
	free(tmp);
	return cut;
}

/* Decimal digits of n. */
static size_t digits(uint64_t n)
{
	size_t d = 1;

	for (; n >= 10; n /= 10)
		d++;
	return d;
}

/* The length of the output line for p[0..len) of log at t, but for the
 * digits of its number. */
static size_t output_json(unsigned log, const struct timespec *t,
			  const unsigned char *p, size_t len)
{
	return events_output_len(0, t, logs_name(log), p, len) - 1;
}

/* The output event for bytes [off, off + len) of a log: rendered, or only
 * counted (count) when it is sure to be overwritten before anyone can
 * open the events log; json is its length without the digits of its
 * number when known (else 0). */
static void output_emit(struct evfeed *f, unsigned log, uint64_t off,
			size_t len, const struct timespec *t, bool count,
			size_t json)
{
	unsigned char *tmp = NULL;
	const unsigned char *data = NULL;

	count = count && !stream_nreaders(f->events) && !f->pending.len;
	if (!count || !json)
		data = out_span(f, log, off, len, &tmp);
	if (!count && !data) {
		f->lost++;
		f->seq++;
		return;
	}
	if (count) {
		if (!json && !data) {
			f->lost++;
			f->seq++;
			return;
		}
		if (!json)
			json = output_json(log, t, data, len);
		++f->seq;
		stream_skip(f->events, json + digits(f->seq), t);
	} else {
		/* One buffer for every output event: no allocation each. */
		f->render.len = 0;
		f->render.oom = false;
		events_render_output(&f->render, ++f->seq, t, logs_name(log),
				     data, len);
		line_put(f, &f->render);
		if (f->render.cap > EVFEED_RENDER_KEEP) {
			jbuf_free(&f->render);
			jbuf_init(&f->render);
		}
	}
	free(tmp);
}

/* Render or count the oldest waiting output event. It is only counted
 * when the output after it (extra: bytes about to be read) already fills
 * the events log, every byte making at least one byte of events. */
static void defer_pop(struct evfeed *f, uint64_t extra)
{
	struct ev_defer d = f->defer[f->defer_first];

	f->defer_first = (f->defer_first + 1) % EVFEED_DEFER_MAX;
	f->ndefer--;
	f->defer_raw -= d.len;
	f->defer_json -= d.json;
	output_emit(f, d.log, d.off, d.len, &d.t,
		    f->defer_raw + extra >= stream_cap(f->events), d.json);
}

uint64_t evfeed_size(const struct evfeed *f)
{
	uint64_t n = stream_head(f->events) + f->defer_json, seq;
	unsigned i;

	/* The digits of the numbers the waiting events will get. */
	for (i = 0, seq = f->seq + 1; i < f->ndefer; i++, seq++)
		n += digits(seq);
	return n;
}

void evfeed_sync(struct evfeed *f)
{
	while (f->ndefer)
		defer_pop(f, 0);
}

/* The number of a line that is not output: the output read before it
 * goes first, so its number comes after theirs. */
static uint64_t next_seq(struct evfeed *f)
{
	evfeed_sync(f);
	return ++f->seq;
}

void evfeed_start(struct evfeed *f, const struct timespec *t, pid_t pid,
		  char *const *argv, uint64_t restart)
{
	struct jbuf b;

	f->now = *t;
	jbuf_init(&b);
	events_render_start(&b, next_seq(f), t, pid, argv, restart);
	line_append(f, &b);
}

void evfeed_signal(struct evfeed *f, const struct timespec *t, int sig,
		   const char *name)
{
	struct jbuf b;

	f->now = *t;
	jbuf_init(&b);
	events_render_signal(&b, next_seq(f), t, sig, name);
	line_append(f, &b);
}

void evfeed_eof(struct evfeed *f, const struct timespec *t)
{
	struct jbuf b;

	f->now = *t;
	jbuf_init(&b);
	events_render_eof(&b, next_seq(f), t);
	line_append(f, &b);
}

void evfeed_error(struct evfeed *f, const struct timespec *t, const char *msg)
{
	struct jbuf b;

	f->now = *t;
	jbuf_init(&b);
	events_render_error(&b, next_seq(f), t, msg);
	line_append(f, &b);
}

void evfeed_skip(struct evfeed *f, const struct timespec *t, unsigned log,
		 uint64_t from, uint64_t to)
{
	struct jbuf b;

	f->now = *t;
	jbuf_init(&b);
	events_render_skip(&b, next_seq(f), t, logs_name(log), from, to);
	line_append(f, &b);
}

void evfeed_end(struct evfeed *f, const struct timespec *t, int exit_code,
		const char *signame, int status, const char *reason)
{
	struct jbuf b;

	f->now = *t;
	jbuf_init(&b);
	events_render_end(&b, next_seq(f), t, exit_code, signame, status,
			  reason);
	f->pending_finish = true; /* once the end line is in */
	line_append(f, &b);
}

void evfeed_finish(struct evfeed *f)
{
	evfeed_sync(f);
	if (f->pending.len) {
		f->pending_finish = true;
		return;
	}
	stream_finish(f->events);
}

void evfeed_reopen(struct evfeed *f)
{
	stream_reopen(f->events);
	f->pending_finish = false; /* a last run's end still waiting stays */
}

void evfeed_out_reset(struct evfeed *f, unsigned log)
{
	f->ev_off[log] = stream_head(f->outs[log]);
}

/* One output event: rendered now when someone has the events log open,
 * else kept to be rendered (or counted) later. */
static void output_event(struct evfeed *f, unsigned log, uint64_t off,
			 size_t len, const struct timespec *t)
{
	unsigned char *tmp;
	const unsigned char *data;
	size_t json;

	if (stream_nreaders(f->events) || f->pending.len) {
		evfeed_sync(f);
		output_emit(f, log, off, len, t, false, 0);
		return;
	}
	if (!f->defer) {
		f->defer = malloc(EVFEED_DEFER_MAX * sizeof(*f->defer));
		if (!f->defer) {
			output_emit(f, log, off, len, t, false, 0);
			return;
		}
	}
	if (f->ndefer == EVFEED_DEFER_MAX)
		defer_pop(f, len); /* this event's bytes come after it */
	/* Each byte is classified once, here; rendering it waits. */
	data = out_span(f, log, off, len, &tmp);
	json = data ? output_json(log, t, data, len) : 0;
	free(tmp);
	f->defer[(f->defer_first + f->ndefer) % EVFEED_DEFER_MAX] =
		(struct ev_defer){off, *t, len, json, log};
	f->ndefer++;
	f->defer_raw += len;
	f->defer_json += json;
}

void evfeed_output(struct evfeed *f, unsigned log, const struct timespec *t,
		   bool eof)
{
	uint64_t end = stream_head(f->outs[log]), *at = &f->ev_off[log];
	size_t k;

	f->now = *t;
	if (f->off) {
		*at = end;
		return;
	}
	if (!eof)
		end -= out_cut_tail(f, log, *at, end);
	while (*at < end) {
		k = end - *at < f->chunk ? (size_t)(end - *at) : f->chunk;
		/* Do not cut a character between two events either. */
		if (*at + k < end)
			k -= out_cut_tail(f, log, *at, *at + k);
		output_event(f, log, *at, k, t);
		*at += k;
	}
}

/* The first waiting event of log, or NULL. */
static struct ev_defer *defer_first_of(struct evfeed *f, unsigned log)
{
	struct ev_defer *d;
	unsigned i;

	for (i = 0; i < f->ndefer; i++) {
		d = &f->defer[(f->defer_first + i) % EVFEED_DEFER_MAX];
		if (d->log == log)
			return d;
	}
	return NULL;
}

/* The length (without digits) of d's line, counted anew. */
static size_t defer_count(const struct evfeed *f, const struct ev_defer *d)
{
	unsigned char *tmp;
	const unsigned char *data = out_span(f, d->log, d->off, d->len, &tmp);
	size_t json = data ? output_json(d->log, &d->t, data, d->len) : 0;

	free(tmp);
	return json;
}

/* The part of d below cut goes out now; the rest keeps waiting. */
static void defer_split(struct evfeed *f, struct ev_defer *d, uint64_t cut,
			uint64_t extra)
{
	struct ev_defer part = *d;
	size_t k = (size_t)(cut - d->off), back;

	back = out_cut_tail(f, d->log, d->off, cut);
	if (back < k)
		k -= back;
	part.len = k;
	d->off += k;
	d->len -= k;
	f->defer_raw -= k;
	f->defer_json -= d->json;
	d->json = defer_count(f, d);
	f->defer_json += d->json;
	output_emit(f, part.log, part.off, part.len, &part.t,
		    f->defer_raw + extra >= stream_cap(f->events), 0);
}

bool evfeed_at_stake(struct evfeed *f, unsigned log, size_t max)
{
	struct stream *s = f->outs[log];
	uint64_t cut = stream_head(s) + max;
	const struct ev_defer *d;

	if (cut <= stream_cap(s))
		return false;
	d = defer_first_of(f, log);
	return d && d->off < cut - stream_cap(s);
}

size_t evfeed_before_read(struct evfeed *f, unsigned log, size_t max,
			  size_t avail, const struct timespec *t)
{
	struct stream *s = f->outs[log];
	uint64_t cut = stream_head(s) + max, extra = 0;
	struct ev_defer *d;

	f->now = *t;
	if (cut <= stream_cap(s) || !(d = defer_first_of(f, log)) ||
	    d->off >= cut - stream_cap(s))
		return max;
	/* The read is then exactly as long as assumed. */
	if (avail > 0) {
		if (avail < max)
			max = avail;
		extra = max;
	}
	cut = stream_head(s) + max;
	if (cut <= stream_cap(s))
		return max;
	cut -= stream_cap(s); /* bytes below it are overwritten */
	/* A cut character the read would overwrite: its own event. */
	if (f->ev_off[log] < cut && f->ev_off[log] < stream_head(s)) {
		output_event(f, log, f->ev_off[log],
			     (size_t)(stream_head(s) - f->ev_off[log]), t);
		f->ev_off[log] = stream_head(s);
	}
	while ((d = defer_first_of(f, log)) && d->off < cut) {
		while (&f->defer[f->defer_first] != d)
			defer_pop(f, extra); /* older, of the other log */
		if (d->off + d->len <= cut)
			defer_pop(f, extra);
		else
			defer_split(f, d, cut, extra);
	}
	return max;
}

size_t evfeed_pipe_budget(struct evfeed *f, unsigned log, uint64_t cap,
			  bool hup, evfeed_avail_cb avail, void *arg,
			  const struct timespec *t)
{
	struct stream_feed feeds[2] = {
		{f->outs[log], 1, 0},
		{f->events, evfeed_per_byte(), evfeed_extra()},
	};
	size_t budget = stream_pipe_budget(feeds, 2);
	long held;

	/* Lines waiting for room go first, to keep their order. */
	if (f->pending.len)
		budget = 0;
	if (budget > cap)
		budget = (size_t)cap;
	if (!avail || budget == 0 || !evfeed_at_stake(f, log, budget))
		return budget;
	held = avail(arg);
	if (held == 0)
		return hup ? budget : 0;
	return evfeed_before_read(f, log, budget, held > 0 ? (size_t)held : 0,
				  t);
}

void evfeed_save(const struct evfeed *f, struct state_w *w)
{
	unsigned i;

	state_begin(w, STATE_EVFEED);
	state_u64(w, f->chunk);
	state_u64(w, f->seq);
	for (i = 0; i < LOGS_NPIPES; i++)
		state_u64(w, f->ev_off[i]);
	state_bytes(w, f->pending.data, f->pending.len);
	state_u64(w, f->pending_finish);
	state_u64(w, f->ndefer);
	for (i = 0; i < f->ndefer; i++) {
		const struct ev_defer *d =
			&f->defer[(f->defer_first + i) % EVFEED_DEFER_MAX];

		state_u64(w, d->off);
		state_ts(w, &d->t);
		state_u64(w, d->len);
		state_u64(w, d->json);
		state_u64(w, d->log);
	}
	state_u64(w, f->defer_raw);
	state_u64(w, f->lost);
	state_u64(w, f->defer_json);
	state_ts(w, &f->now);
	state_u64(w, f->off);
	state_end(w);
}

struct evfeed *evfeed_load(struct stream *events, struct stream *const *outs,
			   struct state_r *r)
{
	struct evfeed *f;
	const void *pend;
	size_t n;
	unsigned i;

	if (!state_enter(r, STATE_EVFEED))
		return NULL;
	f = evfeed_new(events, outs, (size_t)state_get_u64(r), false);
	if (!f) {
		state_fail(r, "evfeed: out of memory");
		return NULL;
	}
	f->seq = state_get_u64(r);
	for (i = 0; i < LOGS_NPIPES; i++)
		f->ev_off[i] = state_get_u64(r);
	pend = state_get_bytes(r, &n);
	if (n)
		jbuf_put(&f->pending, pend, n);
	f->pending_finish = state_get_bool(r);
	f->ndefer = (unsigned)state_get_u64(r);
	if (f->ndefer > EVFEED_DEFER_MAX)
		state_fail(r, "evfeed: %u deferred events", f->ndefer);
	if (f->ndefer && !r->err) {
		f->defer = malloc(EVFEED_DEFER_MAX * sizeof(*f->defer));
		if (!f->defer)
			state_fail(r, "evfeed: out of memory");
	}
	for (i = 0; i < f->ndefer && !r->err; i++) {
		struct ev_defer *d = &f->defer[i];

		d->off = state_get_u64(r);
		state_get_ts(r, &d->t);
		d->len = (size_t)state_get_u64(r);
		d->json = (size_t)state_get_u64(r);
		d->log = (unsigned)state_get_u64(r);
	}
	f->defer_raw = state_get_u64(r);
	f->lost = state_get_u64(r);
	f->defer_json = state_get_u64(r);
	state_get_ts(r, &f->now);
	f->off = state_get_bool(r);
	state_leave(r);
	if (r->err || f->pending.oom) {
		state_fail(r, "evfeed: out of memory");
		evfeed_free(f);
		return NULL;
	}
	return f;
}
