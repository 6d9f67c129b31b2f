/*
 * fusewire: the few facts of the FUSE wire protocol that libfuse 3.14
 * does not expose and an upgrade in place needs: a request's unique and
 * opcode, a FUSE_POLL's kh, whether the kernel offered FUSE_HAS_RESEND
 * in its INIT, and the raw notifications FUSE_NOTIFY_RESEND and
 * FUSE_NOTIFY_POLL (libfuse's poll handles are opaque and die with the
 * old image).
 */
#ifndef SPAWNFS_FUSEWIRE_H
#define SPAWNFS_FUSEWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fusewire_req {
	uint32_t opcode;
	uint64_t unique;
	uint64_t kh; /* FUSE_POLL with a notify asked: its kh; else 0 */
	bool init;   /* FUSE_INIT */
};

/* Read the header of the request in buf (pure): false if too short. */
bool fusewire_peek(const void *buf, size_t n, struct fusewire_req *req);

/* Whether an INIT request offers FUSE_HAS_RESEND (flags2 bit 7). */
bool fusewire_init_resend(const void *init, size_t n);

/* Write FUSE_NOTIFY_RESEND (the kernel sends every request the daemon
 * read and did not answer again, bit 63 set in unique) or a
 * FUSE_NOTIFY_POLL for kh to the device fd. 0 or -errno. */
int fusewire_notify_resend(int fd);
int fusewire_notify_poll(int fd, uint64_t kh);

#endif
