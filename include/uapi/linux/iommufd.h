/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iommufd: the user API of /dev/iommu.
 *
 * Binary compatible with the iommufd uAPI of Linux v6.17: every ioctl number,
 * structure layout, flag and enumeration value below matches it.
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE (';')

/**
 * DOC: Conventions shared by every iommufd ioctl
 *
 * Each ioctl takes a pointer to one structure whose first __u32 is @size,
 * the number of bytes user space made available. This is how structures
 * grow: a newer program may pass a longer structure to an older kernel and
 * the reverse. The kernel reads min(@size, what it knows) bytes. It refuses
 * a @size smaller than the part of the structure that existed when the ioctl
 * was introduced, and it refuses a longer structure if any byte beyond what
 * it knows is non-zero. Outputs are written back only within @size.
 *
 * The errno values have one meaning across all ioctls:
 *
 *  - ENOTTY: this kernel has no such ioctl.
 *  - E2BIG: the ioctl exists but user space set bytes past the end of the
 *    structure this kernel understands.
 *  - EOPNOTSUPP: the structure is understood but a flag, type or option
 *    value in it is unknown to, or unsupported by, this kernel.
 *  - EINVAL: everything was understood but some value is not acceptable.
 *  - ENOENT: an object ID or an IOVA range does not exist.
 *  - ENOMEM: a memory allocation or a memory limit failed.
 *  - EOVERFLOW: arithmetic on the given values overflowed.
 *
 * Individual ioctls document further errno values of their own.
 */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
	IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
	IOMMUFD_CMD_VIOMMU_ALLOC = 0x90,
	IOMMUFD_CMD_VDEVICE_ALLOC = 0x91,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
	IOMMUFD_CMD_VEVENTQ_ALLOC = 0x93,
	IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94,
};

/**
 * struct iommu_destroy - ioctl(IOMMU_DESTROY)
 * @size: sizeof(struct iommu_destroy)
 * @id: the object to destroy; any object type that user space may destroy
 *
 * Remove an object from the file and free it. Fails with EBUSY while anything
 * else still uses the object, for example an IOAS with a device attached, and
 * with ENOENT when @id names nothing.
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};

#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/**
 * struct iommu_ioas_alloc - ioctl(IOMMU_IOAS_ALLOC)
 * @size: sizeof(struct iommu_ioas_alloc)
 * @flags: reserved, must be 0
 * @out_ioas_id: returns the ID of the new IOAS
 *
 * Create an I/O address space: an initially empty table that maps ranges of
 * I/O virtual addresses (IOVA) to memory of the calling process.
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/**
 * struct iommu_iova_range - one interval of IOVA
 * @start: the first IOVA in the interval
 * @last: the last IOVA in the interval, inclusive
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - ioctl(IOMMU_IOAS_IOVA_RANGES)
 * @size: sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: the IOAS to report on
 * @num_iovas: in: capacity of the @allowed_iovas array, in entries;
 *             out: how many ranges the IOAS currently has
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 * @out_iova_alignment: returns the alignment every mapping must have
 *
 * Report the IOVA ranges in which mappings may currently be placed. A new
 * IOAS allows the whole IOVA space; every attached device removes what its
 * IOMMU cannot translate and what the platform reserves for it (MSI windows,
 * for instance), and detaching can widen the space again. Ask again after
 * each attach or detach.
 *
 * The ranges are written into @allowed_iovas as far as @num_iovas allows. If
 * the array is too small the call fails with EMSGSIZE and @num_iovas holds
 * the number needed.
 *
 * Both the IOVA and the length of a mapping must be multiples of
 * @out_iova_alignment. It is at least 1 and at most the CPU page size.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};

#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/**
 * struct iommu_ioas_allow_iovas - ioctl(IOMMU_IOAS_ALLOW_IOVAS)
 * @size: sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: the IOAS to change
 * @num_iovas: number of entries in @allowed_iovas
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 *
 * Promise user space that the given IOVA ranges stay usable. From then on
 * IOMMU_IOAS_IOVA_RANGES never reports less than these ranges: attaching a
 * device whose restrictions would cut into them fails instead. The call
 * itself fails if some of the ranges are already unusable.
 *
 * While allowed ranges are set, automatic IOVA placement chooses only from
 * them. Each call replaces the whole previous list; an empty list removes
 * the promise.
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};

#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/**
 * enum iommufd_ioas_map_flags - flags of IOAS_MAP, IOAS_MAP_FILE and IOAS_COPY
 * @IOMMU_IOAS_MAP_FIXED_IOVA: place the mapping at the given IOVA; without
 *                             it the kernel chooses and returns the IOVA
 * @IOMMU_IOAS_MAP_WRITEABLE: devices may write through the mapping
 * @IOMMU_IOAS_MAP_READABLE: devices may read through the mapping
 *
 * A mapping must be readable, writeable or both: one that is neither is
 * refused with EINVAL. In-kernel users that copy or pin through a mapping on
 * a device's behalf are held to the same rights (EPERM otherwise).
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - ioctl(IOMMU_IOAS_MAP)
 * @size: sizeof(struct iommu_ioas_map)
 * @flags: combination of enum iommufd_ioas_map_flags
 * @ioas_id: the IOAS to add the mapping to
 * @__reserved: must be 0
 * @user_va: start of the process memory to map
 * @length: number of bytes to map
 * @iova: the IOVA of the mapping; input with IOMMU_IOAS_MAP_FIXED_IOVA,
 *        otherwise output
 *
 * Pin the given range of process memory and make it reachable at an IOVA
 * range of the IOAS, in every I/O page table attached to it. With
 * IOMMU_IOAS_MAP_FIXED_IOVA the requested range must be entirely unused;
 * mappings are never replaced. Without it the kernel picks a free range that
 * respects the reserved and allowed ranges and the IOAS's alignment.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/**
 * struct iommu_ioas_map_file - ioctl(IOMMU_IOAS_MAP_FILE)
 * @size: sizeof(struct iommu_ioas_map_file)
 * @flags: as for struct iommu_ioas_map
 * @ioas_id: as for struct iommu_ioas_map
 * @fd: a memfd whose pages are to be mapped
 * @start: offset in bytes into the file where the mapping begins
 * @length: as for struct iommu_ioas_map
 * @iova: as for struct iommu_ioas_map
 *
 * Like IOMMU_IOAS_MAP, but the memory is named by a memfd and an offset
 * instead of an address in the caller's address space. The pages are pinned
 * through the file.
 */
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

