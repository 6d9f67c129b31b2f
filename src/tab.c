/*
 * tab: the table of process slots. Two chained hash indexes (id, name)
 * and a list in id order for readdir, whose offsets are ids. Ids only
 * grow, so the list stays sorted by appending. Pure: no syscalls.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "spawnfs/tab.h"

struct tab_entry {
	uint64_t id;
	const char *name;
	void *value;
	struct tab_entry *id_chain, *name_chain;
	struct tab_entry *prev, *next;
};

struct tab {
	struct tab_entry **by_id, **by_name;
	size_t nbuckets, count;
	struct tab_entry *first, *last;
};

static size_t hash_id(uint64_t id, size_t nb)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) & (nb - 1);
}

static size_t hash_name(const char *s, size_t nb)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29)) & (nb - 1);
}

static int tab_alloc_buckets(struct tab *t, size_t nb)
{
	struct tab_entry **id = calloc(nb, sizeof(*id));
	struct tab_entry **name = calloc(nb, sizeof(*name));
	struct tab_entry *e;

	if (!id || !name) {
		free(id);
		free(name);
		return -ENOMEM;
	}
	free(t->by_id);
	free(t->by_name);
	t->by_id = id;
	t->by_name = name;
	t->nbuckets = nb;
	for (e = t->first; e; e = e->next) {
		size_t hi = hash_id(e->id, nb), hn = hash_name(e->name, nb);

		e->id_chain = id[hi];
		id[hi] = e;
		e->name_chain = name[hn];
		name[hn] = e;
	}
	return 0;
}

struct tab *tab_new(void)
{
	struct tab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (tab_alloc_buckets(t, 64) < 0) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void tab_free(struct tab *t)
{
	struct tab_entry *e, *next;

	if (!t)
		return;
	for (e = t->first; e; e = next) {
		next = e->next;
		free(e);
	}
	free(t->by_id);
	free(t->by_name);
	free(t);
}

static struct tab_entry *find_id(const struct tab *t, uint64_t id)
{
	struct tab_entry *e = t->by_id[hash_id(id, t->nbuckets)];

	while (e && e->id != id)
		e = e->id_chain;
	return e;
}

static struct tab_entry *find_name(const struct tab *t, const char *name)
{
	struct tab_entry *e = t->by_name[hash_name(name, t->nbuckets)];

	while (e && strcmp(e->name, name) != 0)
		e = e->name_chain;
	return e;
}

int tab_add(struct tab *t, uint64_t id, const char *name, void *value)
{
	struct tab_entry *e;
	size_t hi, hn;

	if (find_id(t, id) || find_name(t, name))
		return -EEXIST;
	if (t->count >= t->nbuckets && tab_alloc_buckets(t, t->nbuckets * 2))
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->id = id;
	e->name = name;
	e->value = value;
	hi = hash_id(id, t->nbuckets);
	hn = hash_name(name, t->nbuckets);
	e->id_chain = t->by_id[hi];
	t->by_id[hi] = e;
	e->name_chain = t->by_name[hn];
	t->by_name[hn] = e;
	e->prev = t->last;
	if (t->last)
		t->last->next = e;
	else
		t->first = e;
	t->last = e;
	t->count++;
	return 0;
}

static void unchain(struct tab_entry **head, struct tab_entry *e, bool by_id)
{
	struct tab_entry **pp = head;

	while (*pp != e)
		pp = by_id ? &(*pp)->id_chain : &(*pp)->name_chain;
	*pp = by_id ? e->id_chain : e->name_chain;
}

int tab_del(struct tab *t, uint64_t id)
{
	struct tab_entry *e = find_id(t, id);

	if (!e)
		return -ENOENT;
	unchain(&t->by_id[hash_id(id, t->nbuckets)], e, true);
	unchain(&t->by_name[hash_name(e->name, t->nbuckets)], e, false);
	if (e->prev)
		e->prev->next = e->next;
	else
		t->first = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->last = e->prev;
	t->count--;
	free(e);
	return 0;
}

void *tab_by_id(const struct tab *t, uint64_t id)
{
	struct tab_entry *e = find_id(t, id);

	return e ? e->value : NULL;
}

void *tab_by_name(const struct tab *t, const char *name)
{
	struct tab_entry *e = find_name(t, name);

	return e ? e->value : NULL;
}

size_t tab_count(const struct tab *t)
{
	return t->count;
}

void *tab_next(const struct tab *t, uint64_t after, uint64_t *id)
{
	struct tab_entry *e = after ? find_id(t, after) : NULL;

	if (e)
		e = e->next;
	else
		for (e = t->first; e && e->id <= after; e = e->next)
			;
	if (!e)
		return NULL;
	*id = e->id;
	return e->value;
}
