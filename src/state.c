/*
 * state: the upgrade's saved state (see state.h for the layout). Pure:
 * memory in, memory out.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/state.h"

static const char state_magic[8] = "SPAWNFS";

uint64_t state_checksum(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL, w;
	size_t i;

	/* FNV-1a's step over 8-byte words, then the last bytes: a state of
	 * megabytes is summed three times per upgrade. */
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h ^= w;
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void state_w_init(struct state_w *w)
{
	memset(w, 0, sizeof(*w));
	w->len = STATE_HEADER;
}

void state_w_fini(struct state_w *w)
{
	free(w->buf);
	free(w->fds);
	memset(w, 0, sizeof(*w));
}

static bool w_room(struct state_w *w, size_t n)
{
	size_t cap;
	unsigned char *grown;

	if (w->err)
		return false;
	if (w->len + n <= w->cap)
		return true;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	grown = realloc(w->buf, cap);
	if (!grown) {
		w->err = -ENOMEM;
		return false;
	}
	w->buf = grown;
	w->cap = cap;
	return true;
}

static void w_head(struct state_w *w, uint32_t tag, uint32_t len)
{
	memcpy(w->buf + w->len, &tag, 4);
	memcpy(w->buf + w->len + 4, &len, 4);
	w->len += 8;
}

static void w_leaf(struct state_w *w, uint32_t tag, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		if (!w->err)
			w->err = -EFBIG;
		return;
	}
	if (!w_room(w, 8 + n))
		return;
	w_head(w, tag, (uint32_t)n);
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void state_begin(struct state_w *w, enum state_tag box)
{
	if (!w->err && w->depth == STATE_DEPTH)
		w->err = -EINVAL;
	if (!w_room(w, 8))
		return;
	w->open[w->depth++] = w->len;
	w_head(w, (uint32_t)box, 0);
}

void state_end(struct state_w *w)
{
	size_t at;
	uint32_t len;

	if (!w->err && w->depth == 0)
		w->err = -EINVAL;
	if (w->err)
		return;
	at = w->open[--w->depth];
	if (w->len - at - 8 > UINT32_MAX) {
		w->err = -EFBIG;
		return;
	}
	len = (uint32_t)(w->len - at - 8);
	memcpy(w->buf + at + 4, &len, 4);
}

void state_u64(struct state_w *w, uint64_t v)
{
	w_leaf(w, STATE_U64, &v, 8);
}

void state_i64(struct state_w *w, int64_t v)
{
	w_leaf(w, STATE_I64, &v, 8);
}

void state_bytes(struct state_w *w, const void *p, size_t n)
{
	w_leaf(w, STATE_BYTES, p, n);
}

void state_str(struct state_w *w, const char *s)
{
	if (s)
		w_leaf(w, STATE_BYTES, s, strlen(s));
	else
		w_leaf(w, STATE_NUL, NULL, 0);
}

void state_ts(struct state_w *w, const struct timespec *ts)
{
	state_i64(w, (int64_t)ts->tv_sec);
	state_i64(w, (int64_t)ts->tv_nsec);
}

void state_fd(struct state_w *w, int fd)
{
	int32_t v = fd;
	int *grown;

	w_leaf(w, STATE_FD, &v, 4);
	if (w->err || fd < 0)
		return;
	if (w->nfds == w->fdcap) {
		w->fdcap = w->fdcap ? w->fdcap * 2 : 64;
		grown = realloc(w->fds, w->fdcap * sizeof(int));
		if (!grown) {
			w->err = -ENOMEM;
			return;
		}
		w->fds = grown;
	}
	w->fds[w->nfds++] = fd;
}

int state_w_finish(struct state_w *w, uint32_t version)
{
	uint64_t body, sum;
	uint32_t zero = 0;

	if (!w->err && w->depth)
		w->err = -EINVAL;
	if (!w_room(w, 0))
		return w->err;
	if (!w->buf && !w_room(w, 1))
		return w->err;
	body = w->len - STATE_HEADER;
	sum = state_checksum(w->buf + STATE_HEADER, body);
	memcpy(w->buf, state_magic, 8);
	memcpy(w->buf + 8, &version, 4);
	memcpy(w->buf + 12, &zero, 4);
	memcpy(w->buf + 16, &body, 8);
	memcpy(w->buf + 24, &sum, 8);
	return 0;
}

