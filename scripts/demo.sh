#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job: a scripted walk-through of persistctl.  A persistent server
# runs two commands; a controller is killed with SIGKILL in the middle of
# its work; a new controller finds everything: the running child still
# running, the ended child's exit status kept.  Exits non-zero if what it
# shows is not what happened.
set -eu
P=${PERSISTCTL:-persistctl}
export PERSIST_STATE_DIR="$(mktemp -d /tmp/persist-demo-XXXXXX)"
trap '"$P" stop --grace 1 >/dev/null 2>&1 || true; rm -rf "$PERSIST_STATE_DIR"' EXIT

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() { printf '$ persistctl %s\n' "$*" >&2; "$P" "$@"; }
fail() { echo "demo: $*" >&2; exit 1; }

say "state directory $PERSIST_STATE_DIR"
run start
say "two commands, children of the persistent server"
long=$(run run --name sleeper -- sleep 600)
echo "$long"
short=$(run run --name counter -- sh -c 'for i in 1 2 3; do echo tick $i; sleep 0.3; done; exit 7')
echo "$short"

say "a controller waits for the counter, and is killed with SIGKILL after reading its exit status but before recording it"
printf '$ PERSIST_CRASH_AT=wait:after-wnowait persistctl wait %s\n' "$short"
set +e
PERSIST_CRASH_AT=wait:after-wnowait "$P" wait "$short"
rc=$?
set -e
[ "$rc" -eq 137 ] || fail "the controller was not killed (exit $rc)"
echo "(controller killed: exit status $rc = 128 + SIGKILL)"

say "a new controller finds everything"
run ps
json=$("$P" ps --json)
state_of() { printf '%s' "$json" | python3 -c "import json,sys; print([c for c in json.load(sys.stdin) if c['id']==$1][0]['$2'])"; }
[ "$(state_of "$long" state)" = running ] || fail "the sleeper is not running"
[ "$(state_of "$short" state)" = exited ] || fail "the counter's end was not recorded"
[ "$(state_of "$short" exit_code)" = 7 ] || fail "the counter's exit code was lost"
set +e
run wait "$short"
rc=$?
set -e
[ "$rc" -eq 7 ] || fail "wait should exit with the counter's code 7, not $rc"
run logs "$short"
run status

say "stop: TERM the children, record their statuses, end the server; the store stays"
run stop --grace 2
run ps
[ "$("$P" ps --json | python3 -c "import json,sys; print(sum(c['state']=='running' for c in json.load(sys.stdin)))")" = 0 ] ||
	fail "a child still runs after stop"
say "demo ok"
