/*
 * stream: one output log (a ring, its readers) and the back-pressure
 * decision for a pipe across the logs it feeds. Pure: no syscalls.
 */
#ifndef SPAWNFS_STREAM_H
#define SPAWNFS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

struct stream;
struct stream_reader;

/* A log keeping at most cap bytes. NULL with errno EINVAL or ENOMEM. */
struct stream *stream_new(size_t cap);

/* Free s; its readers must be gone. NULL is a no-op. */
void stream_free(struct stream *s);

uint64_t stream_head(const struct stream *s); /* bytes captured */
uint64_t stream_tail(const struct stream *s); /* oldest retained */
size_t stream_cap(const struct stream *s);
unsigned stream_nreaders(const struct stream *s);
bool stream_finished(const struct stream *s);
bool stream_paused(const struct stream *s);
const struct timespec *stream_mtime(const struct stream *s);

/* No more bytes will come: waiting reads see end of file. */
void stream_finish(struct stream *s);

/* A new run feeds the log again (after stream_finish). */
void stream_reopen(struct stream *s);

/* Free space at the head, as for ring_reserve. */
int stream_reserve(struct stream *s, size_t max, struct iovec iov[2]);

/* Account n bytes written into reserved space, captured at time now. */
void stream_commit(struct stream *s, size_t n, const struct timespec *now);

/* A log of text lines: eviction keeps the tail at a line start (as far
 * as no reader still needs the bytes before it), so the oldest retained
 * line is whole. For logs written with stream_append only. */
void stream_set_lines(struct stream *s);

/* Bytes [off, off + max) as one or two iovecs into the log (ring_peek). */
int stream_peek(const struct stream *s, uint64_t off, size_t max,
		struct iovec iov[2], size_t *n);

/* Count n bytes as written but keep none (ring_skip): for bytes nobody
 * can read before they would be overwritten. Only without readers. */
void stream_skip(struct stream *s, uint64_t n, const struct timespec *now);

/* Copy n bytes in. 0 or -ENOMEM. */
int stream_append(struct stream *s, const void *p, size_t n,
		  const struct timespec *now);

/*
 * True while s has an open reader that is not stalled, so it holds the
 * pipes feeding it.
 */
bool stream_holds(const struct stream *s);

/*
 * output keep SIZE (keep > 0) or output pause (0): in keep
 * mode the window is keep bytes and s never holds a pipe; pause mode has
 * the window s was made with. Shrinking forgets the oldest bytes. 0 or
 * -ENOMEM (s unchanged).
 */
int stream_set_keep(struct stream *s, size_t keep);

/* The keep window, 0 in pause mode. */
size_t stream_keep(const struct stream *s);

/* While on, s acts as keep as long as no handle is open (a stop lets a
 * TERM handler write); open handles still hold the pipe. */
void stream_set_keep_unread(struct stream *s, bool on);

/* A range [from, to) left the window (keep mode) while an open handle
 * had not read it. Contiguous ranges make one, told when it ends: at
 * the next eviction nobody misses, a reader's jump, a finish. */
typedef void (*stream_skip_cb)(void *arg, uint64_t from, uint64_t to);
void stream_on_skip(struct stream *s, stream_skip_cb cb, void *arg);

/* Bytes that left the window before any handle read them. */
uint64_t stream_dropped(const struct stream *s);

/*
 * Bytes s can take before a byte its read position R still needs would be
 * overwritten: cap - (head - R), where R is the slowest open reader's
 * position, or with no reader the furthest offset any reader has read.
 */
size_t stream_room(const struct stream *s);

/* One log fed by a pipe, with the worst-case growth of the log per pipe
 * byte (1 for raw output) and per read (fixed framing). */
struct stream_feed {
	struct stream *log;
	size_t per_byte;
	size_t overhead;
};

/*
 * How many bytes the pipe feeding feeds[0..n) may read now. feeds[0] is
 * the pipe's own log. The logs that hold the pipe are those with an open
 * reader, or feeds[0] when none has; the budget is the smallest room
 * among them, converted to pipe bytes. Logs whose room is the limit are
 * marked paused (stream_paused); call stream_clear_paused first for a
 * log fed by several pipes.
 */
size_t stream_pipe_budget(const struct stream_feed *feeds, size_t n);
void stream_clear_paused(struct stream *s);

/*
 * Mark as stalled the readers that have bytes to read but have not read
 * since now_ms - stall_ms: they stop holding the pipes (stall_timeout).
 * A stalled reader holds again at its next read, which fails with EIO
 * if what it needed was overwritten meanwhile. Returns how many.
 */
unsigned stream_stall(struct stream *s, uint64_t now_ms, uint64_t stall_ms);

/* A reader may now be answered: called with the reader's data, from
 * within the change (commit, append, finish). It must not call back into
 * s: it only notes the reader (a ready list drained after the dispatch). */
typedef void (*stream_wake_cb)(void *data);

/* A new open handle on s, positioned at the oldest retained byte so that
 * nothing it may still read is overwritten. wake (NULL: none) is called
 * with data whenever bytes arrive or the log finishes; now_ms starts its
 * stall clock. NULL with errno ENOMEM. */
struct stream_reader *stream_reader_new(struct stream *s, stream_wake_cb wake,
					void *data, uint64_t now_ms);

/* Close the handle; NULL is a no-op. */
void stream_reader_free(struct stream_reader *r);

/*
 * Read up to size bytes at the handle's offset off. The first read of a
 * handle at offset 0 starts at the oldest retained byte and shifts the
 * handle's offsets by as much. Returns 0 with *n > 0 and iovecs into the
 * ring (valid until the next write to s), 0 with *n == 0 at end of file,
 * -EAGAIN when the bytes do not exist yet (the caller waits or fails),
 * -EIO when they were already forgotten (in keep mode only for a read
 * that does not continue the handle's last one: a sequential reader goes
 * on at the oldest retained byte). now_ms is the read's time.
 */
int stream_read(struct stream_reader *r, uint64_t off, size_t size,
		uint64_t now_ms, struct iovec iov[2], int *iovcnt, size_t *n);

/* Whether a read at off would not wait (data, end of file or error). */
bool stream_readable(const struct stream_reader *r, uint64_t off);

/* An upgrade in place: a log with its ring, and a reader's position
 * (its owner, the handle, makes it again on the loaded log). */
struct state_w;
struct state_r;
void stream_save(const struct stream *s, struct state_w *w);
struct stream *stream_load(struct state_r *r);
void stream_reader_save(const struct stream_reader *rd, struct state_w *w);
struct stream *stream_reader_stream(const struct stream_reader *rd);
struct stream_reader *stream_reader_load(struct stream *s, stream_wake_cb wake,
					 void *data, struct state_r *r);

#endif