void state_fail(struct state_r *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err)
		return;
	r->err = -EINVAL;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

int state_r_init(struct state_r *r, const void *buf, size_t len)
{
	uint64_t body, sum;

	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	r->pos = STATE_HEADER;
	if (len < STATE_HEADER || memcmp(buf, state_magic, 8) != 0) {
		state_fail(r, "not a spawnfs state");
		return r->err;
	}
	memcpy(&r->version, r->buf + 8, 4);
	memcpy(&body, r->buf + 16, 8);
	memcpy(&sum, r->buf + 24, 8);
	if (r->version != STATE_VERSION)
		state_fail(r,
			   "state version %u is not the one this program "
			   "reads (%u)",
			   (unsigned)r->version, (unsigned)STATE_VERSION);
	else if (body != len - STATE_HEADER)
		state_fail(r, "state is %zu bytes, its header says %llu",
			   len - STATE_HEADER, (unsigned long long)body);
	else if (state_checksum(r->buf + STATE_HEADER, body) != sum)
		state_fail(r, "state checksum does not match");
	return r->err;
}

static bool tag_known(uint32_t tag)
{
	if (tag & STATE_BOX)
		return (tag & ~STATE_BOX) >= 1 &&
		       (tag & ~STATE_BOX) <= STATE_TAG_LAST;
	return tag >= STATE_U64 && tag <= STATE_FD;
}

static bool leaf_size_ok(uint32_t tag, uint32_t len)
{
	switch (tag) {
	case STATE_U64:
	case STATE_I64:
		return len == 8;
	case STATE_NUL:
		return len == 0;
	case STATE_FD:
		return len == 4;
	default:
		return true;
	}
}

/* Walk [pos, end) as records. */
static void walk(struct state_r *r, size_t pos, size_t end, unsigned depth)
{
	uint32_t tag, len;

	while (!r->err && pos < end) {
		if (end - pos < 8) {
			state_fail(r, "record cut short at byte %zu", pos);
			return;
		}
		memcpy(&tag, r->buf + pos, 4);
		memcpy(&len, r->buf + pos + 4, 4);
		if (!tag_known(tag)) {
			state_fail(r, "unknown record 0x%x at byte %zu",
				   (unsigned)tag, pos);
			return;
		}
		if (len > end - pos - 8) {
			state_fail(r,
				   "record 0x%x at byte %zu overruns its box",
				   (unsigned)tag, pos);
			return;
		}
		if (!(tag & STATE_BOX) && !leaf_size_ok(tag, len)) {
			state_fail(r, "leaf 0x%x at byte %zu has length %u",
				   (unsigned)tag, pos, (unsigned)len);
			return;
		}
		if (tag & STATE_BOX) {
			if (depth + 1 >= STATE_DEPTH) {
				state_fail(r, "boxes nested too deep");
				return;
			}
			walk(r, pos + 8, pos + 8 + len, depth + 1);
		}
		pos += 8 + (size_t)len;
	}
}

int state_r_walk(struct state_r *r)
{
	if (r->err)
		return r->err;
	walk(r, STATE_HEADER, r->len, 0);
	if (!r->err && !state_next_is(r, STATE_DAEMON))
		state_fail(r, "the state does not start with the daemon's box");
	return r->err;
}

static size_t r_end(const struct state_r *r)
{
	return r->depth ? r->end[r->depth - 1] : r->len;
}

/* Read the next record's head; it must be tag. Returns its length. */
static bool r_head(struct state_r *r, uint32_t want, uint32_t *len)
{
	uint32_t tag;

	if (r->err)
		return false;
	if (r_end(r) - r->pos < 8) {
		state_fail(r, "expected record 0x%x at byte %zu, box ends",
			   (unsigned)want, r->pos);
		return false;
	}
	memcpy(&tag, r->buf + r->pos, 4);
	memcpy(len, r->buf + r->pos + 4, 4);
	if (tag != want || *len > r_end(r) - r->pos - 8) {
		state_fail(r, "expected record 0x%x at byte %zu, found 0x%x",
			   (unsigned)want, r->pos, (unsigned)tag);
		return false;
	}
	r->pos += 8;
	return true;
}

