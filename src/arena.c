/*
 * arena: one memfd of ARENA_SPAN bytes (sparse: pages exist only where
 * written), mapped once, shared. Blocks are carved first-fit from a list
 * of free extents kept in offset order and merged with their neighbours;
 * the space past top was never handed out. Freeing punches a hole, so
 * the pages are gone whatever the list looks like.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "spawnfs/arena.h"
#include "spawnfs/state.h"

#define ARENA_CHUNK (16ULL << 20) /* mapped at a time */

struct extent {
	uint64_t off, len;
};

static struct {
	int fd;
	unsigned char *base;
	uint64_t span;	 /* reserved, and the memfd's size */
	uint64_t mapped; /* the memfd mapped from base up to here */
	uint64_t top;	 /* never handed out from here */
	uint64_t used;
	struct extent *free;
	size_t nfree, capfree;
} ar = {.fd = -1};

static uint64_t page_round(size_t n)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);

	return ((uint64_t)n + pg - 1) / pg * pg;
}

/* Reserve span bytes of address space (no access, no memory) for fd's
 * blocks, a smaller span where the address space (or a tool's) will not
 * give that much; the memfd is as big (sparse). Only what blocks have
 * used is mapped (arena_reach): a tool that walks a process's readable
 * memory, such as valgrind's leak check in a forked child, walks that
 * much, not the reservation. */
static int arena_reserve(int fd, uint64_t span, bool grow)
{
	void *p;

	for (; span >= (1ULL << 30); span >>= 2) {
		if (grow && ftruncate(fd, (off_t)span) < 0)
			return -errno;
		p = mmap(NULL, span, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			ar.base = p;
			ar.span = span;
			ar.mapped = 0;
			return 0;
		}
		if (!grow)
			break;
	}
	return -ENOMEM;
}

/* Map the memfd over the reservation up to at least end. */
static int arena_reach(uint64_t end)
{
	uint64_t to;
	void *p;

	if (end <= ar.mapped)
		return 0;
	to = (end + ARENA_CHUNK - 1) / ARENA_CHUNK * ARENA_CHUNK;
	if (to > ar.span)
		to = ar.span;
	if (end > to)
		return -ENOMEM;
	p = mmap(ar.base + ar.mapped, to - ar.mapped, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, ar.fd, (off_t)ar.mapped);
	if (p == MAP_FAILED)
		return -errno;
	ar.mapped = to;
	return 0;
}

