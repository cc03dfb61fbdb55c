#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what persist needs to build and test, if it is missing.
# On Debian/Ubuntu (as root, or with sudo) it installs the packages; elsewhere
# it prints what to install and fails.  Quiet when everything is present.
set -eu

# package  command-or-file that proves it is installed
NEEDS="
gcc:/usr/bin/gcc
make:/usr/bin/make
pkg-config:/usr/bin/pkg-config
libbsd-dev:/usr/include/bsd/stdlib.h
libcmocka-dev:/usr/include/cmocka.h
libsqlite3-dev:/usr/include/sqlite3.h
sqlite3:/usr/bin/sqlite3
python3:/usr/bin/python3
gcc-aarch64-linux-gnu:/usr/bin/aarch64-linux-gnu-gcc
libc6-dev-arm64-cross:/usr/aarch64-linux-gnu/lib/libc.a
qemu-user:/usr/bin/qemu-aarch64
clang:/usr/bin/clang
libclang-rt-14-dev:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
valgrind:/usr/bin/valgrind
libc6-dev:/usr/include/stdio.h
binutils:/usr/bin/readelf
mandoc:/usr/bin/mandoc
bash:/bin/bash
openssh-server:/usr/sbin/sshd
openssh-client:/usr/bin/ssh
"
# libc6-dev (libc.a) and binutils (readelf): tests/pkgconfig links its
# consumers with -static and checks them.  mandoc: each layer's `make check`
# lints its man pages (mandoc -T lint).  openssh-server and -client:
# tests/ssh runs a real sshd on 127.0.0.1 as the far host.  nix-bin is not installed here
# (make demo runs this script too): tests/nix installs it when it runs.

missing=""
for n in $NEEDS; do
	pkg=${n%%:*} file=${n#*:}
	[ -e "$file" ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "persist needs these packages (Debian names):$missing" >&2
	echo "Install them with your system's package manager, then run make again." >&2
	exit 1
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
