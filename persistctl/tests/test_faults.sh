#!/bin/sh
# SPDX-License-Identifier: MIT
# persistctl when the state directory's disk fails under it: a full
# filesystem, a read-only one (each a small tmpfs: root only, skipped
# otherwise), and a damaged state.db (garbage over a page in the middle;
# the whole file replaced by garbage).  Each time: exit 1 with a message
# that says what and what to do, the running children untouched (still
# running; one that ends meanwhile stays unreaped, its status kept by the
# kernel), and everything works again once the fault is gone: the status
# of the child that ended meanwhile is recorded then.  A damaged store is
# rebuilt from the running server by 'persistctl recover-store', and by
# hand (move it aside, run any persistctl).  Every command runs under
# timeout(1); every tmpfs mounted here is unmounted on exit, whatever
# happened.
#   PERSISTCTL=build/persistctl [PERSIST_SERVER_EXE=...] sh tests/test_faults.sh
set -u
P=${PERSISTCTL:-build/persistctl}
case $P in /*) ;; *) P=$(pwd)/$P ;; esac
[ -x "$P" ] || { echo "no persistctl at $P (build it first)"; exit 1; }
T=$(mktemp -d /tmp/pfault.XXXXXX)
cd / || exit 1 # the children's cwd: never in a tmpfs that must be unmounted
unset PERSIST_CRASH_AT PERSIST_STATE_DIR XDG_RUNTIME_DIR || true
TO=${PERSISTCTL_TEST_TIMEOUT:-30}
passed=0
failed=0
mounts=""

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() {
	failed=$((failed + 1))
	echo "FAIL $*"
	echo "     last command: rc=${rc:-} out=$(printf '%s' "${out:-}" | head -c 600)" \
		"err=$(printf '%s' "${err:-}" | head -c 600)"
}
check() { # check DESCRIPTION COMMAND...: the command must succeed
	d=$1; shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
says() { printf '%s' "$err" | grep -q -- "$1"; } # the last stderr holds $1
pc() { timeout "$TO" "$P" --state "$S" "$@"; }
# Run: out, err and rc of a persistctl invocation on state directory $S.
r() {
	pc "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}
# ps --json of $S through python: `psj EXPR` prints EXPR over d (the list)
# and byid.
psj() {
	pc ps --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
byid = {o["id"]: o for o in d}
print(eval(sys.argv[1]))' "$1"
}
field() { psj "byid[$1][\"$2\"]"; }
gone() { [ ! -e "/proc/$1" ]; }
zombie() { [ -e "/proc/$1/stat" ] && sed 's/.*) //' "/proc/$1/stat" | grep -q '^Z'; }
server_ended() { gone "$1" || zombie "$1"; } # a zombie of init is not ours to reap
alive() { [ -e "/proc/$1/stat" ] && ! zombie "$1"; }
# Bounded waits (10 s), never a fixed sleep.
until_true() {
	i=0; while [ $i -lt 200 ] && ! "$@"; do sleep 0.05; i=$((i + 1)); done
	"$@"
}
# The server of $S (its pid, also kept for the cleanup).
server_pid() {
	spid=$(pc status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	echo "$spid" >>"$T/servers"
}
kids() { cat /proc/"$1"/task/*/children 2>/dev/null | wc -w; }
# The child's stdout is no longer a log file on the tmpfs (a file open for
# writing there would make the read-only remount fail as busy).
quiet() { [ "$(readlink "/proc/$1/fd/1")" = /dev/null ]; }
# A persistctl wait (pid $1) sleeps: the store open, the lock let go.
asleep() {
	fdl=$(ls -l "/proc/$1/fd" 2>/dev/null)
	echo "$fdl" | grep -q "$S/state.db\$" && ! echo "$fdl" | grep -q "$S/lock\$"
}
fill() { dd if=/dev/zero of="$1/fill" bs=4096 >/dev/null 2>&1; [ "$(stat -f -c %a "$1")" = 0 ]; }

