// SPDX-License-Identifier: GPL-2.0-only
/*
 * vEVENTQ objects: events of a vIOMMU handed to user space through a file.
 *
 * IOMMU_VEVENTQ_ALLOC creates a queue for one event type of one vIOMMU and
 * a file to read it from. The IOMMU driver reports an event with
 * iommufd_viommu_report_event(); it lands in the vIOMMU's queue of that
 * type, if there is one. A read returns whole records, oldest first, each
 * a struct iommufd_vevent_header and the event's data.
 *
 * Sequence numbers: every reported event takes the next number, counting
 * from 0 and wrapping from INT_MAX back to 0, whether it is queued or not.
 * At most @depth events wait in the queue; an event beyond that is lost,
 * and so is one the kernel cannot allocate memory for (records are charged
 * to the memory cgroup of the process that made the queue, since it chose
 * the depth). A gap in the numbers read shows where events were lost.
 * Losses after the last queued event would go unseen, so then the queue
 * ends in a marker: a header flagged
 * IOMMU_VEVENTQ_FLAG_LOST_EVENTS, with the number of the first event lost
 * and no data. There is one marker per queue (embedded in it); it is only
 * ever the last record, and the next queued event takes its place, as that
 * event's number shows the gap itself.
 *
 * Lifetime: the file holds a long-term reference on the queue and one on
 * the context; the queue holds one on its vIOMMU. So IOMMU_DESTROY of the
 * queue works once the file is closed, and the vIOMMU outlives its queues.
 *
 * Locking: the vIOMMU's veventqs_rwsem protects its list of queues: taken
 * for writing to add or remove one, for reading to report. @lock (a
 * spinlock) protects the records, @nr_events, @next_seq and the marker.
 * @read_mutex keeps concurrent readers from splitting the order of records.
 */
#include <linux/file.h>
#include <linux/memcontrol.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

/**
 * struct iommufd_vevent - one record of a vEVENTQ
 * @node: in iommufd_veventq::records
 * @hdr: its header as user space reads it
 * @len: bytes of @data; 0 for the lost-events marker
 * @data: the event as the driver reported it
 */
struct iommufd_vevent {
	struct list_head node;
	struct iommufd_vevent_header hdr;
	size_t len;
	u8 data[];
};

/**
 * struct iommufd_veventq - a queue of vIOMMU events (IOMMUFD_OBJ_VEVENTQ)
 * @obj: object header
 * @ictx: the context, with a reference held by the file
 * @viommu: the vIOMMU, with a long-term reference
 * @viommu_item: in @viommu->veventqs
 * @type: the enum iommu_veventq_type it receives
 * @depth: the most events it holds
 * @memcg: the memory cgroup of the process that made the queue, charged
 *         for the records whoever reports them
 * @read_mutex: see the locking rules above
 * @lock: see the locking rules above
 * @records: struct iommufd_vevent, oldest first
 * @nr_events: events on @records, not counting the marker
 * @next_seq: the sequence number of the next event reported
 * @lost: the lost-events marker; on @records or not
 * @wait_queue: readers polling for records
 */
struct iommufd_veventq {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_viommu *viommu;
	struct list_head viommu_item;
	u32 type;
	u32 depth;
	struct mem_cgroup *memcg;

	struct mutex read_mutex; /* see above */
	spinlock_t lock; /* see above */
	struct list_head records;
	u32 nr_events;
	u32 next_seq;
	struct iommufd_vevent lost;

	wait_queue_head_t wait_queue;
};

static bool vevent_is_marker(struct iommufd_veventq *veventq,
			     struct iommufd_vevent *vevent)
{
	return vevent == &veventq->lost;
}

/* Take a sequence number. Under @lock. */
static u32 veventq_next_seq(struct iommufd_veventq *veventq)
{
	u32 seq = veventq->next_seq;

	lockdep_assert_held(&veventq->lock);
	veventq->next_seq = seq == INT_MAX ? 0 : seq + 1;
	return seq;
}

/*
 * Queue @vevent (NULL if it could not be allocated) as the next event, or
 * count it lost.
 */
static void veventq_push(struct iommufd_veventq *veventq,
			 struct iommufd_vevent *vevent)
{
	u32 seq;

	spin_lock(&veventq->lock);
	seq = veventq_next_seq(veventq);
	if (!vevent || veventq->nr_events >= veventq->depth) {
		/* The marker keeps the number of the first event lost. */
		if (list_empty(&veventq->lost.node)) {
			veventq->lost.hdr.sequence = seq;
			list_add_tail(&veventq->lost.node, &veventq->records);
		}
		spin_unlock(&veventq->lock);
		kfree(vevent);
		return;
	}
	list_del_init(&veventq->lost.node);
	vevent->hdr.flags = 0;
	vevent->hdr.sequence = seq;
	list_add_tail(&vevent->node, &veventq->records);
	veventq->nr_events++;
	spin_unlock(&veventq->lock);
	wake_up_interruptible(&veventq->wait_queue);
}

