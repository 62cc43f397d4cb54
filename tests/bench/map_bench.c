// SPDX-License-Identifier: GPL-2.0
/*
 * pvbounce_bench: time the streaming DMA API through a device attached to
 * pvbounce against a twin device left on the kernel's own ops, in the same
 * boot, and against plain memcpy.  A benchmark, not a test: it runs once, at
 * load, prints its tables at KERN_INFO (lines "pvbounce_bench: T ...") and
 * returns 0; rmmod it afterwards.  Failures to map are counted in the
 * read-only parameter "errors".
 *
 * Timed operations (each a "cell", run for cell_ms of the guest's clock):
 *   map     dma_map_single + dma_unmap_single of one buffer
 *   sg16    dma_map_sg + dma_unmap_sg of a 16-entry scatterlist of 4 KiB pages
 *   sync    dma_sync_single_for_cpu + dma_sync_single_for_device on a live
 *           mapping
 *   copy    the copy limit of a row: memcpy of its bytes, once for
 *           DMA_TO_DEVICE and twice (there and back) for DMA_FROM_DEVICE and
 *           DMA_BIDIRECTIONAL (a bounce buffer is filled at map time whatever
 *           the direction, and copied back at unmap); for sync: once for
 *           TO_DEVICE and FROM_DEVICE, twice for BIDIRECTIONAL
 * with one thread (the latency rows), and as throughput with one thread
 * against one kernel thread per online CPU (the scaling rows); rows= picks.
 *
 * Rounds alternate which device goes first (pvbounce first in even rounds);
 * the copy limit follows.  Every cell is reported as the median of the rounds
 * with the spread (min-max).  In direct mode each map and sync row is also
 * timed through do-nothing dma_map_ops on the peer (the dispatch floor: the
 * indirect call every dma_map_ops pays), after the rounds.
 *
 * Under QEMU's -icount shift=0,sleep=off,align=off (icount=1 says so in the
 * tables) the guest's clock counts its instructions, 1 ns each: the latency
 * rows are instruction counts and repeat to the digit from run to run,
 * whatever the host's load.  Such a guest runs its vCPUs in turn, so the
 * scaling rows mean something only on wall clock (a boot without -icount).  The device is known only through the generic
 * DMA API and pvbounce's contract: /sys/kernel/pvbounce/<pci>/ counters say
 * how many of pvbounce's maps bounced.  Whether a mapping of the peer bounces
 * is seen through the API alone: map DMA_FROM_DEVICE, write the buffer,
 * unmap; a bounced mapping copies the bounce buffer back over the write.
 */
#define pr_fmt(fmt) "pvbounce_bench: " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <xen/xen.h>

#include "../kmod/counters.h"

static char *pvb_dev;
module_param_named(dev, pvb_dev, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address (DDDD:BB:DD.F) of a driverless device attached to pvbounce; required");

static char *peer_dev;
module_param_named(peer, peer_dev, charp, 0444);
MODULE_PARM_DESC(peer, "PCI address of a driverless twin device on the kernel's own DMA ops; required");

static char *mode = "bounce";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "bounce (pvbounce force=1 against swiotlb=force or swiotlb-xen; goals of the bounce path) or direct (pvbounce force=0 against dma-direct; goal of the direct path) (default bounce)");

static char *peer_label;
module_param(peer_label, charp, 0444);
MODULE_PARM_DESC(peer_label, "name of the peer's ops in the tables (default: swiotlb-xen on a Xen PV guest, else swiotlb in bounce mode and dma-direct in direct mode)");

static unsigned int rounds = 5;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "rounds over every cell, 1..15 (default 5)");

static unsigned int cell_ms = 40;
module_param(cell_ms, uint, 0444);
MODULE_PARM_DESC(cell_ms, "wall time of one cell in ms, 1..10000 (default 40)");

static unsigned int mask_bits = 64;
module_param(mask_bits, uint, 0444);
MODULE_PARM_DESC(mask_bits, "DMA mask (streaming and coherent) set on both devices, 32..64 (default 64)");

static unsigned int max_threads;
module_param_named(threads, max_threads, uint, 0444);
MODULE_PARM_DESC(threads, "threads of the throughput rows (default 0: one per online CPU)");

static char *rows_arg = "all";
module_param_named(rows, rows_arg, charp, 0444);
MODULE_PARM_DESC(rows, "latency (1 thread, and the dispatch floor), scaling (1 thread vs one per CPU) or all (default all)");

static char *only;
module_param(only, charp, 0444);
MODULE_PARM_DESC(only, "one latency row instead of them all, OP:SIZE:DIR (map, sg16 or sync; bytes, 4096 for sg16's parts; to, from or bidi), e.g. map:64:to, for tests/vm/pathtrace.sh (default none)");

static bool icount;
module_param(icount, bool, 0444);
MODULE_PARM_DESC(icount, "the guest runs under QEMU -icount shift=0 (1 ns per instruction): say so in the tables (default 0)");

static int errors = -1;
module_param(errors, int, 0444);
MODULE_PARM_DESC(errors, "read-only result: failed maps and setup errors of the run at load (-1: not run)");

#define MAX_ROUNDS	15
#define MAX_CAP		(4UL << 20)	/* largest mapping timed */
#define NSG		16
#define SG_LEN		4096
#define MT_BUF		(64UL << 10)	/* buffer of the extra threads */
#define GOAL_SIZE	(256UL << 10)	/* map goals apply up to this size */

