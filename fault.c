// SPDX-License-Identifier: GPL-2.0-only
/*
 * FAULT objects: I/O page faults handed to user space through a file.
 *
 * IOMMU_FAULT_QUEUE_ALLOC creates a FAULT object and a file for it. HWPTs
 * allocated with IOMMU_HWPT_FAULT_ID_VALID name the object: the IOMMU core
 * hands every page request group raised under such a HWPT's domain to
 * iommufd_fault_iopf_handler(), which queues it here. Reading the file
 * yields the group's faults as struct iommu_hwpt_pgfault records, all with
 * one cookie; writing a struct iommu_hwpt_page_response with that cookie
 * answers the device and frees the group. poll() reports readable while
 * groups wait to be read.
 *
 * A group is in exactly one place until it is answered:
 *  - @deliver: reported, not read yet;
 *  - @response: read, waiting for user space's answer, under its cookie.
 * Nobody is left waiting: when a device stops using a HWPT of this object
 * (detach, replace) its groups are answered "invalid" on its behalf
 * (iommufd_fault_drain()); when the file is closed, every group is, and
 * later faults are refused at once, so the core answers them.
 *
 * Lifetime: the file holds a long-term reference on the object and one on
 * the context; each HWPT using the object holds one too. So the object is
 * destroyed only after its file is closed and its HWPTs are gone.
 *
 * Locking: @mutex serializes readers, writers and draining, and protects
 * @response. @lock (a spinlock, as the handler runs in the fault reporting
 * path) protects @deliver and @closed. Order: igroup->lock, then @mutex,
 * then @lock.
 */
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"

/**
 * struct iommufd_fault - a queue of I/O page faults (IOMMUFD_OBJ_FAULT)
 * @obj: object header
 * @ictx: the context, with a reference held by the file
 * @mutex: see the locking rules above
 * @response: cookie -> struct iopf_group read and not yet answered
 * @lock: see the locking rules above
 * @deliver: struct iopf_group reported and not yet read, oldest first
 * @closed: the file was released: faults are refused
 * @wait_queue: readers polling for faults
 */
struct iommufd_fault {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;

	struct mutex mutex; /* see above */
	struct xarray response;

	spinlock_t lock; /* see above */
	struct list_head deliver;
	bool closed;

	wait_queue_head_t wait_queue;
};

/* Answer @group "invalid" for user space and free it. */
static void fault_answer_invalid(struct iopf_group *group)
{
	iopf_group_response(group, IOMMU_PAGE_RESP_INVALID);
	iopf_free_group(group);
}

/**
 * iommufd_fault_iopf_handler() - the domain's iopf_handler
 * @group: a complete page request group
 *
 * Return: 0 once the group is queued; -ENODEV if the file is closed, and
 * the core then answers the group itself.
 */
int iommufd_fault_iopf_handler(struct iopf_group *group)
{
	struct iommufd_hw_pagetable *hwpt =
		group->attach_handle->domain->fault_data;
	struct iommufd_attach_handle *handle =
		container_of(group->attach_handle, struct iommufd_attach_handle,
			     handle);
	struct iommufd_fault *fault = hwpt->fault;

	/* Until it is read, the cookie carries the reporting device's ID. */
	group->cookie = READ_ONCE(handle->dev_id);

	spin_lock(&fault->lock);
	if (fault->closed) {
		spin_unlock(&fault->lock);
		return -ENODEV;
	}
	list_add_tail(&group->node, &fault->deliver);
	spin_unlock(&fault->lock);
	wake_up_interruptible(&fault->wait_queue);
	return 0;
}

/* The oldest unread group, taken off the list, or NULL. */
static struct iopf_group *fault_take_unread(struct iommufd_fault *fault)
{
	struct iopf_group *group;

	spin_lock(&fault->lock);
	group = list_first_entry_or_null(&fault->deliver, struct iopf_group,
					 node);
	if (group)
		list_del(&group->node);
	spin_unlock(&fault->lock);
	return group;
}

/* Put back a group fault_take_unread() returned: it is still the oldest. */
static void fault_untake(struct iommufd_fault *fault, struct iopf_group *group)
{
	spin_lock(&fault->lock);
	list_add(&group->node, &fault->deliver);
	spin_unlock(&fault->lock);
}

/* Whether @group is one iommufd_fault_drain() was asked to drain. */
static bool fault_group_matches(struct iopf_group *group, struct device *dev,
				struct iommu_attach_handle *handle)
{
	return (!dev || group->fault_param->dev == dev) &&
	       (!handle || group->attach_handle == handle);
}

/**
 * iommufd_fault_drain() - answer a device's faults on its behalf
 * @fault: the FAULT object
 * @dev: the device, which no longer reaches a domain of @fault's HWPTs
 *       (or NULL for every device)
 * @handle: the attachment (the RID's, or a PASID's) the faults came
 *          through, or NULL for any
 *
 * Called after the device left the HWPT, so no new group of it arrives
 * through that domain; groups read and unread alike are answered
 * "invalid", and cookies user space holds for them become unknown.
 */
