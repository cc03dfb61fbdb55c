#!/bin/sh
# SPDX-License-Identifier: MIT
# check-exports.sh LIB PREFIX: every symbol LIB defines for others starts with PREFIX.
set -eu
bad=$(nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | grep -v "^$2" || true)
if [ -n "$bad" ]; then
	echo "$1 exports symbols outside the $2 prefix:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "exports of $1: only $2*"
