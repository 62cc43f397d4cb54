/* SPDX-License-Identifier: GPL-2.0 */
/* Module-wide state: parameters as parsed, the common pool, attached devices. */
#ifndef PVBOUNCE_PVBOUNCE_H
#define PVBOUNCE_PVBOUNCE_H

#include <pvbounce/pool.h>

/**
 * struct pvb_config - module parameters, validated.
 * @backend: backend chosen at load.
 * @pool_bytes: common pool size asked for.
 * @address_bits: limit for the pool and coherent allocations.
 * @limit_mask: 2^@address_bits - 1 (all ones for 64).
 * @seg_size: max_mapping_kb in bytes.
 * @force: bounce everything.
 * @rebind: unbind/rebind bound drivers at load and unload.
 * @poison: poison freed slots and report misuse.
 */
struct pvb_config {
	const struct pvb_backend *backend;
	size_t pool_bytes;
	unsigned int address_bits;
	u64 limit_mask;
	size_t seg_size;
	bool force;
	bool rebind;
	bool poison;
};

extern struct pvb_config pvb_cfg;
extern struct pvb_pool pvb_common_pool;

/* params.c */
int pvb_params_validate(void);

#endif /* PVBOUNCE_PVBOUNCE_H */
