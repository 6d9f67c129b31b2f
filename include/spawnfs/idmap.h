/*
 * idmap: an intrusive hash of records keyed by a 64-bit id (handle ids,
 * slot ids, pids). The node lives in the record; lookups are O(1) on
 * average; the table doubles as records come (best effort: without
 * memory the chains just grow). Pure: no syscalls, no logging.
 */
#ifndef SPAWNFS_IDMAP_H
#define SPAWNFS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

/* The record that holds member, a struct idmap_node (or any field). */
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Embedded in a record; the map's. */
struct idmap_node {
	uint64_t id;
	struct idmap_node *next;
};

struct idmap {
	struct idmap_node **b; /* buckets, a power of two of them */
	size_t nb;
	size_t count;
};

/* An empty map. 0 or -ENOMEM. */
int idmap_init(struct idmap *m);

/* Free the buckets (the records are the caller's). */
void idmap_fini(struct idmap *m);

/* Add n under id (ids need not be unique: the newest is found first). */
void idmap_add(struct idmap *m, struct idmap_node *n, uint64_t id);

/* The newest node under id, or NULL. */
struct idmap_node *idmap_get(const struct idmap *m, uint64_t id);

/* Take n, which is in m, out. */
void idmap_del(struct idmap *m, struct idmap_node *n);

#endif
