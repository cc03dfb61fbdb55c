#!/bin/sh
# SPDX-License-Identifier: MIT
# persistctl end to end: the real binary against temporary state directories,
# with real SIGKILLs of the controller at each crash point.  Every command runs
# under timeout(1), so nothing here can hang.
#   PERSISTCTL=build/persistctl [PERSIST_SERVER_EXE=...] sh tests/test_persistctl.sh
set -u
P=${PERSISTCTL:-build/persistctl}
case $P in /*) ;; *) P=$(pwd)/$P ;; esac
[ -x "$P" ] || { echo "no persistctl at $P (build it first)"; exit 1; }
T=$(mktemp -d /tmp/pctl.XXXXXX)
S=$T/s
export PERSIST_STATE_DIR="$S"
unset PERSIST_CRASH_AT XDG_RUNTIME_DIR || true
TO=${PERSISTCTL_TEST_TIMEOUT:-30}
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { # with what the last persistctl (r) said, for a failure seen in CI
	failed=$((failed + 1))
	echo "FAIL $*"
	echo "     last command: rc=${rc:-} out=$(printf '%s' "${out:-}" | head -c 400)" \
		"err=$(printf '%s' "${err:-}" | head -c 400)"
}
check() { # check DESCRIPTION COMMAND...: the command must succeed
	d=$1; shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
pc() { timeout "$TO" "$P" "$@"; }

cleanup() {
	for d in "$T"/*; do
		[ -d "$d" ] || continue
		timeout "$TO" "$P" --state "$d" stop --grace 0 >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# Run: out, err and rc of a persistctl invocation.
r() {
	pc "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}
# ps --json through python: `psj EXPR` prints EXPR over d (the list) and
# fails if the output is not JSON with exactly the documented keys.
psj() {
	pc ps --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
keys = {"id", "name", "pid", "state", "exit_code", "signal", "argv", "started", "ended",
	"restart_of", "cwd", "host"}
for o in d:
    assert set(o) == keys, sorted(o)
    assert isinstance(o["argv"], list) and all(isinstance(a, str) for a in o["argv"])
    assert o["state"] in ("intent", "running", "exited", "killed", "lost"), o
    assert o["host"] is None, o  # every thread of these tests is on this host
byid = {o["id"]: o for o in d}
print(eval(sys.argv[1]))' "$1"
}
field() { psj "byid[$1][\"$2\"]"; }
gone() { [ ! -e "/proc/$1" ]; }
zombie() { [ -e "/proc/$1/stat" ] && sed 's/.*) //' "/proc/$1/stat" | grep -q '^Z'; }
# The server of a state dir ended: gone, or a zombie left to its parent
# (init here; if init does not reap orphans, that is the system's, not ours).
server_ended() {
	# One read of its stat: a zombie reaped between two reads is gone.
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -n "$st" ] || return 0
	case $st in Z*) ;; *) return 1 ;; esac
	ppid=$(echo "$st" | cut -d' ' -f2)
	[ "$ppid" = 1 ] && echo "note: server pid $1 is a zombie of pid 1, which does not reap orphans here"
	[ "$ppid" = 1 ]
}
ended() { gone "$1" || zombie "$1"; } # a zombie of another parent is theirs to reap
# A grandchild gets its signal with its group but dies on its own time:
# give it (a bounded) moment.
ended_soon() {
	i=0
	while [ $i -lt 100 ]; do ended "$1" && return 0; sleep 0.05; i=$((i + 1)); done
	return 1
}
fds() { ls "/proc/$1/fd" | wc -l; }
# A persistctl wait (pid $1) sleeps: its session is open (the store), it has
# let go of the lock, and it waits on a pidfd (the session's wait does when
# the thread shares our pid namespace).  The store alone is not enough: it
# is open before the lock is taken.
# Without pidfds (valgrind 3.19 has none) the session looks in slices,
# taking the lock for each look and letting go in between; opening the
# session and the first look hold it too.  Seen holding the lock once and
# then not, the store still open: past the first look, so asleep.  (A fixed
# pause after the first sighting without the lock was not enough: under
# valgrind on a busy machine the open itself could take longer, and the
# child then ended before the wait's first look.)
asleep() {
	fdl=$(ls -l "/proc/$1/fd" 2>/dev/null)
	if echo "$fdl" | grep -q "$S/lock\$"; then
		touch "$T/held.$1"
		return 1
	fi
	echo "$fdl" | grep -q "$S/state.db\$" || return 1
	if [ -n "${PERSIST_VALGRIND:-}" ]; then
		[ -e "$T/held.$1" ]
	else
		echo "$fdl" | grep -q 'anon_inode:\[pidfd\]'
	fi
}
# Wait (bounded) until asleep $1: 0 once seen asleep, 1 if 20 s passed.
# Seen once is what there is to see: between its looks (valgrind: no
# pidfds) a wait takes the lock again for a moment.  Looks often: under
# valgrind the lock must be seen held once.
until_asleep() {
	i=0; while [ $i -lt 1000 ]; do asleep "$1" && return 0; sleep 0.02; i=$((i + 1)); done
	return 1
}
# Wait up to $TO s for our background process $1 to end (SIGKILL it then):
# its exit status in rc.
reap_bg() {
	i=0; while [ $i -lt $((TO * 20)) ] && [ -d "/proc/$1" ] && ! zombie "$1"; do
		sleep 0.05; i=$((i + 1)); done
	if [ -d "/proc/$1" ] && ! zombie "$1"; then kill -9 "$1"; fi
	wait "$1"; rc=$?
}

echo "== usage"
r; check "no command: exit 2" [ $rc = 2 ]
check "no command: says what to do" sh -c "echo \"\$1\" | grep -q -- --help" x "$err"
r bogus; check "unknown command: exit 2 with message" sh -c "[ $rc = 2 ] && echo \"\$1\" | grep -q bogus" x "$err"
r run; check "run without a command: exit 2" [ $rc = 2 ]
r run --nope -- true; check "unknown option: exit 2" [ $rc = 2 ]
r wait; check "wait without an id: exit 2" [ $rc = 2 ]
r wait 1x; check "wait with a bad id: exit 2" [ $rc = 2 ]
r kill 1 NOSUCHSIG; check "kill with a bad signal: exit 2 with message" sh -c "[ $rc = 2 ] && echo \"\$1\" | grep -q NOSUCHSIG" x "$err"
r stop --grace x; check "stop --grace x: exit 2" [ $rc = 2 ]
r --version; check "--version" sh -c "[ $rc = 0 ] && echo \"\$1\" | grep -q persistctl" x "$out"
r --help; check "--help" sh -c "[ $rc = 0 ] && echo \"\$1\" | grep -q Usage" x "$out"
for c in start run ps wait kill logs status stop restart listen fds close recover-store; do
	r "$c" --help
	check "$c --help" sh -c "[ $rc = 0 ] && echo \"\$1\" | grep -q 'Usage: persistctl'" x "$out"
done
check "usage errors created no state" [ ! -e "$S" ]

echo "== state directory"
mkdir -m 755 "$T/open"
r --state "$T/open" ps
check "group/other-accessible state dir refused (exit 1, says chmod 700)" \
	sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'chmod 700'" x "$err"
r --state "$T/missing/deeper" ps
check "state dir with a missing parent: exit 1" [ $rc = 1 ]
rmdir "$T/open"

echo "== state directory given as a symbolic link"
# Anyone may plant a symlink where a state directory will be (/tmp): one is
# refused even when it leads to a private directory of ours, nothing is
# created through it, and no message suggests a chmod through a link
# (chmod follows it).
mkdir -m 700 "$T/real"
ln -s "$T/real" "$T/link"
for c in start ps status stop "wait 1" "kill 1" "logs 1" "run -- true"; do
	r --state "$T/link" $c
	check "symlink to a 0700 dir of ours: $c refused (exit 1, says it is a symbolic link)" \
		sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'is a symbolic link'" x "$err"
	check "symlink: $c suggests no chmod" sh -c "! echo \"\$1\" | grep -q chmod" x "$err"
done
PERSIST_STATE_DIR=$T/link r run -- true
check "PERSIST_STATE_DIR a symlink: refused (exit 1)" \
	sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'is a symbolic link'" x "$err"
r --state "$T/link/" run -- true
check "symlink named with a trailing slash: refused too (exit 1)" \
	sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'is a symbolic link'" x "$err"
check "nothing (sock, state.db, lock, logs) created in the link's target" [ -z "$(ls -A "$T/real")" ]
check "the link is left as it was" [ "$(readlink "$T/link")" = "$T/real" ]
mkdir -m 755 "$T/shared"
ln -s "$T/shared" "$T/link2"
r --state "$T/link2" ps
check "symlink to a group/other-accessible dir: refused, no chmod suggested" \
	sh -c "[ $rc = 1 ] && ! echo \"\$1\" | grep -q chmod" x "$err"
check "... and nothing created there" [ -z "$(ls -A "$T/shared")" ]
mkdir -m 700 "$T/rparent"
mkdir -m 755 "$T/rparent/s"
ln -s "$T/rparent" "$T/lparent"
r --state "$T/lparent/s" ps
check "open dir under a symlinked parent: refused; a chmod suggested names the real path" \
	sh -c "[ $rc = 1 ] && ! echo \"\$1\" | grep -q 'chmod.*lparent' &&
		{ ! echo \"\$1\" | grep -q chmod || echo \"\$1\" | grep -q \"chmod 700 $T/rparent/s'\"; }" x "$err"
rm -rf "$T/real" "$T/link" "$T/shared" "$T/link2" "$T/rparent" "$T/lparent"

echo "== start, run, wait, logs, kill, ps, status"
r start; spid=$out
check "start prints a pid" sh -c "[ $rc = 0 ] && [ -d /proc/$spid ]"
check "state dir created 0700" [ "$(stat -c %a "$S")" = 700 ]
r start; check "start again: same pid" [ "$rc:$out" = "0:$spid" ]
fds0=$(fds "$spid")
r run -- sh -c 'echo to-out; echo to-err >&2; exit 3'; id1=$out
check "run prints an id" [ "$rc:$id1" = 0:1 ]
r wait "$id1"; check "wait: exit 3 -> exits 3, says 'exited 3'" [ "$rc:$out" = "3:exited 3" ]
r wait "$id1"; check "wait again answers from the store" [ "$rc:$out" = "3:exited 3" ]
check "logs directory 0700" [ "$(stat -c %a "$S/logs")" = 700 ]
r logs "$id1"; check "logs: stdout then stderr" [ "$out" = "to-out
to-err" ]
r logs --stderr "$id1"; check "logs --stderr" [ "$out" = "to-err" ]
r run --name sleeper -- sleep 100; id2=$out
check "run --name" [ "$rc" = 0 ]
check "ps: running with a pid" [ "$(field "$id2" state):$(field "$id2" name)" = "running:sleeper" ]
pid2=$(field "$id2" pid)
check "the child is the server's, in its own session" \
	[ "$(sed 's/.*) //' /proc/$pid2/stat | cut -d' ' -f2,4)" = "$spid $pid2" ]
r run --name sleeper -- sleep 1; check "duplicate running name refused (exit 1)" [ $rc = 1 ]
r kill "$id2"; check "kill (default TERM)" [ $rc = 0 ]
r wait sleeper; check "wait by name: killed -> 143, 'killed by SIGTERM'" [ "$rc:$out" = "143:killed by SIGTERM" ]
check "killed child reaped" gone "$pid2"
r kill "$id2"; check "kill of an ended child refused with a message (exit 1)" \
	sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'not running'" x "$err"
r run -- sleep 100; id3=$out
r kill "$id3" SIGKILL; r wait "$id3"; check "kill ID SIGKILL -> 137" [ "$rc:$out" = "137:killed by SIGKILL" ]
r run -- sleep 100; id4=$out
r kill "$id4" 2; r wait "$id4"; check "kill ID 2 -> killed by SIGINT" [ "$rc:$out" = "130:killed by SIGINT" ]
r run -- /no/such/program; check "run of a missing program: exit 1 with message" \
	sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q /no/such/program" x "$err"
r wait 999; check "unknown id: exit 1, 'no child 999 ... ps'" \
	sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'no child 999.*ps'" x "$err"
r logs 999; check "logs of an unknown id: exit 1" [ $rc = 1 ]
r kill nosuchname; check "kill of an unknown name: exit 1" [ $rc = 1 ]
check "ps --json has the exact keys and ids" [ "$(psj 'sorted(byid)')" = "[1, 2, 3, 4, 5]" ]
check "ps --json: exit_code and signal" [ "$(psj '[(o["exit_code"], o["signal"]) for o in d[:4]]')" = "[(3, None), (None, 15), (None, 9), (None, 2)]" ]
check "ps --json: failed spawn is lost, without pid" [ "$(field 5 state):$(field 5 pid)" = "lost:None" ]
check "ps --json: times are ISO-8601 UTC" [ "$(psj 'all(o["started"].endswith("Z") and "T" in o["started"] and (o["ended"] is None or o["ended"].endswith("Z")) for o in d)')" = True ]
r ps; check "ps (table)" sh -c "[ $rc = 0 ] && echo \"\$1\" | grep -q 'sleep 100'" x "$out"
r status; check "status names the server pid" sh -c "[ $rc = 0 ] && echo \"\$1\" | grep -q 'running, pid $spid'" x "$out"
check "status --json" [ "$(pc status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["running"], s["pid"], s["children"]["exited"], s["children"]["killed"], s["total"])')" = "True $spid 1 3 5" ]
check "no fd leaked in the server after 5 controllers' runs and waits" [ "$(fds "$spid")" = "$fds0" ]
# A child with non-UTF-8 bytes and control characters in argv: JSON stays valid.
r run -- sh -c 'exit 0' "$(printf 'q"b\\\001\377x')"; idj=$out
r wait "$idj"
check "argv with quotes, backslash, control and non-UTF-8 bytes: valid JSON" \
	[ "$(psj "byid[$idj]['argv'][3]")" = "$(printf 'q"b\\\001\357\277\275x')" ]

echo "== wait lets go of the thread while it sleeps"
r run -- sleep 100; idw=$out
"$P" wait "$idw" >"$T/w.out" 2>"$T/w.err" & wp=$!
check "wait blocks, its session open and the lock let go" until_asleep "$wp"
# Well within the session's 60 s wait for the lock.
timeout "${PERSISTCTL_KILL_TIMEOUT:-15}" "$P" kill "$idw" >"$T/out" 2>"$T/err"; rc=$?; err=$(cat "$T/err")
check "kill from another shell while wait blocks: done at once (exit 0)" [ $rc = 0 ]
reap_bg "$wp"; out=$(cat "$T/w.out"); err=$(cat "$T/w.err")
check "the blocked wait saw it: 143, 'killed by SIGTERM'" [ "$rc:$out" = "143:killed by SIGTERM" ]
r ps; check "wait holds no lock afterwards (ps runs)" [ $rc = 0 ]
r run -- sleep 100; idw=$out
r wait --timeout 0.3 "$idw"
check "wait --timeout: exit 124, says it still runs" \
	sh -c "[ $rc = 124 ] && echo \"\$1\" | grep -q 'still runs'" x "$err"
check "wait --timeout: the child runs on" [ "$(field "$idw" state)" = running ]
r kill "$idw" KILL; r wait "$idw"
check "... and is waited for later: 137" [ "$rc:$out" = "137:killed by SIGKILL" ]

echo "== crash points (SIGKILL of the controller, then a new controller)"
n0=$(psj 'len(d)')
PERSIST_CRASH_AT=run:before-intent pc run -- sleep 50 >/dev/null 2>&1; rc=$?
check "run:before-intent: controller killed" [ $rc = 137 ]
check "run:before-intent: nothing recorded, nothing spawned" [ "$(psj 'len(d)')" = "$n0" ]

PERSIST_CRASH_AT=run:after-intent pc run -- sleep 51 >/dev/null 2>&1; rc=$?
check "run:after-intent: controller killed" [ $rc = 137 ]
idc=$((n0 + 1))
check "run:after-intent: the intent is accounted for: lost, without pid" \
	[ "$(field $idc state):$(field $idc pid)" = "lost:None" ]
r ps; check "run:after-intent: ps says why (never started)" sh -c "echo \"\$1\" | grep -q 'never started'" x "$out"

PERSIST_CRASH_AT=run:after-spawn pc run -- sleep 52 >/dev/null 2>&1; rc=$?
check "run:after-spawn: controller killed" [ $rc = 137 ]
idc=$((n0 + 2))
cpid=$(field $idc pid)
check "run:after-spawn: the child is recorded, running, with its pid" \
	[ "$(field $idc state):$(tr '\0' ' ' </proc/$cpid/cmdline)" = "running:sleep 52 " ]
r kill $idc; r wait $idc; check "run:after-spawn: the adopted child is waited for" [ "$rc:$out" = "143:killed by SIGTERM" ]
check "run:after-spawn: and reaped" gone "$cpid"

for point in wait:after-wnowait wait:after-record; do
	# The child ends once the wait sleeps (not before: recovery, not the
	# wait, would collect it then).
	rm -f "$T/go"
	r run -- sh -c "while [ ! -e '$T/go' ]; do sleep 0.02; done; exit 5"; idc=$out; cpid=$(field $idc pid)
	PERSIST_CRASH_AT=$point "$P" wait $idc >/dev/null 2>&1 & wp=$!
	until_asleep "$wp"
	touch "$T/go"
	reap_bg "$wp"
	check "$point: controller killed" [ $rc = 137 ]
	check "$point: the child is left a zombie (not reaped before its status is kept)" zombie "$cpid"
	check "$point: new controller: exited 5" [ "$(field $idc state):$(field $idc exit_code)" = "exited:5" ]
	check "$point: new controller reaped it" gone "$cpid"
	r wait $idc; check "$point: wait answers 5" [ "$rc:$out" = "5:exited 5" ]
done

r run -- sleep 100; idc=$out; cpid=$(field $idc pid)
PERSIST_CRASH_AT=kill:after-signal pc kill $idc >/dev/null 2>&1; rc=$?
check "kill:after-signal: controller killed" [ $rc = 137 ]
r wait $idc; check "kill:after-signal: the signal was delivered and the status kept" [ "$rc:$out" = "143:killed by SIGTERM" ]
check "kill:after-signal: reaped" gone "$cpid"

r run -- sleep 100; ida=$out; pida=$(field $ida pid)
r run -- sh -c 'trap "" TERM; exec sleep 100'; idb=$out; pidb=$(field $idb pid)
# Let sh ignore TERM and exec: once the process is sleep, SIG_IGN is set
# (it survives execve).  Bounded, and not a fixed sleep: a slow (sanitized)
# run must not race it.
i=0; while [ $i -lt 100 ] && ! tr '\0' ' ' <"/proc/$pidb/cmdline" 2>/dev/null | grep -q '^sleep'; do
	sleep 0.05; i=$((i + 1)); done
PERSIST_CRASH_AT=stop:after-term pc stop --grace 1 >/dev/null 2>&1; rc=$?
check "stop:after-term: controller killed" [ $rc = 137 ]
r wait $ida; check "stop:after-term: the TERMed child's status kept" [ "$rc:$out" = "143:killed by SIGTERM" ]
r status; check "stop:after-term: the server still runs" sh -c "echo \"\$1\" | grep -q 'running, pid $spid'" x "$out"
check "stop:after-term: the TERM-proof child still runs" [ "$(field $idb state)" = running ]

echo "== stop"
r run -- sleep 100; idd=$out; pidd=$(field $idd pid)
r run -- sh -c 'sleep 101; true'; idg=$out
i=0; gpid=none
while [ $i -lt 100 ] && [ "$gpid" = none ]; do # until sh has started its sleep
	sleep 0.05; i=$((i + 1))
	gpid=$(pgrep -f -x 'sleep 101' -s "$(field $idg pid)" 2>/dev/null || echo none)
done
r stop --grace 0.5
check "stop: exit 0" [ $rc = 0 ]
check "stop: TERM-proof child killed by SIGKILL after the grace period" \
	[ "$(field $idb state):$(field $idb signal)" = "killed:9" ]
check "stop: others killed by SIGTERM" [ "$(field $idd state):$(field $idd signal)" = "killed:15" ]
check "stop: no child left running in the store" [ "$(psj 'sum(o["state"] in ("running", "intent") for o in d)')" = 0 ]
allpids=$(psj '" ".join(str(o["pid"]) for o in d if o["pid"])')
left=""
for p in $allpids; do gone "$p" || left="$left $p"; done
check "stop: every child's /proc entry is gone (no zombie, none running)" [ -z "$left" ]
if [ "$gpid" = none ]; then echo "skip process group check: no pgrep"; else
	check "stop: a child's own child (its process group) is stopped too" ended_soon "$gpid"
fi
check "stop: the server ended" server_ended "$spid"
check "stop: the store stays" [ -s "$S/state.db" ]
r status; check "status without a server says so" sh -c "[ $rc = 0 ] && echo \"\$1\" | grep -q 'not running'" x "$out"
r ps; check "ps works without a server" sh -c "[ $rc = 0 ] && echo \"\$1\" | grep -q 'sleep 100'" x "$out"
r logs "$id1"; check "logs works without a server" [ "$rc:$out" = "0:to-out
to-err" ]
r wait "$id1"; check "wait of an ended child works without a server" [ "$rc:$out" = "3:exited 3" ]
r stop; check "stop without a server: nothing to do, exit 0" [ $rc = 0 ]
r kill "$idd"; check "kill without a server: exit 1" [ $rc = 1 ]

echo "== the server dies under a running child"
S2=$T/dead
r --state "$S2" run -- sleep 100; ide=$out
spid2=$(pc --state "$S2" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
epid=$(PERSIST_STATE_DIR=$S2 field $ide pid)
kill -9 "$spid2"
for i in 1 2 3 4 5 6 7 8 9 10; do server_ended "$spid2" >/dev/null && break; sleep 0.1; done
check "dead server: its running child is reported lost" [ "$(PERSIST_STATE_DIR=$S2 field $ide state)" = lost ]
r --state "$S2" wait "$ide"; check "dead server: wait says lost, exit 1" sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q lost" x "$out"
kill -9 "$epid" 2>/dev/null
r --state "$S2" run -- true; check "dead server: run starts a new one" [ $rc = 0 ]
r --state "$S2" stop; check "dead server: stop the new one" [ $rc = 0 ]

echo "== 20 concurrent runs"
S3=$T/conc
i=1
while [ $i -le 20 ]; do
	(PERSIST_STATE_DIR=$S3 pc run --name "job$i" -- sh -c "exit $i" >"$T/c$i.out" 2>"$T/c$i.err"; echo $? >"$T/c$i.rc") &
	i=$((i + 1))
done
wait
okc=0; i=1
while [ $i -le 20 ]; do
	[ "$(cat "$T/c$i.rc")" = 0 ] && okc=$((okc + 1)) || { echo "run $i:"; cat "$T/c$i.err"; }
	i=$((i + 1))
done
check "20 concurrent runs all succeeded" [ $okc = 20 ]
check "20 concurrent runs all recorded, distinct ids" \
	[ "$(PERSIST_STATE_DIR=$S3 psj 'len(d), len(set(o["id"] for o in d)), all(o["pid"] for o in d)')" = "(20, 20, True)" ]
check "the ids printed are the ids recorded" \
	[ "$(cat "$T"/c*.out | sort -n | tr '\n' ' ')" = "$(PERSIST_STATE_DIR=$S3 psj '" ".join(str(o["id"]) for o in d)') " ]
check "each job's status kept (exit i for job i)" \
	[ "$(PERSIST_STATE_DIR=$S3 psj 'all(o["state"] == "exited" and o["exit_code"] == int(o["name"][3:]) for o in d)')" = True ]
if command -v sqlite3 >/dev/null 2>&1; then
	check "PRAGMA integrity_check: ok" [ "$(timeout "$TO" sqlite3 "$S3/state.db" 'PRAGMA integrity_check;')" = ok ]
else
	echo "skip integrity_check: no sqlite3 CLI"
fi
r --state "$S3" stop; check "stop after the concurrent runs" [ $rc = 0 ]

echo "== kept fds: a socket kept in the server, a zero-downtime restart"
S4=$T/fds
mkdir -m 700 "$S4"
# A service written for systemd socket activation: it checks what it was
# given, then answers every connection on fd 3 with its pid.
cat >"$T/svc.py" <<'PY'
import os, socket, sys
if os.environ.get("LISTEN_FDS") != "1" or os.environ.get("LISTEN_PID") != str(os.getpid()) \
        or os.environ.get("LISTEN_FDNAMES") != "web":
    sys.exit(3)
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.sendall(b"%d\n" % os.getpid())
    c.close()
PY
# dial PORT: connect, print the answer (or "refused").
dial() { timeout "$TO" python3 -c '
import socket, sys
try:
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
except ConnectionRefusedError:
    print("refused"); sys.exit(0)
if len(sys.argv) > 2: open(sys.argv[2], "w").write("connected\n")
print(c.makefile().readline().strip())' "$@"; }
r --state "$S4" listen web tcp:127.0.0.1:0
check "listen: prints the address with the real port" \
	sh -c "echo '$out' | grep -Eq '^tcp:127\.0\.0\.1:[1-9][0-9]*$'"
port=${out##*:}
r --state "$S4" listen web tcp:127.0.0.1:0
check "listen: a name kept already is refused" [ $rc = 1 ]
r --state "$S4" listen other nowhere
check "listen: a bad address says what an address is" \
	sh -c "[ $rc = 1 ] && grep -q 'tcp:HOST:PORT' '$T/err'"
r --state "$S4" fds --json
check "fds --json: name, fd, address, verified" [ "$(echo "$out" | python3 -c '
import json, sys; d = json.load(sys.stdin)
print(len(d), d[0]["name"], d[0]["address"] == "tcp:127.0.0.1:'$port'", d[0]["verified"], type(d[0]["fd"]) is int)')" = "1 web True True True" ]
r --state "$S4" run --name svc --fd web -- python3 "$T/svc.py"; id1=$out
pid1=$(PERSIST_STATE_DIR=$S4 field $id1 pid)
check "run --fd: the service answers on the kept socket" [ "$(dial $port)" = "$pid1" ]
r --state "$S4" kill $id1 KILL; r --state "$S4" wait $id1
check "the service is gone" [ "$rc" = 137 ]
# A client connects while no service runs: it waits in the backlog.
dial $port "$T/dialed" >"$T/queued" &
qpid=$!
n=0; while [ ! -s "$T/dialed" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
check "with no service, a client is queued, not refused" [ -s "$T/dialed" ]
r --state "$S4" run --name svc --fd web -- python3 "$T/svc.py"; id2=$out
wait $qpid
pid2=$(PERSIST_STATE_DIR=$S4 field $id2 pid)
check "the restarted service answers the queued client" [ "$(cat "$T/queued")" = "$pid2" ]
# Its controller dies right after the spawn: the socket is unaffected.
PERSIST_CRASH_AT=run:after-spawn pc --state "$S4" run --fd web -- sleep 60 >/dev/null 2>&1
check "a controller killed after spawning: the service still answers" [ "$(dial $port)" = "$pid2" ]
# Restarted, the service gets the same kept socket again.
r --state "$S4" restart svc; id2r=$out
check "restart of a service run with --fd: a new id" sh -c "[ $rc = 0 ] && [ '$id2r' -gt '$id2' ]"
pid2r=$(PERSIST_STATE_DIR=$S4 field $id2r pid)
check "the restarted service answers on the same kept socket" [ "$(dial $port)" = "$pid2r" ]
check "the one it replaced got SIGTERM" [ "$(PERSIST_STATE_DIR=$S4 field $id2 signal)" = 15 ]
id2=$id2r
r --state "$S4" close web
check "close: exit 0" [ $rc = 0 ]
# The children that had it (the service, the sleeper) end too: then
# nothing holds the socket.
idz=$(PERSIST_STATE_DIR=$S4 psj '[o["id"] for o in d if o["argv"][0] == "sleep"][0]')
for i in $id2 $idz; do r --state "$S4" kill $i KILL; r --state "$S4" wait $i; done
check "closed, and no child holds it: the port refuses" [ "$(dial $port)" = refused ]
r --state "$S4" run --fd web -- true
check "run --fd of a name no longer kept: an error that names it" \
	sh -c "[ $rc = 1 ] && grep -q \"'web'\" '$T/err'"
r --state "$S4" stop --grace 0

echo "== the everyday commands: logs --follow, ps quoting and filters, run's environment, restart, --json"
S0=$S S=$T/every S5=$T/every # (asleep looks at $S)
export PERSIST_STATE_DIR="$S5"
mkdir -p "$T/wd"
# logs --follow: what is there, then what comes, until the child has ended.
rm -f "$T/go"
r run --name talker -- sh -c "echo one; echo e1 >&2; while [ ! -e '$T/go' ]; do sleep 0.05; done; echo two; echo e2 >&2"
idf=$out
"$P" logs --follow "$idf" >"$T/f.out" 2>"$T/f.err" & fp=$!
n=0; while ! grep -q one "$T/f.out" 2>/dev/null && [ $n -lt 400 ]; do sleep 0.05; n=$((n + 1)); done
check "logs --follow prints what is there at once" grep -q '^one$' "$T/f.out"
until_asleep "$fp"
check "logs --follow is still following while the child runs" sh -c "[ -d /proc/$fp ] && ! grep -q two '$T/f.out'"
touch "$T/go"
reap_bg "$fp"
check "logs --follow ends with the child: exit 0" [ "$rc" = 0 ]
check "logs --follow: all of both streams" \
	sh -c "grep -qx one '$T/f.out' && grep -qx two '$T/f.out' && grep -qx e1 '$T/f.out' && grep -qx e2 '$T/f.out'"
r logs -f --stderr talker; check "logs -f --stderr of an ended child: its stderr, at once" [ "$rc:$out" = "0:e1
e2" ]
r logs --follow --stdout "$idf"; check "logs --follow --stdout" [ "$rc:$out" = "0:one
two" ]
r logs --follow --stdout --stderr "$idf"; check "logs --follow --stdout --stderr: exit 2" [ "$rc" = 2 ]

# ps shows a command that pastes back into a shell.
r run --name loop -- sh -c 'for i in 1 2 3; do echo $i; done'; idq=$out
r wait "$idq"
r run --name quoted -- printf '%s|\n' "it's" "" 'a  b' '$HOME' 'x=y'; idq2=$out
r wait "$idq2"
cmdof() { # the COMMAND column of ps --name $1
	pc ps --name "$1" | awk 'NR == 1 { at = index($0, "COMMAND") } NR == 2 { print substr($0, at) }'
}
check "ps: a shell loop quoted as typed" [ "$(cmdof loop)" = "sh -c 'for i in 1 2 3; do echo \$i; done'" ]
check "ps: the command pasted into sh does what the child did" [ "$(sh -c "$(cmdof loop)")" = "1
2
3" ]
check "ps: quotes, empty and spaced arguments, \$, = read back exactly" \
	[ "$(sh -c "$(cmdof quoted)")" = "$(printf '%s|\n' "it's" "" 'a  b' '$HOME' 'x=y')" ]
r run -- sleep 100; ids=$out
check "ps --state running: only the running" [ "$(psj '0')" = 0 ] # (psj checks the keys)
r ps --state running; check "ps --state running (table)" \
	sh -c "[ $rc = 0 ] && [ \$(echo \"\$1\" | wc -l) = 2 ] && echo \"\$1\" | grep -q 'sleep 100'" x "$out"
check "ps --state exited --json" [ "$(pc ps --state exited --json | python3 -c 'import json,sys; print(sorted(o["id"] for o in json.load(sys.stdin)))')" = "[$idf, $idq, $idq2]" ]
check "ps --name loop --json" [ "$(pc ps --name loop --json | python3 -c 'import json,sys; print([o["id"] for o in json.load(sys.stdin)])')" = "[$idq]" ]
check "ps --name and --state together" [ "$(pc ps --name loop --state running --json)" = "[]" ]
r ps --state sleeping; check "ps --state of no such state: exit 2, names the states" \
	sh -c "[ $rc = 2 ] && echo \"\$1\" | grep -q 'running'" x "$err"
r kill "$ids" KILL; r wait "$ids"

# run --env, --cwd, --stdin, kept for restart.
printf 'from the file\n' >"$T/input"
( cd "$T" && pc run --name envy --env 'A=x y' --env B=1 --env B=2 --cwd wd --stdin input -- \
	sh -c 'echo "A=$A B=$B $(pwd)"; cat' >"$T/out" 2>"$T/err" ); rc=$?; ide=$(cat "$T/out")
r wait "$ide"
r logs "$ide"; check "run --env (last wins), --cwd and --stdin, relative to where run ran" \
	[ "$out" = "A=x y B=2 $T/wd
from the file" ]
r run --env NOEQUALS -- true; check "run --env without '=': exit 2" [ "$rc" = 2 ]
r run --env =x -- true; check "run --env without a name: exit 2" [ "$rc" = 2 ]
r run --cwd "$T/nowhere" -- true; check "run --cwd of a missing dir: exit 1, names it" \
	sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q nowhere" x "$err"
r run --stdin "$T/nofile" -- true; check "run --stdin of a missing file: exit 1, names it" \
	sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q nofile" x "$err"

# restart: an ended child starts again alike; a running one is ended first.
r restart "$ide"; idr=$out
check "restart prints the new id" sh -c "[ $rc = 0 ] && [ '$idr' -gt '$ide' ]"
r wait "$idr"
r logs "$idr"; check "restart: same env, cwd, stdin, from anywhere" [ "$out" = "A=x y B=2 $T/wd
from the file" ]
check "restart: same name and argv, restart_of names the old one" \
	[ "$(psj "(byid[$idr]['name'], byid[$idr]['argv'] == byid[$ide]['argv'], byid[$idr]['restart_of'], byid[$ide]['restart_of'])")" = "('envy', True, $ide, None)" ]
r ps; check "ps (table) says which child it restarted" \
	sh -c "echo \"\$1\" | grep -q 'restart of child $ide'" x "$out"
r run --name svc -- sh -c 'trap "exit 7" TERM; while :; do sleep 0.05; done'; idv=$out
pidv=$(field "$idv" pid)
r restart --json svc
check "restart --json: {id, restart_of}" [ "$(echo "$out" | python3 -c 'import json,sys; o=json.load(sys.stdin); print(sorted(o), o["restart_of"])')" = "['id', 'restart_of'] $idv" ]
idv2=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "restart of a running child: it got SIGTERM, its status is kept, it is reaped" \
	sh -c "[ '$(field "$idv" state):$(field "$idv" exit_code)' = exited:7 ] && ! [ -d /proc/$pidv ]"
check "... and the new one runs under the same name" [ "$(field "$idv2" state):$(field "$idv2" name)" = "running:svc" ]
r restart "$idv"; check "restart of a child restarted already: exit 1, names the newer one" \
	sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'as child $idv2: restart that one'" x "$err"
r run --name stubborn -- sh -c "trap '' TERM; echo ready; while :; do sleep 0.05; done"; idk=$out
n=0; while ! grep -q ready "$S5/logs/$idk.out" 2>/dev/null && [ $n -lt 400 ]; do sleep 0.05; n=$((n + 1)); done
r restart --grace 0.1 "$idk"
check "restart --grace: SIGKILL for one that ignores SIGTERM" [ "$rc:$(field "$idk" signal)" = "0:9" ]
r restart 999; check "restart of an unknown id: exit 1" sh -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'no child 999'" x "$err"
r restart; check "restart without an id: exit 2" [ "$rc" = 2 ]
r restart --grace x 1; check "restart --grace x: exit 2" [ "$rc" = 2 ]

# --json of every command that prints.
js() { python3 -c "import json,sys; o=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
check "start --json" [ "$(pc start --json | js 'sorted(o) == ["pid", "socket", "state_dir"] and type(o["pid"]) is int and o["state_dir"] == "'"$S5"'"')" = True ]
r run --json -- sh -c 'exit 4'; idj4=$(echo "$out" | js 'o["id"]')
check "run --json: {id}" [ "$(echo "$out" | js 'sorted(o)')" = "['id']" ]
r wait --json "$idj4"
check "wait --json: the status as an object, the exit status kept" \
	[ "$rc:$(echo "$out" | js '(sorted(o), o["state"], o["exit_code"], o["signal"])')" = "4:(['exit_code', 'id', 'lost_reason', 'name', 'pid', 'signal', 'state'], 'exited', 4, None)" ]
r wait --json --timeout 0 "$idv2"
check "wait --json --timeout: the running child, exit 124" [ "$rc:$(echo "$out" | js 'o["state"]')" = "124:running" ]
r listen --json web tcp:127.0.0.1:0
check "listen --json: {name, address}" [ "$(echo "$out" | js '(o["name"], o["address"].startswith("tcp:127.0.0.1:"))')" = "('web', True)" ]
check "fds --json" [ "$(pc fds --json | js '[(f["name"], type(f["fd"]) is int, f["verified"]) for f in o]')" = "[('web', True, True)]" ]
r stop --json --grace 0.2
check "stop --json: counts" [ "$(echo "$out" | js '(sorted(o), o["stopped"], o["signalled"])')" = "(['grace_seconds', 'killed', 'pid', 'signalled', 'stopped'], True, 2)" ]
r stop --json
check "stop --json without a server" [ "$(echo "$out" | js '(o["stopped"], o["pid"])')" = "(False, None)" ]
S=$S0
export PERSIST_STATE_DIR="$S"

echo "== $passed passed, $failed failed"
[ $failed = 0 ]
