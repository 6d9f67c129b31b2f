/*
 * fusewire: raw FUSE protocol, from the kernel's uapi header. libfuse's
 * own copy of it is not installed, and Debian 12's linux/fuse.h (7.38)
 * predates FUSE_NOTIFY_RESEND and FUSE_HAS_RESEND: their kernel values
 * are defined here.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "spawnfs/fusewire.h"

#ifndef FUSE_NOTIFY_RESEND
#define FUSE_NOTIFY_RESEND 7
#endif
#define WIRE_HAS_RESEND_FLAGS2 (1u << 7) /* FUSE_HAS_RESEND >> 32 */

bool fusewire_peek(const void *buf, size_t n, struct fusewire_req *req)
{
	struct fuse_in_header in;
	struct fuse_poll_in poll;

	memset(req, 0, sizeof(*req));
	if (n < sizeof(in))
		return false;
	memcpy(&in, buf, sizeof(in));
	req->opcode = in.opcode;
	req->unique = in.unique;
	req->init = in.opcode == FUSE_INIT;
	if (in.opcode == FUSE_POLL && n >= sizeof(in) + sizeof(poll)) {
		memcpy(&poll, (const char *)buf + sizeof(in), sizeof(poll));
		if (poll.flags & FUSE_POLL_SCHEDULE_NOTIFY)
			req->kh = poll.kh;
	}
	return true;
}

bool fusewire_init_resend(const void *init, size_t n)
{
	struct fuse_init_in in;

	if (n < sizeof(struct fuse_in_header) + sizeof(in))
		return false;
	memcpy(&in, (const char *)init + sizeof(struct fuse_in_header),
	       sizeof(in));
	return (in.flags & FUSE_INIT_EXT) &&
	       (in.flags2 & WIRE_HAS_RESEND_FLAGS2);
}

static int wire_write(int fd, struct iovec *iov, int cnt, size_t len)
{
	ssize_t n;

	do
		n = writev(fd, iov, cnt);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int fusewire_notify_resend(int fd)
{
	struct fuse_out_header out = {
		.len = sizeof(out), .error = FUSE_NOTIFY_RESEND, .unique = 0};
	struct iovec iov = {&out, sizeof(out)};

	return wire_write(fd, &iov, 1, sizeof(out));
}

int fusewire_notify_poll(int fd, uint64_t kh)
{
	struct fuse_notify_poll_wakeup_out arg = {.kh = kh};
	struct fuse_out_header out = {.len = sizeof(out) + sizeof(arg),
				      .error = FUSE_NOTIFY_POLL,
				      .unique = 0};
	struct iovec iov[2] = {{&out, sizeof(out)}, {&arg, sizeof(arg)}};

	return wire_write(fd, iov, 2, sizeof(out) + sizeof(arg));
}