void iommufd_fault_drain(struct iommufd_fault *fault, struct device *dev,
			 struct iommu_attach_handle *handle)
{
	struct iopf_group *group, *next;
	unsigned long cookie;
	LIST_HEAD(mine);

	mutex_lock(&fault->mutex);
	spin_lock(&fault->lock);
	list_for_each_entry_safe(group, next, &fault->deliver, node)
		if (fault_group_matches(group, dev, handle))
			list_move_tail(&group->node, &mine);
	spin_unlock(&fault->lock);

	xa_for_each(&fault->response, cookie, group) {
		if (!fault_group_matches(group, dev, handle))
			continue;
		xa_erase(&fault->response, cookie);
		list_add_tail(&group->node, &mine);
	}
	mutex_unlock(&fault->mutex);

	list_for_each_entry_safe(group, next, &mine, node) {
		list_del(&group->node);
		fault_answer_invalid(group);
	}
}

static void fault_record(struct iommu_hwpt_pgfault *rec,
			 const struct iommu_fault_page_request *prm,
			 u32 dev_id, u32 cookie)
{
	memset(rec, 0, sizeof(*rec));
	if (prm->flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID)
		rec->flags |= IOMMU_PGFAULT_FLAGS_PASID_VALID;
	if (prm->flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE)
		rec->flags |= IOMMU_PGFAULT_FLAGS_LAST_PAGE;
	rec->dev_id = dev_id;
	rec->pasid = prm->pasid;
	rec->grpid = prm->grpid;
	if (prm->perm & IOMMU_FAULT_PERM_READ)
		rec->perm |= IOMMU_PGFAULT_PERM_READ;
	if (prm->perm & IOMMU_FAULT_PERM_WRITE)
		rec->perm |= IOMMU_PGFAULT_PERM_WRITE;
	if (prm->perm & IOMMU_FAULT_PERM_EXEC)
		rec->perm |= IOMMU_PGFAULT_PERM_EXEC;
	if (prm->perm & IOMMU_FAULT_PERM_PRIV)
		rec->perm |= IOMMU_PGFAULT_PERM_PRIV;
	rec->addr = prm->addr;
	rec->cookie = cookie;
}

/* Copy out every fault of @group at @buf; -EFAULT if any copy fails. */
static int fault_copy_group(struct iopf_group *group, char __user *buf,
			    u32 dev_id, u32 cookie)
{
	struct iommu_hwpt_pgfault rec;
	struct iopf_fault *iopf;

	list_for_each_entry(iopf, &group->faults, list) {
		fault_record(&rec, &iopf->fault.prm, dev_id, cookie);
		if (copy_to_user(buf, &rec, sizeof(rec)))
			return -EFAULT;
		buf += sizeof(rec);
	}
	return 0;
}

/*
 * Whole groups only: a group that does not fit in what is left of @count
 * stays for the next read. Never blocks; 0 when nothing is queued.
 */
static ssize_t fault_read(struct file *filep, char __user *buf, size_t count,
			  loff_t *ppos)
{
	const size_t rec_size = sizeof(struct iommu_hwpt_pgfault);
	struct iommufd_fault *fault = filep->private_data;
	struct iopf_group *group;
	size_t done = 0;
	int rc = 0;

	if (*ppos || count % rec_size)
		return -ESPIPE;

	mutex_lock(&fault->mutex);
	while ((group = fault_take_unread(fault))) {
		size_t len = group->fault_count * rec_size;
		u32 dev_id = group->cookie, cookie;

		if (len > count - done) {
			fault_untake(fault, group);
			break;
		}
		rc = xa_alloc(&fault->response, &cookie, group, xa_limit_32b,
			      GFP_KERNEL_ACCOUNT);
		if (rc) {
			fault_untake(fault, group);
			break;
		}
		rc = fault_copy_group(group, buf + done, dev_id, cookie);
		if (rc) {
			/* Unread after all: the device's ID goes back too. */
			xa_erase(&fault->response, cookie);
			fault_untake(fault, group);
			break;
		}
		group->cookie = cookie;
		done += len;
	}
	mutex_unlock(&fault->mutex);
	return done ? done : rc;
}

/*
 * Each response answers the group with its cookie. The first bad one (an
 * unknown cookie or code: EINVAL) stops the write; those before it count.
 */
