/* tab: the slot table, indexed by id and by name, iterated in id order. */
#ifndef SPAWNFS_TAB_H
#define SPAWNFS_TAB_H

#include <stddef.h>
#include <stdint.h>

struct tab;

/* An empty table. NULL with errno ENOMEM. */
struct tab *tab_new(void);

/* Free the table (not the values). NULL is a no-op. */
void tab_free(struct tab *t);

/* Add value under id and name (borrowed: it must stay valid until
 * tab_del). Returns 0, -EEXIST (name or id taken) or -ENOMEM. */
int tab_add(struct tab *t, uint64_t id, const char *name, void *value);

/* Remove id. Returns 0 or -ENOENT. */
int tab_del(struct tab *t, uint64_t id);

void *tab_by_id(const struct tab *t, uint64_t id);
void *tab_by_name(const struct tab *t, const char *name);
size_t tab_count(const struct tab *t);

/* The value with the smallest id greater than after (0: the first), its
 * id in *id; NULL at the end. */
void *tab_next(const struct tab *t, uint64_t after, uint64_t *id);

#endif
