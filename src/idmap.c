/*
 * idmap: chained buckets indexed by the id's low bits (ids here are
 * counters and pids, spread evenly over those bits). Owns the buckets.
 */
#include <errno.h>
#include <stdlib.h>

#include "spawnfs/idmap.h"

#define IDMAP_FIRST 64

int idmap_init(struct idmap *m)
{
	m->nb = IDMAP_FIRST;
	m->count = 0;
	m->b = calloc(m->nb, sizeof(*m->b));
	return m->b ? 0 : -ENOMEM;
}

void idmap_fini(struct idmap *m)
{
	free(m->b);
	m->b = NULL;
	m->nb = m->count = 0;
}

static struct idmap_node **bucket(const struct idmap *m, uint64_t id)
{
	return &m->b[id & (m->nb - 1)];
}

/* Twice the buckets, keeping each chain's order. */
static void grow(struct idmap *m)
{
	size_t nb = m->nb * 2, i;
	struct idmap_node **b = calloc(nb, sizeof(*b)), *n, *next, **tail;

	if (!b)
		return;
	for (i = m->nb; i-- > 0;) {
		for (n = m->b[i]; n; n = next) {
			next = n->next;
			for (tail = &b[n->id & (nb - 1)]; *tail;
			     tail = &(*tail)->next)
				;
			n->next = NULL;
			*tail = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

void idmap_add(struct idmap *m, struct idmap_node *n, uint64_t id)
{
	struct idmap_node **b;

	if (m->count >= m->nb)
		grow(m);
	n->id = id;
	b = bucket(m, id);
	n->next = *b;
	*b = n;
	m->count++;
}

struct idmap_node *idmap_get(const struct idmap *m, uint64_t id)
{
	struct idmap_node *n;

	for (n = *bucket(m, id); n; n = n->next)
		if (n->id == id)
			return n;
	return NULL;
}

void idmap_del(struct idmap *m, struct idmap_node *n)
{
	struct idmap_node **pp;

	for (pp = bucket(m, n->id); *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	n->next = NULL;
	m->count--;
}