/**
 * struct iommu_ioas_copy - ioctl(IOMMU_IOAS_COPY)
 * @size: sizeof(struct iommu_ioas_copy)
 * @flags: combination of enum iommufd_ioas_map_flags
 * @dst_ioas_id: the IOAS that receives the new mapping
 * @src_ioas_id: the IOAS holding the existing mapping
 * @length: number of bytes to copy
 * @dst_iova: the IOVA in the destination; input with
 *            IOMMU_IOAS_MAP_FIXED_IOVA, otherwise output
 * @src_iova: the IOVA in the source where the copied range begins
 *
 * Map into one IOAS memory that is already mapped in another (or the same)
 * IOAS. The source range must lie within what earlier IOAS_MAP or IOAS_COPY
 * calls established. The memory is not pinned or accounted a second time:
 * both mappings share one set of pinned pages. This is how a VMM clones part
 * of an address space, or keeps a cache of mappings, cheaply.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};

#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/**
 * struct iommu_ioas_unmap - ioctl(IOMMU_IOAS_UNMAP)
 * @size: sizeof(struct iommu_ioas_unmap)
 * @ioas_id: the IOAS to remove mappings from
 * @iova: first IOVA of the range
 * @length: in: length of the range in bytes; out: bytes actually unmapped
 *
 * Remove every mapping that lies inside the range. A mapping is removed whole
 * or not at all: a range that cuts through a mapping made by one IOAS_MAP or
 * IOAS_COPY fails. @iova 0 with @length U64_MAX empties the IOAS. ENOENT means
 * nothing was mapped in the range; EBUSY that another call was still mapping
 * or unmapping part of it, and nothing was removed.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/**
 * enum iommufd_option - options of ioctl(IOMMU_OPTION)
 * @IOMMU_OPTION_RLIMIT_MODE: how pinned memory is charged against
 *    RLIMIT_MEMLOCK: 0 (the default) charges the user, 1 charges the process.
 *    Applies to the whole file, so @object_id must be 0; setting it requires
 *    CAP_SYS_RESOURCE and is only possible while the file holds no object
 *    at all (EBUSY otherwise).
 * @IOMMU_OPTION_HUGE_PAGES: per IOAS (@object_id is its ID). 1 (the default)
 *    lets physically contiguous memory be mapped with the largest page sizes
 *    the I/O page table supports; 0 maps every page singly, which mostly
 *    serves benchmarks.
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - what ioctl(IOMMU_OPTION) does with the value
 * @IOMMU_OPTION_OP_SET: store @val64 as the option's new value
 * @IOMMU_OPTION_OP_GET: return the option's value in @val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - ioctl(IOMMU_OPTION)
 * @size: sizeof(struct iommu_option)
 * @option_id: one of enum iommufd_option
 * @op: one of enum iommufd_option_ops
 * @__reserved: must be 0
 * @object_id: the object the option belongs to, or 0 for file-wide options
 * @val64: the value to set, or the value read
 *
 * Read or change one small setting of the file or of one of its objects.
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/**
 * enum iommufd_vfio_ioas_op - operations of ioctl(IOMMU_VFIO_IOAS)
 * @IOMMU_VFIO_IOAS_GET: return the IOAS the VFIO container emulation uses;
 *                       ENODEV if there is none
 * @IOMMU_VFIO_IOAS_SET: make @ioas_id the IOAS the emulation uses
 * @IOMMU_VFIO_IOAS_CLEAR: leave the emulation without an IOAS
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - ioctl(IOMMU_VFIO_IOAS)
 * @size: sizeof(struct iommu_vfio_ioas)
 * @ioas_id: input for IOMMU_VFIO_IOAS_SET, output for IOMMU_VFIO_IOAS_GET
 * @op: one of enum iommufd_vfio_ioas_op
 * @__reserved: must be 0
 *
 * The VFIO container ioctls carry no object IDs, so their emulation on an
 * iommufd works on one chosen IOAS. This ioctl reads or changes that choice.
 * A VFIO group joined to the file takes the IOAS chosen at that moment,
 * creating one if none is chosen, and keeps it. Neither SET nor CLEAR
 * destroys an IOAS created that way.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};

#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/**
 * enum iommufd_hwpt_alloc_flags - flags of ioctl(IOMMU_HWPT_ALLOC)
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: the new page table may later serve as the
 *                                second stage under nested page tables
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the page table must be able to track
 *                                   dirty IOVAs; attaching a device whose
 *                                   IOMMU cannot is refused
 * @IOMMU_HWPT_FAULT_ID_VALID: @fault_id names a FAULT object that receives
 *                             the I/O page faults of this page table
 * @IOMMU_HWPT_ALLOC_PASID: the page table may be attached to PASIDs of a
 *                          device. A device that has any PASID attached
 *                          needs such page tables on all of its PASIDs
 *                          and on its main (non-PASID) attachment too.
 *                          EOPNOTSUPP if the IOMMU has no PASID support.
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
	IOMMU_HWPT_ALLOC_PASID = 1 << 3,
};

/**
 * enum iommu_hwpt_vtd_s1_flags - attributes of a VT-d first-stage table
 * @IOMMU_VTD_S1_SRE: supervisor requests are allowed
 * @IOMMU_VTD_S1_EAFE: extended access flag enable
 * @IOMMU_VTD_S1_WPE: write protect enable
 */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/**
 * struct iommu_hwpt_vtd_s1 - a guest-owned Intel VT-d first-stage page table
 *                            (IOMMU_HWPT_DATA_VTD_S1)
 * @flags: combination of enum iommu_hwpt_vtd_s1_flags
 * @pgtbl_addr: guest physical address of the page table root
 * @addr_width: input address width of the page table, in bits
 * @__reserved: must be 0
 */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_arm_smmuv3 - a guest Stream Table Entry for ARM SMMUv3
 *                                (IOMMU_HWPT_DATA_ARM_SMMUV3)
 * @ste: the first two 64-bit words of the guest's STE, little-endian. Only
 *       these fields may be set (SMMUv3 specification, "Stream Table Entry"):
 *       word 0: V, Cfg, S1Fmt, S1ContextPtr, S1CDMax;
 *       word 1: EATS, S1DSS, S1CIR, S1COR, S1CSH, S1STALLD.
 *
 * Cfg chooses abort, bypass or stage-1 translation. Bypass translates exactly
 * as the nesting parent does; stage 1 walks the guest's context descriptor
 * table through the nesting parent. An STE that is malformed or sets any
 * other field is refused with EIO.
 */