static ssize_t fault_write(struct file *filep, const char __user *buf,
			   size_t count, loff_t *ppos)
{
	const size_t rec_size = sizeof(struct iommu_hwpt_page_response);
	struct iommufd_fault *fault = filep->private_data;
	struct iommu_hwpt_page_response resp;
	size_t done = 0;
	int rc = 0;

	if (*ppos || count % rec_size)
		return -ESPIPE;

	mutex_lock(&fault->mutex);
	for (; done != count; done += rec_size) {
		enum iommu_page_response_code code;
		struct iopf_group *group;

		if (copy_from_user(&resp, buf + done, rec_size)) {
			rc = -EFAULT;
			break;
		}
		if (resp.code == IOMMUFD_PAGE_RESP_SUCCESS) {
			code = IOMMU_PAGE_RESP_SUCCESS;
		} else if (resp.code == IOMMUFD_PAGE_RESP_INVALID) {
			code = IOMMU_PAGE_RESP_INVALID;
		} else {
			rc = -EINVAL;
			break;
		}
		group = xa_erase(&fault->response, resp.cookie);
		if (!group) {
			rc = -EINVAL;
			break;
		}
		iopf_group_response(group, code);
		iopf_free_group(group);
	}
	mutex_unlock(&fault->mutex);
	return done ? done : rc;
}

static __poll_t fault_poll(struct file *filep, struct poll_table_struct *wait)
{
	struct iommufd_fault *fault = filep->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(filep, &fault->wait_queue, wait);
	spin_lock(&fault->lock);
	if (!list_empty(&fault->deliver))
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock(&fault->lock);
	return mask;
}

static int fault_release(struct inode *inode, struct file *filep)
{
	struct iommufd_fault *fault = filep->private_data;
	struct iommufd_ctx *ictx = fault->ictx;

	spin_lock(&fault->lock);
	fault->closed = true;
	spin_unlock(&fault->lock);
	iommufd_fault_drain(fault, NULL, NULL);

	iommufd_object_drop_user(&fault->obj);
	iommufd_ctx_put(ictx);
	return 0;
}

static const struct file_operations iommufd_fault_fops = {
	.owner = THIS_MODULE,
	.read = fault_read,
	.write = fault_write,
	.poll = fault_poll,
	.release = fault_release,
};

/* Nothing is queued any more: the file and every HWPT are gone. */
void iommufd_fault_destroy(struct iommufd_object *obj)
{
	struct iommufd_fault *fault =
		container_of(obj, struct iommufd_fault, obj);

	/*
	 * The file's release drained the queue and no HWPT delivers here any
	 * more, so this finds nothing; it answers rather than leaks if not.
	 */
	iommufd_fault_drain(fault, NULL, NULL);
	xa_destroy(&fault->response);
	mutex_destroy(&fault->mutex);
}

/* An empty queue; cookies start at 1. */
static void fault_init(struct iommufd_fault *fault, struct iommufd_ctx *ictx)
{
	fault->ictx = ictx;
	spin_lock_init(&fault->lock);
	mutex_init(&fault->mutex);
	init_waitqueue_head(&fault->wait_queue);
	xa_init_flags(&fault->response, XA_FLAGS_ALLOC1);
	INIT_LIST_HEAD(&fault->deliver);
}

int iommufd_fault_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct iommufd_fault *fault;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	fault = iommufd_object_alloc(ucmd->ictx, struct iommufd_fault, obj,
				     IOMMUFD_OBJ_FAULT);
	if (IS_ERR(fault))
		return PTR_ERR(fault);
	fault_init(fault, ucmd->ictx);

	/* The file's references are dropped by fault_release(). */
	cmd->out_fault_id = fault->obj.id;
	rc = iommufd_object_publish_file(ucmd, &fault->obj, "[iommufd-pgfault]",
					 &iommufd_fault_fops, fault, O_RDWR,
					 &cmd->out_fault_fd, sizeof(*cmd));
	if (rc)
		iommufd_object_abort_and_destroy(ucmd->ictx, &fault->obj);
	return rc;
}

/**
 * iommufd_fault_get() - a FAULT object by ID, with a lookup reference
 * @ucmd: the command
 * @id: its ID
 *
 * Return: the object, or ERR_PTR(-ENOENT).
 */
struct iommufd_fault *iommufd_fault_get(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_FAULT);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_fault, obj);
}

/* Drop what iommufd_fault_get() took. */
void iommufd_fault_put(struct iommufd_ucmd *ucmd, struct iommufd_fault *fault)
{
	iommufd_put_object(ucmd->ictx, &fault->obj);
}

/**
 * iommufd_hwpt_set_fault() - make a HWPT deliver its faults to @fault
 * @hwpt: a new, unpublished HWPT
 * @fault: the FAULT object; @hwpt takes a long-term reference on it
 */
void iommufd_hwpt_set_fault(struct iommufd_hw_pagetable *hwpt,
			    struct iommufd_fault *fault)
{
	iommufd_object_add_user(&fault->obj);
	hwpt->fault = fault;
	hwpt->domain->iopf_handler = iommufd_fault_iopf_handler;
	hwpt->domain->fault_data = hwpt;
}

/**
 * iommufd_hwpt_put_fault() - undo iommufd_hwpt_set_fault() on destroy
 * @hwpt: the HWPT, whose domain is already freed
 */
void iommufd_hwpt_put_fault(struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt->fault)
		iommufd_object_drop_user(&hwpt->fault->obj);
}
