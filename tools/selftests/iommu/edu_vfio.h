/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Driving QEMU's "edu" PCI device (1234:11e8) through VFIO's device cdev
 * and iommufd, as a VMM would: bind the device to an iommufd, attach it to
 * an IOAS, and have it DMA to and from IOVAs.
 *
 * edu facts (QEMU docs/specs/edu.rst): BAR0 registers; a 4 KiB buffer
 * inside the device at address 0x40000; DMA source, destination and count
 * registers and a command register whose bit 0 starts a transfer and is
 * cleared when it completes (on a timer of about 100 ms of virtual time);
 * bit 1 set means device -> RAM. Its DMA mask is 28 bits. QEMU 7.2 aborts
 * on a transfer of the whole 4096 bytes, so transfers stay below that.
 *
 * Every function returns 0 or -errno.
 */
#ifndef EDU_VFIO_H
#define EDU_VFIO_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_START		0x01
#define EDU_DMA_TO_RAM		0x02
#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_SIZE		4096
#define EDU_DMA_MASK		((1ULL << 28) - 1)

struct edu {
	int device_fd;		/* /dev/vfio/devices/vfioN */
	uint32_t devid;		/* iommufd DEVICE ID */
	uint64_t bar0_offset;	/* of BAR0 in the device fd */
	uint64_t config_offset;	/* of config space in the device fd */
};

static inline int edu_errno(void)
{
	return errno ? -errno : -EIO;
}

static inline int edu_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return edu_errno();
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : edu_errno();
}

/*
 * Hand every edu device to vfio-pci and return in @bdf the PCI address of
 * the @nth one (0-based) in PCI order; -ENODEV if there is no such device.
 */
static inline int edu_find_bdf(unsigned int nth, char *bdf, size_t len)
{
	unsigned int seen = 0;
	struct dirent **names;
	int n, i, rc = -ENODEV;

	/* Ignore EEXIST and friends: the ID may have been added already. */
	edu_write_file("/sys/bus/pci/drivers/vfio-pci/new_id", "1234 11e8");

	n = scandir("/sys/bus/pci/devices", &names, NULL, alphasort);
	if (n < 0)
		return edu_errno();
	for (i = 0; i != n; i++) {
		unsigned int ids[2] = {};
		const char *what[2] = { "vendor", "device" };
		char file[512], buf[64];
		unsigned int k;

		for (k = 0; k != 2; k++) {
			FILE *f;

			snprintf(file, sizeof(file),
				 "/sys/bus/pci/devices/%s/%s",
				 names[i]->d_name, what[k]);
			f = fopen(file, "r");
			if (!f)
				break;
			if (!fgets(buf, sizeof(buf), f) ||
			    sscanf(buf, "%x", &ids[k]) != 1)
				ids[k] = 0;
			fclose(f);
		}
		if (ids[0] == EDU_VENDOR && ids[1] == EDU_DEVICE &&
		    seen++ == nth && rc) {
			/* A PCI address is 12 characters: it always fits. */
			if (strlen(names[i]->d_name) < len) {
				strcpy(bdf, names[i]->d_name);
				rc = 0;
			}
		}
	}
	for (i = 0; i != n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/*
 * The VFIO cdev (/dev/vfio/devices/vfioN) of the @nth edu device in @path;
 * -ENOENT if vfio-pci gave it none.
 */
static inline int edu_find_cdev(unsigned int nth, char *path, size_t len)
{
	struct dirent **vnames;
	char bdf[64], dir[128];
	int vn, j, rc;

	rc = edu_find_bdf(nth, bdf, sizeof(bdf));
	if (rc)
		return rc;
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	vn = scandir(dir, &vnames, NULL, alphasort);
	if (vn < 0)
		return -ENOENT;
	rc = -ENOENT;
	for (j = 0; j != vn; j++) {
		if (!strncmp(vnames[j]->d_name, "vfio", 4) && rc) {
			snprintf(path, len, "/dev/vfio/devices/%s",
				 vnames[j]->d_name);
			rc = 0;
		}
		free(vnames[j]);
	}
	free(vnames);
	return rc;
}

static inline int edu_region(struct edu *edu, unsigned int index, uint64_t *offset)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.index = index,
	};

	if (ioctl(edu->device_fd, VFIO_DEVICE_GET_REGION_INFO, &info))
		return edu_errno();
	*offset = info.offset;
	return 0;
}