/**
 * iommufd_veventq_report() - queue an event on a vIOMMU's vEVENTQ
 * @viommu: the vIOMMU
 * @type: the enum iommu_veventq_type of the event
 * @data: the record
 * @len: its size
 *
 * May sleep. An event that finds the queue full is lost, as user space
 * will see; that is not an error for the reporter.
 *
 * Return: 0, -EOPNOTSUPP if the vIOMMU has no queue of @type, -ENOMEM if
 * the event could not be stored (and is lost).
 */
int iommufd_veventq_report(struct iommufd_viommu *viommu, u32 type,
			   const void *data, size_t len)
{
	struct iommufd_veventq *veventq;
	struct iommufd_vevent *vevent;
	int rc = -EOPNOTSUPP;

	down_read(&viommu->veventqs_rwsem);
	list_for_each_entry(veventq, &viommu->veventqs, viommu_item) {
		struct mem_cgroup *old_memcg;

		if (veventq->type != type)
			continue;
		/* The queue's owner pays for what it chose to buffer. */
		old_memcg = set_active_memcg(veventq->memcg);
		vevent = kmalloc(struct_size(vevent, data, len),
				 GFP_KERNEL_ACCOUNT);
		set_active_memcg(old_memcg);
		if (vevent) {
			vevent->len = len;
			memcpy(vevent->data, data, len);
		}
		veventq_push(veventq, vevent);
		rc = vevent ? 0 : -ENOMEM;
		break;
	}
	up_read(&viommu->veventqs_rwsem);
	return rc;
}

/*
 * The oldest record, taken off the queue, with its header as read then
 * (the marker's changes under the lock); NULL if there is none.
 */
static struct iommufd_vevent *veventq_take(struct iommufd_veventq *veventq,
					   size_t room,
					   struct iommufd_vevent_header *hdr)
{
	struct iommufd_vevent *vevent;

	spin_lock(&veventq->lock);
	vevent = list_first_entry_or_null(&veventq->records,
					  struct iommufd_vevent, node);
	if (vevent && sizeof(vevent->hdr) + vevent->len > room) {
		vevent = ERR_PTR(-ENOSPC);
	} else if (vevent) {
		list_del_init(&vevent->node);
		*hdr = vevent->hdr;
		if (vevent_is_marker(veventq, vevent))
			hdr->flags = IOMMU_VEVENTQ_FLAG_LOST_EVENTS;
		else
			veventq->nr_events--;
	}
	spin_unlock(&veventq->lock);
	return vevent;
}

/*
 * Put back what veventq_take() returned, because user space could not
 * take it. An event is the oldest again. The marker only goes back to an
 * empty queue: once anything was queued after it, either that event's
 * number shows the gap, or more losses queued the marker anew, numbered
 * after the events in between; both say what this one would have.
 */
static void veventq_untake(struct iommufd_veventq *veventq,
			   struct iommufd_vevent *vevent,
			   const struct iommufd_vevent_header *hdr)
{
	spin_lock(&veventq->lock);
	if (!vevent_is_marker(veventq, vevent)) {
		list_add(&vevent->node, &veventq->records);
		veventq->nr_events++;
	} else if (list_empty(&veventq->records)) {
		vevent->hdr.sequence = hdr->sequence;
		list_add(&vevent->node, &veventq->records);
	}
	spin_unlock(&veventq->lock);
}

/*
 * Whole records only, as many as fit, up to and including a lost-events
 * marker; -EINVAL if not even the oldest fits. Never blocks: 0 when the
 * queue is empty.
 */
static ssize_t veventq_read(struct file *filep, char __user *buf,
			    size_t count, loff_t *ppos)
{
	struct iommufd_veventq *veventq = filep->private_data;
	struct iommufd_vevent_header hdr;
	struct iommufd_vevent *vevent;
	size_t done = 0;
	int rc = 0;

	if (*ppos)
		return -ESPIPE;

	mutex_lock(&veventq->read_mutex);
	while ((vevent = veventq_take(veventq, count - done, &hdr))) {
		if (IS_ERR(vevent)) {
			if (!done)
				rc = -EINVAL;
			break;
		}
		/* Off the list the marker may be queued anew: use @hdr. */
		if (copy_to_user(buf + done, &hdr, sizeof(hdr)) ||
		    copy_to_user(buf + done + sizeof(hdr), vevent->data,
				 vevent->len)) {
			veventq_untake(veventq, vevent, &hdr);
			rc = -EFAULT;
			break;
		}
		done += sizeof(hdr) + vevent->len;
		/* The marker ends a read, as it ended the queue. */
		if (vevent_is_marker(veventq, vevent))
			break;
		kfree(vevent);
	}
	mutex_unlock(&veventq->read_mutex);
	return done ? done : rc;
}

