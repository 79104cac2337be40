// SPDX-License-Identifier: GPL-2.0-only
/*
 * A narrated tour of /dev/iommu, done the way a VMM does it: take a PCI
 * device (QEMU's edu) from vfio-pci's cdev, give it an I/O address space
 * built from our own memory, let it DMA, take the memory away again and
 * watch the IOMMU stop it. Then show what bad input gets.
 *
 * Runs inside the test guest (make run). Each step says what it is about
 * to do, does it, and shows what the kernel answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "edu_vfio.h"
#include "iommufd_ioctls.h"

#define BUF_SIZE (64 * 1024)
#define XFER 3000
#define IOVA 0x100000ULL

static int failures;

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("demo: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* Report an outcome against what we expected. */
static void check(int rc, int want, const char *what)
{
	if (rc == want) {
		say("  %-54s -> %s%s", what, rc ? strerror(-rc) : "ok",
		    rc ? " (as expected)" : "");
		return;
	}
	say("  %-54s -> %s, expected %s  <-- WRONG", what,
	    rc ? strerror(-rc) : "ok", want ? strerror(-want) : "success");
	failures++;
}

static void show_ranges(int fd, uint32_t ioas)
{
	struct iommu_iova_range ranges[8];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = 8,
		.allowed_iovas = (uintptr_t)ranges,
	};
	unsigned int i;

	check(xioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd), 0,
	      "IOMMU_IOAS_IOVA_RANGES");
	for (i = 0; i < cmd.num_iovas && i < 8; i++)
		say("     usable IOVA 0x%llx - 0x%llx",
		    (unsigned long long)ranges[i].start,
		    (unsigned long long)ranges[i].last);
	say("     every mapping must be aligned to %llu bytes",
	    (unsigned long long)cmd.out_iova_alignment);
}

/*
 * Show the fault the IOMMU driver logged for @iova, if any, in the forms
 * iommu_fault_logged() knows.
 */
static void show_fault(uint64_t iova)
{
	int len = klogctl(10, NULL, 0);
	char want[3][64], *buf, *line;
	int i;

	if (len <= 0)
		return;
	buf = calloc(1, len + 1);
	if (!buf || klogctl(3, buf, len) < 0) {
		free(buf);
		return;
	}
	snprintf(want[0], sizeof(want[0]), "fault addr 0x%llx",
		 (unsigned long long)iova);
	snprintf(want[1], sizeof(want[1]), "address=0x%llx ",
		 (unsigned long long)iova);
	snprintf(want[2], sizeof(want[2]), "\t0x%016llx",
		 (unsigned long long)iova);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		for (i = 0; i != 3; i++)
			if (strstr(line, want[i]))
				say("     kernel log: %s", line);
	free(buf);
}

