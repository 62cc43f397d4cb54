// SPDX-License-Identifier: GPL-2.0
/*
 * pvbfollow FILE: copy FILE to stdout and then whatever is appended to it,
 * until killed (the domU lane's dom0 follows xenconsoled's log of the
 * domU's console with it; busybox tail -f was seen to repeat and drop
 * bytes there).  Waits for FILE to appear.  Exit 2 on a usage or I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void nap(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	char buf[65536];
	ssize_t n, w, off;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: pvbfollow FILE\n");
		return 2;
	}
	while ((fd = open(argv[1], O_RDONLY)) < 0) {
		if (errno != ENOENT) {
			perror(argv[1]);
			return 2;
		}
		nap();
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("read");
			return 2;
		}
		if (n == 0) {
			nap();
			continue;
		}
		for (off = 0; off < n; off += w) {
			w = write(1, buf + off, n - off);
			if (w < 0) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				return 2;
			}
		}
	}
}
