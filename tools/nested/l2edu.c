// SPDX-License-Identifier: GPL-2.0-only
/*
 * l2edu - DMA with QEMU's edu device from inside the nested (L2) guest.
 *
 * The edu device this program sees is the test guest's (L1's) edu, passed
 * through by QEMU 10 with its iommufd backend. Every DMA it starts is
 * translated by L1's IOAS, which QEMU filled through our /dev/iommu, so a
 * transfer that lands byte for byte shows that QEMU's maps reached the
 * IOMMU correctly.
 *
 *   l2edu phys   no vIOMMU in L2: the device gets guest-physical addresses,
 *                found through /proc/self/pagemap. These are the IOVAs of
 *                the mappings QEMU made at start-up.
 *   l2edu vfio   a virtual VT-d in L2: the device is driven through VFIO's
 *                type1 container, so each VFIO_IOMMU_MAP_DMA becomes an
 *                IOTLB invalidation that QEMU shadows into our IOAS at run
 *                time. Several rounds map the buffers at fresh IOVAs; after
 *                each unmap, a DMA to the old IOVA must not reach memory.
 *
 * Prints "l2edu: PASS ..." as its last line on success and exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "edu_vfio.h"

#define XFER			2048	/* below edu's 4096-byte limit */
#define PAGE			4096UL
#define ROUNDS			3

static const char *mode;

static void fail(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	printf("l2edu: FAIL (%s): ", mode);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %d: %s)\n", err, strerror(err));
	fflush(stdout);
	exit(1);
}

/* How the program reaches edu's registers: a BAR mapping either way. */
static volatile uint8_t *bar;

static uint32_t rd32(unsigned int off)
{
	return *(volatile uint32_t *)(bar + off);
}

static void wr64(unsigned int off, uint64_t val)
{
	*(volatile uint64_t *)(bar + off) = val;
}

/* One transfer between device address @addr and edu's buffer. */
static void bar_dma(uint64_t addr, int to_ram)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	int i;

	if (to_ram) {
		wr64(EDU_REG_DMA_SRC, EDU_BUF_ADDR);
		wr64(EDU_REG_DMA_DST, addr);
	} else {
		wr64(EDU_REG_DMA_SRC, addr);
		wr64(EDU_REG_DMA_DST, EDU_BUF_ADDR);
	}
	wr64(EDU_REG_DMA_COUNT, XFER);
	wr64(EDU_REG_DMA_CMD, EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
	/* A transfer completes on a timer: allow a minute of nested TCG. */
	for (i = 0; i < 6000; i++) {
		if (!(rd32(EDU_REG_DMA_CMD) & EDU_DMA_START))
			return;
		nanosleep(&nap, NULL);
	}
	errno = ETIMEDOUT;
	fail("DMA to 0x%llx never completed", (unsigned long long)addr);
}

static void check_alive(void)
{
	*(volatile uint32_t *)(bar + EDU_REG_LIVENESS) = 0x12345678;
	if ((rd32(EDU_REG_ID) & 0xff) != 0xed ||
	    rd32(EDU_REG_LIVENESS) != ~0x12345678U) {
		errno = ENODEV;
		fail("edu's registers do not answer (id 0x%x)", rd32(EDU_REG_ID));
	}
}

static void fill(uint8_t *p, unsigned int seed)
{
	unsigned int i;

	for (i = 0; i < XFER; i++)
		p[i] = (uint8_t)(i * 7 + seed * 31 + 1);
}

/* Copy @src to @dst through the device, and compare. */
static void round_trip(uint8_t *src, uint64_t src_addr, uint8_t *dst,
		       uint64_t dst_addr, unsigned int seed)
{
	fill(src, seed);
	memset(dst, 0, XFER);
	bar_dma(src_addr, 0);
	bar_dma(dst_addr, 1);
	if (memcmp(src, dst, XFER)) {
		errno = EIO;
		fail("round trip %u: 0x%llx -> edu -> 0x%llx differs", seed,
		     (unsigned long long)src_addr,
		     (unsigned long long)dst_addr);
	}
	printf("l2edu: round trip %u: %d bytes 0x%llx -> edu -> 0x%llx ok\n",
	       seed, XFER, (unsigned long long)src_addr,
	       (unsigned long long)dst_addr);
}

static int read_hex(const char *dir, const char *name, unsigned int *val)
{
	char path[512];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	ok = fscanf(f, "%x", val) == 1;
	fclose(f);
	return ok;
}

/* The sysfs directory of the first edu device. */
static void find_edu(char *dir, size_t len)
{
	struct dirent *d;
	DIR *pci = opendir("/sys/bus/pci/devices");

	if (!pci)
		fail("no PCI in sysfs");
	while ((d = readdir(pci))) {
		unsigned int ven, dev;

		snprintf(dir, len, "/sys/bus/pci/devices/%s", d->d_name);
		if (read_hex(dir, "vendor", &ven) && ven == EDU_VENDOR &&
		    read_hex(dir, "device", &dev) && dev == EDU_DEVICE) {
			closedir(pci);
			return;
		}
	}
	errno = ENODEV;
	fail("no edu device on L2's PCI bus");
}

