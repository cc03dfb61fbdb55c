# SPDX-License-Identifier: MIT
# persist: build every layer in dependency order into a staging prefix, each
# finding the layers below it through pkg-config exactly as an outside
# project would.
#   make | make check | make bench | make demo | make install PREFIX= DESTDIR= | make clean
#   make soak SOAK_SECONDS=N: the chaos test (tests/chaos) for N seconds
#   (default 600), summed up at the end; not part of check.
#   SANITIZE=1: everything with ASan + UBSan (its own build and staging dirs).
.DELETE_ON_ERROR:

PREFIX  ?= /usr/local
STAGE   := $(CURDIR)/build/stage$(if $(SANITIZE),-san)
export PKG_CONFIG_PATH := $(STAGE)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
export PERSIST_SERVER_EXE := $(STAGE)/bin/persist-server
# In dependency order.
LAYERS  := libnear persist-server libfar libhandle libtransport libpersist persistctl

all: persist-server libfar libhandle libtransport libpersist persistctl

# Installs the build and test dependencies when missing (Debian/Ubuntu).
deps:
	@sh scripts/deps.sh

# Each layer installs into the stage; the next one is built against it.
libnear: deps
	$(MAKE) -C libnear install PREFIX=$(STAGE)
persist-server: libnear
	$(MAKE) -C persist-server install PREFIX=$(STAGE)
libfar: libnear
	$(MAKE) -C libfar install PREFIX=$(STAGE)
libhandle: libfar
	$(MAKE) -C libhandle install PREFIX=$(STAGE)
# libtransport's tests drive the real server loop, hence persist-server.
libtransport: libfar persist-server
	$(MAKE) -C libtransport install PREFIX=$(STAGE)
libpersist: libtransport libhandle persist-server
	$(MAKE) -C libpersist install PREFIX=$(STAGE)
# The command line: a client of libpersist's session, like any outside program.
persistctl: libpersist
	$(MAKE) -C persistctl install PREFIX=$(STAGE)

check: all
	$(MAKE) -C libnear check
	$(MAKE) -C persist-server check
	$(MAKE) -C libfar check
	$(MAKE) -C libhandle check
	$(MAKE) -C libtransport check
	$(MAKE) -C libpersist check
	$(MAKE) -C persistctl check
	$(MAKE) -C examples check
	$(MAKE) -C tests check
	$(MAKE) -C tests/arch check
	$(MAKE) -C tests/pkgconfig check
	$(MAKE) -C tests/nix check
	$(MAKE) -C tests/ssh check
	$(if $(SANITIZE),@echo "tests/fuzz: skipped under SANITIZE=1 (the fuzzer is always built with ASan + UBSan)",$(MAKE) -C tests/fuzz check)

SOAK_SECONDS ?= 600
soak: all
	$(MAKE) -C tests/chaos soak SOAK_SECONDS=$(SOAK_SECONDS)

bench: all
	$(MAKE) -C bench run OUT=$(CURDIR)/build/bench.json

# The main job: persistctl's walk-through (scripts/demo.sh).
demo: all
	PERSISTCTL=$(STAGE)/bin/persistctl sh scripts/demo.sh

# The foundation's demo: persist-server outliving a controller, through the
# wire protocol alone.
demo-server: all
	$(MAKE) -C tests demo

# The layers above libnear are built afresh against the installed lower
# layers, in order, so their rpaths name PREFIX and not the staging area.
install:
	$(MAKE) -C libnear install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	set -e; for d in $(filter-out libnear,$(LAYERS)); do \
		PKG_CONFIG_PATH=$(DESTDIR)$(PREFIX)/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(DESTDIR) \
		$(MAKE) -C $$d B=build-install install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR); done

clean:
	for d in $(LAYERS) tests tests/arch tests/pkgconfig tests/nix tests/ssh tests/fuzz bench; do $(MAKE) -C $$d clean; done
	rm -rf build

.PHONY: all deps check soak bench demo demo-server install clean $(LAYERS)