cleanup() {
	for m in $mounts; do mount -o remount,rw "$m" 2>/dev/null; rm -f "$m/fill"; done
	for d in "$T/c" $(for m in $mounts; do echo "$m/s"; done); do
		[ -d "$d" ] && timeout "$TO" "$P" --state "$d" stop --grace 0 >/dev/null 2>&1
	done
	# A server whose store could not be used is ended by hand, children first.
	for sp in $(cat "$T/servers" 2>/dev/null); do
		[ -e "/proc/$sp" ] || continue
		for k in $(cat /proc/"$sp"/task/*/children 2>/dev/null); do kill -9 "$k" 2>/dev/null; done
		kill -9 "$sp" 2>/dev/null
	done
	for m in $mounts; do
		grep -q " $m " /proc/self/mounts || continue
		umount "$m" 2>/dev/null || { sleep 0.2; umount "$m" 2>/dev/null; } ||
			{ echo "note: $m busy, detached lazily"; umount -l "$m"; }
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 141' PIPE; trap 'exit 143' TERM

# Whether a small tmpfs can be mounted here; if not, why.
can_mount=""
if [ "$(id -u)" != 0 ]; then
	can_mount="not root (mounting a tmpfs needs root)"
elif ! command -v mount >/dev/null 2>&1 || ! command -v umount >/dev/null 2>&1; then
	can_mount="no mount/umount command in PATH"
else
	mkdir "$T/probe"
	if mount -t tmpfs -o size=64k tmpfs "$T/probe" 2>"$T/mnt.err"; then
		umount "$T/probe"
	else
		can_mount="mount -t tmpfs is not permitted here: $(cat "$T/mnt.err")"
	fi
	rmdir "$T/probe"
fi
# A 1 MiB tmpfs at $1, listed for the cleanup before it is mounted.
tmpfs() {
	mkdir -m 700 "$1" && mounts="$mounts $1" && mount -t tmpfs -o size=1m,mode=700 tmpfs "$1"
}

echo "== a full filesystem"
if [ -n "$can_mount" ]; then
	echo "skip full filesystem: $can_mount"
elif ! tmpfs "$T/m1"; then
	bad "mount a tmpfs at $T/m1"
else
	S=$T/m1/s
	r run --name keep -- sleep 600; ida=$out
	r run -- sh -c "while [ ! -e '$T/go1' ]; do sleep 0.05; done; exit 7"; idb=$out
	server_pid
	pida=$(field "$ida" pid); pidb=$(field "$idb" pid)
	check "two children run" [ "$(kids "$spid")" = 2 ]
	check "state.db is created 0600" [ "$(stat -c %a "$S/state.db")" = 600 ]
	check "the tmpfs is filled" fill "$T/m1"
	r run -- true
	check "full: run exits 1" [ $rc = 1 ]
	check "full: the message says what (no space, state.db)" \
		sh -c "printf '%s' \"\$1\" | grep -q 'state.db.*No space left on device'" x "$err"
	check "full: ... and what to do (free space on the filesystem of DIR)" \
		says "the filesystem of $S is full: free space on it"
	check "full: ... and that the children are not affected" says "not affected"
	check "full: nothing was spawned" [ "$(kids "$spid")" = 2 ]
	for c in ps status "wait $idb" "kill $ida" "logs $ida" start stop; do
		r $c
		check "full: $c exits 1 and says to free space" \
			sh -c "[ $rc = 1 ] && printf '%s' \"\$1\" | grep -q 'free space'" x "$err"
	done
	touch "$T/go1"
	check "full: a child that ends meanwhile stays unreaped (its status kept)" until_true zombie "$pidb"
	check "full: the other child still runs" alive "$pida"
	# A controller that has the store open when space runs out (its -wal and
	# -shm exist): then a write fails, not the open.
	rm -f "$T/m1/fill"
	"$P" --state "$S" wait "$ida" >/dev/null 2>&1 & wp=$!
	check "a wait sleeps with the store open" until_true asleep "$wp"
	n=$(kids "$spid") # the wait's recovery may have recorded and reaped $pidb already
	check "the tmpfs is filled again" fill "$T/m1"
	r run -- true
	check "full, store open elsewhere: run exits 1, says to free space" \
		sh -c "[ $rc = 1 ] && printf '%s' \"\$1\" | grep -q 'free space'" x "$err"
	check "full, store open elsewhere: nothing was spawned" [ "$(kids "$spid")" = "$n" ]
	kill "$wp" 2>/dev/null; wait "$wp" 2>/dev/null
	rm -f "$T/m1/fill"
	r ps
	check "space freed: ps works again" [ $rc = 0 ]
	check "space freed: the child that ended meanwhile is recorded: exited 7" \
		[ "$(field "$idb" state):$(field "$idb" exit_code)" = exited:7 ]
	check "space freed: ... and reaped only then" gone "$pidb"
	check "space freed: the other child still runs, still recorded" \
		[ "$(field "$ida" state):$(field "$ida" pid)" = "running:$pida" ] 
	check "... and is alive" alive "$pida"
	r run -- sh -c 'echo again; exit 3'; idc=$out
	r wait "$idc"
	check "space freed: run and wait work" [ "$rc:$out" = "3:exited 3" ]
	r stop --grace 0
	check "space freed: stop works" [ $rc = 0 ]
fi

echo "== a read-only filesystem"
if [ -n "$can_mount" ]; then
	echo "skip read-only filesystem: $can_mount"
elif ! tmpfs "$T/m2"; then
	bad "mount a tmpfs at $T/m2"
else
	S=$T/m2/s
	# Their stdout and stderr leave the tmpfs at once, so that it can be
	# remounted read-only (a file open for writing there makes it busy).
	r run -- sh -c 'exec >/dev/null 2>&1; exec sleep 600'; ida=$out
	r run -- sh -c "exec >/dev/null 2>&1; while [ ! -e '$T/go2' ]; do sleep 0.05; done; exit 5"; idb=$out
	server_pid
	pida=$(field "$ida" pid); pidb=$(field "$idb" pid)
	until_true quiet "$pida" >/dev/null; until_true quiet "$pidb" >/dev/null
	if ! mount -o remount,ro "$T/m2" 2>"$T/mnt.err"; then
		bad "remount $T/m2 read-only: $(cat "$T/mnt.err")"
	else
		r run -- true
		check "read-only: run exits 1" [ $rc = 1 ]
		check "read-only: the message says what (state.db, read-only)" \
			sh -c "printf '%s' \"\$1\" | grep -q 'state.db: .*Read-only file system'" x "$err"
		check "read-only: ... and what to do (make it writable again)" \
			says "$S is on a read-only filesystem: make it writable again"
		check "read-only: nothing was spawned" [ "$(kids "$spid")" = 2 ]
		for c in ps status "wait $idb" "kill $ida" "logs $ida" start stop; do
			r $c
			check "read-only: $c exits 1 and says it is read-only" \
				sh -c "[ $rc = 1 ] && printf '%s' \"\$1\" | grep -q 'read-only filesystem'" x "$err"
		done
		touch "$T/go2"
		check "read-only: a child that ends meanwhile stays unreaped" until_true zombie "$pidb"
		check "read-only: the other child still runs" alive "$pida"
		mount -o remount,rw "$T/m2"
		r ps
		check "writable again: ps works" [ $rc = 0 ]
		check "writable again: the child that ended meanwhile: exited 5, reaped" \
			sh -c "[ '$(field "$idb" state):$(field "$idb" exit_code)' = exited:5 ] && [ ! -e /proc/$pidb ]"
		check "writable again: the other child still runs, still recorded" \
			sh -c "[ '$(field "$ida" state):$(field "$ida" pid)' = 'running:$pida' ] && [ -e /proc/$pida ]"
		r run -- sh -c 'exit 4'; idc=$out
		r wait "$idc"
		check "writable again: run and wait work" [ "$rc:$out" = "4:exited 4" ]
	fi
	r stop --grace 0
	check "writable again: stop works" [ $rc = 0 ]
fi

echo "== a damaged state.db, rebuilt by recover-store"
S=$T/c
r run --name keeper -- sleep 600; idx=$out
server_pid
pidx=$(field "$idx" pid)
r run -- sh -c 'echo old-output; exit 3'; idz=$out
r wait "$idz"
check "a child ended and reaped before the damage (history): exited 3" [ "$rc" = 3 ]
r run -- sh -c "while [ ! -e '$T/go3' ]; do sleep 0.05; done; exit 6"; idy=$out
pidy=$(field "$idy" pid)
r listen web tcp:127.0.0.1:0; port=${out##*:}
check "a kept socket" [ $rc = 0 ]
r recover-store
check "recover-store refuses a store that reads fine (exit 1, says so)" \
	sh -c "[ $rc = 1 ] && printf '%s' \"\$1\" | grep -q 'reads without error'" x "$err"
check "... and moves nothing" [ -z "$(ls "$S" | grep bad)" ]
check "no controller has the store open (no -wal)" [ ! -e "$S/state.db-wal" ]
# Garbage (0xff) over the children table's root page: no B-tree page
# starts with 0xff, so SQLite always sees it.
page=4; size=4096
if command -v sqlite3 >/dev/null 2>&1; then
	page=$(sqlite3 "$S/state.db" "SELECT rootpage FROM sqlite_master WHERE name = 'children'")
	size=$(sqlite3 "$S/state.db" "PRAGMA page_size")
fi
head -c "$size" /dev/zero | tr '\0' '\377' |
	dd of="$S/state.db" bs="$size" seek=$((page - 1)) conv=notrunc 2>/dev/null
for c in "run -- true" ps status "wait $idy" "kill $idx" "logs $idz" start fds stop; do
	r $c
	check "damaged: $c exits 1, names $S/state.db and says it is damaged" \
		sh -c "[ $rc = 1 ] && printf '%s' \"\$1\" | grep -q '$S/state.db is damaged'" x "$err"
done
check "damaged: the message says what to do (recover-store moves it aside, rebuilds from the server)" \
	sh -c "printf '%s' \"\$1\" | grep -q \"Move it aside: '.* --state $S recover-store' does\" &&
		printf '%s' \"\$1\" | grep -q 'rebuilds the store from the running server'" x "$err"
check "damaged: ... and what cannot be known" says "the kept fds carried over; the names and the children reaped before stay in the old file"
check "damaged: the children still run" sh -c "[ -e /proc/$pidx ] && [ \"\$(cat /proc/$spid/task/*/children | wc -w)\" = 2 ]"
touch "$T/go3"
check "damaged: a child that ends meanwhile stays unreaped" until_true zombie "$pidy"
# Another process with the old file open would write on there.
sleep 60 9<"$S/state.db" & holder=$!
r recover-store
check "recover-store refuses while another process has the store open (names its pid)" \
	sh -c "[ $rc = 1 ] && printf '%s' \"\$1\" | grep -q 'pid $holder (sleep) has'" x "$err"
kill "$holder"; wait "$holder" 2>/dev/null
cp "$S/state.db" "$T/damaged.db" # (the commands above wrote the thread's record in it)
r recover-store; rs_out=$out
check "recover-store: exit 0" [ $rc = 0 ]
check "recover-store: the damaged file is kept aside, byte for byte" \
	sh -c "cmp -s '$T/damaged.db' \"\$(ls -d '$S'/state.db.bad-* | head -1)\""
check "recover-store: says where it moved the file and the logs" \
	sh -c "printf '%s' \"\$1\" | grep -q 'moved $S/state.db aside: $S/state.db.bad-' &&
		printf '%s' \"\$1\" | grep -q 'moved $S/logs aside: $S/logs.bad-'" x "$rs_out"
check "recover-store: the old logs moved with their files" \
	[ "$(cat "$S"/logs.bad-*/"$idz".out)" = old-output ]
check "recover-store: the new store is 0600" [ "$(stat -c %a "$S/state.db")" = 600 ]
nx=$(psj "[o['id'] for o in d if o['pid'] == $pidx][0]")
ny=$(psj "[o['id'] for o in d if o['pid'] == $pidy][0]")
check "rebuilt: the running child is adopted with its argv from /proc" \
	[ "$(field "$nx" state):$(psj "byid[$nx]['argv']")" = "running:['sleep', '600']" ]
check "rebuilt: the child that ended while the store was bad: its status collected (exited 6)" \
	[ "$(field "$ny" state):$(field "$ny" exit_code)" = exited:6 ]
check "rebuilt: ... and reaped only then" gone "$pidy"
check "rebuilt: exactly the server's two children; the one reaped before is not there" \
	[ "$(psj 'len(d)')" = 2 ]
check "rebuilt: the name is not known" [ "$(field "$nx" name)" = None ]
check "recover-store lists each adopted child, and where its output goes" \
	sh -c "printf '%s' \"\$1\" | grep -q 'child $nx: pid $pidx, running: sleep 600  \[stdout: $S/logs.bad-.*/$idx.out\]' &&
		printf '%s' \"\$1\" | grep -q 'child $ny: pid $pidy, exited 6 (ended while the store was bad'" x "$rs_out"
check "recover-store says what was not rebuilt" \
	sh -c "printf '%s' \"\$1\" | grep -q 'rebuilt $S/state.db from server pid $spid: 2 children adopted' &&
		printf '%s' \"\$1\" | grep -q 'not rebuilt.*the old ids and names, and the children reaped before'" x "$rs_out"
# A session closes the server's fds its store does not record: the kept
# socket survives the rebuild only because its record is carried over.
check "recover-store: the kept fd is carried over" \
	sh -c "printf '%s' \"\$1\" | grep -q \"kept fd 'web' (fd [0-9]*, tcp:127.0.0.1:$port): carried over\"" x "$rs_out"
r fds --json
check "rebuilt: fds lists it, verified" [ "$(printf '%s' "$out" | python3 -c '
import json, sys; d = json.load(sys.stdin)
print(len(d), d[0]["name"], d[0]["address"], d[0]["verified"])')" = "1 web tcp:127.0.0.1:$port True" ]
check "rebuilt: its socket is still open in the server" \
	timeout "$TO" python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()"
r run --fd web -- sh -c '[ "$LISTEN_FDNAMES" = web ]'; idf=$out; r wait "$idf"
check "rebuilt: run --fd passes it on" [ "$rc" = 0 ]
r run -- sh -c 'echo new-output; exit 4'; idn=$out
r wait "$idn"
check "rebuilt: run and wait work" [ "$rc:$out" = "4:exited 4" ]
r logs "$idn"
check "rebuilt: a new child's logs hold its output only" [ "$out" = new-output ]
r kill "$nx"; r wait "$nx"
check "rebuilt: the adopted child is killed and waited for" [ "$rc:$out" = "143:killed by SIGTERM" ]

echo "== a state.db replaced by garbage, rebuilt by recover-store, then by hand"
r run -- sleep 601; idg=$out; pidg=$(field "$idg" pid)
yes 'not a database' | head -c 40000 >"$S/state.db"
r ps
check "garbage: ps exits 1, says the store is damaged, what to do" \
	sh -c "[ $rc = 1 ] && printf '%s' \"\$1\" | grep -q 'file is not a database' &&
		printf '%s' \"\$1\" | grep -q 'state.db is damaged.*recover-store'" x "$err"
check "garbage: the child still runs" alive "$pidg"
r recover-store
check "garbage: recover-store adopts the child" \
	sh -c "[ $rc = 0 ] && printf '%s' \"\$1\" | grep -q 'pid $pidg, running: sleep 601'" x "$out"
check "garbage: ... and says the kept fds could not be carried over, and were closed" \
	sh -c "printf '%s' \"\$1\" | grep -q 'kept fds, if there were any, could not be carried over (.*file is not a database).*were closed'" x "$out"
check "garbage: the kept socket is closed" \
	sh -c "! timeout '$TO' python3 -c \"import socket; socket.create_connection(('127.0.0.1', $port))\" 2>/dev/null"
yes 'not a database' | head -c 40000 >"$S/state.db"
mv "$S/state.db" "$S/state.db.mine"
[ ! -d "$S/logs" ] || mv "$S/logs" "$S/logs.mine"
r ps
check "moved aside by hand: the next persistctl rebuilds the store (exit 0)" [ $rc = 0 ]
check "moved aside by hand: says it adopted the running child" says "adopted pid $pidg"
check "moved aside by hand: the child is running, with its argv" \
	[ "$(psj "[(o['state'], o['argv']) for o in d if o['pid'] == $pidg]")" = "[('running', ['sleep', '601'])]" ]
r stop --grace 0
check "stop: exit 0, the child ended and was reaped" sh -c "[ $rc = 0 ] && [ ! -e /proc/$pidg ]"
check "stop: the server ended" until_true server_ended "$spid"

echo "== $passed passed, $failed failed"
[ $failed = 0 ]
