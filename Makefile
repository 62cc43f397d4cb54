# SPDX-License-Identifier: GPL-2.0
# Thin wrapper for people; kbuild logic lives in Kbuild.
#
#   make                      build pvbounce.ko for the running kernel (or KDIR=...)
#   make build-all            build for both Debian kernels into build/<release>/ (PVB_BUILD=dir)
#   make sparse               W=1 and C=2 (sparse) on both Debian kernels; fails on any warning
#   make unit                 userspace unit tests (ASan+UBSan), TAP under prove
#   make bench-unit           slot allocator micro-benchmark (not a test)
#   make vm-check             QEMU scenarios, native and Xen PV dom0, both kernels
#   make check                everything above but the benchmark: the test command
#   make build-debug          the debug kernel (tests/vm/debug/: KASAN, lockdep, kmemleak,
#                             DMA-API debug...; cached, an hour on 2 cores) and the modules for it
#   make check-debug          every QEMU scenario on the debug kernel, native and Xen PV dom0
#   make bench-vm             pvbounce vs the kernel's swiotlb(-xen) throughput in QEMU (not a test)
#   make bench                DMA API map/unmap, sg, sync timings: pvbounce vs swiotlb(-xen),
#                             dma-direct and memcpy in QEMU; tables into README.md (not a test)
#   make demo                 boot a Xen PV dom0 in QEMU and show pvbounce at work
#   make dkms-install         install the sources into DKMS and build for KERNELRELEASE

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KERNELRELEASE)/build) $(shell scripts/kdirs.sh 6.12 2>/dev/null))
KDIRS ?= $(shell scripts/kdirs.sh 2>/dev/null)
PROVE ?= prove
# where build-all puts build/<release>/ (tests/vm reads the same variable)
PVB_BUILD ?= build
override PVB_BUILD := $(abspath $(PVB_BUILD))
export PVB_BUILD
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

# Files a module build needs; tests/ never goes to DKMS.
MODULE_SOURCES := Kbuild Makefile dkms.conf LICENSE src include scripts

.PHONY: all module clean build-all sparse unit bench-unit bench-vm bench kmod vm-check check demo dkms-install \
	build-debug check-debug

all: module

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean || true
	rm -rf $(PVB_BUILD)
	$(MAKE) -C tests/unit clean

# build/<release>/ holds a copy of the sources per kernel, so both can be built
# without cleaning between them.
build-all:
	@test -n "$(KDIRS)" || { echo "no kernel headers found: install linux-headers-amd64 and linux-headers-6.12-amd64"; exit 1; }
	@set -e; for k in $(KDIRS); do \
		r=$$(basename $$k | sed 's/^linux-headers-//'); \
		scripts/build-one.sh "$$k" "$(PVB_BUILD)/$$r" "$(EXTRA)"; \
	done

sparse:
	@$(MAKE) --no-print-directory build-all EXTRA="W=1 C=2"

unit:
	$(MAKE) -C tests/unit
	$(PROVE) -v --exec '' tests/unit/build/t_*

bench-unit:
	$(MAKE) -C tests/unit bench

vm-check:
	tests/vm/run-all.sh

bench-vm:
	tests/vm/bench.sh

bench:
	tests/vm/mapbench.sh

check: sparse unit vm-check

# The debug kernel is built (once per source version and config) into the
# cache; the modules into $(PVB_BUILD)/<its release>/ like the others.
build-debug:
	@set -e; k=$$(tests/vm/debug/build-kernel.sh); set -- $$k; \
	scripts/build-one.sh "$$6" "$(PVB_BUILD)/$$3" "$(EXTRA)"

check-debug: build-debug
	PVB_KERNELS=6.12-debug tests/vm/run-all.sh

demo:
	tests/vm/demo.sh

dkms-install:
	rm -rf /usr/src/pvbounce-$(VERSION)
	mkdir -p /usr/src/pvbounce-$(VERSION)
	cp -r $(MODULE_SOURCES) /usr/src/pvbounce-$(VERSION)/
	dkms add -m pvbounce -v $(VERSION) || true
	dkms install -m pvbounce -v $(VERSION) -k $(KERNELRELEASE)
