// SPDX-License-Identifier: GPL-2.0
/*
 * pvbvfio: hold an IOMMU group as a VFIO user does, so that its devices sit
 * in an unmanaged IOMMU domain (page tables owned by VFIO, not the DMA API).
 *
 *   pvbvfio GROUP [blocked]
 *
 * Opens /dev/vfio/vfio (a container) and /dev/vfio/GROUP (every device of
 * the group bound to vfio-pci, or to no driver), puts the group in the
 * container (VFIO_GROUP_SET_CONTAINER: VFIO claims the group's DMA
 * ownership, the group goes to a blocking domain) and, unless "blocked"
 * says to stop there, gives the container an IOMMU (VFIO_SET_IOMMU,
 * type1v2 or type1: the group is attached to a new unmanaged domain).
 * Prints "held"
 * and waits until its standard input reaches end of file, or a signal ends
 * it; closing the descriptors gives the group back to its default domain.
 * Exits 0 after a hold, 1 (with the failing step on stderr) if the group
 * could not be held, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "pvbvfio: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64], buf[64];
	int container, group, type;

	if (argc < 2 || argc > 3 ||
	    (argc == 3 && strcmp(argv[2], "blocked"))) {
		fprintf(stderr, "usage: pvbvfio GROUP [blocked]\n");
		return 2;
	}
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return fail("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		fprintf(stderr, "pvbvfio: unknown VFIO API version\n");
		return 1;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%s", argv[1]);
	group = open(path, O_RDWR);
	if (group < 0)
		return fail(path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		return fail("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr, "pvbvfio: group %s is not viable (a device of it has another driver)\n",
			argv[1]);
		return 1;
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (argc == 3) {
		/* owned by VFIO, no IOMMU for the container yet: blocked */
		printf("held group %s (blocked)\n", argv[1]);
		goto hold;
	}
	type = VFIO_TYPE1v2_IOMMU;
	if (ioctl(container, VFIO_CHECK_EXTENSION, type) != 1)
		type = VFIO_TYPE1_IOMMU;
	if (ioctl(container, VFIO_SET_IOMMU, type))
		return fail("VFIO_SET_IOMMU");
	printf("held group %s (%s)\n", argv[1],
	       type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1");
hold:
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	close(group);
	close(container);
	return 0;
}
