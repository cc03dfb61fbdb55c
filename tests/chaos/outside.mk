# SPDX-License-Identifier: MIT
# What the tests built like outside programs share (tests/chaos and
# tests/limits): libpersist found through pkg-config, the rules every
# persist Makefile shares (SANFLAGS, RUN) as installed with libnear, and
# the tree's libpersist/tests/proc_view.h (the /proc reader the session's
# own tests use).  The including Makefile sets B and adds its modules.
# Before any include: the directory of this file.
PROC_VIEW    := $(dir $(lastword $(MAKEFILE_LIST)))../../libpersist/tests
PKG_CONFIG ?= pkg-config
ifeq ($(shell $(PKG_CONFIG) --exists libpersist && echo yes),)
$(error libpersist not found by pkg-config: install it and set PKG_CONFIG_PATH)
endif
include $(shell $(PKG_CONFIG) --variable=common_mk libnear)
SUPP          = --suppressions=$(shell $(PKG_CONFIG) --variable=suppressions pserver)
OUTSIDE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -I$(PROC_VIEW) $(SANFLAGS)
OUTSIDE_LIBS := -Wl,-rpath,$(shell $(PKG_CONFIG) --variable=libdir libpersist)