/* VFIO_DEVICE_BIND_IOMMUFD of a cdev fd; *devid gets the DEVICE ID. */
static inline int edu_bind(int device_fd, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	if (ioctl(device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return edu_errno();
	*devid = bind.out_devid;
	return 0;
}

/* Open the @nth edu device and bind it to the iommufd @iommufd. */
static inline int edu_open(struct edu *edu, unsigned int nth, int iommufd)
{
	char path[300];
	int rc;

	memset(edu, 0, sizeof(*edu));
	edu->device_fd = -1;
	rc = edu_find_cdev(nth, path, sizeof(path));
	if (rc)
		return rc;
	edu->device_fd = open(path, O_RDWR | O_CLOEXEC);
	if (edu->device_fd < 0)
		return edu_errno();
	rc = edu_bind(edu->device_fd, iommufd, &edu->devid);
	if (rc)
		return rc;
	rc = edu_region(edu, VFIO_PCI_BAR0_REGION_INDEX, &edu->bar0_offset);
	if (!rc)
		rc = edu_region(edu, VFIO_PCI_CONFIG_REGION_INDEX,
				&edu->config_offset);
	return rc;
}

/* The VFIO group node (/dev/vfio/N) of the PCI device @bdf. */
static inline int edu_group_path(const char *bdf, char *path, size_t len)
{
	char link[256], target[256];
	const char *num;
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return edu_errno();
	target[n] = 0;
	num = strrchr(target, '/');
	snprintf(path, len, "/dev/vfio/%s", num ? num + 1 : target);
	return 0;
}

/*
 * Open the @nth edu device the legacy way: its VFIO group joins the
 * container @container (/dev/vfio/vfio), which must then be given an IOMMU
 * type before the device can be had. The group's fd is returned in
 * *group_fd; the caller picks the type with edu_group_get_device().
 */
static inline int edu_group_open(unsigned int nth, int container,
				 int *group_fd, char *bdf, size_t len)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[300];
	int rc;

	*group_fd = -1;
	rc = edu_find_bdf(nth, bdf, len);
	if (!rc)
		rc = edu_group_path(bdf, path, sizeof(path));
	if (rc)
		return rc;
	*group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (*group_fd < 0)
		return edu_errno();
	if (ioctl(*group_fd, VFIO_GROUP_GET_STATUS, &status))
		return edu_errno();
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	if (ioctl(*group_fd, VFIO_GROUP_SET_CONTAINER, &container))
		return edu_errno();
	return 0;
}

/* The device fd of @bdf from its group, once the container has a type. */
static inline int edu_group_get_device(struct edu *edu, int group_fd,
				       const char *bdf)
{
	int rc;

	memset(edu, 0, sizeof(*edu));
	edu->device_fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (edu->device_fd < 0)
		return edu_errno();
	rc = edu_region(edu, VFIO_PCI_BAR0_REGION_INDEX, &edu->bar0_offset);
	if (!rc)
		rc = edu_region(edu, VFIO_PCI_CONFIG_REGION_INDEX,
				&edu->config_offset);
	return rc;
}

static inline void edu_close(struct edu *edu)
{
	if (edu->device_fd >= 0)
		close(edu->device_fd);
	edu->device_fd = -1;
}

/* Attach to an IOAS or HWPT; *pt_id returns the HWPT used. */
static inline int edu_attach(struct edu *edu, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = *pt_id,
	};

	if (ioctl(edu->device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return edu_errno();
	*pt_id = attach.pt_id;
	return 0;
}

static inline int edu_detach(struct edu *edu)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl(edu->device_fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) ?
		       edu_errno() : 0;
}

static inline int edu_read32(struct edu *edu, uint64_t reg, uint32_t *val)
{
	return pread(edu->device_fd, val, 4, edu->bar0_offset + reg) == 4 ?
		       0 : edu_errno();
}

static inline int edu_write64(struct edu *edu, uint64_t reg, uint64_t val)
{
	return pwrite(edu->device_fd, &val, 8, edu->bar0_offset + reg) == 8 ?
		       0 : edu_errno();
}

/* Turn on Bus Master Enable so that the device may DMA at all. */
static inline int edu_enable_dma(struct edu *edu)
{
	uint16_t cmd;

	if (pread(edu->device_fd, &cmd, 2, edu->config_offset + 4) != 2)
		return edu_errno();
	cmd |= 0x4;
	if (pwrite(edu->device_fd, &cmd, 2, edu->config_offset + 4) != 2)
		return edu_errno();
	return 0;
}

/* Run one DMA and wait (up to ~5 s) for the device to finish it. */
static inline int edu_dma(struct edu *edu, uint64_t src, uint64_t dst,
		   uint32_t count, uint32_t cmd)
{
	const struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
	unsigned int i;
	uint32_t busy;
	int rc;

	if (!count || count >= EDU_BUF_SIZE)
		return -EINVAL;
	rc = edu_write64(edu, EDU_REG_DMA_SRC, src);
	if (!rc)
		rc = edu_write64(edu, EDU_REG_DMA_DST, dst);
	if (!rc)
		rc = edu_write64(edu, EDU_REG_DMA_COUNT, count);
	if (!rc)
		rc = edu_write64(edu, EDU_REG_DMA_CMD, cmd | EDU_DMA_START);
	for (i = 0; !rc && i != 250; i++) {
		rc = edu_read32(edu, EDU_REG_DMA_CMD, &busy);
		if (rc || !(busy & EDU_DMA_START))
			return rc;
		nanosleep(&pause, NULL);
	}
	return rc ? rc : -ETIMEDOUT;
}

/* RAM (at IOVA @iova) -> the device's buffer */
static inline int edu_dma_from_ram(struct edu *edu, uint64_t iova, uint32_t count)
{
	return edu_dma(edu, iova, EDU_BUF_ADDR, count, 0);
}

/* the device's buffer -> RAM (at IOVA @iova) */
static inline int edu_dma_to_ram(struct edu *edu, uint64_t iova, uint32_t count)
{
	return edu_dma(edu, EDU_BUF_ADDR, iova, count, EDU_DMA_TO_RAM);
}

/* The name of the IOMMU instance in front of edu number @nth, or "". */
static inline void edu_iommu_name(unsigned int nth, char *name, size_t len)
{
	char bdf[64], path[128], target[256];
	const char *base;
	ssize_t n;

	name[0] = 0;
	if (edu_find_bdf(nth, bdf, sizeof(bdf)))
		return;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = 0;
	base = strrchr(target, '/');
	snprintf(name, len, "%s", base ? base + 1 : target);
}

/* One line of an IOMMU group's reserved_regions file. */
struct edu_resv {
	unsigned long long start, last;
	char type[32];
};

/*
 * Read up to @max reserved regions of the @nth edu device's group into
 * @resv; returns how many, or -errno.
 */
static inline int edu_reserved_regions(unsigned int nth, struct edu_resv *resv,
				       int max)
{
	char bdf[64], path[128];
	int rc, n = 0;
	FILE *f;

	rc = edu_find_bdf(nth, bdf, sizeof(bdf));
	if (rc)
		return rc;
	snprintf(path, sizeof(path),
		 "/sys/bus/pci/devices/%s/iommu_group/reserved_regions", bdf);
	f = fopen(path, "r");
	if (!f)
		return edu_errno();
	while (n != max && fscanf(f, "%llx %llx %31s", &resv[n].start,
				  &resv[n].last, resv[n].type) == 3)
		n++;
	fclose(f);
	return n;
}

/*
 * The start of the MSI window among the reserved regions of the @nth edu
 * device's group (0xfee00000 on x86, the software MSI window on SMMUv3);
 * -ENOENT if there is none.
 */
static inline int edu_msi_window(unsigned int nth, uint64_t *start)
{
	struct edu_resv resv[16];
	int i, n = edu_reserved_regions(nth, resv, 16);

	for (i = 0; i < n; i++) {
		if (!strcmp(resv[i].type, "msi")) {
			*start = resv[i].start;
			return 0;
		}
	}
	return n < 0 ? n : -ENOENT;
}

/*
 * Whether the IOMMU in front of edu 0 gets its faults into the kernel log.
 * QEMU 7.2's AMD-Vi reports none: its page walk gives up silently on an
 * empty leaf entry and never checks a leaf's permissions (QEMU's memory
 * core then drops the access), and its event log is never written anyway
 * (amdvi_log_event() tests the status register with "|" where it means
 * "&", so it always finds logging off). 6.12's AMD driver, ours or
 * upstream's, therefore never sees an event. QEMU 10.0's AMD-Vi cannot
 * boot a guest under TCG here (README, "Vendor IOMMUs"). Behind it, a
 * blocked DMA shows only in memory left untouched.
 */
static inline int edu_faults_logged(void)
{
	char name[256];

	edu_iommu_name(0, name, sizeof(name));
	return strncmp(name, "ivhd", 4) != 0;
}

/*
 * Call before a DMA that is meant to fault, so that its fault reaches the
 * kernel log. The SMMUv3 driver prints at most 10 events per 5 seconds,
 * and QEMU's SMMUv3 raises one event for each 4-byte access of a blocked
 * DMA: one blocked DMA uses up the window. Behind an SMMUv3 this waits the
 * window out; VT-d logs every fault.
 */
static inline void edu_fault_prepare(void)
{
	const struct timespec window = { .tv_sec = 5, .tv_nsec = 200000000 };
	char name[256];

	edu_iommu_name(0, name, sizeof(name));
	if (!strncmp(name, "smmu3.", 6))
		nanosleep(&window, NULL);
}

/* Whether @text holds @word followed by something other than a hex digit. */
static inline int edu_has_word(const char *text, const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = strstr(text, word); p; p = strstr(p + 1, word)) {
		char next = p[len];

		if (!((next >= '0' && next <= '9') ||
		      (next >= 'a' && next <= 'f')))
			return 1;
	}
	return 0;
}