enum op_kind { OP_MAP, OP_SG, OP_SYNC, OP_COPY };
/* FLOOR: the peer's device on do-nothing ops (direct mode) */
enum who { PVB, PEER, COPY, FLOOR, NWHO };

static const char *const dir_name[] = {
	[DMA_BIDIRECTIONAL] = "bidi", [DMA_TO_DEVICE] = "to",
	[DMA_FROM_DEVICE] = "from", [DMA_NONE] = "none",
};

static const char *const op_name[] = {
	[OP_MAP] = "map", [OP_SG] = "sg16", [OP_SYNC] = "sync", [OP_COPY] = "copy",
};

struct row {
	enum op_kind op;
	enum dma_data_direction dir;
	size_t size;		/* bytes of a map or sync; per entry for sg */
	unsigned int nthreads;	/* 0: latency row (1 thread, ps/op); else ops/s */
	u64 v[NWHO][MAX_ROUNDS];	/* 0: not measured */
	s64 maps, bounced;	/* pvbounce's counters moved by its cells */
	char probe[2];		/* did a mapping of PVB / PEER bounce: y n ? */
};

struct worker {
	struct device *dev;
	enum op_kind op;
	enum dma_data_direction dir;
	size_t size;
	unsigned int nseg, ncopy;	/* OP_COPY: segments of size, copies of each */
	void *buf, *dst;
	size_t buflen;
	struct scatterlist sg[NSG];
	dma_addr_t live;
	u64 budget_ns, ops, ns;
	int err;
	struct completion done;
	struct task_struct *task;
};

struct target {
	const char *name;	/* PCI address */
	struct pci_dev *pdev;
	struct device *dev;
	size_t max;		/* dma_max_mapping_size, capped */
	u64 old_mask, old_coherent;
	char sysfs[96];		/* pvbounce's counter dir, PVB only */
};

static struct {
	struct target t[2];
	struct worker *w;
	unsigned int nw;	/* workers: one per thread of the throughput rows */
	unsigned int *cpu;
	struct row *rows;
	unsigned int nrows;
	struct completion go;
	bool direct;
	bool latency, scaling;	/* which rows */
	bool floor;		/* FLOOR cells measured */
	const char *peer;
	int errors;
} B;

/* ---- sysfs counters of pvbounce ------------------------------------------- */

/* maps and bounced_maps of the pvbounce device; -1 when unreadable */
static void pvb_counters(s64 *maps, s64 *bounced)
{
	if (pvb_read_num(B.t[PVB].sysfs, "maps", maps) ||
	    pvb_read_num(B.t[PVB].sysfs, "bounced_maps", bounced))
		*maps = *bounced = -1;
}

/* ---- the timed operations ------------------------------------------------- */

static int do_ops(struct worker *w, unsigned int n)
{
	unsigned int i, j;

	switch (w->op) {
	case OP_MAP:
		for (i = 0; i < n; i++) {
			dma_addr_t a = dma_map_single(w->dev, w->buf, w->size, w->dir);

			if (dma_mapping_error(w->dev, a))
				return -EIO;
			dma_unmap_single(w->dev, a, w->size, w->dir);
		}
		break;
	case OP_SG:
		for (i = 0; i < n; i++) {
			if (!dma_map_sg(w->dev, w->sg, NSG, w->dir))
				return -EIO;
			dma_unmap_sg(w->dev, w->sg, NSG, w->dir);
		}
		break;
	case OP_SYNC:
		for (i = 0; i < n; i++) {
			dma_sync_single_for_cpu(w->dev, w->live, w->size, w->dir);
			dma_sync_single_for_device(w->dev, w->live, w->size, w->dir);
		}
		break;
	case OP_COPY:
		for (i = 0; i < n; i++) {
			for (j = 0; j < w->nseg; j++) {
				size_t off = j * w->size;

				memcpy(w->dst + off, w->buf + off, w->size);
				if (w->ncopy == 2)
					memcpy(w->buf + off, w->dst + off, w->size);
			}
			barrier();
		}
		break;
	}
	return 0;
}

/* Run w's operation for w->budget_ns after a short warm-up. */
static void run_loop(struct worker *w)
{
	unsigned int batch = 1;
	u64 start, now, ops = 0;

	w->err = do_ops(w, 2);
	if (w->err)
		return;
	start = ktime_get_ns();
	now = start;
	for (;;) {
		w->err = do_ops(w, batch);
		if (w->err)
			break;
		ops += batch;
		now = ktime_get_ns();
		if (now - start >= w->budget_ns)
			break;
		if (batch < 4096 && (now - start) * 64 < w->budget_ns)
			batch *= 2;
		cond_resched();
	}
	w->ops = ops;
	w->ns = max_t(u64, now - start, 1);
}

/*
 * The time of @n batches of @batch operations, each with interrupts off, in
 * ns; 0 on error (in w->err).
 */
static u64 timed_batches(struct worker *w, unsigned int batch, unsigned int n)
{
	unsigned long flags;
	u64 t0, total = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		local_irq_save(flags);
		t0 = ktime_get_ns();
		w->err = do_ops(w, batch);
		total += ktime_get_ns() - t0;
		local_irq_restore(flags);
		if (w->err)
			return 0;
		cond_resched();
	}
	return total;
}

/*
 * run_loop() under -icount (icount=1), where the guest's nanoseconds are
 * its instructions.  The operations run in batches of about ICOUNT_BATCH_NS
 * with interrupts off, so that no interrupt handler's instructions count
 * (a timer tick comes every 1-4 ms, between the batches); their time less
 * that of as many empty batches (the clock's reads) is their instruction
 * count, exactly.  The batch size and the number of batches follow from
 * the time of a few single operations: the same in every run.  (In a Xen PV
 * guest the hypervisor still takes its own interrupts, the guest's timer
 * among them, inside a batch: a few instructions in ten thousand from run
 * to run.)  Leaves w->ns for w->ops operations.
 */
