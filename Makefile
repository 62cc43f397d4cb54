# SPDX-License-Identifier: GPL-2.0
# Thin wrapper for people; kbuild logic lives in Kbuild.
#
#   make                      build pvbounce.ko for the running kernel; refused when
#                             /lib/modules/$(uname -r)/build is missing, unless KDIR=dir
#                             or KERNELRELEASE=release names the kernel
#   make build-all            build for every kernel of the matrix into build/<release>/
#                             (PVB_BUILD=dir): Debian 12's 6.1 and 6.12 with the host's
#                             headers, Debian 13's 6.12 and 7.3 in the trixie build root
#                             (scripts/trixie-root.sh, made once into the cache;
#                             PVB_SERIES narrows the list, e.g. "6.1 6.12")
#   make sparse               W=1 and C=2 (sparse) on every kernel; fails on any warning
#   make unit                 userspace unit tests (ASan+UBSan) and tools/ tests, TAP under prove
#   make bench-unit           slot allocator micro-benchmark (not a test)
#   make vm-check             QEMU scenarios, native and Xen PV dom0, both kernels
#   make check                everything above but the benchmark: the test command
#   make build-debug          the debug kernel (tests/vm/debug/: KASAN, lockdep, kmemleak,
#                             DMA-API debug...; cached, an hour on 2 cores) and the modules for it
#   make check-debug          every QEMU scenario on the debug kernel, native and Xen PV dom0
#   make check-debug-ci       CI's part of it: kmod, nvme_force, lifecycle, lifetime, memory on the
#                             debug kernel without KASAN, native and Xen PV dom0
#   make bench-vm             pvbounce vs the kernel's swiotlb(-xen) throughput in QEMU (not a test)
#   make bench                DMA API map/unmap, sg, sync timings: pvbounce vs swiotlb(-xen),
#                             dma-direct and memcpy in QEMU; tables into docs/speed.md (not a test)
#   make demo                 boot a Xen PV dom0 in QEMU and show pvbounce at work
#   make install              modules_install for the kernel of KDIR (KERNELRELEASE) into
#                             /lib/modules/<release>/updates/, then depmod (INSTALL_MOD_PATH=dir
#                             for a staging root), and make install-tools; make uninstall
#                             removes both
#   make install-tools        pvbounce-stat into $(DESTDIR)$(sbindir) (the version put in),
#                             the man pages into $(DESTDIR)$(mandir); no kernel needed
#                             (DESTDIR defaults to INSTALL_MOD_PATH, prefix to /usr/local)
#   make deb                  $(PVB_BUILD)/deb/pvbounce-dkms_<version>_all.deb (dpkg-buildpackage,
#                             dh-dkms) from a copy of the tree: module sources for DKMS,
#                             pvbounce-stat, the man pages, the commented modprobe.d example
#   make dkms-install         sources to /usr/src/pvbounce-<version>, dkms add, build and install
#                             for KERNELRELEASE; make dkms-remove: dkms remove --all, sources gone
#                             (DKMS_FLAGS: more dkms options, e.g. --dkmstree, --installtree)

KERNELRELEASE ?= $(shell uname -r)
# The kernel to build for: the running one, or the one KDIR or KERNELRELEASE
# names; never another one found elsewhere (check-kdir refuses instead).
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
KDIRS ?= $(shell scripts/kdirs.sh 2>/dev/null)
PROVE ?= prove
# where build-all puts build/<release>/ (tests/vm reads the same variable)
PVB_BUILD ?= build
override PVB_BUILD := $(abspath $(PVB_BUILD))
export PVB_BUILD
# The one version: dkms.conf's (Kbuild passes it to MODULE_VERSION)
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
# the release of the kernel in KDIR, which make install installs for
# (UTS_RELEASE: Debian's 6.1 headers say 6.1.192 in include/config/kernel.release)
KVER = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
INSTALL_MOD_DIR ?= updates
# where install-tools puts the tool and the man pages (a staging root given
# for the module is one for them too)
DESTDIR ?= $(INSTALL_MOD_PATH)
prefix ?= /usr/local
sbindir ?= $(prefix)/sbin
mandir ?= $(prefix)/share/man
DEPMOD ?= depmod
DKMS ?= dkms
# where dkms-install puts the sources (dkms's own default is /usr/src)
DKMS_SOURCE_TREE ?= /usr/src
DKMS_FLAGS ?=
override DKMS_FLAGS += $(if $(filter-out /usr/src,$(DKMS_SOURCE_TREE)),--sourcetree $(DKMS_SOURCE_TREE))