struct iommu_hwpt_arm_smmuv3 {
	__aligned_le64 ste[2];
};

/**
 * enum iommu_hwpt_data_type - formats of IOMMU_HWPT_ALLOC's driver data
 * @IOMMU_HWPT_DATA_NONE: no data; a page table the kernel manages
 * @IOMMU_HWPT_DATA_VTD_S1: struct iommu_hwpt_vtd_s1
 * @IOMMU_HWPT_DATA_ARM_SMMUV3: struct iommu_hwpt_arm_smmuv3
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
	IOMMU_HWPT_DATA_ARM_SMMUV3 = 2,
};

/**
 * struct iommu_hwpt_alloc - ioctl(IOMMU_HWPT_ALLOC)
 * @size: sizeof(struct iommu_hwpt_alloc)
 * @flags: combination of enum iommufd_hwpt_alloc_flags
 * @dev_id: a device bound to this file; the page table is made for its IOMMU
 * @pt_id: what the new page table hangs off: an IOAS, a nesting parent HWPT
 *         or a vIOMMU
 * @out_hwpt_id: returns the ID of the new HWPT
 * @__reserved: must be 0
 * @data_type: one of enum iommu_hwpt_data_type
 * @data_len: length of the driver data at @data_uptr
 * @data_uptr: user pointer to the driver data
 * @fault_id: a FAULT object; read only with IOMMU_HWPT_FAULT_ID_VALID
 * @__reserved2: must be 0
 *
 * Create a hardware page table (an IOMMU driver's iommu_domain) explicitly,
 * rather than letting a device attach to an IOAS pick or create one.
 *
 * With an IOAS in @pt_id and IOMMU_HWPT_DATA_NONE the result is a paging
 * HWPT that the kernel fills with the IOAS's mappings and keeps in step with
 * it. IOMMU_HWPT_ALLOC_NEST_PARENT makes it usable as a nesting parent.
 *
 * With a nesting parent HWPT, or a vIOMMU wrapping one, in @pt_id, the result
 * is a nested HWPT whose first stage is owned by user space and described by
 * @data_type and the data at @data_uptr; the device and the vIOMMU must sit
 * behind the same physical IOMMU.
 *
 * @data_len and @data_uptr must both be 0 for IOMMU_HWPT_DATA_NONE and both
 * be set otherwise.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};

#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/**
 * enum iommu_hw_info_vtd_flags - flags of struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: the hardware has Intel erratum
 *     772415 (Sapphire Rapids SPR17): read-only mappings must not be used in
 *     a nesting parent page table
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - Intel VT-d hardware description
 *                            (IOMMU_HW_INFO_TYPE_INTEL_VTD)
 * @flags: combination of enum iommu_hw_info_vtd_flags
 * @__reserved: must be 0
 * @cap_reg: the raw Capability Register (VT-d specification 11.4.2)
 * @ecap_reg: the raw Extended Capability Register (VT-d specification 11.4.3)
 *
 * The registers are passed on unchanged; decoding them is up to the reader.
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * struct iommu_hw_info_arm_smmuv3 - ARM SMMUv3 hardware description
 *                                   (IOMMU_HW_INFO_TYPE_ARM_SMMUV3)
 * @flags: must be 0
 * @__reserved: must be 0
 * @idr: the raw ID registers IDR0 to IDR5
 * @iidr: the raw implementation ID register
 * @aidr: the raw architecture version register
 *
 * Register meanings are in the SMMUv3 specification (6.3.1 to 6.3.6). Only
 * these fields are meaningful to a VMM building a virtual SMMU; it must not
 * rely on any other bit, so that later kernels may change them:
 * IDR0: ST_LEVEL, TERM_MODEL, STALL_MODEL, TTENDIAN, CD2L, ASID16, TTF;
 * IDR1: SIDSIZE, SSIDSIZE; IDR3: BBML, RIL; IDR5: VAX, GRAN64K, GRAN16K,
 * GRAN4K.
 *
 * Stage-1 support may be assumed whenever a nested HWPT can be created, and
 * coherent access (COHACC) is always present on supported systems. ATS is a
 * property of each device: a VMM that describes a device as ATS capable
 * should set the matching ID register bit. HTTU, BTM, MPAM and other
 * features are not offered for nesting.
 */
