#!/bin/sh
# SPDX-License-Identifier: MIT
# The bash completion (completion/persistctl.bash): sourced into bash, its
# function called as bash calls it (COMP_WORDS, COMP_CWORD), COMPREPLY
# checked: commands, options, option values, and the ids and names of the
# children of a real state directory (from 'persistctl ps --json').
#   PERSISTCTL=build/persistctl sh tests/test_completion.sh
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
P=${PERSISTCTL:-build/persistctl}
case $P in /*) ;; *) P=$(pwd)/$P ;; esac
[ -x "$P" ] || { echo "no persistctl at $P (build it first)"; exit 1; }
COMPLETION=$(cd "$(dirname "$0")/.." && pwd)/completion/persistctl.bash
T=$(mktemp -d /tmp/pctl-comp.XXXXXX)
export PERSIST_STATE_DIR=$T/s
unset PERSIST_CRASH_AT XDG_RUNTIME_DIR || true
TO=${PERSISTCTL_TEST_TIMEOUT:-30}
passed=0 failed=0
cleanup() {
	timeout "$TO" "$P" --state "$T/s" stop --grace 0 >/dev/null 2>&1
	timeout "$TO" "$P" --state "$T/other" stop --grace 0 >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# shellcheck source=../completion/persistctl.bash
. "$COMPLETION"
# complete WORD...: complete the last word (COMP_WORDS[0] is our persistctl);
# the answer, sorted, on one line.
complete_() {
	COMP_WORDS=("$P" "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_persistctl
	printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}
expect() { # expect DESCRIPTION WANT WORD...
	d=$1 want=$2; shift 2
	got=$(complete_ "$@")
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1)); echo "ok   $d"
	else
		failed=$((failed + 1)); echo "FAIL $d: got [$got], want [$want]"
	fi
}

complete -p persistctl 2>/dev/null | grep -q '_persistctl persistctl$' &&
	{ passed=$((passed + 1)); echo "ok   complete -F _persistctl persistctl"; } ||
	{ failed=$((failed + 1)); echo "FAIL complete -p persistctl"; }
expect "commands" "recover-store restart run" r
expect "every command" "close fds help kill listen logs ps recover-store restart run start status stop wait" ""
expect "global options" "--help --state --version" --
mkdir -p "$T/dirs/only"
: >"$T/dirs/file"
expect "--state takes a directory" "$T/dirs/only" --state "$T/dirs/"
expect "after --state DIR, the commands" "stop" --state "$T/s" sto
expect "logs options" "--follow --help --stderr --stdout" logs --
expect "ps options" "--help --json --name --state" ps --
expect "ps --state values" "running" ps --state r
expect "run options" "-- --cwd --env --fd --help --json --name --stdin" run --
expect "restart options" "--grace --help --json" restart --

# Children: ids and names from ps --json, of the directory asked for.
id1=$(timeout "$TO" "$P" run --name web -- sleep 100)
id2=$(timeout "$TO" "$P" run -- true)
timeout "$TO" "$P" wait "$id2" >/dev/null
expect "wait: ids and names" "$id1 $id2 web" wait ""
expect "restart: a name by its start" "web" restart w
expect "logs -f: ids after an option" "$id1 $id2 web" logs -f ""
expect "kill: the child, then signals" "TERM" kill web TE
expect "kill: nothing after the signal" "" kill web TERM ""
expect "ps --name: names only" "web" ps --name ""
expect "wait: one child only" "" wait web ""
expect "--state DIR before the command: that directory's children" "" \
	--state "$T/other" wait ""
expect "run -- : commands" "sleep" run --name x -- slee
expect "run --cwd: directories" "$T/dirs/only" run --cwd "$T/dirs/"
expect "run --stdin: files" "$T/dirs/file $T/dirs/only" run --stdin "$T/dirs/"
expect "run -- CMD: then files" "$T/dirs/file $T/dirs/only" run -- cat "$T/dirs/"

echo "== $passed passed, $failed failed"
[ "$failed" = 0 ]