#define ICOUNT_BATCH_NS	50000

static void run_icount(struct worker *w)
{
	u64 empty, one, total;
	unsigned int batch, n;

	w->err = do_ops(w, 2);
	if (w->err)
		return;
	empty = timed_batches(w, 0, 8) / 8;
	one = timed_batches(w, 1, 8) / 8;
	if (w->err)
		return;
	one = one > empty ? one - empty : 1;
	batch = clamp_t(u64, ICOUNT_BATCH_NS / one, 1, 4096);
	n = clamp_t(u64, div64_u64(w->budget_ns, one * batch), 8, 100000);
	total = timed_batches(w, batch, n);
	if (w->err)
		return;
	w->ops = (u64)batch * n;
	w->ns = total > empty * n ? total - empty * n : 1;
}

static int worker_fn(void *arg)
{
	struct worker *w = arg;

	wait_for_completion(&B.go);
	run_loop(w);
	complete(&w->done);
	/* return only when told, so that kthread_stop() sees us out of here */
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* copies of the copy limit of one operation */
static unsigned int copies(enum op_kind op, enum dma_data_direction dir)
{
	if (op == OP_SYNC)
		return dir == DMA_BIDIRECTIONAL ? 2 : 1;
	return dir == DMA_TO_DEVICE ? 1 : 2;
}

static int cell_begin(struct worker *w, const struct row *r, enum who who)
{
	unsigned int i;

	w->dev = who == COPY ? NULL : B.t[who == FLOOR ? PEER : who].dev;
	w->op = r->op;
	w->dir = r->dir;
	w->size = r->size;
	w->budget_ns = (u64)cell_ms * NSEC_PER_MSEC;
	w->ops = 0;
	w->ns = 1;
	w->err = 0;
	if (who == COPY) {
		w->op = OP_COPY;
		w->ncopy = copies(r->op, r->dir);
		w->nseg = r->op == OP_SG ? NSG : 1;
		return 0;
	}
	if (r->op == OP_SG) {
		sg_init_table(w->sg, NSG);
		for (i = 0; i < NSG; i++)
			sg_set_buf(&w->sg[i], w->buf + i * SG_LEN, SG_LEN);
	}
	if (r->op == OP_SYNC) {
		w->live = dma_map_single(w->dev, w->buf, w->size, w->dir);
		if (dma_mapping_error(w->dev, w->live))
			return -EIO;
	}
	return 0;
}

static void cell_end(struct worker *w)
{
	if (w->op == OP_SYNC)
		dma_unmap_single(w->dev, w->live, w->size, w->dir);
}

/* Throughput of n threads, one per CPU, in ops/s; 0 on error. */
static u64 run_threads(const struct row *r, enum who who, unsigned int n)
{
	unsigned int i, started = 0;
	u64 total = 0;
	int err = 0;

	reinit_completion(&B.go);
	for (i = 0; i < n; i++) {
		struct worker *w = &B.w[i];

		init_completion(&w->done);
		err = cell_begin(w, r, who);
		if (err)
			break;
		w->task = kthread_create(worker_fn, w, "pvbbench/%u", B.cpu[i]);
		if (IS_ERR(w->task)) {
			err = PTR_ERR(w->task);
			cell_end(w);
			break;
		}
		kthread_bind(w->task, B.cpu[i]);
		wake_up_process(w->task);
		started++;
	}
	complete_all(&B.go);
	for (i = 0; i < started; i++) {
		struct worker *w = &B.w[i];

		wait_for_completion(&w->done);
		kthread_stop(w->task);
		cell_end(w);
		if (w->err)
			err = w->err;
		total += div64_u64(w->ops * NSEC_PER_SEC, w->ns);
	}
	return err ? 0 : total;
}

/* One cell of row r for who; stores its value for round k. */
static void measure(struct row *r, enum who who, unsigned int k)
{
	struct worker *w = &B.w[0];
	s64 m0 = 0, b0 = 0, m1, b1;
	size_t max = who == COPY ? B.t[PVB].max : B.t[who == FLOOR ? PEER : who].max;
	size_t bytes = r->op == OP_SG ? NSG * SG_LEN : r->size;
	u64 v = 0;
	int err;

	r->v[who][k] = 0;
	if ((bytes > max && r->op != OP_SG) || bytes > B.w[r->nthreads > 1].buflen)
		return;
	if (who == PVB)
		pvb_counters(&m0, &b0);
	if (r->nthreads) {
		v = run_threads(r, who, r->nthreads);
		err = v ? 0 : -EIO;
	} else {
		err = cell_begin(w, r, who);
		if (!err) {
			if (icount)
				run_icount(w);
			else
				run_loop(w);
			cell_end(w);
			err = w->err;
		}
		if (!err && w->ops)
			v = max_t(u64, div64_u64(w->ns * 1000, w->ops), 1);
	}
	if (err) {
		B.errors++;
		pr_warn("%s %zu %s on %s: error %d\n", op_name[r->op], r->size,
			dir_name[r->dir], who == COPY ? "memcpy" : who == FLOOR ?
			"do-nothing ops" : B.t[who].name, err);
		return;
	}
	r->v[who][k] = v;
	if (who == PVB) {
		pvb_counters(&m1, &b1);
		if (m0 >= 0 && m1 >= 0 && r->maps >= 0) {
			r->maps += m1 - m0;
			r->bounced += b1 - b0;
		} else {
			r->maps = -1;
		}
	}
}

/*
 * Did a mapping of size bytes on t bounce?  Map DMA_FROM_DEVICE, write the
 * buffer as the CPU, unmap: a bounce buffer copied back hides the write.
 */
static char probe_bounce(struct target *t, size_t size)
{
	u8 *buf = B.w[0].buf;
	dma_addr_t a;
	char ret;

	if (size > t->max || size > B.w[0].buflen)
		return '-';
	memset(buf, 0x5a, size);
	a = dma_map_single(t->dev, buf, size, DMA_FROM_DEVICE);
	if (dma_mapping_error(t->dev, a))
		return '?';
	memset(buf, 0xa5, size);
	dma_unmap_single(t->dev, a, size, DMA_FROM_DEVICE);
	ret = buf[0] == 0xa5 && buf[size - 1] == 0xa5 ? 'n' : 'y';
	return ret;
}

/* ---- the tables ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* median, min and max of the measured rounds of r for who; false if none */
static bool stats(const struct row *r, enum who who, u64 *med, u64 *lo, u64 *hi)
{
	u64 s[MAX_ROUNDS];
	unsigned int i, n = 0;

	for (i = 0; i < rounds; i++)
		if (r->v[who][i])
			s[n++] = r->v[who][i];
	if (n < rounds)	/* a failed round makes the cell unreliable */
		return false;
	sort(s, n, sizeof(s[0]), cmp_u64, NULL);
	*med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	*lo = s[0];
	*hi = s[n - 1];
	return true;
}

/* picoseconds as nanoseconds with 3 significant digits at least */
static int fmt_ns(char *b, size_t len, u64 ps)
{
	if (ps < 10000)
		return scnprintf(b, len, "%llu.%02llu", ps / 1000, ps % 1000 / 10);
	if (ps < 100000)
		return scnprintf(b, len, "%llu.%llu", ps / 1000, ps % 1000 / 100);
	return scnprintf(b, len, "%llu", (ps + 500) / 1000);
}

/* "median [min-max]" of a latency cell, or "-" */
static void fmt_cell(char *b, size_t len, const struct row *r, enum who who)
{
	u64 med, lo, hi;
	int n;

	if (!stats(r, who, &med, &lo, &hi)) {
		scnprintf(b, len, "-");
		return;
	}
	n = fmt_ns(b, len, med);
	n += scnprintf(b + n, len - n, " [");
	n += fmt_ns(b + n, len - n, lo);
	n += scnprintf(b + n, len - n, "-");
	n += fmt_ns(b + n, len - n, hi);
	scnprintf(b + n, len - n, "]");
}

/* "median [min-max]" of a throughput cell in ops/s */
static void fmt_ops(char *b, size_t len, const struct row *r, enum who who)
{
	u64 med, lo, hi;

	if (stats(r, who, &med, &lo, &hi))
		scnprintf(b, len, "%llu [%llu-%llu]", med, lo, hi);
	else
		scnprintf(b, len, "-");
}

/* a / b as "x.yy", or "-" */
static void fmt_ratio(char *s, size_t len, u64 a, u64 b)
{
	u64 r;

	if (!a || !b) {
		scnprintf(s, len, "-");
		return;
	}
	r = div64_u64(a * 100 + b / 2, b);
	scnprintf(s, len, "%llu.%02llu", r / 100, r % 100);
}

static u64 median_of(const struct row *r, enum who who)
{
	u64 med, lo, hi;

	return stats(r, who, &med, &lo, &hi) ? med : 0;
}

static void fmt_size(char *b, size_t len, size_t size)
{
	if (size >= (1UL << 20) && !(size & ((1UL << 20) - 1)))
		scnprintf(b, len, "%zuM", size >> 20);
	else if (size >= 1024 && !(size & 1023))
		scnprintf(b, len, "%zuK", size >> 10);
	else
		scnprintf(b, len, "%zu", size);
}

#define T(fmt, ...) pr_info("T " fmt "\n", ##__VA_ARGS__)

struct goals {
	unsigned int map_met, map_rows, bw_met, bw_rows, mt_met, mt_rows;
};

/* ps as fmt_ns() shows it: a ratio of differences then follows the table */
static u64 shown_ps(u64 ps)
{
	return ps < 100000 ? ps : (ps + 500) / 1000 * 1000;
}

/* (a - c) / (b - c) as "x.yy": the work beyond the copy limit c; or "-" */
static void fmt_beyond(char *s, size_t len, u64 a, u64 b, u64 c)
{
	a = shown_ps(a);
	b = shown_ps(b);
	c = shown_ps(c);
	if (!a || !b || !c || a <= c || b <= c) {
		scnprintf(s, len, "-");
		return;
	}
	fmt_ratio(s, len, a - c, b - c);
}

static void print_latency(struct goals *g)
{
	char p[48], q[48], c[48], rp[16], rc[16], rb[16], sz[16], bnc[24];
	const char *goal;
	unsigned int i;

	if (icount)
		T("1 thread, ns per operation = guest instructions per operation (QEMU -icount shift=0,sleep=off,align=off: 1 ns per instruction; deterministic): median [min-max] of %u rounds of %u ms",
		  rounds, cell_ms);
	else
		T("1 thread, ns per operation (wall clock): median [min-max] of %u rounds of %u ms",
		  rounds, cell_ms);
	if (B.direct) {
		T("floor = the dispatch floor: the same row through do-nothing dma_map_ops on %s (an indirect call per op, as every dma_map_ops pays)",
		  B.floor ? pci_name(B.t[PEER].pdev) : "- (not measured)");
		T("goal: map pvbounce/floor <= 1.10 (the direct path)");
		T("%-5s %5s %-4s | %-24s | %-24s | %-24s | %8s %9s %-4s | %s", "op", "size", "dir",
		  "pvbounce force=0", B.peer, "floor", "pvb/peer", "pvb/floor", "goal",
		  "bounced pvb peer");
	} else {
		T("copy = copy limit: memcpy of the bytes, 1x to, 2x from/bidi (sync: 1x to/from, 2x bidi)");
		T("beyond = the work beyond the copy limit, pvbounce/peer: (pvb - copy) / (peer - copy)");
		T("goal: map pvbounce/peer <= 0.80 or pvbounce/copy <= 1.10, up to 256K");
		T("%-5s %5s %-4s | %-24s | %-24s | %-24s | %8s %8s %6s %-4s | %s", "op", "size", "dir",
		  "pvbounce force=1", B.peer, "copy", "pvb/peer", "pvb/copy", "beyond", "goal",
		  "bounced pvb peer");
	}
	for (i = 0; i < B.nrows; i++) {
		const struct row *r = &B.rows[i];
		u64 mp = median_of(r, PVB), mq = median_of(r, PEER), mc = median_of(r, COPY);
		u64 mf = median_of(r, FLOOR);

		if (r->nthreads)
			continue;
		fmt_size(sz, sizeof(sz), r->size);
		fmt_cell(p, sizeof(p), r, PVB);
		fmt_cell(q, sizeof(q), r, PEER);
		fmt_ratio(rp, sizeof(rp), mp, mq);
		if (r->maps > 0)
			scnprintf(bnc, sizeof(bnc), "%3lld%%", div64_s64(r->bounced * 100, r->maps));
		else
			scnprintf(bnc, sizeof(bnc), "   ?");
		goal = "";
		if (B.direct) {
			fmt_cell(c, sizeof(c), r, FLOOR);
			fmt_ratio(rc, sizeof(rc), mp, mf);
			if (r->op == OP_MAP && mp && mf) {
				goal = mp * 100 <= mf * 110 ? "ok" : "MISS";
				g->map_rows++;
				g->map_met += mp * 100 <= mf * 110;
			}
			T("%-5s %5s %-4s | %-24s | %-24s | %-24s | %8s %9s %-4s | %s %c %c",
			  op_name[r->op], sz, dir_name[r->dir], p, q, c, rp, rc, goal, bnc,
			  r->probe[PVB], r->probe[PEER]);
			continue;
		}
		fmt_cell(c, sizeof(c), r, COPY);
		fmt_ratio(rc, sizeof(rc), mp, mc);
		fmt_beyond(rb, sizeof(rb), mp, mq, mc);
		if (r->op == OP_MAP && r->size <= GOAL_SIZE && mp && (mq || mc)) {
			bool ok = (mq && mp * 100 <= mq * 80) || (mc && mp * 100 <= mc * 110);

			goal = ok ? "ok" : "MISS";
			g->map_rows++;
			g->map_met += ok;
		}
		T("%-5s %5s %-4s | %-24s | %-24s | %-24s | %8s %8s %6s %-4s | %s %c %c",
		  op_name[r->op], sz, dir_name[r->dir], p, q, c, rp, rc, rb, goal, bnc,
		  r->probe[PVB], r->probe[PEER]);
	}
}

/* MB/s (10^6 B/s) of bytes per op at ps per op */
static u64 mbps(u64 bytes, u64 ps)
{
	return ps ? div64_u64(bytes * 1000000, ps) : 0;
}

static void print_bandwidth(struct goals *g)
{
	char sz[16], rr[16];
	unsigned int i;

	T("bounce bandwidth, map rows >= 64K: bytes copied (size x copies) per second, MB/s = 10^6 B/s");
	T("goal: pvbounce >= 90%% of memcpy");
	T("%5s %-4s | %12s | %12s | %12s | %10s %-4s", "size", "dir", "pvbounce", B.peer, "memcpy",
	  "pvb/memcpy", "goal");
	for (i = 0; i < B.nrows; i++) {
		const struct row *r = &B.rows[i];
		u64 bytes = (u64)r->size * copies(r->op, r->dir);
		u64 mp = median_of(r, PVB), mq = median_of(r, PEER), mc = median_of(r, COPY);
		const char *goal = "";

		if (r->nthreads || r->op != OP_MAP || r->size < (64UL << 10))
			continue;
		fmt_size(sz, sizeof(sz), r->size);
		fmt_ratio(rr, sizeof(rr), mc, mp);
		if (mp && mc) {
			goal = mc * 100 >= mp * 90 ? "ok" : "MISS";
			g->bw_rows++;
			g->bw_met += mc * 100 >= mp * 90;
		}
		T("%5s %-4s | %12llu | %12llu | %12llu | %10s %-4s", sz, dir_name[r->dir],
		  mbps(bytes, mp), mbps(bytes, mq), mbps(bytes, mc), rr, goal);
	}
}

static void print_threads(struct goals *g)
{
	char p1[48], pn[48], q1[48], qn[48], rp[16], rq[16], sz[16];
	unsigned int i;

	T("throughput, ops/s of all threads: 1 thread vs %u threads (one per CPU), median [min-max]",
	  B.nw);
	T("goal: pvbounce %u threads / 1 thread >= 1.50", B.nw);
	T("%-5s %5s %-4s | %-26s | %-26s | %5s %-4s | %-26s | %-26s | %5s", "op", "size", "dir",
	  "pvb 1 thread", "pvb per-CPU", "ratio", "goal", "peer 1 thread", "peer per-CPU", "ratio");
	for (i = 0; i + 1 < B.nrows; i++) {
		const struct row *r = &B.rows[i], *n = &B.rows[i + 1];
		u64 a = median_of(r, PVB), b = median_of(n, PVB);
		const char *goal = "";

		if (r->nthreads != 1 || n->nthreads <= 1)
			continue;
		fmt_size(sz, sizeof(sz), r->size);
		fmt_ops(p1, sizeof(p1), r, PVB);
		fmt_ops(pn, sizeof(pn), n, PVB);
		fmt_ops(q1, sizeof(q1), r, PEER);
		fmt_ops(qn, sizeof(qn), n, PEER);
		fmt_ratio(rp, sizeof(rp), b, a);
		fmt_ratio(rq, sizeof(rq), median_of(n, PEER), median_of(r, PEER));
		if (a && b) {
			goal = b * 100 >= a * 150 ? "ok" : "MISS";
			g->mt_rows++;
			g->mt_met += b * 100 >= a * 150;
		}
		T("%-5s %5s %-4s | %-26s | %-26s | %5s %-4s | %-26s | %-26s | %5s", op_name[r->op],
		  sz, dir_name[r->dir], p1, pn, rp, goal, q1, qn, rq);
	}
}

/* ---- setup ------------------------------------------------------------------ */

static int get_target(struct target *t, const char *name, const char *what)
{
	unsigned int dom = 0, bus, slot, fn;
	u64 mask = DMA_BIT_MASK(mask_bits);

	t->name = name;
	if (!name || (sscanf(name, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4 &&
		      sscanf(name, "%x:%x.%x", &bus, &slot, &fn) != 3)) {
		pr_err("%s=%s: want a PCI address DDDD:BB:DD.F\n", what, name ? name : "");
		return -EINVAL;
	}
	t->pdev = pci_get_domain_bus_and_slot(dom, bus, PCI_DEVFN(slot, fn));
	if (!t->pdev) {
		pr_err("%s=%s: no such PCI device\n", what, name);
		return -ENODEV;
	}
	t->dev = &t->pdev->dev;
	if (t->dev->driver)
		pr_warn("%s: driver %s is bound; results may suffer\n", name, t->dev->driver->name);
	t->old_mask = t->dev->dma_mask ? *t->dev->dma_mask : 0;
	t->old_coherent = t->dev->coherent_dma_mask;
	if (dma_set_mask_and_coherent(t->dev, mask)) {
		pr_err("%s: cannot set a %u-bit DMA mask\n", name, mask_bits);
		return -EIO;
	}
	t->max = min_t(size_t, dma_max_mapping_size(t->dev), MAX_CAP);
	return 0;
}

static void put_target(struct target *t)
{
	if (!t->pdev)
		return;
	if (t->old_mask)
		dma_set_mask(t->dev, t->old_mask);
	dma_set_coherent_mask(t->dev, t->old_coherent);
	pci_dev_put(t->pdev);
}

static void add_row(enum op_kind op, size_t size, enum dma_data_direction dir,
		    unsigned int nthreads)
{
	struct row *r = &B.rows[B.nrows++];

	r->op = op;
	r->size = size;
	r->dir = dir;
	r->nthreads = nthreads;
}

static const enum dma_data_direction dirs[] = {
	DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL
};

/*
 * only=OP:SIZE:DIR: its row alone; false if it names none (sg16's parts are
 * SG_LEN, a map or sync at most the device's largest mapping, @big)
 */
static bool only_row(size_t big)
{
	char *buf = kstrdup(only, GFP_KERNEL), *p = buf, *op, *sz, *dir;
	unsigned int d = 3, o = OP_COPY;
	unsigned long size = 0;

	op = strsep(&p, ":");
	sz = strsep(&p, ":");
	dir = strsep(&p, ":");
	if (op && sz && dir && !p && !kstrtoul(sz, 0, &size) && size && size <= big) {
		for (o = 0; o < OP_COPY && strcmp(op, op_name[o]); o++)
			;
		for (d = 0; d < 3 && strcmp(dir, dir_name[dirs[d]]); d++)
			;
	}
	kfree(buf);
	if (o == OP_COPY || d == 3 || (o == OP_SG && size != SG_LEN))
		return false;
	add_row(o, size, dirs[d], 0);
	return true;
}

static int make_rows(void)
{
	static const size_t sizes[] = { 64, 512, 4096, 64UL << 10, 256UL << 10 };
	static const struct { enum op_kind op; size_t size; enum dma_data_direction dir; } mt[] = {
		{ OP_MAP, 64, DMA_TO_DEVICE }, { OP_MAP, 4096, DMA_TO_DEVICE },
		{ OP_MAP, 4096, DMA_BIDIRECTIONAL }, { OP_MAP, 64UL << 10, DMA_TO_DEVICE },
		{ OP_SG, SG_LEN, DMA_TO_DEVICE }, { OP_SYNC, 4096, DMA_BIDIRECTIONAL },
	};
	size_t big = B.t[PVB].max;
	unsigned int i, d;

	/* map sizes and the largest, sg, sync 4K and 64K, throughput pairs */
	B.rows = kcalloc((ARRAY_SIZE(sizes) + 1) * 3 + 3 + 2 * 3 + 2 * ARRAY_SIZE(mt),
			 sizeof(*B.rows), GFP_KERNEL);
	if (!B.rows)
		return -ENOMEM;
	if (only && !only_row(big)) {
		pr_err("only=%s: want OP:SIZE:DIR, OP map, sg16 (SIZE 4096) or sync, SIZE at most %zu, DIR to, from or bidi\n",
		       only, big);
		return -EINVAL;
	}
	if (only)
		return 0;
	for (i = 0; B.latency && i < ARRAY_SIZE(sizes); i++)
		for (d = 0; d < 3; d++)
			add_row(OP_MAP, sizes[i], dirs[d], 0);
	if (B.latency && big > sizes[ARRAY_SIZE(sizes) - 1])
		for (d = 0; d < 3; d++)
			add_row(OP_MAP, big, dirs[d], 0);
	for (d = 0; B.latency && d < 3; d++)
		add_row(OP_SG, SG_LEN, dirs[d], 0);
	for (i = 0; B.latency && i < 2; i++)
		for (d = 0; d < 3; d++)
			add_row(OP_SYNC, i ? 64UL << 10 : 4096, dirs[d], 0);
	for (i = 0; B.scaling && i < ARRAY_SIZE(mt); i++) {
		add_row(mt[i].op, mt[i].size, mt[i].dir, 1);
		add_row(mt[i].op, mt[i].size, mt[i].dir, B.nw);
	}
	return 0;
}

static void free_workers(void)
{
	unsigned int i;

	for (i = 0; B.w && i < B.nw; i++) {
		if (B.w[i].buf)
			free_pages_exact(B.w[i].buf, B.w[i].buflen);
		if (B.w[i].dst)
			free_pages_exact(B.w[i].dst, B.w[i].buflen);
	}
	kfree(B.w);
	kfree(B.cpu);
}

static int make_workers(void)
{
	unsigned int i = 0, cpu, n = num_online_cpus();

	if (max_threads && max_threads < n)
		n = max_threads;
	B.w = kcalloc(n, sizeof(*B.w), GFP_KERNEL);
	B.cpu = kcalloc(n, sizeof(*B.cpu), GFP_KERNEL);
	if (!B.w || !B.cpu)
		return -ENOMEM;
	for_each_online_cpu(cpu) {
		if (i == n)
			break;
		B.cpu[i++] = cpu;
	}
	B.nw = i;
	for (i = 0; i < B.nw; i++) {
		struct worker *w = &B.w[i];

		/* the first worker holds the largest row and the copy targets */
		w->buflen = i ? MT_BUF : max_t(size_t, B.t[PVB].max, NSG * SG_LEN);
		w->buflen = PAGE_ALIGN(max_t(size_t, w->buflen, MT_BUF));
		w->buf = alloc_pages_exact(w->buflen, GFP_KERNEL);
		w->dst = alloc_pages_exact(w->buflen, GFP_KERNEL);
		if (!w->buf || !w->dst)
			return -ENOMEM;
		memset(w->buf, 0x3c, w->buflen);
		memset(w->dst, 0xc3, w->buflen);
	}
	return 0;
}

/* ---- the dispatch floor (direct mode) -------------------------------------- */

/*
 * Any dma_map_ops, pvbounce's included, is reached through an indirect call
 * (retpolined on Debian's kernels) where dma-direct is inline: the floor of
 * the direct path.  Measured by giving the peer, for a moment, ops that do
 * nothing at all.
 */
static dma_addr_t stub_map_phys(struct device *dev, phys_addr_t phys,
				size_t size, enum dma_data_direction dir,
				unsigned long attrs)
{
	return phys;
}

static void stub_unmap_phys(struct device *dev, dma_addr_t addr, size_t size,
			    enum dma_data_direction dir, unsigned long attrs)
{
}

PVB_DEFINE_PHYS_OPS(stub_map_phys, stub_unmap_phys)

static void stub_sync(struct device *dev, dma_addr_t addr, size_t size,
		      enum dma_data_direction dir)
{
}

static const struct dma_map_ops stub_ops = {
	PVB_OPS_PHYS_INIT(stub_map_phys, stub_unmap_phys),
	.sync_single_for_cpu = stub_sync,
	.sync_single_for_device = stub_sync,
};

/*
 * The FLOOR cells of every map and sync latency row: the peer on stub_ops
 * for a moment, after the rounds.  Only on a driverless peer whose dma_ops
 * are what the DMA API uses: the stub has no map_sg or alloc for a driver,
 * and 6.12 sends a device behind iommu-dma there whatever dma_ops says.
 */
static void measure_floor(void)
{
	struct device *dev = B.t[PEER].dev;
	const struct dma_map_ops *old = get_dma_ops(dev);
	unsigned int i, k;

	if (dev->driver || pvb_dev_dma_iommu(dev)) {
		pr_info("dispatch floor not measured: %s has a driver, or iommu-dma serves it\n",
			pci_name(B.t[PEER].pdev));
		return;
	}
	set_dma_ops(dev, &stub_ops);
	pvb_dev_force_sync(dev);
	for (k = 0; k < rounds; k++)
		for (i = 0; i < B.nrows; i++)
			if (!B.rows[i].nthreads && B.rows[i].op != OP_SG)
				measure(&B.rows[i], FLOOR, k);
	set_dma_ops(dev, old);
	B.floor = true;
}

static int __init bench_init(void)
{
	struct goals g = { 0 };
	char sz[2][16];
	unsigned int i, k;
	s64 m0, b0, m1, b1;
	int ret;

	memset(&B, 0, sizeof(B));
	init_completion(&B.go);
	if (!strcmp(mode, "direct")) {
		B.direct = true;
	} else if (strcmp(mode, "bounce")) {
		pr_err("mode=%s: want bounce or direct\n", mode);
		return -EINVAL;
	}
	B.latency = !strcmp(rows_arg, "latency") || !strcmp(rows_arg, "all");
	B.scaling = !strcmp(rows_arg, "scaling") || !strcmp(rows_arg, "all");
	if (!B.latency && !B.scaling) {
		pr_err("rows=%s: want latency, scaling or all\n", rows_arg);
		return -EINVAL;
	}
	if (!rounds || rounds > MAX_ROUNDS || !cell_ms || cell_ms > 10000 ||
	    mask_bits < 32 || mask_bits > 64) {
		pr_err("rounds 1..%u, cell_ms 1..10000, mask_bits 32..64\n", MAX_ROUNDS);
		return -EINVAL;
	}
	B.peer = peer_label ? peer_label : xen_pv_domain() ? "swiotlb-xen" :
		 B.direct ? "dma-direct" : "swiotlb";
	ret = get_target(&B.t[PVB], pvb_dev, "dev");
	if (!ret)
		ret = get_target(&B.t[PEER], peer_dev, "peer");
	if (ret)
		goto out;
	scnprintf(B.t[PVB].sysfs, sizeof(B.t[PVB].sysfs), PVB_SYSFS_DIR "/%s",
		  pci_name(B.t[PVB].pdev));
	scnprintf(B.t[PEER].sysfs, sizeof(B.t[PEER].sysfs), PVB_SYSFS_DIR "/%s",
		  pci_name(B.t[PEER].pdev));
	if (pvb_read_num(B.t[PVB].sysfs, "maps", &m0)) {
		pr_err("%s is not attached to pvbounce (no %s)\n", pvb_dev, B.t[PVB].sysfs);
		ret = -ENODEV;
		goto out;
	}
	if (!pvb_read_num(B.t[PEER].sysfs, "maps", &m0)) {
		pr_err("%s is attached to pvbounce: it must stay on the kernel's ops\n", peer_dev);
		ret = -EINVAL;
		goto out;
	}
	ret = make_workers();
	if (!ret)
		ret = make_rows();
	if (ret)
		goto out;
	/*
	 * Under -icount all on one CPU: the same per-CPU area of the pool
	 * throughout (the scaling rows are not timed there).
	 */
	if (icount)
		migrate_disable();
	for (i = 0; i < B.nrows; i++) {
		struct row *r = &B.rows[i];
		size_t bytes = r->op == OP_SG ? SG_LEN : r->size;

		r->probe[PVB] = probe_bounce(&B.t[PVB], bytes);
		r->probe[PEER] = probe_bounce(&B.t[PEER], bytes);
	}

	fmt_size(sz[0], sizeof(sz[0]), B.t[PVB].max);
	fmt_size(sz[1], sizeof(sz[1]), B.t[PEER].max);
	T("=== %s %s %s%s: pvbounce %s vs %s %s, %u-bit masks, %u CPUs", init_utsname()->release,
	  xen_pv_domain() ? "Xen PV dom0" : "native", B.direct ? "direct" : "bounce",
	  B.latency ? B.scaling ? "" : " (1 thread)" : " (scaling)",
	  pci_name(B.t[PVB].pdev), B.peer, pci_name(B.t[PEER].pdev), mask_bits, num_online_cpus());
	T("dma_max_mapping_size (capped at 4M): pvbounce %s, %s %s; rounds alternate which device goes first",
	  sz[0], B.peer, sz[1]);

	pvb_counters(&m0, &b0);
	for (k = 0; k < rounds; k++) {
		for (i = 0; i < B.nrows; i++) {
			struct row *r = &B.rows[i];

			measure(r, k & 1 ? PEER : PVB, k);
			measure(r, k & 1 ? PVB : PEER, k);
			if (!B.direct && !r->nthreads)
				measure(r, COPY, k);
		}
	}
	if (B.direct && B.latency)
		measure_floor();
	pvb_counters(&m1, &b1);
	if (icount)
		migrate_enable();

	if (B.latency)
		print_latency(&g);
	if (B.latency && !B.direct)
		print_bandwidth(&g);
	if (B.scaling)
		print_threads(&g);
	if (icount)	/* the counts move with the batch sizes (Xen's noise) */
		T("pvbounce counters over the run: bounced %lld%% of the maps; errors %d",
		  m1 > m0 ? div64_s64((b1 - b0) * 100, m1 - m0) : 0, B.errors);
	else
		T("pvbounce counters over the run: maps +%lld, bounced +%lld; errors %d",
		  m1 - m0, b1 - b0, B.errors);
	T("bounced: pvbounce's bounced_maps/maps over the row's cells; pvb peer: a probe mapping bounced (y/n)");
	if (B.direct)
		T("goals met: direct map %u/%u, throughput %u/%u", g.map_met, g.map_rows,
		  g.mt_met, g.mt_rows);
	else
		T("goals met: map %u/%u, bandwidth %u/%u, throughput %u/%u", g.map_met, g.map_rows,
		  g.bw_met, g.bw_rows, g.mt_met, g.mt_rows);
	T("=== end");
out:
	errors = ret ? -1 : B.errors;
	free_workers();
	kfree(B.rows);
	put_target(&B.t[PEER]);
	put_target(&B.t[PVB]);
	return ret;
}

static void __exit bench_exit(void)
{
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvbounce benchmark: the streaming DMA API through pvbounce vs the kernel's ops and memcpy");