static uint8_t *alloc_buf(void)
{
	uint8_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap");
	memset(p, 0, PAGE);
	return p;
}

/* The physical address of the page @p, which must stay resident. */
static uint64_t phys_of(void *p)
{
	uint64_t ent;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		fail("open pagemap");
	if (pread(fd, &ent, sizeof(ent), (uintptr_t)p / PAGE * 8) !=
	    sizeof(ent))
		fail("read pagemap");
	close(fd);
	if (!(ent >> 63) || !(ent & ((1ULL << 55) - 1))) {
		errno = EFAULT;
		fail("page %p not present in pagemap (0x%llx)", p,
		     (unsigned long long)ent);
	}
	return (ent & ((1ULL << 55) - 1)) * PAGE;
}

static void run_phys(void)
{
	uint8_t *src = alloc_buf(), *dst = alloc_buf();
	uint64_t src_pa = phys_of(src), dst_pa = phys_of(dst);
	char dir[300], path[400];
	uint16_t cmd;
	int fd;

	find_edu(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, &cmd, 2, 4) != 2)
		fail("read %s", path);
	cmd |= 0x6;	/* memory space and bus master */
	if (pwrite(fd, &cmd, 2, 4) != 2)
		fail("write %s", path);
	close(fd);

	snprintf(path, sizeof(path), "%s/resource0", dir);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		fail("open %s", path);
	bar = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED)
		fail("mmap %s", path);
	check_alive();
	if ((src_pa | dst_pa) & ~EDU_DMA_MASK) {
		errno = ERANGE;
		fail("buffers above edu's 28-bit DMA mask");
	}
	round_trip(src, src_pa, dst, dst_pa, 1);
	round_trip(dst, dst_pa, src, src_pa, 2);
	printf("l2edu: PASS phys: edu DMA to guest-physical addresses\n");
}

static int container;

static void dma_map(void *p, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)p,
		.iova = iova,
		.size = PAGE,
	};

	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		fail("VFIO_IOMMU_MAP_DMA at 0x%llx", (unsigned long long)iova);
}

static void dma_unmap(uint64_t iova)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = PAGE,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) ||
	    unmap.size != PAGE)
		fail("VFIO_IOMMU_UNMAP_DMA at 0x%llx",
		     (unsigned long long)iova);
}

/* edu through its VFIO group in a type1 container, BAR0 mapped. */
static void open_vfio(void)
{
	int group = -1, rc = -ENOENT, tries;
	struct edu edu;
	char bdf[64];

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		fail("open /dev/vfio/vfio");
	/*
	 * edu_group_open() hands edu to vfio-pci; the group's device node
	 * shows up a moment later.
	 */
	for (tries = 0; tries < 100 && rc == -ENOENT; tries++) {
		rc = edu_group_open(0, container, &group, bdf, sizeof(bdf));
		if (rc == -ENOENT)
			usleep(100 * 1000);
	}
	if (rc) {
		errno = -rc;
		fail("edu's VFIO group (is L2's VT-d on?)");
	}
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		fail("VFIO_SET_IOMMU type1v2");
	rc = edu_group_get_device(&edu, group, bdf);
	if (!rc)
		rc = edu_enable_dma(&edu);
	if (rc) {
		errno = -rc;
		fail("edu's VFIO device");
	}
	bar = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   edu.device_fd, edu.bar0_offset);
	if (bar == MAP_FAILED)
		fail("mmap BAR0");
	check_alive();
}

static void run_vfio(void)
{
	uint8_t *src = alloc_buf(), *dst = alloc_buf();
	uint8_t keep[XFER];
	unsigned int r;

	open_vfio();
	for (r = 0; r < ROUNDS; r++) {
		/* IOVAs unlike the buffers' guest-physical addresses. */
		uint64_t src_iova = 0x1000000 + r * 0x200000;
		uint64_t dst_iova = src_iova + 0x101000;

		dma_map(src, src_iova);
		dma_map(dst, dst_iova);
		round_trip(src, src_iova, dst, dst_iova, 10 + r);
		dma_unmap(dst_iova);

		/*
		 * The old IOVA must be gone from L1's IOAS too: a DMA to it
		 * may fault or be dropped, but must not reach the buffer.
		 */
		memcpy(keep, dst, XFER);
		fill(src, 100 + r);
		bar_dma(src_iova, 0);
		bar_dma(dst_iova, 1);
		if (memcmp(keep, dst, XFER)) {
			errno = EIO;
			fail("DMA to unmapped IOVA 0x%llx reached memory",
			     (unsigned long long)dst_iova);
		}
		dma_unmap(src_iova);
		printf("l2edu: round %u: unmapped IOVA 0x%llx blocked\n", r,
		       (unsigned long long)dst_iova);
	}
	printf("l2edu: PASS vfio: %d rounds of map, DMA, unmap through L2's VT-d\n",
	       ROUNDS);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "phys"))
		run_phys();
	else if (!strcmp(mode, "vfio"))
		run_vfio();
	else
		fail("usage: l2edu phys|vfio");
	return 0;
}
