#!/bin/sh
# SPDX-License-Identifier: MIT
# consume.sh MODULES PREFIX SOURCE OUTDIR
# Builds SOURCE as an outside project would, with nothing but
# `pkg-config --cflags --libs MODULES` (one module, or a quoted list such as
# "libhandle libnear" for a program that also calls libnear itself) against
# the layers installed in PREFIX
# (and nothing else: PKG_CONFIG_PATH names PREFIX only), once linked against
# the shared libnear and once with --static into a static executable, and
# runs both.  CC, CFLAGS, LDFLAGS and RUN (valgrind, for the shared build)
# come from the caller.
set -eu
m=$1 prefix=$2 src=$3 out=$4
name=$(basename "$src" .c)
CC=${CC:-cc}
CFLAGS="${CFLAGS:-} -Wall -Wextra -Werror"
fail() { echo "pkgconfig: FAIL: $m: $*" >&2; exit 1; }

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
for mod in $m; do
	got=$(pkg-config --variable=prefix "$mod") || fail "pkg-config does not find $mod in $prefix"
	[ "$got" = "$prefix" ] || fail "pkg-config found $mod in $got, not $prefix"
done

# Shared: libnear.so from the scratch prefix (LD_LIBRARY_PATH stands for
# whatever rpath or ld.so.conf the outside project uses).
# shellcheck disable=SC2086
flags=$(pkg-config --cflags --libs $m)
echo "pkgconfig: $CC $CFLAGS -o $name $name.c $flags"
# shellcheck disable=SC2086
$CC $CFLAGS -o "$out/$name" "$src" $flags ${LDFLAGS:-}
libdir=$(pkg-config --variable=libdir libnear)
LD_LIBRARY_PATH=$libdir ldd "$out/$name" > "$out/$name.ldd"
# Every persist library it loads comes from the scratch prefix.
grep -q " => $prefix/lib/lib[a-z]*\.so\.0 " "$out/$name.ldd" ||
	fail "$name loads no shared library from $prefix"
for so in "$prefix"/lib/lib*.so.0; do
	so=${so##*/}
	if grep -q "$so => " "$out/$name.ldd" && ! grep -q "$so => $prefix/lib/$so" "$out/$name.ldd"; then
		fail "$name loads $so from outside $prefix"
	fi
done
# shellcheck disable=SC2086
LD_LIBRARY_PATH=$libdir ${RUN:-} "$out/$name" || fail "$name failed"

# Static: pkg-config --static, linked with -static (libnear.a, libpserver.a).
# shellcheck disable=SC2086
flags=$(pkg-config --static --cflags --libs $m)
echo "pkgconfig: $CC $CFLAGS -static -o $name-static $name.c $flags"
# shellcheck disable=SC2086
if ! $CC $CFLAGS -static -o "$out/$name-static" "$src" $flags ${LDFLAGS:-} 2>"$out/$name-static.err"; then
	cat "$out/$name-static.err" >&2
	fail "$name-static does not link"
fi
cat "$out/$name-static.err" >&2
if readelf -d "$out/$name-static" 2>/dev/null | grep -q NEEDED; then
	fail "$name-static needs shared libraries"
fi
# Never under valgrind: it cannot replace a static glibc's malloc and
# reports glibc's own start-up as errors.
env -u LD_LIBRARY_PATH "$out/$name-static" || fail "$name-static failed"