static __poll_t veventq_poll(struct file *filep,
			     struct poll_table_struct *wait)
{
	struct iommufd_veventq *veventq = filep->private_data;
	__poll_t mask = 0;

	poll_wait(filep, &veventq->wait_queue, wait);
	spin_lock(&veventq->lock);
	if (!list_empty(&veventq->records))
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock(&veventq->lock);
	return mask;
}

static int veventq_release(struct inode *inode, struct file *filep)
{
	struct iommufd_veventq *veventq = filep->private_data;
	struct iommufd_ctx *ictx = veventq->ictx;

	iommufd_object_drop_user(&veventq->obj);
	iommufd_ctx_put(ictx);
	return 0;
}

static const struct file_operations iommufd_veventq_fops = {
	.owner = THIS_MODULE,
	.read = veventq_read,
	.poll = veventq_poll,
	.release = veventq_release,
};

void iommufd_veventq_destroy(struct iommufd_object *obj)
{
	struct iommufd_veventq *veventq =
		container_of(obj, struct iommufd_veventq, obj);
	struct iommufd_viommu *viommu = veventq->viommu;
	struct iommufd_vevent *vevent, *next;

	down_write(&viommu->veventqs_rwsem);
	list_del(&veventq->viommu_item);
	up_write(&viommu->veventqs_rwsem);

	/* No reporter or reader is left. */
	list_for_each_entry_safe(vevent, next, &veventq->records, node) {
		list_del(&vevent->node);
		if (!vevent_is_marker(veventq, vevent))
			kfree(vevent);
	}
	mutex_destroy(&veventq->read_mutex);
	mem_cgroup_put(veventq->memcg);
	iommufd_object_drop_user(&viommu->obj);
}

/*
 * A new, empty queue on @viommu's list, unpublished; -EEXIST if the vIOMMU
 * has a queue of that type already.
 */
static struct iommufd_veventq *
veventq_create(struct iommufd_ctx *ictx, struct iommufd_viommu *viommu,
	       u32 type, u32 depth)
{
	struct iommufd_veventq *veventq, *other;

	guard(rwsem_write)(&viommu->veventqs_rwsem);
	list_for_each_entry(other, &viommu->veventqs, viommu_item)
		if (other->type == type)
			return ERR_PTR(-EEXIST);

	veventq = iommufd_object_alloc(ictx, struct iommufd_veventq, obj,
				       IOMMUFD_OBJ_VEVENTQ);
	if (IS_ERR(veventq))
		return veventq;
	veventq->ictx = ictx;
	veventq->viommu = viommu;
	iommufd_object_add_user(&viommu->obj);
	veventq->type = type;
	veventq->depth = depth;
	veventq->memcg = get_mem_cgroup_from_mm(current->mm);
	mutex_init(&veventq->read_mutex);
	spin_lock_init(&veventq->lock);
	INIT_LIST_HEAD(&veventq->records);
	INIT_LIST_HEAD(&veventq->lost.node);
	init_waitqueue_head(&veventq->wait_queue);
	list_add_tail(&veventq->viommu_item, &viommu->veventqs);
	return veventq;
}

int iommufd_veventq_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_veventq_alloc *cmd = ucmd->cmd;
	struct iommufd_veventq *veventq;
	struct iommufd_viommu *viommu;
	int rc;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->type == IOMMU_VEVENTQ_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	if (!cmd->veventq_depth)
		return -EINVAL;

	viommu = iommufd_get_viommu(ucmd, cmd->viommu_id);
	if (IS_ERR(viommu))
		return PTR_ERR(viommu);

	veventq = veventq_create(ucmd->ictx, viommu, cmd->type,
				 cmd->veventq_depth);
	if (IS_ERR(veventq)) {
		rc = PTR_ERR(veventq);
		goto out_put;
	}

	/*
	 * The file's references are dropped by veventq_release(). It is
	 * opened read-write, as v6.17's is: having no write method, it
	 * refuses write() with EINVAL, not EBADF.
	 */
	cmd->out_veventq_id = veventq->obj.id;
	rc = iommufd_object_publish_file(ucmd, &veventq->obj, "[iommufd-vevent]",
					 &iommufd_veventq_fops, veventq,
					 O_RDWR, &cmd->out_veventq_fd,
					 sizeof(*cmd));
	if (rc)
		iommufd_object_abort_and_destroy(ucmd->ictx, &veventq->obj);
out_put:
	iommufd_put_object(ucmd->ictx, &viommu->obj);
	return rc;
}