# Files a module build needs; tests/ never goes to DKMS.
MODULE_SOURCES := Kbuild Makefile dkms.conf LICENSE src include scripts

.PHONY: all module check-kdir clean build-all trixie-root sparse unit bench-unit bench-vm bench kmod vm-check check demo \
	install uninstall install-tools uninstall-tools deb dkms-install dkms-remove build-debug check-debug \
	check-debug-ci

all: module

module: check-kdir
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# A module for another kernel than the one asked for fails at insmod
# ("Invalid module format"): without the build tree of that kernel, stop.
check-kdir:
	@test -f "$(KDIR)/Makefile" || { \
		if [ "$(origin KDIR)" != file ]; then \
			echo "pvbounce: no kernel build tree at KDIR=$(KDIR)"; \
		else \
			echo "pvbounce: no headers for kernel $(KERNELRELEASE)$(if $(filter file,$(origin KERNELRELEASE)), (the running one)) ($(KDIR) is missing)."; \
			echo "pvbounce: install linux-headers-$(KERNELRELEASE), or build for another kernel"; \
			echo "pvbounce: with 'make KERNELRELEASE=<release>' or 'make KDIR=<kernel build dir>'."; \
		fi >&2; exit 1; }

clean:
	$(if $(wildcard $(KDIR)/Makefile),$(MAKE) -C $(KDIR) M=$(CURDIR) clean || true)
	rm -rf $(PVB_BUILD)
	$(MAKE) -C tests/unit clean

# build/<release>/ holds a copy of the sources per kernel, so both can be built
# without cleaning between them.
# Debian 13's kernels are built inside the trixie root (gcc-14); made when a
# series of it is asked for (PVB_SERIES unset or naming one)
TRIXIE_SERIES := 6.12-deb13 7.3
trixie-root:
	@if [ -z "$(PVB_SERIES)" ] || [ -n "$(filter $(TRIXIE_SERIES),$(PVB_SERIES))" ]; then \
		scripts/trixie-root.sh >/dev/null; fi

build-all: trixie-root
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
	$(PROVE) -v tests/tools/t_*.sh

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
# cache, in two flavours: with KASAN (native) and without (Xen dom0); the
# modules into $(PVB_BUILD)/<its release>/ like the others.
DEBUG_FLAVOURS ?= native xen
build-debug:
	@set -e; for f in $(DEBUG_FLAVOURS); do \
		[ "$$f" = native ] && f=; \
		k=$$(PVB_DEBUG_FLAVOUR=$$f tests/vm/debug/build-kernel.sh); set -- $$k; \
		scripts/build-one.sh "$$6" "$(PVB_BUILD)/$$3" "$(EXTRA)"; \
	done

# (the groups that boot PVB_KERNELS; matrix and drivers boot kernels of
# their own, ship and domu Debian's; debug adds faults)
check-debug: build-debug
	PVB_KERNELS=6.12-debug PVB_GROUPS="io races life stress iommu debug" tests/vm/run-all.sh

# CI's share of the lane (.ci/run, when make check left it the time): one
# build, the flavour without KASAN, booted natively and as a Xen dom0, with
# the core subset without faults (which runs in check-debug only) and masks
check-debug-ci:
	$(MAKE) --no-print-directory build-debug DEBUG_FLAVOURS=xen
	PVB_DEBUG_FLAVOUR=xen PVB_KERNELS=6.12-debug PVB_GROUPS=debug_ci PVB_SELFTEST=0 \
		tests/vm/run-all.sh

demo:
	tests/vm/demo.sh

