// SPDX-License-Identifier: GPL-2.0
/*
 * pvbbench - O_DIRECT sequential throughput on a block device, for the QEMU
 * benchmark (tests/vm/bench.sh).  Not a checker: the data is not verified
 * (pvbio does that).
 *
 * Each job (thread) owns a region of -l bytes, the regions following each
 * other from offset -o; a job reads or writes its region sequentially in
 * I/Os of -s bytes, wrapping around at its end, until -t seconds have passed
 * (and at least one I/O is done) or, with -b, that many bytes were moved by
 * the job.  One line is printed:
 *
 *   pvbbench: mode=r size=65536 jobs=4 bytes=123 secs=2.001 MBps=61.5
 *
 * MBps is 10^6 bytes per second, over the wall time from the first I/O of
 * any job to the last I/O of every job.
 *
 * Exit: 0 done, 2 I/O error, 3 usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

static struct {
	const char *dev;
	bool write;
	uint64_t size, offset, region, bytes;
	double secs;
	int jobs;
} opt = { .size = 65536, .region = 32 << 20, .secs = 2.0, .jobs = 1 };

struct job {
	pthread_t thread;
	int id, fd;
	uint64_t moved;
	int err;
};

static pthread_barrier_t start_line;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	struct job *j = arg;
	uint64_t base = opt.offset + (uint64_t)j->id * opt.region, pos = 0;
	uint8_t *buf;
	double end;

	if (posix_memalign((void **)&buf, 4096, opt.size)) {
		j->err = ENOMEM;
		pthread_barrier_wait(&start_line);
		return NULL;
	}
	/* something other than zeroes, so nothing can take a shortcut */
	memset(buf, 0x5a ^ j->id, opt.size);
	pthread_barrier_wait(&start_line);
	end = now() + opt.secs;
	for (;;) {
		ssize_t r;

		if (pos + opt.size > opt.region)
			pos = 0;
		if (opt.write)
			r = pwrite(j->fd, buf, opt.size, base + pos);
		else
			r = pread(j->fd, buf, opt.size, base + pos);
		if (r != (ssize_t)opt.size) {
			j->err = r < 0 ? errno : EIO;
			fprintf(stderr, "pvbbench: job %d: %s of %" PRIu64 " at %" PRIu64 ": %s\n",
				j->id, opt.write ? "write" : "read", opt.size, base + pos,
				r < 0 ? strerror(errno) : "short transfer");
			break;
		}
		pos += opt.size;
		j->moved += opt.size;
		if (opt.bytes ? j->moved >= opt.bytes : now() >= end)
			break;
	}
	free(buf);
	return NULL;
}

static int parse_size(const char *s, uint64_t *v)
{
	char *e;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &e, 0);
	if (errno || e == s)
		return -1;
	switch (*e) {
	case 'K': case 'k': n <<= 10; e++; break;
	case 'M': case 'm': n <<= 20; e++; break;
	case 'G': case 'g': n <<= 30; e++; break;
	}
	if (*e)
		return -1;
	*v = n;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pvbbench -m r|w [-s SIZE] [-j JOBS] [-t SECONDS | -b BYTES]\n"
		"                [-o OFFSET] [-l REGION] DEVICE\n"
		"  sequential O_DIRECT I/O of SIZE (default 64K) by JOBS threads (1),\n"
		"  each in its own REGION (32M) from OFFSET (0), for SECONDS (2)\n"
		"  or BYTES per job; prints the throughput in 10^6 bytes/s\n");
	exit(3);
}

int main(int argc, char **argv)
{
	uint64_t devsize, total = 0;
	struct job *jobs;
	double t0, t1;
	int c, i, err = 0;

	while ((c = getopt(argc, argv, "m:s:j:t:b:o:l:")) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "r") && strcmp(optarg, "w"))
				usage();
			opt.write = optarg[0] == 'w';
			break;
		case 's':
			if (parse_size(optarg, &opt.size) || !opt.size || opt.size % 512)
				usage();
			break;
		case 'j':
			opt.jobs = atoi(optarg);
			if (opt.jobs < 1 || opt.jobs > 64)
				usage();
			break;
		case 't':
			opt.secs = atof(optarg);
			if (opt.secs <= 0)
				usage();
			break;
		case 'b':
			if (parse_size(optarg, &opt.bytes))
				usage();
			break;
		case 'o':
			if (parse_size(optarg, &opt.offset) || opt.offset % 512)
				usage();
			break;
		case 'l':
			if (parse_size(optarg, &opt.region) || opt.region % 512)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || opt.region < opt.size)
		usage();
	opt.dev = argv[optind];

	jobs = calloc(opt.jobs, sizeof(*jobs));
	if (!jobs)
		return 3;
	for (i = 0; i < opt.jobs; i++) {
		jobs[i].id = i;
		jobs[i].fd = open(opt.dev, (opt.write ? O_WRONLY : O_RDONLY) | O_DIRECT);
		if (jobs[i].fd < 0) {
			fprintf(stderr, "pvbbench: %s: %s\n", opt.dev, strerror(errno));
			return 3;
		}
	}
	if (ioctl(jobs[0].fd, BLKGETSIZE64, &devsize) == 0 &&
	    opt.offset + opt.jobs * opt.region > devsize) {
		fprintf(stderr, "pvbbench: %d regions of %" PRIu64 " from %" PRIu64
			" do not fit in %" PRIu64 " bytes\n", opt.jobs, opt.region,
			opt.offset, devsize);
		return 3;
	}

	pthread_barrier_init(&start_line, NULL, opt.jobs + 1);
	for (i = 0; i < opt.jobs; i++) {
		if (pthread_create(&jobs[i].thread, NULL, run, &jobs[i])) {
			fprintf(stderr, "pvbbench: cannot start job %d\n", i);
			return 3;
		}
	}
	pthread_barrier_wait(&start_line);
	t0 = now();
	for (i = 0; i < opt.jobs; i++) {
		pthread_join(jobs[i].thread, NULL);
		total += jobs[i].moved;
		if (jobs[i].err)
			err = jobs[i].err;
	}
	t1 = now();
	printf("pvbbench: mode=%s size=%" PRIu64 " jobs=%d bytes=%" PRIu64
	       " secs=%.3f MBps=%.1f%s\n", opt.write ? "w" : "r", opt.size,
	       opt.jobs, total, t1 - t0, total / (t1 - t0) / 1e6,
	       err ? " ERROR" : "");
	return err ? 2 : 0;
}
