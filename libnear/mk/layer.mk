# SPDX-License-Identifier: MIT
# The build of a persist library layer above libnear, shipped with libnear
# (installed as share/near/layer.mk, named by `pkg-config --variable=layer_mk
# libnear`), so that each layer still builds alone against installed lower
# layers while the rules live in one place.  A layer's Makefile sets
#
#   NAME       the prefix: libNAME, include/NAME/, NAME_* symbols
#   DEPS       pkg-config modules it builds and links against
#   VERSION    its version
#   TEST_DEPS  (optional) more modules for its tests only, e.g. pserver
#
# then includes this file, and may add rules after it.  Targets: all check
# install clean, honouring CC CFLAGS LDFLAGS PREFIX DESTDIR; SANITIZE=1
# builds with ASan + UBSan (in build-san/), VALGRIND=1 runs the tests under
# valgrind.
#
# A layer's Makefile finds this file with one line:
#   include $(or $(shell $(PKG_CONFIG) --variable=layer_mk libnear 2>/dev/null),$(error ...))
.DELETE_ON_ERROR:
.SUFFIXES:

# common.mk sits beside this file, in the tree and once installed.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk

SOMAJOR  ?= 0
PREFIX   ?= /usr/local
CFLAGS   ?= -O2 -g
PKG_CONFIG ?= pkg-config
B        := build$(if $(SANITIZE),-san)

ifeq ($(shell $(PKG_CONFIG) --exists $(DEPS) && echo yes),)
$(error $(DEPS) not found by pkg-config: install it and set PKG_CONFIG_PATH)
endif
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(DEPS))
DEP_LIBS   := $(shell $(PKG_CONFIG) --libs $(DEPS)) \
	      $(foreach d,$(DEPS),-Wl,-rpath,$(shell $(PKG_CONFIG) --variable=libdir $(d)))
TEST_LIBS   = $(shell $(PKG_CONFIG) --cflags --libs $(TEST_DEPS) cmocka)
# A layer whose tests drive the server loop gets its executable's path and
# its valgrind suppressions (the loop hands bad addresses to the kernel on
# purpose).
SERVER_EXE  = $(if $(filter pserver,$(DEPS) $(TEST_DEPS)),$(shell $(PKG_CONFIG) --variable=persist_server pserver))
SUPP        = $(if $(filter pserver,$(DEPS) $(TEST_DEPS)),--suppressions=$(shell $(PKG_CONFIG) --variable=suppressions pserver))
XCFLAGS  := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -fPIC -fvisibility=hidden \
	    -Iinclude -Isrc $(DEP_CFLAGS) $(SANFLAGS)
OBJS     := $(patsubst src/%.c,$(B)/%.o,$(wildcard src/*.c))
TESTS    := $(patsubst tests/%.c,$(B)/%,$(wildcard tests/test_*.c))
SAMPLES  := $(patsubst samples/%.c,$(B)/sample_%,$(wildcard samples/*.c))
LIB      := lib$(NAME)

all: $(B)/$(LIB).so.$(VERSION) $(B)/$(LIB).a

$(B)/%.o: src/%.c $(wildcard include/$(NAME)/*.h src/*.h) | $(B)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<
$(B)/$(LIB).so.$(VERSION): $(OBJS) $(LIB).sym
	$(CC) -shared -Wl,-soname,$(LIB).so.$(SOMAJOR) -Wl,--version-script=$(LIB).sym \
		$(SANFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(DEP_LIBS)
	ln -sf $(LIB).so.$(VERSION) $(B)/$(LIB).so.$(SOMAJOR)
	ln -sf $(LIB).so.$(VERSION) $(B)/$(LIB).so
$(B)/$(LIB).a: $(OBJS)
	rm -f $@ && $(AR) rcs $@ $(OBJS)
$(B):
	mkdir -p $@

# Tests link the objects directly so internals stay testable.
$(B)/test_%: tests/test_%.c $(wildcard tests/*.h) $(OBJS)
	$(CC) $(XCFLAGS) $(CFLAGS) $(if $(SERVER_EXE),-DPERSIST_SERVER_EXE='"$(SERVER_EXE)"') \
		-o $@ $< $(OBJS) $(LDFLAGS) $(DEP_LIBS) $(TEST_LIBS)
$(B)/sample_%: samples/%.c $(B)/$(LIB).so.$(VERSION)
	$(CC) $(XCFLAGS) $(CFLAGS) -o $@ $< -L$(B) -l$(NAME) -Wl,-rpath,$(abspath $(B)) $(LDFLAGS) $(DEP_LIBS)

# Every function the library exports has a page in man/ (common.mk).
MAN_LIB    = $(B)/$(LIB).so.$(VERSION)
MAN_PREFIX = $(NAME)_
man-check: $(MAN_LIB)

check: all $(TESTS) $(SAMPLES) man-check
	@set -e; for t in $(TESTS); do echo "== $$t"; $(RUN) $$t; done
	@set -e; for s in $(SAMPLES); do echo "== $$s"; $(RUN) $$s >/dev/null; done
	$(call check_exports,$(B)/$(LIB).so.$(VERSION),$(NAME)_)

install: all man-install
	install -d $(DESTDIR)$(PREFIX)/include/$(NAME) $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/$(NAME)/*.h $(DESTDIR)$(PREFIX)/include/$(NAME)/
	install -m 755 $(B)/$(LIB).so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(LIB).so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(LIB).so.$(SOMAJOR)
	ln -sf $(LIB).so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(LIB).so
	install -m 644 $(B)/$(LIB).a $(DESTDIR)$(PREFIX)/lib/
	# The .pc is written at install time: it must name the install PREFIX.
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $(LIB).pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/$(LIB).pc

clean:
	rm -rf build build-*

.PHONY: all check install clean