struct iommu_hw_info_arm_smmuv3 {
	__u32 flags;
	__u32 __reserved;
	__u32 idr[6];
	__u32 iidr;
	__u32 aidr;
};

/**
 * struct iommu_hw_info_tegra241_cmdqv - NVIDIA Tegra241 CMDQV description
 *                                       (IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV)
 * @flags: must be 0
 * @version: the CMDQ-V version, PARAM bits [3:0]
 * @log2vcmdqs: log2 of the number of virtual command queues, PARAM bits [7:4]
 * @log2vsids: log2 of the number of stream ID replacements, PARAM
 *             bits [15:12]
 * @__reserved: must be 0
 *
 * A VMM may copy these values into the PARAM register it emulates. It should
 * offer a guest one virtual interface only, so PARAM bits [11:8] stay 0.
 */
struct iommu_hw_info_tegra241_cmdqv {
	__u32 flags;
	__u8 version;
	__u8 log2vcmdqs;
	__u8 log2vsids;
	__u8 __reserved;
};

/**
 * enum iommu_hw_info_type - formats of IOMMU_GET_HW_INFO's data
 * @IOMMU_HW_INFO_TYPE_NONE: the IOMMU driver reports no data (output)
 * @IOMMU_HW_INFO_TYPE_DEFAULT: whatever the driver reports by default (input)
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_TYPE_ARM_SMMUV3: struct iommu_hw_info_arm_smmuv3
 * @IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV: struct iommu_hw_info_tegra241_cmdqv
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_DEFAULT = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
	IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
	IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3,
};

/**
 * enum iommufd_hw_capabilities - generic capabilities of an IOMMU
 * @IOMMU_HW_CAP_DIRTY_TRACKING: the IOMMU can track dirty IOVAs, so
 *                               IOMMU_HWPT_SET_DIRTY_TRACKING and
 *                               IOMMU_HWPT_GET_DIRTY_BITMAP work
 * @IOMMU_HW_CAP_PCI_PASID_EXEC: the device supports the PASID Execute
 *                               Requested bit; meaningless when
 *                               @out_max_pasid_log2 is 0
 * @IOMMU_HW_CAP_PCI_PASID_PRIV: the device supports the PASID Privileged Mode
 *                               Requested bit; meaningless when
 *                               @out_max_pasid_log2 is 0
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/**
 * enum iommufd_hw_info_flags - flags of ioctl(IOMMU_GET_HW_INFO)
 * @IOMMU_HW_INFO_FLAG_INPUT_TYPE: @in_data_type names the format wanted
 */
enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,
};

/**
 * struct iommu_hw_info - ioctl(IOMMU_GET_HW_INFO)
 * @size: sizeof(struct iommu_hw_info)
 * @flags: combination of enum iommufd_hw_info_flags
 * @dev_id: a device bound to this file
 * @data_len: in: size of the buffer at @data_uptr; out: size of the data the
 *            driver has, which may be larger or smaller
 * @data_uptr: user pointer to a buffer for the driver-specific data
 * @in_data_type: with IOMMU_HW_INFO_FLAG_INPUT_TYPE, the enum
 *                iommu_hw_info_type wanted; ignored otherwise
 * @out_data_type: the enum iommu_hw_info_type of the data returned; shares
 *                 its storage with @in_data_type
 * @out_max_pasid_log2: number of PASID bits the device supports; 0 for none
 * @__reserved: must be 0
 * @out_capabilities: combination of enum iommufd_hw_capabilities
 *
 * Describe the IOMMU behind a device, so that a VMM can present a virtual
 * IOMMU compatible with it, for example one whose guest page tables the
 * physical IOMMU can walk. The driver-specific data is copied into the
 * buffer up to @data_len; the rest of a larger buffer is zeroed. A @data_len
 * of 0 is allowed and only reports the size and type.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	union {
		__u32 in_data_type;
		__u32 out_data_type;
	};
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};

#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/*
 * enum iommufd_hwpt_set_dirty_tracking_flags - flags of
 *                                              IOMMU_HWPT_SET_DIRTY_TRACKING
 * @IOMMU_HWPT_DIRTY_TRACKING_ENABLE: turn tracking on; without it, off
 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/**
 * struct iommu_hwpt_set_dirty_tracking - ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING)
 * @size: sizeof(struct iommu_hwpt_set_dirty_tracking)
 * @flags: combination of enum iommufd_hwpt_set_dirty_tracking_flags
 * @hwpt_id: the paging HWPT
 * @__reserved: must be 0
 *
 * Start or stop recording which IOVAs devices write to through the HWPT.
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};

#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, \
					  IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/**
 * enum iommufd_hwpt_get_dirty_bitmap_flags - flags of
 *                                            IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: report the dirty state without
 *     resetting it; useful right before unmapping the same range anyway
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/**
 * struct iommu_hwpt_get_dirty_bitmap - ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP)
 * @size: sizeof(struct iommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: the paging HWPT
 * @flags: combination of enum iommufd_hwpt_get_dirty_bitmap_flags
 * @__reserved: must be 0
 * @iova: the IOVA that bit 0 of the bitmap stands for
 * @length: length in bytes of the IOVA range to report
 * @page_size: how much IOVA each bit stands for; a power of two
 * @data: user pointer to the bitmap, an array of __u64
 *
 * Read which pages of the range devices wrote to since tracking started or
 * the last read, and, unless told otherwise, reset that record. Bits are set
 * and never cleared in the user's bitmap, so the caller zeroes it first. The
 * page at address A is dirty when::
 *
 *   data[((A - iova) / page_size) / 64] & (1ULL << (((A - iova) / page_size) % 64))
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, \
					IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/**
 * enum iommu_hwpt_invalidate_data_type - formats of IOMMU_HWPT_INVALIDATE
 *                                        requests
 * @IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: struct iommu_hwpt_vtd_s1_invalidate
 * @IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3: struct
 *                                          iommu_viommu_arm_smmuv3_invalidate
 */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
	IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1,
};

/**
 * enum iommu_hwpt_vtd_s1_invalidate_flags - flags of a VT-d invalidation
 * @IOMMU_VTD_INV_FLAGS_LEAF: only leaf entries changed, so only the leaf
 *                            translation caches need flushing rather than
 *                            every level of the paging-structure cache
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/**
 * struct iommu_hwpt_vtd_s1_invalidate - one VT-d first-stage invalidation
 *                                       (IOMMU_HWPT_INVALIDATE_DATA_VTD_S1)
 * @addr: start of the range; aligned to 4 KiB
 * @npages: number of 4 KiB pages in the range
 * @flags: combination of enum iommu_hwpt_vtd_s1_invalidate_flags
 * @__reserved: must be 0
 *
 * Sent after the guest changed its first-stage page table. @addr 0 with
 * @npages U64_MAX flushes everything cached for the table. Device TLBs are
 * flushed as well when ATS is in use.
 */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/**
 * struct iommu_viommu_arm_smmuv3_invalidate - one SMMUv3 invalidation command
 *     (IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3)
 * @cmd: a 128-bit SMMUv3 command queue entry, little-endian
 *
 * Accepted through a vIOMMU only, and only these opcodes: TLBI_NSNH_ALL,
 * TLBI_NH_VA, TLBI_NH_VAA, TLBI_NH_ALL, TLBI_NH_ASID, ATC_INV, CFGI_CD and
 * CFGI_CD_ALL. Anything else fails with EIO.
 */
