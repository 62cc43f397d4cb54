// SPDX-License-Identifier: GPL-2.0
/*
 * pvbio - verified O_DIRECT I/O on a block device, for the QEMU tests.
 *
 * Writes seeded pseudo-random data with O_DIRECT at the given sizes, reads it
 * back (also with O_DIRECT) and compares byte for byte.  The data of every
 * byte depends only on the seed and its offset on the device, so a read-only
 * pass (-m r) can check what an earlier run (another boot of the module)
 * wrote, and a misdirected write shows up as foreign data elsewhere.
 *
 * Each job (thread) owns its own region of the device:
 *
 *   offset -o      job 0 region               job 1 region
 *   |<-------------------------------->|<------------------- ...
 *   [io size s0][io s1][io s2]...[s0]  [io s0][io s1]...
 *
 * Inside a region the I/Os follow each other; all writes of a loop are done
 * before its reads, so a write that lands in the wrong place spoils a
 * neighbour and is caught.
 *
 * Exit: 0 all data correct (and no I/O error, unless -e), 1 data mismatch,
 * 2 I/O error, 3 usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <unistd.h>

#define MAX_SIZES 64
#define MAX_REPORTS 10		/* mismatch lines per job */

static struct {
	const char *dev;
	uint64_t sizes[MAX_SIZES];
	int nsizes;
	uint64_t offset;
	uint64_t bufoff;	/* buffer's offset from a page boundary */
	int jobs;
	int count;		/* I/Os per size per loop */
	int loops;
	uint64_t seed;
	bool do_write, do_read;
	bool allow_errors;
	bool verbose;
	bool huge;		/* buffers in transparent huge pages */
} opt = {
	.jobs = 1, .count = 1, .loops = 1, .seed = 1,
	.do_write = true, .do_read = true,
};

