// SPDX-License-Identifier: GPL-2.0
/*
 * pvbudp: checked UDP both ways (the dom0_netback scenario: a domU and a
 * network namespace of its dom0, across netback, a bridge and a NIC).
 *
 *   pvbudp server PORT
 *	echoes every datagram to its sender, until killed
 *   pvbudp client HOST PORT SIZES COUNT [SEED]
 *	for each size in SIZES (comma-separated bytes, 1 to 65507), COUNT
 *	datagrams of that size filled from SEED and their number, each
 *	sent and its echo awaited (1 s, sent again up to 10 times); every
 *	echo must be the datagram, byte for byte.  A stale echo (of an
 *	earlier try) is read and passed over.
 *
 * The client prints "udp: datagrams=N bytes=B resent=R bad=X lost=L" and
 * exits 0 when every datagram came back intact, 1 otherwise; 2 on a usage
 * or socket error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DGRAM 65507

static unsigned char out[MAX_DGRAM], in[MAX_DGRAM + 1];

/* fill: datagram NUM of LEN bytes: its number, then xorshift bytes */
static void fill(unsigned char *b, size_t len, uint32_t seed, uint32_t num)
{
	uint32_t x = seed * 2654435761u ^ num * 40503u ^ 0x9e3779b9u;
	size_t i;

	if (!x)
		x = 1;
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	if (len >= 4)
		memcpy(b, &num, 4);
}

static int server(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;
	int s;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("pvbudp: server socket");
		return 2;
	}
	for (;;) {
		fl = sizeof(from);
		n = recvfrom(s, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("pvbudp: recvfrom");
			return 2;
		}
		sendto(s, in, n, 0, (struct sockaddr *)&from, fl);
	}
}

static int client(const char *host, int port, char *sizes, long count,
		  uint32_t seed)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	unsigned long dgrams = 0, bytes = 0, resent = 0, bad = 0, lost = 0;
	uint32_t num = 0;
	char *tok, *save = NULL;
	int s, tries, got;
	struct pollfd p;
	long i, len;
	ssize_t n;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "pvbudp: bad address %s\n", host);
		return 2;
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("pvbudp: client socket");
		return 2;
	}
	p.fd = s;
	p.events = POLLIN;
	for (tok = strtok_r(sizes, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		len = strtol(tok, NULL, 0);
		if (len < 1 || len > MAX_DGRAM) {
			fprintf(stderr, "pvbudp: bad size %s\n", tok);
			return 2;
		}
		for (i = 0; i < count; i++, num++) {
			fill(out, len, seed, num);
			got = 0;
			for (tries = 0; tries < 10 && !got; tries++) {
				if (tries)
					resent++;
				if (send(s, out, len, 0) != len) {
					/* e.g. ECONNREFUSED: the server not up yet */
					usleep(200000);
					continue;
				}
				/* the echo, or stale echoes until it comes */
				while (!got && poll(&p, 1, 1000) == 1) {
					n = recv(s, in, sizeof(in), 0);
					if (n < 0)
						break;
					if (n >= 4 && len >= 4 && memcmp(in, &num, 4))
						continue;	/* an earlier one's */
					if (n != len || memcmp(in, out, len)) {
						bad++;
						fprintf(stderr, "pvbudp: datagram %u (%ld bytes): echo of %zd bytes differs\n",
							num, len, n);
					}
					got = 1;
				}
			}
			if (!got)
				lost++;
			dgrams++;
			bytes += len;
		}
	}
	printf("udp: datagrams=%lu bytes=%lu resent=%lu bad=%lu lost=%lu\n",
	       dgrams, bytes, resent, bad, lost);
	return bad || lost ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), argv[4], atol(argv[5]),
			      argc == 7 ? strtoul(argv[6], NULL, 0) : 1);
	fprintf(stderr, "usage: pvbudp server PORT | client HOST PORT SIZES COUNT [SEED]\n");
	return 2;
}
