/*
 * input: the stdin of a run. A full pipe is watched for EPOLLOUT only
 * while a write waits for room, and out of epoll otherwise, so a hang-up
 * on a pipe nobody writes to does not wake the loop. Owns the parent's
 * end of the pipe (or the terminal's master) and its watch.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "spawnfs/input.h"
#include "spawnfs/state.h"

struct input {
	struct loop *loop;
	int fd; /* -1 when closed */
	bool tty;
	struct loop_io *io;
	input_ready_cb cb;
	void *arg;
};

struct input *input_new(struct loop *loop, input_ready_cb cb, void *arg)
{
	struct input *in = calloc(1, sizeof(*in));

	if (!in) {
		errno = ENOMEM;
		return NULL;
	}
	in->loop = loop;
	in->fd = -1;
	in->cb = cb;
	in->arg = arg;
	return in;
}

/* Stop watching the fd and close it. */
static void input_drop(struct input *in)
{
	loop_io_close(&in->io, &in->fd);
}

void input_free(struct input *in)
{
	if (!in)
		return;
	input_drop(in);
	free(in);
}

static void input_writable(void *arg, uint32_t events)
{
	struct input *in = arg;

	(void)events;
	(void)loop_io_mod(in->io, 0); /* a failed delete is logged there */
	in->cb(in->arg);
}

int input_attach(struct input *in, int *fd, bool tty)
{
	in->io = loop_io_add(in->loop, *fd, 0, input_writable, in);
	if (!in->io)
		return -errno;
	in->fd = *fd;
	in->tty = tty;
	*fd = -1;
	return 0;
}

void input_close(struct input *in)
{
	if (in->fd < 0)
		return;
	input_drop(in);
	in->cb(in->arg);
}

ssize_t input_write(struct input *in, const void *buf, size_t n)
{
	ssize_t w;

	if (in->fd < 0)
		return -EPIPE;
	w = write(in->fd, buf, n);
	if (w >= 0)
		return w;
	if (errno == EAGAIN) {
		/* Unwatched, a waiting writer would never be woken: fail it. */
		w = loop_io_mod(in->io, EPOLLOUT);
		return w < 0 ? w : -EAGAIN;
	}
	if (errno == EINTR)
		return -EAGAIN;
	input_close(in);
	return -EPIPE;
}

int input_eof(struct input *in)
{
	static const char veof = 4; /* ^D */

	if (in->tty && in->fd >= 0) {
		if (write(in->fd, &veof, 1) < 0)
			return -errno;
		return 0;
	}
	input_close(in);
	return 0;
}

void input_save(const struct input *in, struct state_w *w)
{
	state_begin(w, STATE_INPUT);
	state_fd(w, in->fd);
	state_u64(w, in->tty);
	state_end(w);
}

int input_load(struct input *in, struct state_r *r)
{
	int fd;
	bool tty;

	if (!state_enter(r, STATE_INPUT))
		return r->err;
	fd = state_get_fd(r);
	tty = state_get_bool(r);
	state_leave(r);
	if (r->err || fd < 0)
		return r->err;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (input_attach(in, &fd, tty) < 0) {
		state_fail(r, "input: watch fd %d: %s", fd, strerror(errno));
		close(fd);
	}
	return r->err;
}