bool state_enter(struct state_r *r, enum state_tag box)
{
	uint32_t len;

	if (!r->err && r->depth == STATE_DEPTH)
		state_fail(r, "boxes nested too deep");
	if (!r_head(r, (uint32_t)box, &len))
		return false;
	r->end[r->depth++] = r->pos + len;
	return true;
}

void state_leave(struct state_r *r)
{
	if (r->err)
		return;
	if (r->depth == 0) {
		state_fail(r, "left a box never entered");
		return;
	}
	if (r->pos != r->end[r->depth - 1]) {
		state_fail(r, "box ending at byte %zu has %zu bytes not read",
			   r->end[r->depth - 1], r->end[r->depth - 1] - r->pos);
		return;
	}
	r->depth--;
}

bool state_more(const struct state_r *r)
{
	return !r->err && r->pos < r_end(r);
}

bool state_next_is(const struct state_r *r, enum state_tag box)
{
	uint32_t tag;

	if (r->err || r_end(r) - r->pos < 8)
		return false;
	memcpy(&tag, r->buf + r->pos, 4);
	return tag == (uint32_t)box;
}

static bool r_fixed(struct state_r *r, uint32_t tag, void *out, size_t n)
{
	uint32_t len;

	memset(out, 0, n);
	if (!r_head(r, tag, &len))
		return false;
	if (len != n) {
		state_fail(r, "leaf 0x%x has length %u", (unsigned)tag,
			   (unsigned)len);
		return false;
	}
	memcpy(out, r->buf + r->pos, n);
	r->pos += n;
	return true;
}

uint64_t state_get_u64(struct state_r *r)
{
	uint64_t v;

	r_fixed(r, STATE_U64, &v, 8);
	return v;
}

int64_t state_get_i64(struct state_r *r)
{
	int64_t v;

	r_fixed(r, STATE_I64, &v, 8);
	return v;
}

bool state_get_bool(struct state_r *r)
{
	return state_get_u64(r) != 0;
}

const void *state_get_bytes(struct state_r *r, size_t *n)
{
	uint32_t len;
	const void *p;

	*n = 0;
	if (!r_head(r, STATE_BYTES, &len))
		return NULL;
	p = r->buf + r->pos;
	r->pos += len;
	*n = len;
	return p;
}

char *state_get_str(struct state_r *r)
{
	const void *p;
	uint32_t len;
	size_t n;
	char *s;

	if (state_next_is(r, (enum state_tag)STATE_NUL)) {
		r_head(r, STATE_NUL, &len);
		return NULL;
	}
	p = state_get_bytes(r, &n);
	if (!p)
		return NULL;
	if (memchr(p, '\0', n)) {
		state_fail(r, "a string holds a NUL byte");
		return NULL;
	}
	s = malloc(n + 1);
	if (!s) {
		if (!r->err)
			r->err = -ENOMEM;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

void state_get_ts(struct state_r *r, struct timespec *ts)
{
	ts->tv_sec = (time_t)state_get_i64(r);
	ts->tv_nsec = (long)state_get_i64(r);
	if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L) {
		state_fail(r, "a time has %ld ns", ts->tv_nsec);
		ts->tv_nsec = 0;
	}
}

int state_get_fd(struct state_r *r)
{
	int32_t v;

	if (!r_fixed(r, STATE_FD, &v, 4))
		return -1;
	return v < 0 ? -1 : v;
}

const char *state_get_name(struct state_r *r, const char *const *names)
{
	char *saved = state_get_str(r);
	const char *name = NULL;
	size_t i;

	for (i = 0; saved && names[i]; i++)
		if (strcmp(saved, names[i]) == 0)
			name = names[i];
	if (saved && !name)
		state_fail(r, "unknown name \"%s\"", saved);
	free(saved);
	return name;
}

void state_skip(struct state_r *r, enum state_tag box)
{
	if (!state_enter(r, box))
		return;
	r->pos = r->end[r->depth - 1];
	state_leave(r);
}
