# SPDX-License-Identifier: MIT
# What every persist Makefile shares: the sanitizer flags, the way tests
# run under valgrind, and the check of a library's exported symbols.  It
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

SANON    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SANFLAGS := $(if $(SANITIZE),$(SANON))

RUN       = $(if $(VALGRIND),env PERSIST_VALGRIND=1 valgrind -q --error-exitcode=99 \
	    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	    --trace-children=yes $(SUPP))

check_exports = @bad=$$(nm -D --defined-only $(1) | awk '$$2 ~ /^[TDBRVW]$$/ { print $$3 }' \
	| grep -v '^$(2)' || true); \
	if [ -n "$$bad" ]; then echo "$(1) exports symbols outside the $(2) prefix:"; \
	echo "$$bad"; exit 1; fi; echo "exports of $(notdir $(1)): only $(2)*"