struct iommu_viommu_arm_smmuv3_invalidate {
	__aligned_le64 cmd[2];
};

/**
 * struct iommu_hwpt_invalidate - ioctl(IOMMU_HWPT_INVALIDATE)
 * @size: sizeof(struct iommu_hwpt_invalidate)
 * @hwpt_id: a nested HWPT or a vIOMMU whose caches are to be flushed
 * @data_uptr: user pointer to an array of requests
 * @data_type: one of enum iommu_hwpt_invalidate_data_type; every request in
 *             the array has this format, which @hwpt_id must support
 * @entry_len: size in bytes of one request
 * @entry_num: in: number of requests; out: number carried out before the
 *             first failure, or all of them
 * @__reserved: must be 0
 *
 * Flush caches that depend on a page table or structure owned by user space:
 * the IOTLB after a guest changed a nested first-stage table, and through a
 * vIOMMU also device and descriptor caches. With @entry_num 0 nothing is
 * done and @entry_len and @data_uptr are not read; this tells whether the
 * kernel accepts @data_type.
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};

#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

/**
 * enum iommu_hwpt_pgfault_flags - flags of struct iommu_hwpt_pgfault
 * @IOMMU_PGFAULT_FLAGS_PASID_VALID: @pasid holds the faulting PASID
 * @IOMMU_PGFAULT_FLAGS_LAST_PAGE: the last fault of its group; the response
 *                                 goes to this one
 */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = (1 << 1),
};

/**
 * enum iommu_hwpt_pgfault_perm - access requested by a faulting device
 * @IOMMU_PGFAULT_PERM_READ: read access
 * @IOMMU_PGFAULT_PERM_WRITE: write access
 * @IOMMU_PGFAULT_PERM_EXEC: the request's PASID prefix has Execute Requested
 *                           set (PCIe 10.4.1)
 * @IOMMU_PGFAULT_PERM_PRIV: the request's PASID prefix has Privileged Mode
 *                           Requested set (PCIe 10.4.1)
 */
enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE = (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC = (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV = (1 << 3),
};

/**
 * struct iommu_hwpt_pgfault - one I/O page fault, as read from a FAULT fd
 * @flags: combination of enum iommu_hwpt_pgfault_flags
 * @dev_id: the device that faulted
 * @pasid: the PASID it used, if IOMMU_PGFAULT_FLAGS_PASID_VALID
 * @grpid: the page request group index
 * @perm: combination of enum iommu_hwpt_pgfault_perm
 * @__reserved: always 0
 * @addr: the faulting address
 * @length: how many bytes the device expects to access from @addr, if it
 *          said; 0 when no hint was given
 * @cookie: identifies the fault group; a response quotes the cookie of the
 *          group's last fault
 */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

/**
 * enum iommufd_page_response_code - outcomes user space reports for a fault
 * @IOMMUFD_PAGE_RESP_SUCCESS: the page tables now allow the access; the
 *                             device should retry (PCI "Success")
 * @IOMMUFD_PAGE_RESP_INVALID: the fault cannot be resolved; the device
 *                             should not retry (PCI "Invalid Request")
 */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/**
 * struct iommu_hwpt_page_response - a response written to a FAULT fd
 * @cookie: the cookie of the fault group being answered
 * @code: one of enum iommufd_page_response_code
 */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/**
 * struct iommu_fault_alloc - ioctl(IOMMU_FAULT_QUEUE_ALLOC)
 * @size: sizeof(struct iommu_fault_alloc)
 * @flags: must be 0
 * @out_fault_id: returns the ID of the new FAULT object
 * @out_fault_fd: returns a file descriptor: read struct iommu_hwpt_pgfault
 *                records from it and write struct iommu_hwpt_page_response
 *                records to it
 *
 * Create a queue through which I/O page faults of HWPTs allocated with
 * IOMMU_HWPT_FAULT_ID_VALID reach user space.
 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};

#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

/**
 * enum iommu_viommu_type - kinds of virtual IOMMU
 * @IOMMU_VIOMMU_TYPE_DEFAULT: reserved
 * @IOMMU_VIOMMU_TYPE_ARM_SMMUV3: an ARM SMMUv3
 * @IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV: an ARM SMMUv3 with NVIDIA's Tegra241
 *                                    CMDQV extension
 */
enum iommu_viommu_type {
	IOMMU_VIOMMU_TYPE_DEFAULT = 0,
	IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2,
};

/**
 * struct iommu_viommu_tegra241_cmdqv - output of a Tegra241 CMDQV vIOMMU
 *                                      (IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV)
 * @out_vintf_mmap_offset: mmap() offset of the virtual interface's page 0
 * @out_vintf_mmap_length: mmap() length of that page
 *
 * Mapping the page into the guest lets the guest drive its virtual command
 * queues directly.
 */
struct iommu_viommu_tegra241_cmdqv {
	__aligned_u64 out_vintf_mmap_offset;
	__aligned_u64 out_vintf_mmap_length;
};

/**
 * struct iommu_viommu_alloc - ioctl(IOMMU_VIOMMU_ALLOC)
 * @size: sizeof(struct iommu_viommu_alloc)
 * @flags: must be 0
 * @type: one of enum iommu_viommu_type
 * @dev_id: a bound device; its physical IOMMU backs the vIOMMU
 * @hwpt_id: the nesting parent HWPT the vIOMMU builds on
 * @out_viommu_id: returns the ID of the new vIOMMU
 * @data_len: length of the driver data at @data_uptr
 * @__reserved: must be 0
 * @data_uptr: user pointer to driver-specific data, input and output
 *
 * Create a virtual IOMMU: the share of one physical IOMMU's virtualization
 * features that belongs to one VM. It gathers what is global to a virtual
 * IOMMU rather than tied to one device: the VM's own cache tag namespace,
 * events not caused by a single device, a nesting parent shared across
 * physical IOMMUs, the translation of virtual device IDs, invalidation
 * requests, and hardware queues or interrupts assigned to the guest.
 */
struct iommu_viommu_alloc {
	__u32 size;
	__u32 flags;
	__u32 type;
	__u32 dev_id;
	__u32 hwpt_id;
	__u32 out_viommu_id;
	__u32 data_len;
	__u32 __reserved;
	__aligned_u64 data_uptr;
};

#define IOMMU_VIOMMU_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC)

/**
 * struct iommu_vdevice_alloc - ioctl(IOMMU_VDEVICE_ALLOC)
 * @size: sizeof(struct iommu_vdevice_alloc)
 * @viommu_id: the vIOMMU the virtual device belongs to
 * @dev_id: the bound physical device it stands for
 * @out_vdevice_id: returns the ID of the new vDEVICE
 * @virt_id: the device's ID as the guest sees it on this vIOMMU, such as
 *           an SMMUv3 virtual stream ID, an AMD virtual device ID or a VT-d
 *           virtual requester ID
 *
 * Tell a vIOMMU which guest-visible ID a physical device has. Destroy the
 * vDEVICE before unbinding the device. A vDEVICE still present when its
 * device goes away is torn down by the kernel, but its ID then stays taken,
 * and cannot be destroyed, until the iommufd is closed.
 */
struct iommu_vdevice_alloc {
	__u32 size;
	__u32 viommu_id;
	__u32 dev_id;
	__u32 out_vdevice_id;
	__aligned_u64 virt_id;
};

#define IOMMU_VDEVICE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC)

/**
 * struct iommu_ioas_change_process - ioctl(IOMMU_IOAS_CHANGE_PROCESS)
 * @size: sizeof(struct iommu_ioas_change_process)
 * @__reserved: must be 0
 *
 * Move the charge for all pinned memory, in every IOAS of the file, to the
 * calling process and its user. Intended for handing a running device over
 * to a new process, as in a live update of the VMM. Only mappings made with
 * IOMMU_IOAS_MAP_FILE can move; if any other mapping exists the call fails
 * with EINVAL. On any failure nothing changes.
 */
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};

#define IOMMU_IOAS_CHANGE_PROCESS \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

/**
 * enum iommu_veventq_flag - flags of struct iommufd_vevent_header
 * @IOMMU_VEVENTQ_FLAG_LOST_EVENTS: events were dropped after the previous
 *                                  record; no data follows this header
 */
enum iommu_veventq_flag {
	IOMMU_VEVENTQ_FLAG_LOST_EVENTS = (1U << 0),
};

/**
 * struct iommufd_vevent_header - the header before each vEVENTQ record
 * @flags: combination of enum iommu_veventq_flag
 * @sequence: the record's number; counts from 0 up to INT_MAX and then
 *            starts again at 0
 *
 * Records are read as a header followed by type-specific data. Sequence
 * numbers of consecutive records differ by one; a larger step means the
 * records in between were lost because the queue was full. When records are
 * lost at the end of the queue, where no later record can show the gap, the
 * queue ends with a header flagged IOMMU_VEVENTQ_FLAG_LOST_EVENTS carrying
 * the next sequence number and no data.
 */