# The kernel's modules_install would sign with the kernel's own key, which
# Debian's headers do not carry (sign-file fails, noisily and harmlessly), and
# skips depmod without a System.map: no signing here (DKMS signs with its MOK
# key, see docs/installing.md), and depmod run for the release of KDIR.
define check_kver
	@test -n "$(KVER)" || { echo "no kernel release in KDIR=$(KDIR) (include/generated/utsrelease.h)"; exit 1; }
endef

install: check-kdir
	$(check_kver)
	$(MAKE) module
	@echo "== installing pvbounce $(VERSION) for $(KVER) into $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/"
	$(MAKE) -C $(KDIR) M=$(CURDIR) KERNELRELEASE=$(KVER) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		CONFIG_MODULE_SIG_ALL= modules_install
	$(DEPMOD) -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)
	$(MAKE) --no-print-directory install-tools

uninstall: check-kdir uninstall-tools
	$(check_kver)
	rm -f $(addprefix $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/pvbounce.ko,'' .xz .zst .gz)
	$(DEPMOD) -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)

# The stat tool and the man pages (GNU conventions: DESTDIR, prefix, sbindir,
# mandir); the tool gets the one version where it says @PVB_VERSION@.
install-tools:
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man4 $(DESTDIR)$(mandir)/man8
	sed 's/@PVB_VERSION@/$(VERSION)/' tools/pvbounce-stat >$(DESTDIR)$(sbindir)/pvbounce-stat
	chmod 755 $(DESTDIR)$(sbindir)/pvbounce-stat
	install -m 644 man/pvbounce.4 $(DESTDIR)$(mandir)/man4/pvbounce.4
	install -m 644 man/pvbounce-stat.8 $(DESTDIR)$(mandir)/man8/pvbounce-stat.8

uninstall-tools:
	rm -f $(DESTDIR)$(sbindir)/pvbounce-stat $(DESTDIR)$(mandir)/man4/pvbounce.4 \
		$(DESTDIR)$(mandir)/man8/pvbounce-stat.8

# The Debian package, built in a copy of the tree under $(PVB_BUILD)/deb/
# (dpkg-buildpackage writes into the parent directory of the tree it builds).
DEB_SOURCES := $(MODULE_SOURCES) tools man etc debian README.md docs
deb:
	rm -rf $(PVB_BUILD)/deb
	mkdir -p $(PVB_BUILD)/deb/pvbounce-$(VERSION)
	tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.cmd' --exclude='*.a' $(DEB_SOURCES) | \
		tar -C $(PVB_BUILD)/deb/pvbounce-$(VERSION) -xf -
	cd $(PVB_BUILD)/deb/pvbounce-$(VERSION) && dpkg-buildpackage -us -uc -b
	@ls $(PVB_BUILD)/deb/pvbounce-dkms_$(VERSION)_all.deb

# As users run DKMS: add (once), build, install; tests/ never goes to DKMS.
# --force: a second run rebuilds from the sources just copied (same version).
dkms-install:
	rm -rf $(DKMS_SOURCE_TREE)/pvbounce-$(VERSION)
	mkdir -p $(DKMS_SOURCE_TREE)/pvbounce-$(VERSION)
	tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.cmd' --exclude='*.a' $(MODULE_SOURCES) | \
		tar -C $(DKMS_SOURCE_TREE)/pvbounce-$(VERSION) -xf -
	$(DKMS) status $(DKMS_FLAGS) -m pvbounce -v $(VERSION) | grep -q . || \
		$(DKMS) add $(DKMS_FLAGS) -m pvbounce -v $(VERSION)
	$(DKMS) build --force $(DKMS_FLAGS) -m pvbounce -v $(VERSION) -k $(KERNELRELEASE)
	$(DKMS) install --force $(DKMS_FLAGS) -m pvbounce -v $(VERSION) -k $(KERNELRELEASE)

dkms-remove:
	if $(DKMS) status $(DKMS_FLAGS) -m pvbounce -v $(VERSION) | grep -q .; then \
		$(DKMS) remove $(DKMS_FLAGS) -m pvbounce -v $(VERSION) --all; fi
	rm -rf $(DKMS_SOURCE_TREE)/pvbounce-$(VERSION)
