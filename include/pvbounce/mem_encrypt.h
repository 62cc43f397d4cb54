/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory encryption (AMD SME/SEV/SNP, Intel TDX) and the native backend,
 * which cannot serve it (src/mem_encrypt.c).
 */
#ifndef PVBOUNCE_MEM_ENCRYPT_H
#define PVBOUNCE_MEM_ENCRYPT_H

int pvb_native_mem_encrypt_check(void);

#endif /* PVBOUNCE_MEM_ENCRYPT_H */