static void dma_tour(int fd)
{
	uint8_t *buf, *src, *dst;
	char name[256];
	struct edu edu;
	uint32_t ioas = 0, hwpt;
	long pinned;
	int rc, i;

	say("1. Take the edu PCI device from vfio-pci and bind it to this iommufd");
	rc = edu_open(&edu, 0, fd);
	check(rc, 0, "VFIO_DEVICE_BIND_IOMMUFD on /dev/vfio/devices/vfio0");
	if (rc) {
		say("   (no edu device bound to vfio-pci: skipping the DMA part)");
		return;
	}
	say("   the device is iommufd object %u; its DMA is blocked until attached",
	    edu.devid);

	say("2. Create an I/O address space (IOAS) and attach the device to it");
	check(ioas_alloc(fd, &ioas), 0, "IOMMU_IOAS_ALLOC");
	hwpt = ioas;
	check(edu_attach(&edu, &hwpt), 0, "VFIO_DEVICE_ATTACH_IOMMUFD_PT (IOAS)");
	edu_iommu_name(0, name, sizeof(name));
	say("   attached through a page table of IOMMU %s, HWPT object %u, made for it",
	    name, hwpt);
	show_ranges(fd, ioas);
	check(edu_enable_dma(&edu), 0, "set Bus Master Enable in config space");

	say("3. Map 64 KiB of our memory at IOVA 0x%llx", IOVA);
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		failures++;
		goto out_close;
	}
	src = buf;
	dst = buf + 0x4000;
	for (i = 0; i != XFER; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	memset(dst, 0, XFER);
	pinned = vm_pinned_kb();
	check(ioas_map(fd, ioas, buf, BUF_SIZE, IOVA, RW_FLAGS), 0,
	      "IOMMU_IOAS_MAP 64 KiB, read/write");
	say("   pinned and charged to us: VmPin %ld kB -> %ld kB", pinned,
	    vm_pinned_kb());

	say("4. DMA: RAM at IOVA 0x%llx -> edu, then edu -> RAM at IOVA 0x%llx",
	    IOVA, IOVA + 0x4000);
	check(edu_dma_from_ram(&edu, IOVA, XFER), 0,
	      "edu DMA read of 3000 bytes from IOVA 0x100000");
	check(edu_dma_to_ram(&edu, IOVA + 0x4000, XFER), 0,
	      "edu DMA write of 3000 bytes to IOVA 0x104000");
	if (!memcmp(src, dst, XFER)) {
		say("   the 3000 bytes came back identical, byte for byte");
	} else {
		say("   the data came back different  <-- WRONG");
		failures++;
	}

	say("5. Unmap the range and let the device try again");
	check(ioas_unmap(fd, ioas, IOVA, BUF_SIZE, NULL), 0,
	      "IOMMU_IOAS_UNMAP 64 KiB");
	say("   unpinned and uncharged: VmPin %ld kB", vm_pinned_kb());
	memset(dst, 0xa5, XFER);
	edu_fault_prepare();
	check(edu_dma_to_ram(&edu, IOVA + 0x4000, XFER), 0,
	      "edu DMA write to the unmapped IOVA 0x104000");
	for (i = 0; i != XFER && dst[i] == 0xa5; i++)
		;
	if (i == XFER && !edu_faults_logged()) {
		say("   the IOMMU blocked it: our memory is untouched (this IOMMU");
		say("   logs no faults: QEMU 7.2's AMD-Vi, see the README)");
	} else if (i == XFER && iommu_fault_logged_soon(IOVA + 0x4000)) {
		say("   the IOMMU blocked it: our memory is untouched, and");
		show_fault(IOVA + 0x4000);
	} else if (i == XFER) {
		say("   our memory is untouched, but the IOMMU logged no fault  <-- WRONG");
		failures++;
	} else {
		say("   the DMA was not blocked  <-- WRONG");
		failures++;
	}

	say("6. What stays consistent: objects in use cannot be destroyed");
	check(obj_destroy(fd, ioas), -EBUSY,
	      "IOMMU_DESTROY the IOAS the device uses");
	check(obj_destroy(fd, edu.devid), -EBUSY,
	      "IOMMU_DESTROY the device VFIO holds");
	munmap(buf, BUF_SIZE);
out_close:
	edu_close(&edu);
	say("   closing the VFIO device detached and unbound it");
	check(obj_destroy(fd, ioas), 0, "IOMMU_DESTROY the IOAS now");
}

static void bad_input_tour(int fd)
{
	struct {
		struct iommu_ioas_alloc cmd;
		uint64_t tail;
	} big = {};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	static uint8_t page[8192] __attribute__((aligned(4096)));
	uint32_t ioas;

	say("7. Bad input gets a precise errno and changes nothing");
	check(xioctl(fd, IOMMU_IOAS_ALLOC, &alloc), 0, "IOMMU_IOAS_ALLOC");
	ioas = alloc.out_ioas_id;
	alloc.size = 4;
	check(xioctl(fd, IOMMU_IOAS_ALLOC, &alloc), -EINVAL,
	      "IOAS_ALLOC with a structure too short");
	big.cmd.size = sizeof(big);
	big.tail = 1;
	check(xioctl(fd, IOMMU_IOAS_ALLOC, &big), -E2BIG,
	      "IOAS_ALLOC with unknown non-zero trailing bytes");
	alloc.size = sizeof(alloc);
	alloc.flags = 1u << 31;
	check(xioctl(fd, IOMMU_IOAS_ALLOC, &alloc), -EOPNOTSUPP,
	      "IOAS_ALLOC with a flag we do not know");
	check(xioctl(fd, _IO(IOMMUFD_TYPE, 0xff), &alloc), -ENOTTY,
	      "an ioctl number iommufd does not have");
	check(xioctl(fd, IOMMU_IOAS_ALLOC, (void *)16), -EFAULT,
	      "IOAS_ALLOC with a bad pointer");
	check(ioas_map(fd, ioas, page, 8192, 0x10000, IOMMU_IOAS_MAP_READABLE),
	      0, "map 8 KiB at IOVA 0x10000");
	check(ioas_map(fd, ioas, page, 4096, 0x11000, IOMMU_IOAS_MAP_READABLE),
	      -EEXIST, "map over it");
	check(ioas_unmap(fd, ioas, 0x10000, 4096, NULL), -ENOENT,
	      "unmap half of it (mappings go whole or not at all)");
	check(ioas_unmap(fd, ioas, 0x10000, 8192, NULL), 0, "unmap all of it");
	check(obj_destroy(fd, 0), -ENOENT,
	      "IOMMU_DESTROY of an ID that does not exist");
}

int main(void)
{
	int fd;

	say("opening /dev/iommu, as QEMU's iommufd backend does");
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0) {
		say("cannot open /dev/iommu: %s", strerror(errno));
		return 1;
	}
	dma_tour(fd);
	bad_input_tour(fd);
	close(fd);
	say("closing /dev/iommu frees every object left in it");

	if (failures) {
		say("%d step(s) did not go as expected", failures);
		return 1;
	}
	say("all steps went as expected");
	return 0;
}
