/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvbounce's trace events, under "pvbounce:" in tracefs
 * (/sys/kernel/tracing/events/pvbounce/):
 *
 *   pvbounce_map          a streaming mapping made: device, the buffer's
 *                         physical address, the bus address handed out,
 *                         size, direction, bounced or direct
 *   pvbounce_refuse       a mapping refused: device, size, reason (the same
 *                         reason the rate-limited log line gives)
 *   pvbounce_coherent     a coherent (or dma_alloc_pages()) allocation:
 *                         device, size, bus address, where it came from
 *   pvbounce_pool_resize  a pool grew or shrank: pool name, old and new
 *                         size in bytes (pvb_trace_pool_resize())
 *
 * Every map op of an attached device fires exactly one of pvbounce_map or
 * pvbounce_refuse, so while both are enabled their count equals the rise
 * of the device's "maps" counter.
 *
 * Off, each event costs one static-key no-op at its site: the arguments
 * passed are values the op has computed anyway, and the device name is
 * only looked up inside the event (TP_fast_assign), when it is enabled.
 *
 * An out-of-tree module's trace header: TRACE_INCLUDE_PATH below is
 * relative to a directory on the include path (Kbuild's -I$(src)/include),
 * and src/trace.c alone defines CREATE_TRACE_POINTS.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pvbounce

#ifndef PVBOUNCE_TRACE_TYPES_H
#define PVBOUNCE_TRACE_TYPES_H

/**
 * enum pvb_refuse_reason - why a map was refused (pvbounce_refuse's reason).
 * @PVB_REFUSE_TOO_LARGE: larger than the largest bounced mapping
 *	(max_mapping_kb, less the device's alignment); counted in
 *	errors_too_large.
 * @PVB_REFUSE_POOL_FULL: no run of free slots in the pool; errors_pool_full.
 * @PVB_REFUSE_MASK: the address is beyond the device's DMA mask;
 *	errors_mask.
 * @PVB_REFUSE_ZERO: a 0-byte mapping (a driver bug).
 * @PVB_REFUSE_WRAP: map_resource: the range wraps past the address space.
 * @PVB_REFUSE_NOT_IDENTITY: map_resource: not MMIO the backend maps 1:1.
 * @PVB_REFUSE_REQUIRE_COHERENT: DMA_ATTR_REQUIRE_COHERENT and the device
 *	cannot reach the buffer directly (such a mapping is never bounced).
 *
 * Every one is also counted in map_errors.
 */
enum pvb_refuse_reason {
	PVB_REFUSE_TOO_LARGE,
	PVB_REFUSE_POOL_FULL,
	PVB_REFUSE_MASK,
	PVB_REFUSE_ZERO,
	PVB_REFUSE_WRAP,
	PVB_REFUSE_NOT_IDENTITY,
	PVB_REFUSE_REQUIRE_COHERENT,
};

/**
 * enum pvb_coherent_source - where a coherent allocation came from.
 * @PVB_COH_CHUNK: a backend chunk (Xen: made contiguous by an exchange).
 * @PVB_COH_PLAIN: Xen: pages that were contiguous as allocated.
 * @PVB_COH_POOL: carved out of the device's bounce pool.
 */
enum pvb_coherent_source {
	PVB_COH_CHUNK,
	PVB_COH_PLAIN,
	PVB_COH_POOL,
};

#endif /* PVBOUNCE_TRACE_TYPES_H */

#if !defined(PVBOUNCE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define PVBOUNCE_TRACE_H

#include <linux/dma-direction.h>
#include <linux/pci.h>
#include <linux/tracepoint.h>

TRACE_DEFINE_ENUM(DMA_BIDIRECTIONAL);
TRACE_DEFINE_ENUM(DMA_TO_DEVICE);
TRACE_DEFINE_ENUM(DMA_FROM_DEVICE);
TRACE_DEFINE_ENUM(DMA_NONE);
TRACE_DEFINE_ENUM(PVB_REFUSE_TOO_LARGE);
TRACE_DEFINE_ENUM(PVB_REFUSE_POOL_FULL);
TRACE_DEFINE_ENUM(PVB_REFUSE_MASK);
TRACE_DEFINE_ENUM(PVB_REFUSE_ZERO);
TRACE_DEFINE_ENUM(PVB_REFUSE_WRAP);
TRACE_DEFINE_ENUM(PVB_REFUSE_NOT_IDENTITY);
TRACE_DEFINE_ENUM(PVB_REFUSE_REQUIRE_COHERENT);
TRACE_DEFINE_ENUM(PVB_COH_CHUNK);
TRACE_DEFINE_ENUM(PVB_COH_PLAIN);
TRACE_DEFINE_ENUM(PVB_COH_POOL);

#define pvb_show_dir(dir)					\
	__print_symbolic(dir,					\
			 { DMA_BIDIRECTIONAL, "bidi" },		\
			 { DMA_TO_DEVICE, "to" },		\
			 { DMA_FROM_DEVICE, "from" },		\
			 { DMA_NONE, "none" })

#define pvb_show_reason(r)					\
	__print_symbolic(r,					\
			 { PVB_REFUSE_TOO_LARGE, "too_large" },	\
			 { PVB_REFUSE_POOL_FULL, "pool_full" },	\
			 { PVB_REFUSE_MASK, "mask" },		\
			 { PVB_REFUSE_ZERO, "zero_size" },	\
			 { PVB_REFUSE_WRAP, "wraps" },		\
			 { PVB_REFUSE_NOT_IDENTITY, "not_identity" },	\
			 { PVB_REFUSE_REQUIRE_COHERENT, "require_coherent" })

#define pvb_show_source(s)					\
	__print_symbolic(s,					\
			 { PVB_COH_CHUNK, "chunk" },		\
			 { PVB_COH_PLAIN, "plain" },		\
			 { PVB_COH_POOL, "pool" })

TRACE_EVENT(pvbounce_map,
	TP_PROTO(struct pci_dev *pdev, phys_addr_t phys, dma_addr_t bus,
		 size_t size, enum dma_data_direction dir, bool bounced),
	TP_ARGS(pdev, phys, bus, size, dir, bounced),
	TP_STRUCT__entry(
		__string(dev, pci_name(pdev))
		__field(u64, phys)
		__field(u64, bus)
		__field(size_t, size)
		__field(int, dir)
		__field(bool, bounced)
	),
	TP_fast_assign(
		PVB_ASSIGN_STR(dev, pci_name(pdev));
		__entry->phys = phys;
		__entry->bus = bus;
		__entry->size = size;
		__entry->dir = dir;
		__entry->bounced = bounced;
	),
	TP_printk("dev=%s phys=%#llx bus=%#llx size=%zu dir=%s %s",
		  __get_str(dev), __entry->phys, __entry->bus, __entry->size,
		  pvb_show_dir(__entry->dir),
		  __entry->bounced ? "bounced" : "direct")
);

TRACE_EVENT(pvbounce_refuse,
	TP_PROTO(struct pci_dev *pdev, size_t size,
		 enum pvb_refuse_reason reason),
	TP_ARGS(pdev, size, reason),
	TP_STRUCT__entry(
		__string(dev, pci_name(pdev))
		__field(size_t, size)
		__field(int, reason)
	),
	TP_fast_assign(
		PVB_ASSIGN_STR(dev, pci_name(pdev));
		__entry->size = size;
		__entry->reason = reason;
	),
	TP_printk("dev=%s size=%zu reason=%s", __get_str(dev), __entry->size,
		  pvb_show_reason(__entry->reason))
);

TRACE_EVENT(pvbounce_coherent,
	TP_PROTO(struct pci_dev *pdev, size_t size, dma_addr_t bus,
		 enum pvb_coherent_source source),
	TP_ARGS(pdev, size, bus, source),
	TP_STRUCT__entry(
		__string(dev, pci_name(pdev))
		__field(size_t, size)
		__field(u64, bus)
		__field(int, source)
	),
	TP_fast_assign(
		PVB_ASSIGN_STR(dev, pci_name(pdev));
		__entry->size = size;
		__entry->bus = bus;
		__entry->source = source;
	),
	TP_printk("dev=%s size=%zu bus=%#llx from=%s", __get_str(dev),
		  __entry->size, __entry->bus, pvb_show_source(__entry->source))
);

TRACE_EVENT(pvbounce_pool_resize,
	TP_PROTO(const char *pool, u64 old_bytes, u64 new_bytes),
	TP_ARGS(pool, old_bytes, new_bytes),
	TP_STRUCT__entry(
		__string(pool, pool)
		__field(u64, old_bytes)
		__field(u64, new_bytes)
	),
	TP_fast_assign(
		PVB_ASSIGN_STR(pool, pool);
		__entry->old_bytes = old_bytes;
		__entry->new_bytes = new_bytes;
	),
	TP_printk("pool=%s old=%llu new=%llu", __get_str(pool),
		  __entry->old_bytes, __entry->new_bytes)
);

#endif /* PVBOUNCE_TRACE_H */

/* Outside the guard: define_trace.h reads the events again from here. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH pvbounce
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>

#ifndef PVBOUNCE_TRACE_WRAPPERS_H
#define PVBOUNCE_TRACE_WRAPPERS_H

#include <pvbounce/pool.h>

/**
 * pvb_trace_pool_resize() - fire pvbounce_pool_resize for a pool's new size.
 * @p: the pool that grew or shrank (its name: "common" or a PCI address).
 * @old_bytes: bounce space before (pvb_pool_bytes() then).
 * @new_bytes: bounce space now.
 *
 * For pool growth and shrinking; costs a static-key no-op while the
 * event is off.
 */
static inline void pvb_trace_pool_resize(const struct pvb_pool *p,
					 u64 old_bytes, u64 new_bytes)
{
	trace_pvbounce_pool_resize(p->name, old_bytes, new_bytes);
}

#endif /* PVBOUNCE_TRACE_WRAPPERS_H */
