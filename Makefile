# SPDX-License-Identifier: GPL-2.0-only
#
# This directory is drivers/iommu/iommufd. Inside a kernel build (kbuild
# sets KERNELRELEASE) this file lists the objects; run by a person it is the
# entry point to building, booting and testing. See README.md.

ifneq ($(KERNELRELEASE),)

# The file and its objects; address spaces and pinned pages; devices and
# the page tables they use; VFIO's view.
iommufd-y := main.o ioas.o io_pagetable.o pages.o
iommufd-y += device.o hw_pagetable.o fault.o viommu.o veventq.o
iommufd-y += vfio_compat.o

iommufd-$(CONFIG_IOMMUFD_TEST) += selftest.o

obj-$(CONFIG_IOMMUFD) += iommufd.o
obj-$(CONFIG_IOMMUFD_DRIVER) += iova_bitmap.o

# The boot banner names the state of the tree that was built.
CFLAGS_main.o += -DIOMMUFD_TREE_ID='"$(IOMMUFD_TREE_ID)"'

else

SHELL := /bin/bash
TOOLS := tools
.DEFAULT_GOAL := help
# How long make soak runs.
MINUTES ?= 30

.PHONY: help deps run check conformance selftests lint shell bench soak fuzz \
	kernel-debug kernel-perf kernel-upstream clean distclean

help:
	@echo "make run          build, boot, and run the VMM-style demo"
	@echo "                  (QEMU10=1: QEMU 10 passes edu to a nested guest)"
	@echo "make check        the whole test suite on the debug kernel"
	@echo "make conformance  upstream's kselftests against our iommufd"
	@echo "make lint         checkpatch, sparse, W=1 and the 6.12 users"
	@echo "make shell        an interactive guest on the debug kernel"
	@echo "make bench        ours against upstream 6.12, side by side"
	@echo "make soak         edu DMA while the IOAS churns, and the fuzzer,"
	@echo "                  for MINUTES minutes (default 30)"
	@echo "make fuzz         the ioctl fuzzer until stopped (FUZZ_MINUTES=N:"
	@echo "                  for N minutes; FUZZ_SEED=S: seeds from S)"
	@echo "make kernel-{debug,perf,upstream}   just build a kernel"

deps:
	@$(TOOLS)/build/deps

kernel-debug kernel-perf kernel-upstream: deps
	@$(TOOLS)/build/kernel $(@:kernel-%=%)

selftests: kernel-debug
	@$(TOOLS)/build/selftests

run: kernel-debug
	@$(TOOLS)/demo/run

check: kernel-debug
	@$(TOOLS)/check/run

conformance: kernel-debug
	@$(TOOLS)/conformance/run

lint: deps
	@$(TOOLS)/lint/run

shell: kernel-debug
	@$(TOOLS)/vm/run --shell

bench: deps
	@$(TOOLS)/bench/run

soak: kernel-debug
	@$(TOOLS)/soak/run $(MINUTES)

fuzz: kernel-debug
	@$(TOOLS)/fuzz/run $(if $(FUZZ_MINUTES),--seconds $$(($(FUZZ_MINUTES) * 60))) \
		$(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

clean:
	rm -rf .cache/build .cache/tests

distclean:
	rm -rf .cache

endif
