/*
 * arena: the memory of the logs' rings, one memfd mapped shared, so that
 * an upgrade in place hands every ring to the next program image as one
 * descriptor and no byte is copied. Blocks are whole pages; a freed
 * block's pages go back to the system at once (a punched hole).
 */
#ifndef SPAWNFS_ARENA_H
#define SPAWNFS_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct state_w;
struct state_r;

/* Make the arena now (the daemon's fds stay the same from its start):
 * 0 or -errno. arena_alloc makes it otherwise. */
int arena_init(void);

/* A block of at least n bytes (zeroed pages), or NULL with errno. The
 * arena is made on the first call. */
void *arena_alloc(size_t n);

/* Give back the block at p that arena_alloc(n) returned; NULL: no-op. */
void arena_free(void *p, size_t n);

/* The block at p as an offset into the arena, and back. */
uint64_t arena_offset(const void *p);
void *arena_at(uint64_t off, size_t n); /* NULL if out of the arena */

/* Bytes in blocks now (for metrics). */
uint64_t arena_used(void);

/* At exit, once every ring is freed: unmap and close it. */
void arena_release(void);

/* Write the arena (its memfd, listed to be inherited, and its blocks). */
void arena_save(struct state_w *w);

/* Take over the saved arena: map its memfd. 0, or -errno (r fails). */
int arena_load(struct state_r *r);

#endif