struct job {
	pthread_t thread;
	int id;
	int fd;
	uint64_t start;		/* of its region on the device */
	/* results */
	uint64_t ios, bytes_written, bytes_read;
	uint64_t io_errors, mismatches, bad_bytes;
	int reports;
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	fputs("pvbio: ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* splitmix64: the expected content of the 8-byte word at device offset @off */
static uint64_t word_at(uint64_t seed, uint64_t off)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL + (off >> 3) + 1;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(uint8_t *buf, uint64_t off, uint64_t len, uint64_t seed)
{
	uint64_t i;

	/* offsets and lengths are multiples of 512, hence of 8 */
	for (i = 0; i < len; i += 8) {
		uint64_t w = word_at(seed, off + i);

		memcpy(buf + i, &w, 8);
	}
}

static void check(struct job *j, const uint8_t *buf, uint64_t off,
		  uint64_t len, uint64_t seed)
{
	uint64_t i, first = 0, last = 0, bad = 0;
	uint8_t want_first = 0, got_first = 0;

	for (i = 0; i < len; i += 8) {
		uint64_t w = word_at(seed, off + i);
		const uint8_t *e = (const uint8_t *)&w;
		int k;

		if (!memcmp(buf + i, e, 8))
			continue;
		for (k = 0; k < 8; k++) {
			if (buf[i + k] == e[k])
				continue;
			if (!bad) {
				first = i + k;
				want_first = e[k];
				got_first = buf[i + k];
			}
			last = i + k;
			bad++;
		}
	}
	if (!bad)
		return;
	j->mismatches++;
	j->bad_bytes += bad;
	if (j->reports++ < MAX_REPORTS)
		say("job %d: MISMATCH in read of %" PRIu64 " bytes at offset %" PRIu64
		    ": %" PRIu64 " bytes differ, first at offset %" PRIu64
		    " (+%" PRIu64 ": expected 0x%02x got 0x%02x), last at +%" PRIu64 "\n",
		    j->id, len, off, bad, off + first, first, want_first,
		    got_first, last);
}

static int do_io(struct job *j, bool write, uint8_t *buf, uint64_t off,
		 uint64_t len)
{
	ssize_t r;

	r = write ? pwrite(j->fd, buf, len, off) : pread(j->fd, buf, len, off);
	j->ios++;
	if (r == (ssize_t)len) {
		if (write)
			j->bytes_written += len;
		else
			j->bytes_read += len;
		return 0;
	}
	j->io_errors++;
	if (j->io_errors <= MAX_REPORTS) {
		if (r < 0)
			say("job %d: %s of %" PRIu64 " bytes at offset %" PRIu64 " failed: %s\n",
			    j->id, write ? "write" : "read", len, off, strerror(errno));
		else
			say("job %d: short %s of %" PRIu64 " bytes at offset %" PRIu64 ": %zd\n",
			    j->id, write ? "write" : "read", len, off, r);
	}
	return -1;
}

#define HUGE_SZ (2UL << 20)

/*
 * A job's buffer: page-aligned; with -H in whole 2 MiB transparent huge
 * pages (where the kernel has them), so that the block layer sees each I/O
 * up to 2 MiB as one physically contiguous segment, not as luck of the
 * page allocator would have it.
 */
static uint8_t *buf_alloc(uint64_t len)
{
	uint8_t *p;
	size_t span;

	if (!opt.huge) {
		void *m;

		return posix_memalign(&m, 4096, len) ? NULL : m;
	}
	span = (len + HUGE_SZ - 1) / HUGE_SZ * HUGE_SZ;
	/* a 2 MiB-aligned span inside a mapping one huge page longer */
	p = mmap(NULL, span + HUGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	p = (uint8_t *)(((uintptr_t)p + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	madvise(p, span, MADV_HUGEPAGE);
	return p;
}

static void buf_free(uint8_t *p, uint64_t len)
{
	if (!opt.huge)
		free(p);
	/* (-H: a process's few mappings, gone at its exit) */
	(void)len;
}

static void *run_job(void *arg)
{
	struct job *j = arg;
	uint64_t maxsz = 0;
	uint8_t *mem, *buf;
	bool *failed;
	int n = opt.nsizes * opt.count, loop, i;

	for (i = 0; i < opt.nsizes; i++)
		if (opt.sizes[i] > maxsz)
			maxsz = opt.sizes[i];
	mem = buf_alloc(maxsz + opt.bufoff);
	if (!mem) {
		say("job %d: out of memory\n", j->id);
		j->io_errors++;
		return NULL;
	}
	buf = mem + opt.bufoff;
	failed = calloc(n, sizeof(*failed));
	if (!failed) {
		say("job %d: out of memory\n", j->id);
		j->io_errors++;
		buf_free(mem, maxsz + opt.bufoff);
		return NULL;
	}

	/* -l 0: passes until an I/O fails (the device went away) */
	for (loop = 0; !opt.loops || loop < opt.loops; loop++) {
		uint64_t seed = opt.seed + loop;

		if (!opt.loops && j->io_errors)
			break;
		uint64_t off;

		if (opt.do_write) {
			off = j->start;
			for (i = 0; i < n; i++) {
				uint64_t len = opt.sizes[i % opt.nsizes];

				fill(buf, off, len, seed);
				failed[i] = do_io(j, true, buf, off, len) != 0;
				off += len;
			}
		}
		if (opt.do_read) {
			off = j->start;
			for (i = 0; i < n; i++) {
				uint64_t len = opt.sizes[i % opt.nsizes];

				/* a stale buffer must not pass for good data */
				memset(buf, 0xa5, len);
				if (!do_io(j, false, buf, off, len) && !failed[i])
					check(j, buf, off, len, seed);
				if (opt.verbose)
					say("job %d: %" PRIu64 " bytes at %" PRIu64 " done\n",
					    j->id, len, off);
				off += len;
			}
		}
	}
	free(failed);
	buf_free(mem, maxsz + opt.bufoff);
	return NULL;
}

static int parse_size(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': x <<= 10; end++; break;
	case 'm': case 'M': x <<= 20; end++; break;
	case 'g': case 'G': x <<= 30; end++; break;
	}
	if (*end)
		return -1;
	*v = x;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pvbio [options] DEVICE\n"
		"  -s SIZES   comma-separated I/O sizes, multiples of 512, K/M suffix (default 4K)\n"
		"  -o OFF     start offset on the device (default 0)\n"
		"  -n COUNT   I/Os of each size per loop and job (default 1)\n"
		"  -j JOBS    parallel jobs (threads), each in its own region (default 1)\n"
		"  -l LOOPS   write+read passes, each with the next seed (default 1);\n"
		"             0 (with -e): passes until an I/O fails, as when the device goes\n"
		"  -S SEED    data seed (default 1)\n"
		"  -b BUFOFF  user buffer offset from a page boundary, multiple of 512 (default 0)\n"
		"  -m MODE    wr (write, read back; default), w (write only), r (verify only)\n"
		"  -e         I/O errors are expected: count them, fail only on bad data\n"
		"  -v         one line per verified I/O\n"
		"  -H         buffers in 2 MiB transparent huge pages (physically contiguous\n"
		"             where the kernel has THP)\n"
		"Prints a summary line: ios= bytes_written= bytes_read= io_errors= mismatches= bad_bytes=\n"
		"Exit: 0 ok, 1 data mismatch, 2 I/O error, 3 usage/setup error\n");
	exit(3);
}

int main(int argc, char **argv)
{
	struct job *jobs;
	uint64_t per_job = 0, devsize = 0, v;
	uint64_t tot[6] = { 0 };
	int c, i, fd;
	char *s, *tok;

	while ((c = getopt(argc, argv, "s:o:n:j:l:S:b:m:evH")) != -1) {
		switch (c) {
		case 's':
			opt.nsizes = 0;
			s = strdup(optarg);
			for (tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
				if (opt.nsizes == MAX_SIZES || parse_size(tok, &v) ||
				    !v || v % 512) {
					fprintf(stderr, "pvbio: bad size '%s'\n", tok);
					usage();
				}
				opt.sizes[opt.nsizes++] = v;
			}
			free(s);
			break;
		case 'o':
			if (parse_size(optarg, &opt.offset) || opt.offset % 512)
				usage();
			break;
		case 'b':
			if (parse_size(optarg, &opt.bufoff) || opt.bufoff % 512 ||
			    opt.bufoff >= 4096)
				usage();
			break;
		case 'n':
			opt.count = atoi(optarg);
			break;
		case 'j':
			opt.jobs = atoi(optarg);
			break;
		case 'l':
			opt.loops = atoi(optarg);
			break;
		case 'S':
			if (parse_size(optarg, &opt.seed))
				usage();
			break;
		case 'm':
			opt.do_write = strchr(optarg, 'w');
			opt.do_read = strchr(optarg, 'r');
			if (!opt.do_write && !opt.do_read)
				usage();
			break;
		case 'e':
			opt.allow_errors = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'H':
			opt.huge = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || opt.count < 1 || opt.jobs < 1 || opt.loops < 0 ||
	    (!opt.loops && !opt.allow_errors))
		usage();
	opt.dev = argv[optind];
	if (!opt.nsizes)
		opt.sizes[opt.nsizes++] = 4096;

	fd = open(opt.dev, (opt.do_write ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "pvbio: open %s: %s\n", opt.dev, strerror(errno));
		return 3;
	}
	if (ioctl(fd, BLKGETSIZE64, &devsize)) {
		struct stat st;

		if (fstat(fd, &st)) {
			perror("pvbio: stat");
			return 3;
		}
		devsize = st.st_size;
	}
	for (i = 0; i < opt.nsizes; i++)
		per_job += opt.sizes[i] * opt.count;
	if (opt.offset + per_job * opt.jobs > devsize) {
		fprintf(stderr, "pvbio: %d jobs of %" PRIu64 " bytes from offset %" PRIu64
			" do not fit in %s (%" PRIu64 " bytes)\n",
			opt.jobs, per_job, opt.offset, opt.dev, devsize);
		return 3;
	}

	jobs = calloc(opt.jobs, sizeof(*jobs));
	if (!jobs)
		return 3;
	for (i = 0; i < opt.jobs; i++) {
		jobs[i].id = i;
		jobs[i].fd = fd;
		jobs[i].start = opt.offset + per_job * i;
		if (pthread_create(&jobs[i].thread, NULL, run_job, &jobs[i])) {
			fprintf(stderr, "pvbio: cannot start job %d\n", i);
			return 3;
		}
	}
	for (i = 0; i < opt.jobs; i++) {
		pthread_join(jobs[i].thread, NULL);
		tot[0] += jobs[i].ios;
		tot[1] += jobs[i].bytes_written;
		tot[2] += jobs[i].bytes_read;
		tot[3] += jobs[i].io_errors;
		tot[4] += jobs[i].mismatches;
		tot[5] += jobs[i].bad_bytes;
	}
	close(fd);
	printf("pvbio: ios=%" PRIu64 " bytes_written=%" PRIu64 " bytes_read=%" PRIu64
	       " io_errors=%" PRIu64 " mismatches=%" PRIu64 " bad_bytes=%" PRIu64 "\n",
	       tot[0], tot[1], tot[2], tot[3], tot[4], tot[5]);
	if (tot[4])
		return 1;
	if (tot[3] && !opt.allow_errors)
		return 2;
	return 0;
}