struct iommufd_vevent_header {
	__u32 flags;
	__u32 sequence;
};

/**
 * enum iommu_veventq_type - kinds of vEVENTQ
 * @IOMMU_VEVENTQ_TYPE_DEFAULT: reserved
 * @IOMMU_VEVENTQ_TYPE_ARM_SMMUV3: struct iommu_vevent_arm_smmuv3 records
 * @IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV: struct iommu_vevent_tegra241_cmdqv
 *                                     records
 */
enum iommu_veventq_type {
	IOMMU_VEVENTQ_TYPE_DEFAULT = 0,
	IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2,
};

/**
 * struct iommu_vevent_arm_smmuv3 - an SMMUv3 event for a guest
 *                                  (IOMMU_VEVENTQ_TYPE_ARM_SMMUV3)
 * @evt: the 256-bit event record, little-endian, with the StreamID field
 *       replaced by the vDEVICE's virtual ID. These events are forwarded
 *       (SMMUv3 specification, "Event records"): C_BAD_STE (0x04),
 *       F_STREAM_DISABLED (0x06), C_BAD_SUBSTREAMID (0x08), C_BAD_CD (0x0a),
 *       F_TRANSLATION (0x10), F_ADDR_SIZE (0x11), F_ACCESS (0x12) and
 *       F_PERMISSION (0x13).
 *
 * Only devices with a vDEVICE on the vIOMMU produce events.
 */
struct iommu_vevent_arm_smmuv3 {
	__aligned_le64 evt[4];
};

/**
 * struct iommu_vevent_tegra241_cmdqv - a Tegra241 CMDQV error interrupt
 *                                      (IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV)
 * @lvcmdq_err_map: the 128-bit logical VCMDQ error map of the vIOMMU's
 *                  virtual interface, little-endian, read from the hardware
 */
struct iommu_vevent_tegra241_cmdqv {
	__aligned_le64 lvcmdq_err_map[2];
};

/**
 * struct iommu_veventq_alloc - ioctl(IOMMU_VEVENTQ_ALLOC)
 * @size: sizeof(struct iommu_veventq_alloc)
 * @flags: must be 0
 * @viommu_id: the vIOMMU whose events the queue receives
 * @type: one of enum iommu_veventq_type; one queue per type and vIOMMU
 * @veventq_depth: the most records the queue holds; further events are lost
 * @out_veventq_id: returns the ID of the new vEVENTQ
 * @out_veventq_fd: returns a file descriptor to read the records from; the
 *                  caller closes it when done
 * @__reserved: must be 0
 *
 * Create a queue that hands a vIOMMU's events of one type to user space.
 * Each record read is a struct iommufd_vevent_header followed by the data
 * of @type, except for a trailing lost-events header, which has no data.
 */
struct iommu_veventq_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 veventq_depth;
	__u32 out_veventq_id;
	__u32 out_veventq_fd;
	__u32 __reserved;
};

#define IOMMU_VEVENTQ_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC)

/**
 * enum iommu_hw_queue_type - kinds of hardware queue
 * @IOMMU_HW_QUEUE_TYPE_DEFAULT: reserved
 * @IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV: a Tegra241 CMDQV virtual command
 *     queue. Queues of a vIOMMU are allocated from @index 0 upwards and
 *     destroyed from the highest downwards. The queue memory must be mapped
 *     in the IOAS, aligned to its length, and its length must be a power of
 *     two between 32 bytes and 16 << IDR1.CMDQS bytes (IDR1 as reported in
 *     struct iommu_hw_info_arm_smmuv3). Backing the memory with physically
 *     contiguous pages, ideally one huge page, and sizing the guest's
 *     CMDQS to match is advisable.
 */
enum iommu_hw_queue_type {
	IOMMU_HW_QUEUE_TYPE_DEFAULT = 0,
	IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV = 1,
};

/**
 * struct iommu_hw_queue_alloc - ioctl(IOMMU_HW_QUEUE_ALLOC)
 * @size: sizeof(struct iommu_hw_queue_alloc)
 * @flags: must be 0
 * @viommu_id: the vIOMMU the queue belongs to
 * @type: one of enum iommu_hw_queue_type
 * @index: which queue of this type, for IOMMUs with several
 * @out_hw_queue_id: returns the ID of the new HW_QUEUE
 * @nesting_parent_iova: where the queue memory is, as a guest physical
 *                       address translated by the nesting parent
 * @length: size of the queue memory in bytes
 *
 * Hand a queue in guest memory directly to the IOMMU hardware so that the
 * guest can post commands without exits. A vIOMMU may have several queues,
 * each with its own (@type, @index) pair.
 */
struct iommu_hw_queue_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 index;
	__u32 out_hw_queue_id;
	__aligned_u64 nesting_parent_iova;
	__aligned_u64 length;
};

#define IOMMU_HW_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC)

#endif