/*
 * Whether @text, some of the kernel log, reports an IOMMU fault at @iova,
 * in any of the forms the 6.12 drivers log one:
 *   VT-d:   "... fault addr 0x<iova> ..." (the address of the page: VT-d
 *           records the faulting page, not the byte)
 *   AMD-Vi: "Event logged [IO_PAGE_FAULT ... address=0x<iova> flags=...]"
 *   SMMUv3: "event 0x10 received:" and then the event's four 64-bit words,
 *           one per line as "\t0x%016llx"; the third is the input address.
 */
static inline int iommu_fault_in_text(const char *text, uint64_t iova)
{
	unsigned long long addr = iova;
	char want[3][64];
	int i;

	snprintf(want[0], sizeof(want[0]), "fault addr 0x%llx", addr);
	snprintf(want[1], sizeof(want[1]), "address=0x%llx", addr);
	snprintf(want[2], sizeof(want[2]), "\t0x%016llx", addr);
	for (i = 0; i != 3; i++)
		if (edu_has_word(text, want[i]))
			return 1;
	return 0;
}

/* Whether the kernel log reports an IOMMU fault at @iova anywhere. */
static inline int iommu_fault_logged(uint64_t iova)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	int n, found;
	char *buf;

	if (len <= 0)
		return 0;
	buf = malloc(len + 1);
	if (!buf)
		return 0;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	found = iommu_fault_in_text(buf, iova);
	free(buf);
	return found;
}

