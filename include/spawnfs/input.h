/*
 * input: the stdin of a run, the parent's end of a pipe to the child's
 * stdin or a terminal's master. A write never blocks: when the pipe is
 * full the fd is watched for room once, and the owner's callback says
 * that it may write again, or that the input was closed (by end of
 * input, a failed write or the end of the run). Owns the fd and its loop
 * watch; one input serves every run of a slot, attached anew to each.
 */
#ifndef SPAWNFS_INPUT_H
#define SPAWNFS_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spawnfs/loop.h"

struct input;

/* The input became writable, or was closed. */
typedef void (*input_ready_cb)(void *arg);

/* An input on loop (borrowed, outliving it), closed for now; cb(arg)
 * tells its owner. NULL with errno ENOMEM. */
struct input *input_new(struct loop *loop, input_ready_cb cb, void *arg);

/* Close what is open, without the callback. NULL is a no-op. */
void input_free(struct input *in);

/* Take over *fd (non-blocking; a terminal's master when tty), which is
 * then -1. 0, or -errno with nothing taken. The input must be closed. */
int input_attach(struct input *in, int *fd, bool tty);

/* Write to the child's stdin: bytes written (> 0), -EAGAIN when the pipe
 * is full (the callback runs once it has room, not after EINTR), -EPIPE
 * when closed; any other failure closes the input. */
ssize_t input_write(struct input *in, const void *buf, size_t n);

/* End the input: type ^D on a terminal that is open, else close. 0, or
 * the -errno of writing the ^D. */
int input_eof(struct input *in);

/* Close the fd; the callback runs when it was open. */
void input_close(struct input *in);

struct state_w;
struct state_r;
/* An upgrade in place: the stdin fd (inherited), watched again. */
void input_save(const struct input *in, struct state_w *w);
int input_load(struct input *in, struct state_r *r);

#endif
