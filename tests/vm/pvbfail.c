// SPDX-License-Identifier: GPL-2.0
/*
 * pvbfail: run one system call with the kernel's fault injection set to
 * fail the Nth allocation it makes (/proc/thread-self/fail-nth; the kernel
 * needs CONFIG_FAULT_INJECTION, failslab / fail_page_alloc set up by the
 * caller, e.g. with a stack filter so that only some callers count).
 *
 *   pvbfail N insmod FILE [PARAM...]   finit_module(FILE, "PARAM ...")
 *   pvbfail N write FILE STRING        write(FILE, STRING)
 *   pvbfail N rmmod NAME               delete_module(NAME, O_NONBLOCK)
 *
 * Everything the call needs (the file opened, the arguments) is made
 * ready before fail-nth is armed, so the Nth allocation counted is one the
 * call itself makes.  Prints "rc=<0 or -errno> injected=<0|1>" (injected=0:
 * the call made fewer than N counted allocations, nothing was failed) and
 * exits 0 if the call succeeded, 1 if it failed, 2 on a usage or setup
 * error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: pvbfail N insmod FILE [PARAM...] | N write FILE STRING | N rmmod NAME\n");
	return 2;
}

/* Write @s to the already open @fd; 0 or -1. */
static int put(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

int main(int argc, char **argv)
{
	char params[4096] = "", nth[16], left[16] = "";
	const char *op;
	int fnth, fd = -1, i;
	long n, rc;

	if (argc < 4)
		return usage();
	n = strtol(argv[1], NULL, 10);
	op = argv[2];
	if (n < 1 || n > 1000000)
		return usage();
	if (!strcmp(op, "insmod")) {
		fd = open(argv[3], O_RDONLY | O_CLOEXEC);
		for (i = 4; i < argc; i++) {
			if (strlen(params) + strlen(argv[i]) + 2 > sizeof(params))
				return usage();
			if (i > 4)
				strcat(params, " ");
			strcat(params, argv[i]);
		}
	} else if (!strcmp(op, "write")) {
		if (argc != 5)
			return usage();
		fd = open(argv[3], O_WRONLY | O_CLOEXEC);
	} else if (!strcmp(op, "rmmod")) {
		if (argc != 4)
			return usage();
		fd = 0;
	} else {
		return usage();
	}
	if (fd < 0) {
		fprintf(stderr, "pvbfail: %s: %s\n", argv[3], strerror(errno));
		return 2;
	}
	fnth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fnth < 0) {
		fprintf(stderr, "pvbfail: /proc/thread-self/fail-nth: %s (CONFIG_FAULT_INJECTION?)\n",
			strerror(errno));
		return 2;
	}
	snprintf(nth, sizeof(nth), "%ld", n);
	if (put(fnth, nth)) {
		fprintf(stderr, "pvbfail: arming fail-nth: %s\n", strerror(errno));
		return 2;
	}
	/* the call, and nothing else, between arming and reading back */
	if (!strcmp(op, "insmod"))
		rc = syscall(SYS_finit_module, fd, params, 0);
	else if (!strcmp(op, "write"))
		rc = write(fd, argv[4], strlen(argv[4])) == (ssize_t)strlen(argv[4]) ? 0 : -1;
	else
		rc = syscall(SYS_delete_module, argv[3], O_NONBLOCK);
	rc = rc ? -errno : 0;
	if (pread(fnth, left, sizeof(left) - 1, 0) < 0) {
		fprintf(stderr, "pvbfail: reading fail-nth: %s\n", strerror(errno));
		return 2;
	}
	put(fnth, "0");
	printf("rc=%ld injected=%d\n", rc, atoi(left) == 0);
	return rc ? 1 : 0;
}
