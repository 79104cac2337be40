// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU_TEST_CMD and the mock IOMMU driver (CONFIG_IOMMUFD_TEST).
 */
#include "iommufd_private.h"
#include "iommufd_test.h"

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
}

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	default:
		return -EOPNOTSUPP;
	}
}

int __init iommufd_test_init(void)
{
	return 0;
}

void iommufd_test_exit(void)
{
}