static int arena_make(void)
{
	int fd, rc;

	fd = memfd_create("spawnfs-logs", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = arena_reserve(fd, 1ULL << 40, true);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	ar.fd = fd;
	return 0;
}

static int free_insert(size_t at, uint64_t off, uint64_t len)
{
	struct extent *grown;

	if (ar.nfree == ar.capfree) {
		ar.capfree = ar.capfree ? ar.capfree * 2 : 64;
		grown = realloc(ar.free, ar.capfree * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ar.free = grown;
	}
	memmove(ar.free + at + 1, ar.free + at,
		(ar.nfree - at) * sizeof(*ar.free));
	ar.free[at] = (struct extent){off, len};
	ar.nfree++;
	return 0;
}

static void free_remove(size_t at)
{
	memmove(ar.free + at, ar.free + at + 1,
		(ar.nfree - at - 1) * sizeof(*ar.free));
	ar.nfree--;
}

int arena_init(void)
{
	return ar.fd >= 0 ? 0 : arena_make();
}

void *arena_alloc(size_t n)
{
	uint64_t len = page_round(n ? n : 1), off;
	size_t i;

	if (ar.fd < 0) {
		int rc = arena_make();

		if (rc < 0) {
			errno = -rc;
			return NULL;
		}
	}
	for (i = 0; i < ar.nfree; i++) {
		if (ar.free[i].len < len)
			continue;
		off = ar.free[i].off;
		ar.free[i].off += len;
		ar.free[i].len -= len;
		if (ar.free[i].len == 0)
			free_remove(i);
		ar.used += len;
		return ar.base + off;
	}
	if (len > ar.span - ar.top || arena_reach(ar.top + len) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	off = ar.top;
	ar.top += len;
	ar.used += len;
	return ar.base + off;
}

void arena_free(void *p, size_t n)
{
	uint64_t len = page_round(n ? n : 1), off;
	size_t i;

	if (!p)
		return;
	off = (uint64_t)((unsigned char *)p - ar.base);
	ar.used -= len;
	/* The pages go whatever happens to the bookkeeping below. */
	fallocate(ar.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		  (off_t)len);
	if (off + len == ar.top) {
		ar.top = off;
		/* The extent just below may now reach the top too. */
		if (ar.nfree &&
		    ar.free[ar.nfree - 1].off + ar.free[ar.nfree - 1].len ==
			    ar.top) {
			ar.top = ar.free[ar.nfree - 1].off;
			free_remove(ar.nfree - 1);
		}
		return;
	}
	for (i = 0; i < ar.nfree && ar.free[i].off < off; i++)
		;
	if (i > 0 && ar.free[i - 1].off + ar.free[i - 1].len == off) {
		ar.free[i - 1].len += len;
		if (i < ar.nfree && off + len == ar.free[i].off) {
			ar.free[i - 1].len += ar.free[i].len;
			free_remove(i);
		}
		return;
	}
	if (i < ar.nfree && off + len == ar.free[i].off) {
		ar.free[i].off = off;
		ar.free[i].len += len;
		return;
	}
	/* Without room for the record the space is lost to reuse, not the
	 * pages: they were punched. */
	(void)free_insert(i, off, len);
}

uint64_t arena_offset(const void *p)
{
	return (uint64_t)((const unsigned char *)p - ar.base);
}

void *arena_at(uint64_t off, size_t n)
{
	if (!ar.base || off > ar.top || page_round(n) > ar.top - off)
		return NULL;
	return ar.base + off;
}

uint64_t arena_used(void)
{
	return ar.used;
}

void arena_save(struct state_w *w)
{
	size_t i;

	state_begin(w, STATE_ARENA);
	state_fd(w, ar.fd);
	state_u64(w, ar.span);
	state_u64(w, ar.top);
	state_u64(w, ar.used);
	state_u64(w, ar.nfree);
	for (i = 0; i < ar.nfree; i++) {
		state_u64(w, ar.free[i].off);
		state_u64(w, ar.free[i].len);
	}
	state_end(w);
}

int arena_load(struct state_r *r)
{
	uint64_t span, n, i, off, len;
	int fd, rc;

	if (!state_enter(r, STATE_ARENA))
		return r->err;
	fd = state_get_fd(r);
	span = state_get_u64(r);
	ar.top = state_get_u64(r);
	ar.used = state_get_u64(r);
	n = state_get_u64(r);
	for (i = 0; i < n && !r->err; i++) {
		off = state_get_u64(r);
		len = state_get_u64(r);
		if (free_insert(ar.nfree, off, len) < 0)
			state_fail(r, "arena: out of memory");
	}
	state_leave(r);
	if (r->err)
		return r->err;
	if (fd < 0) /* no ring was ever written */
		return 0;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	ar.fd = fd;
	rc = arena_reserve(fd, span, false);
	if (rc == 0)
		rc = arena_reach(ar.top);
	if (rc < 0 || ar.top > ar.span) {
		state_fail(r, "arena: cannot map %llu bytes",
			   (unsigned long long)span);
		return r->err;
	}
	ar.fd = fd;
	return 0;
}

void arena_release(void)
{
	if (ar.base)
		munmap(ar.base, ar.span);
	if (ar.fd >= 0)
		close(ar.fd);
	free(ar.free);
	memset(&ar, 0, sizeof(ar));
	ar.fd = -1;
}
