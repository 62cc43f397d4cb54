/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A bounce pool: bus-contiguous chunks from a backend, cut into slots by the
 * slot allocator.  The common pool serves every attached device without a
 * private one; a selector with @size gives its device a pool of its own.
 */
#ifndef PVBOUNCE_POOL_H
#define PVBOUNCE_POOL_H

#include <pvbounce/slots.h>
#include <pvbounce/backend.h>

/**
 * struct pvb_pool - a bounce pool.
 * @name: "common" or the owning device's PCI name (for messages).
 * @be: backend that made the chunks.
 * @mask: every bus byte of the pool is at or below this.
 * @seg_size: segment size actually used (may be below max_mapping_kb if the
 *	backend could only give smaller chunks).
 * @nchunks: entries used in @chunks.
 * @chunks: the chunks, in allocation order.
 * @slots: the slot allocator over the chunks.
 */
struct pvb_pool {
	char name[32];
	const struct pvb_backend *be;
	u64 mask;
	size_t seg_size;
	unsigned int nchunks;
	struct pvb_chunk *chunks;
	struct pvb_slots slots;
};

int pvb_pool_create(struct pvb_pool *p, const char *name,
		    const struct pvb_backend *be, size_t bytes,
		    size_t seg_size, u64 mask);
void pvb_pool_destroy(struct pvb_pool *p);

/**
 * pvb_pool_bytes() - bytes of bounce space in a pool.
 * @p: pool.
 *
 * Return: slots times slot size.
 */
static inline size_t pvb_pool_bytes(const struct pvb_pool *p)
{
	return (size_t)p->slots.nslabs << PVB_SLOT_SHIFT;
}

#endif /* PVBOUNCE_POOL_H */