/*
 * Follow the kernel log from now on: returns a /dev/kmsg fd positioned
 * after every record logged so far, for klog_next(), or -errno. Unlike
 * iommu_fault_logged(), which searches the whole log, this tells a new
 * fault from an old one at the same address.
 */
static inline int klog_follow(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return edu_errno();
	if (lseek(fd, 0, SEEK_END) < 0) {
		int rc = edu_errno();

		close(fd);
		return rc;
	}
	return fd;
}

/*
 * The text of the next record logged after the last one read from @fd
 * (a klog_follow() fd), without the record's header or dictionary, in
 * @buf. Returns 1 if there was one, 0 if none has come yet, or -errno.
 * Records the kernel overwrote before they were read are skipped and
 * counted in *@lost, if @lost is not NULL. /dev/kmsg escapes unprintable
 * bytes ("\x09" for a tab), so SMMUv3's event words do not match
 * iommu_fault_in_text() in this form.
 */
static inline int klog_next(int fd, char *buf, size_t len,
			    unsigned long *lost)
{
	char rec[8192], *text, *end;
	size_t keep;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n >= 0)
			break;
		if (errno == EAGAIN)
			return 0;
		if (errno != EPIPE)
			return edu_errno();
		if (lost)
			(*lost)++;
	}
	rec[n] = 0;
	/* "level,seq,usecs,flags;text\n" then " KEY=value" lines */
	text = strchr(rec, ';');
	text = text ? text + 1 : rec;
	end = strchr(text, '\n');
	if (end)
		*end = 0;
	keep = len ? strnlen(text, len - 1) : 0;
	if (len) {
		memcpy(buf, text, keep);
		buf[keep] = 0;
	}
	return 1;
}

/*
 * iommu_fault_logged(), allowing the driver up to 2 s to print: SMMUv3
 * reports from a threaded interrupt handler, which may run well after
 * the DMA ended on a busy TCG host.
 */
static inline int iommu_fault_logged_soon(uint64_t iova)
{
	const struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };
	unsigned int i;

	for (i = 0; i != 40; i++) {
		if (iommu_fault_logged(iova))
			return 1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

#endif
