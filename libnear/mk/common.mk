# SPDX-License-Identifier: MIT
# What every persist Makefile shares: the sanitizer flags, the way tests
# run under valgrind, the check of a library's exported symbols, and the
# check and installation of its man pages.  It
# lives once, here, and is installed with libnear as share/near/common.mk
# (`pkg-config --variable=common_mk libnear`), so that libnear, persist-server
# and the layers above (through layer.mk) each still build alone against
# installed lower layers.
#
#   SANITIZE=1  SANFLAGS holds the ASan + UBSan flags (empty otherwise);
#               they go on every compile and link of instrumented code.
#   VALGRIND=1  RUN prefixes each test command with valgrind (empty
#               otherwise).  Set SUPP to --suppressions=FILE options to add.
#               PERSIST_VALGRIND=1 tells the tests they run under valgrind
#               (it cannot follow a CLONE_VM child that is not a thread, and
#               is slower), through env so that RUN also works expanded in
#               a shell variable.
#   $(call check_exports,LIB,PREFIX)
#               a recipe line failing if the shared library LIB defines for
#               others any symbol that does not start with PREFIX.
#   man-check   (a target) lints every mdoc page in MAN_DIR (default man/)
#               with `mandoc -T lint -W warning`.  If MAN_LIB names a library
#               (a .so: `nm -D`; a .a: `nm -g`), it also fails when a function
#               the library exports (MAN_PREFIX*, internal PREFIX_* with a
#               double underscore aside) is named by no section 3 page's NAME
#               (`.Nm`), and when a page names, as `.Nm`, `.Fn` or `.Fo`, a
#               MAN_PREFIX* function that is neither exported nor declared in
#               MAN_HDRS (default include/, for inline functions and macros).
#               A Makefile sets MAN_LIB and adds it as a prerequisite:
#                   MAN_LIB = $(B)/libfoo.so.$(VERSION)
#                   MAN_PREFIX = foo_
#                   man-check: $(MAN_LIB)
#                   check: ... man-check
#               A program's Makefile (persistctl's) sets no MAN_LIB: its pages
#               are linted only.  It needs two lines:
#                   include $(shell $(PKG_CONFIG) --variable=common_mk libnear)
#                   check: ... man-check     install: ... man-install
#   man-install (a target) installs each MAN_DIR/NAME.N under
#               $(DESTDIR)$(PREFIX)/share/man/manN, and for every other `.Nm`
#               of a page's NAME section a symlink, as BSD's MLINKS do, so
#               that `man 3 FUNCTION` finds the page of its family.

SANON    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SANFLAGS := $(if $(SANITIZE),$(SANON))

RUN       = $(if $(VALGRIND),env PERSIST_VALGRIND=1 valgrind -q --error-exitcode=99 \
	    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	    --trace-children=yes $(SUPP))

check_exports = @bad=$$(nm -D --defined-only $(1) | awk '$$2 ~ /^[TDBRVW]$$/ { print $$3 }' \
	| grep -v '^$(2)' || true); \
	if [ -n "$$bad" ]; then echo "$(1) exports symbols outside the $(2) prefix:"; \
	echo "$$bad"; exit 1; fi; echo "exports of $(notdir $(1)): only $(2)*"

# Manual pages.  The targets are defined here once; the Makefile including
# this file keeps its own default goal (the first target it defines).
MAN_DIR   ?= man
MAN_HDRS  ?= include
MAN_PAGES  = $(wildcard $(MAN_DIR)/*.[1-9])
# The names a page's NAME section gives (`.Nm a , b`): one a line.
man_names  = awk '/^\.Sh /{ n = ($$2 == "NAME") } n && /^\.Nm /{ print $$2 }'
MAN_GOAL  := $(.DEFAULT_GOAL)

# A recipe line: every function MAN_LIB exports is named, and no page
# names one that does not exist.  (MAN_LIB is read when the recipe runs:
# a Makefile sets it after including this file.)
define man_exports_check
	@set -e; exported=$$($(if $(filter %.a,$(MAN_LIB)),nm -g,nm -D) --defined-only $(MAN_LIB) \
		| awk '$$2 ~ /^[TDBRVW]$$/ { sub(/@.*/, "", $$3); print $$3 }' | grep '^$(MAN_PREFIX)' | grep -v '__' | sort -u); \
	named=$$(for p in $(filter %.3,$(MAN_PAGES)); do $(man_names) $$p; done | sort -u); \
	missing=$$(echo "$$exported" | grep -vxF "$$named" || true); \
	if [ -n "$$missing" ]; then echo "man-check: exported by $(notdir $(MAN_LIB)) but named by no page's NAME in $(MAN_DIR)/ (add .Nm and .Fn):"; \
		echo "$$missing"; exit 1; fi; \
	bad=""; for f in $$(awk '/^\.(Nm|Fn|Fo) $(MAN_PREFIX)/ { print $$2 }' $(filter %.3,$(MAN_PAGES)) | sort -u); do \
		echo "$$exported" | grep -qxF "$$f" || grep -rqw -- "$$f" $(MAN_HDRS) 2>/dev/null || bad="$$bad $$f"; done; \
	if [ -n "$$bad" ]; then echo "man-check: pages in $(MAN_DIR)/ name functions that $(notdir $(MAN_LIB)) does not export and $(MAN_HDRS)/ does not declare:$$bad"; exit 1; fi; \
	echo "man pages name all $$(echo "$$exported" | wc -l) functions $(notdir $(MAN_LIB)) exports"
endef

man-check:
	@command -v mandoc >/dev/null || { echo "man-check: mandoc is missing (Debian: apt-get install mandoc)"; exit 1; }
	@set -e; pages='$(MAN_PAGES)'; [ -n "$$pages" ] || { echo "man-check: no pages in $(MAN_DIR)/"; exit 0; }; \
	mandoc -T lint -W warning $$pages || { echo "man-check: the pages above do not lint"; exit 1; }; \
	echo "man pages lint: $(notdir $(MAN_PAGES))"
	$(if $(MAN_LIB),$(man_exports_check))

man-install:
	@set -e; for p in $(MAN_PAGES); do s=$${p##*.}; d=$(DESTDIR)$(PREFIX)/share/man/man$$s; \
		install -d $$d; install -m 644 $$p $$d/; page=$${p##*/}; \
		for n in $$($(man_names) $$p); do [ "$$n.$$s" = "$$page" ] || ln -sf $$page $$d/$$n.$$s; done; \
		echo "installed $$d/$$page"; done

.DEFAULT_GOAL := $(MAN_GOAL)
.PHONY: man-check man-install
