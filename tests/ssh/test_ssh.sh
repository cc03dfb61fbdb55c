#!/bin/sh
# SPDX-License-Identifier: MIT
# persistctl --host against a real far host: a real OpenSSH sshd on
# 127.0.0.1 (its own port, host key, authorized keys; UsePAM no) run inside
# its own pid and mount namespaces with its own /tmp, so that host B's pids,
# /proc and files are not ours: a controller that confused them fails here.
#   PERSISTCTL=... PERSIST_SERVER_EXE=... sh tests/ssh/test_ssh.sh
# Needs root (namespaces, sshd); without it, says SKIPPED and why.
set -u
P=${PERSISTCTL:-persistctl}
SRV=${PERSIST_SERVER_EXE:-persist-server}
if [ "$(id -u)" != 0 ]; then
	echo "SKIPPED tests/ssh: needs root (sshd in its own pid and mount namespaces)"
	exit 0
fi
for x in /usr/sbin/sshd ssh ssh-keygen unshare python3; do
	command -v "$x" >/dev/null 2>&1 || { echo "FAIL tests/ssh: $x missing (make deps)"; exit 1; }
done
TO=${PERSISTCTL_TEST_TIMEOUT:-60}
# Not under /tmp: B has its own /tmp, and sshd must still read this.
T=$(mktemp -d /var/tmp/persist-ssh.XXXXXX)
A=$T/a
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() {
	failed=$((failed + 1))
	echo "FAIL $*"
	echo "     last command: rc=${rc:-} out=$(printf '%s' "${out:-}" | head -c 600)" \
		"err=$(printf '%s' "${err:-}" | head -c 600)"
}
# r ARGS...: run persistctl, rc/out/err set.
r() {
	out=$(timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" "$@" 2>"$T/err"); rc=$?
	err=$(cat "$T/err")
}
# on_b CMD: a command on B, through the same sshd.
on_b() { timeout "$TO" ssh -F "$T/ssh_config" far "$@"; }

. "$(dirname "$0")/far_host.sh"
cleanup() {
	far_stop
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# ---- host B ----
mkdir -p "$T/bin" "$T/nobin"
chmod 700 "$T"
ln -s "$(command -v "$SRV")" "$T/bin/persist-server" 2>/dev/null || ln -s "$SRV" "$T/bin/persist-server"
far_keys || exit 1
PORT=$(far_port)
far_sshd_cfg "$T/sshd_config" "$PORT" "$T/bin"
far_ssh_cfg far "$PORT"
# B runs the persist-server built here: when the build is under /tmp (a
# clone in /tmp), B's fresh /tmp gets that one directory back, bound from
# ours, so B has the program and its libraries and nothing else of our /tmp.
STAGE=$(dirname "$(dirname "$(readlink -f "$(command -v "$SRV")")")")
far_start "$T/sshd_config" "$STAGE" || { echo "FAIL tests/ssh: sshd rejects its config"; exit 1; }
export PERSIST_SSH="ssh -F $T/ssh_config"
unset PERSIST_STATE_DIR XDG_RUNTIME_DIR PERSIST_CRASH_AT PERSIST_FAR_SERVER || true
far_up far || { echo "FAIL tests/ssh: the test sshd did not come up on 127.0.0.1:$PORT"; exit 1; }
ok "sshd up in its own pid namespace on 127.0.0.1:$PORT"

# ---- start on B ----
r --host far start
if [ $rc = 0 ]; then ok "start on B (pid $out)"; else bad "start on B"; fi
SPID=$out
check_b_comm() { [ "$(on_b cat /proc/"$1"/comm 2>/dev/null)" = "$2" ]; }
if check_b_comm "$SPID" persist-server; then ok "the server's pid is B's"; else bad "server pid $SPID is not persist-server on B"; fi
row=$(sqlite3 "$A/state.db" "SELECT host, boot_id IS NOT NULL, pidns FROM threads WHERE host IS NOT NULL")
ours=$(readlink /proc/self/ns/pid)
case $row in
"far|1|pid:["*) if [ "${row##*|}" != "$ours" ]; then ok "the record keeps B's identity ($row)"; else bad "B's pidns recorded as ours: $row"; fi ;;
*) bad "thread record without B's identity: '$row'" ;;
esac
if [ -z "$(on_b ls /tmp)" ] || on_b test -S /tmp/persist-0/sock; then ok "the server runs in B's /tmp/persist-0"; else bad "B's state dir"; fi
[ ! -e /tmp/persist-0/sock ] || [ "$(readlink -f /tmp/persist-0/sock)" != x ] # A's own /tmp is not B's

# ---- run, ps, status on B ----
r --host far run --name sleeper -- sleep 1000
SL=$out
r --host far ps
pid=$(printf '%s\n' "$out" | awk -v id="$SL" '$1 == id { print $3 }')
if [ -n "$pid" ] && check_b_comm "$pid" sleep; then ok "ps shows the child with B's pid $pid"; else bad "child pid on B"; fi
case $out in "host: far"*) ok "ps names the host";; *) bad "ps without host";; esac
r --host far ps --json
js=$(printf '%s' "$out" | python3 -c 'import json,sys; print([o["host"] for o in json.load(sys.stdin) if o["name"] == "sleeper"])')
if [ "$js" = "['far']" ]; then ok "ps --json: the child's host"; else bad "ps --json host: $js"; fi
r --host far status
case $out in *"host:      far"*"server:    running, pid $SPID"*) ok "status names the host and B's server";; *) bad "status";; esac

# ---- logs through the thread ----
r --host far run -- sh -c 'echo out-on-b; echo err-on-b >&2; exit 3'
EX=$out
r --host far wait --timeout 30 "$EX"
if [ $rc = 3 ]; then ok "wait on B: exit 3"; else bad "wait on B"; fi
r --host far logs --stdout "$EX"
if [ "$out" = out-on-b ]; then ok "logs of a far child, read through the thread"; else bad "logs"; fi

# ---- logs --follow through the thread ----
r --host far logs --follow "$EX"
if [ $rc = 0 ] && [ "$out" = "$(printf 'out-on-b\nerr-on-b')" ]; then ok "logs -f of a far child that has ended: all of it, exit 0"; else bad "logs -f of an ended far child"; fi
r --host far run -- sh -c 'for i in 1 2 3 4 5 6 7 8; do echo line$i; echo eline$i >&2; sleep 0.2; done'
LN=$out
r --host far logs -f "$LN"
want_o=$(printf 'line%s\n' 1 2 3 4 5 6 7 8)
want_e=$(printf 'eline%s\n' 1 2 3 4 5 6 7 8)
if [ $rc = 0 ] && [ "$(printf '%s\n' "$out" | grep '^line')" = "$want_o" ] &&
   [ "$(printf '%s\n' "$out" | grep '^eline')" = "$want_e" ]; then
	ok "logs -f of a far child writing for a while: every line in order, exit 0 once it ended"
else
	bad "logs -f of a far child writing for a while"
fi
r --host far wait --timeout 30 "$LN"
[ $rc = 0 ] || bad "the followed child did not end with exit 0 (rc $rc)"
# While it is followed, the child waits for a file on B: what the follow
# printed before the file exists came as the child wrote it, not at its end.
on_b rm -f /tmp/persist-follow-go
r --host far run -- sh -c 'echo first; echo efirst >&2; while [ ! -e /tmp/persist-follow-go ]; do sleep 0.1; done; echo second; echo esecond >&2'
GO=$out
timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" --host far logs -f --stdout "$GO" >"$T/follow--stdout" 2>"$T/follow--stdout.err" &
fpo=$!
timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" --host far logs -f --stderr "$GO" >"$T/follow--stderr" 2>"$T/follow--stderr.err" &
fpe=$!
i=0
while [ $i -lt 600 ] && ! { grep -q '^first$' "$T/follow--stdout" && grep -q '^efirst$' "$T/follow--stderr"; }; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q '^first$' "$T/follow--stdout" && grep -q '^efirst$' "$T/follow--stderr" &&
   kill -0 "$fpo" 2>/dev/null && kill -0 "$fpe" 2>/dev/null; then
	ok "logs -f of a far child: its output as it comes, the follow still on while it runs"
else
	bad "logs -f printed nothing while the far child ran: out=$(cat "$T/follow--stdout") err=$(cat "$T/follow--stdout.err")"
fi
on_b touch /tmp/persist-follow-go
wait "$fpo"; rco=$?
wait "$fpe"; rce=$?
if [ $rco = 0 ] && [ "$(cat "$T/follow--stdout")" = "$(printf 'first\nsecond')" ]; then ok "logs -f --stdout of a far child: its stdout only, exit 0 at its end"; else bad "logs -f --stdout far (rc $rco): $(cat "$T/follow--stdout") $(cat "$T/follow--stdout.err")"; fi
if [ $rce = 0 ] && [ "$(cat "$T/follow--stderr")" = "$(printf 'efirst\nesecond')" ]; then ok "logs -f --stderr of a far child: its stderr only, exit 0 at its end"; else bad "logs -f --stderr far (rc $rce): $(cat "$T/follow--stderr") $(cat "$T/follow--stderr.err")"; fi
on_b rm -f /tmp/persist-follow-go
# More than one read's worth (PERSIST_SESSION_LOG_CHUNK, 1 MiB): read on
# from where each read ended, nothing lost or doubled.
r --host far run -- sh -c 'head -c 3000000 /dev/zero | tr "\0" x; echo; echo end'
BIG=$out
timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" --host far logs -f --stdout "$BIG" >"$T/big" 2>"$T/err"; rc=$?
if [ $rc = 0 ] && [ "$(wc -c <"$T/big")" = 3000005 ] && [ "$(tail -n 1 "$T/big")" = end ]; then ok "logs -f of a far log of 3 MB: every byte once"; else bad "logs -f of a 3 MB far log (rc $rc, $(wc -c <"$T/big") bytes): $(cat "$T/err")"; fi

# ---- our directory means nothing on B ----
ONLY_A=$(mktemp -d /tmp/persist-only-a.XXXXXX) # A's /tmp: B has its own
out=$(cd "$ONLY_A" && timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" --host far run -- sh -c 'exit 4' 2>"$T/err"); rc=$?
err=$(cat "$T/err")
rmdir "$ONLY_A"
if [ $rc = 0 ]; then r --host far wait --timeout 30 "$out"; fi
if [ $rc = 4 ]; then ok "run from a directory only A has: the child starts where B's server runs"; else bad "run from a directory only A has"; fi
r --host far run --cwd relative/dir -- true
case "$rc:$err" in 2:*"absolute path on far"*) ok "--cwd with --host must be absolute: $err";; *) bad "--cwd relative with --host";; esac

# ---- a controller SIGKILLed at each crash point ----
# Under valgrind (PERSISTCTL_WRAP) one crash point keeps the run small.
points="run:after-intent run:after-born run:after-spawn open:after-connect open:after-record-thread"
[ -z "${PERSISTCTL_WRAP:-}" ] || points=run:after-spawn
for pt in $points; do
	out=$(PERSIST_CRASH_AT=$pt timeout "$TO" "$P" --state "$A" --host far run -- sh -c 'exit 5' 2>&1); rc=$?
	[ $rc = 137 ] || { bad "$pt: controller not killed (rc $rc)"; continue; }
	r --host far ps
	ids=$(printf '%s\n' "$out" | awk '$NF == "5" && $(NF-1) == "exit" { print $1 }')
	if printf '%s\n' "$out" | grep -q 'intent\|lost.*sh -c exit 5'; then
		# A spawn not yet started by the crash is lost, never half-run.
		case $pt in run:after-intent) ok "$pt: the intent is settled" ;; *) ok "$pt: settled" ;; esac
	else
		ok "$pt: a new controller settled the store"
	fi
done
r --host far ps
if printf '%s\n' "$out" | grep -q ' intent '; then bad "an intent stayed unsettled"; else ok "no intent left after the crashes"; fi
n=$(printf '%s\n' "$out" | grep -c 'exit 5' || true)
if [ "$n" -ge "$( [ -z "${PERSISTCTL_WRAP:-}" ] && echo 3 || echo 1)" ]; then ok "the children spawned before the crashes have their exit statuses ($n)"; else bad "exit statuses after crashes: $n"; fi

# ---- the ssh connection killed under a live controller ----
timeout "$TO" "$P" --state "$A" --host far wait --timeout 50 sleeper >"$T/w.out" 2>"$T/w.err" &
W=$!
sleep 1
for s in $(pgrep -x ssh); do
	case $(tr '\0' ' ' </proc/"$s"/cmdline) in *"$T/ssh_config"*"-L"*) kill -KILL "$s";; esac
done
r --host far kill sleeper
wait $W; wrc=$?
if [ $wrc = 143 ]; then ok "wait survived its ssh being killed, and saw SIGTERM"; else
	rc=$wrc out=$(cat "$T/w.out") err=$(cat "$T/w.err"); bad "wait after its ssh was killed"; fi

# ---- a silent cut: the controller frozen with its forward stopped ----
r --host far run --name quiet -- sleep 1000
QU=$out
# The controller itself (not a timeout(1) around it) is killed; it holds
# the thread now and then between its looks (wait --timeout lets go while
# it sleeps): freeze its forward while it holds one, if it does.
"$P" --state "$A" --host far wait --timeout 50 quiet >/dev/null 2>&1 &
W=$!
stopped=0
for i in $(seq 1 400); do
	for s in $(pgrep -P $W -x ssh); do
		case $(tr '\0' ' ' </proc/"$s"/cmdline 2>/dev/null) in
		*"-L"*) kill -STOP "$s" && stopped=1;;
		esac
	done
	[ $stopped = 1 ] && break
	sleep 0.05
done
sleep 0.5
kill -KILL $W 2>/dev/null; wait $W 2>/dev/null
[ $stopped = 1 ] || echo "note: no forward of the controller was caught to freeze"
r --host far ps
if printf '%s\n' "$out" | awk -v id="$QU" '$1 == id && $4 == "running" { f = 1 } END { exit !f }'; then
	ok "after a silent cut a new controller takes over"; else bad "takeover after a silent cut"; fi
for s in $(pgrep -x ssh); do
	case $(tr '\0' ' ' </proc/"$s"/cmdline) in *"$T/ssh_config"*) kill -KILL "$s";; esac
done

# ---- a far wait keeps its forward's ssh while it sleeps ----
# Its looks between sleeps go through the one ssh it set up first (a new
# ssh login per slice before), and no forward's socket is left in the
# state directory after: not its own end, nor what a controller killed
# earlier (the silent cut above) or a made-up dead one left.
r --host far run --name nap -- sleep 4
NAP=$out
: >"$A/ssh-0000000000000000-dead00.sock"; : >"$A/ssh-0000000000000000-dead00.err"
"$P" --state "$A" --host far wait --timeout 30 "$NAP" >"$T/nap.out" 2>"$T/nap.err" &
W=$!
# Meanwhile another controller opens a session of the host: it must leave
# the sleeping wait's forward alone (it is held), and its own goes when it ends.
(sleep 1; "$P" --state "$A" --host far ps >"$T/nap.ps" 2>&1; echo $? >"$T/nap.psrc") &
PS=$!
: >"$T/nap.ssh"
while kill -0 $W 2>/dev/null; do
	for s in $(pgrep -P $W -x ssh); do
		case $(tr '\0' ' ' </proc/"$s"/cmdline 2>/dev/null) in *"-L $A/ssh-"*) echo "$s" >>"$T/nap.ssh";; esac
	done
	sleep 0.1
done
wait $W; wrc=$?
wait $PS
if [ "$(cat "$T/nap.psrc")" = 0 ]; then ok "another controller's ps during the far wait"; else out=$(cat "$T/nap.ps"); bad "ps during the far wait"; fi
n=$(sort -u "$T/nap.ssh" | wc -l)
if [ $wrc = 0 ] && [ "$n" = 1 ]; then ok "a far wait of 4 s kept one ssh for all its looks"; else
	rc=$wrc out="$(cat "$T/nap.out") $(cat "$T/nap.err")"; bad "far wait: exit $wrc, $n forward ssh processes over it"; fi
# Only the ssh logs of the two sessions that ended since the last open
# (the wait's and the ps's) stay, for what a failure's message points at,
# until the next controller opens a session.
socks=$(cd "$A" && ls | grep '^ssh-.*\.sock$' || true)
logs=$(cd "$A" && ls | grep -c '^ssh-.*\.err$' || true)
if [ -z "$socks" ] && [ "$logs" = 2 ] && [ ! -e "$A/ssh-0000000000000000-dead00.err" ]; then
	ok "no forward's socket is left in the state directory, only the ssh logs of the last two"; else
	out="$socks; $logs logs"; bad "forward files left: $socks; $logs ssh logs"; fi

# ---- named fds on B: listen there, a TCP client on B reaches the child ----
r --host far listen web tcp:127.0.0.1:0
r --host far fds
port=$(printf '%s\n' "$out" | sed -n 's/.*tcp:127.0.0.1:\([0-9]*\).*/\1/p' | head -1)
if [ -n "$port" ]; then ok "listen on B: port $port"; else bad "listen on B"; fi
r --host far run --fd web -- python3 -c 'import socket; s = socket.socket(fileno=3); c, _ = s.accept(); c.sendall(b"hi-from-b"); c.close()'
WEB=$out
# ssh hands the far shell one command line: the script goes quoted.
got=$(on_b "python3 -c 'import socket; s = socket.create_connection((\"127.0.0.1\", $port), timeout=30); print(s.recv(100).decode())'" 2>&1)
if [ "$got" = hi-from-b ]; then ok "a TCP client on B reaches the child through the named fd"; else out=$got; bad "TCP client on B"; fi
r --host far wait --timeout 30 "$WEB"
if [ $rc = 0 ]; then ok "the child that served it exited 0"; else bad "the web child's status"; fi
r --host far close web
close_rc=$rc
r --host far fds
case "$close_rc:$out" in 0:*web*) bad "close on B: web still kept";; 0:*) ok "close on B";; *) bad "close on B";; esac

# ---- figures (printed, not asserted: the machine may be loaded) ----
ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }
[ -n "${PERSISTCTL_WRAP:-}" ] || {
t0=$(ms); for i in 1 2 3 4 5; do on_b true; done; t1=$(ms)
for i in 1 2 3 4 5; do timeout "$TO" "$P" --state "$A" --host far status >/dev/null; done; t2=$(ms)
echo "measure: ssh far true $(( (t1 - t0) / 5 )) ms; persistctl --host far status (ssh, forward, connect, recovery) $(( (t2 - t1) / 5 )) ms"
}

# ---- stop on B ----
r --host far stop --grace 1
if [ $rc = 0 ] && ! check_b_comm "$SPID" persist-server; then ok "stop on B ends B's server"; else bad "stop on B"; fi
r --host far logs -f "$EX"
case "$rc:$err" in 1:*"has ended, but no server answers on far"*) ok "logs -f with no server on B: says so, exit 1 ($err)";; *) bad "logs -f with no server on B";; esac

# ---- the library from C (a store of its own) ----
if [ -n "${SSH_API_TEST:-}" ]; then
	mkdir -m 700 "$T/api"
	if timeout "$TO" $SSH_API_TEST "$T/api"; then ok "the C API on B"; else bad "the C API on B (above)"; fi
	mkdir -m 700 "$T/api-relay"
	if PERSIST_SSH_RELAY=1 timeout "$TO" $SSH_API_TEST "$T/api-relay"; then ok "the C API on B through the relay"
	else bad "the C API on B through the relay (above)"; fi
fi

# ---- a far sshd that refuses forwarding: the relay through ssh's stdio ----
PORT3=$(far_port)
far_sshd_cfg "$T/sshd_config3" "$PORT3" "$T/bin"
sed -i 's/^AllowStreamLocalForwarding yes/AllowStreamLocalForwarding no/' "$T/sshd_config3"
far_ssh_cfg nofwd "$PORT3"
on_b sh -c "'/usr/sbin/sshd -f $T/sshd_config3 -E $T/sshd3.log'"
r --host nofwd start
RPID=$out
if [ $rc = 0 ] && check_b_comm "$RPID" persist-server; then ok "forwarding refused: start through the relay (B's pid $RPID)"; else bad "start through the relay"; fi
r --host nofwd run -- sh -c 'exit 6'
RX=$out
r --host nofwd wait --timeout 30 "$RX"
if [ $rc = 6 ]; then ok "run and wait through the relay"; else bad "wait through the relay"; fi
out=$(PERSIST_SSH_RELAY=1 timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" --host nofwd status 2>&1); rc=$?
case $out in *"pid $RPID"*) ok "PERSIST_SSH_RELAY=1: the relay at once";; *) bad "PERSIST_SSH_RELAY=1";; esac
r --host nofwd stop --grace 1
if [ $rc = 0 ] && ! check_b_comm "$RPID" persist-server; then ok "stop through the relay"; else bad "stop through the relay"; fi
r --host nofwd ps
case "$rc:$out" in 0:*"exit 6"*) ok "ps offline after stop (the store as recorded)";; *) bad "ps after stop through the relay";; esac

# ---- B without persist-server: ours is shipped there, or a clear error ----
PORT2=$(far_port)
far_sshd_cfg "$T/sshd_config2" "$PORT2" "$T/nobin"
# Its own far state directory: the servers above ran in B's default one.
sed -i 's|^SetEnv PATH=.*|& PERSIST_STATE_DIR=/tmp/bare|' "$T/sshd_config2"
far_ssh_cfg bare "$PORT2"
on_b sh -c "'/usr/sbin/sshd -f $T/sshd_config2 -E $T/sshd2.log'"
out=$(PERSIST_FAR_SHIP=0 timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" --host bare start 2>"$T/err"); rc=$?; err=$(cat "$T/err")
case "$rc:$err" in 1:*"no persist-server on bare's PATH: install"*) ok "B without persist-server, PERSIST_FAR_SHIP=0: $err";;
*) bad "B without persist-server, PERSIST_FAR_SHIP=0 ($rc: $err)";; esac
if [ -z "$(on_b sh -c "'ls -d /tmp/bare/ship-* 2>/dev/null'")" ]; then ok "... and nothing was shipped"; else bad "shipped with PERSIST_FAR_SHIP=0"; fi
# A command that starts nothing ships nothing, even through the relay
# (whose setup needs a server).
out=$(PERSIST_SSH_RELAY=1 timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" --host bare ps 2>"$T/err"); rc=$?; err=$(cat "$T/err")
if [ -z "$(on_b sh -c "'ls -d /tmp/bare/ship-* 2>/dev/null'")" ]; then ok "ps through the relay ships nothing (rc $rc)"; else bad "ps shipped a server"; fi
# A script that is no server, as ours: copied, refused there, never named.
printf '#!/bin/sh\necho not a server here >&2\nexit 1\n' >"$T/notserver"
chmod 755 "$T/notserver"
out=$(PERSIST_SERVER_EXE="$T/notserver" timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" --host bare start 2>"$T/err"); rc=$?; err=$(cat "$T/err")
case "$rc:$err" in 1:*"shipping ours failed"*"does not run there"*"not a server here"*) ok "a shipped server that does not run on B: exit 1, says why";;
*) bad "a shipped server that does not run on B ($rc: $err)";; esac
if [ -z "$(on_b sh -c "'ls -A /tmp/bare/ship-*/ 2>/dev/null'")" ]; then ok "... and no file of it is left on B"; else bad "a refused copy left files: $(on_b sh -c "'ls -A /tmp/bare/ship-*/'")"; fi
r --host bare start
BPID=$out
if [ $rc = 0 ] && check_b_comm "$BPID" persist-server; then ok "B without persist-server: ours is shipped and started (B's pid $BPID)"; else bad "shipping to B ($rc: $err)"; fi
bexe=$(on_b readlink /proc/"$BPID"/exe)
case $bexe in /tmp/bare/ship-*/persist-server) ok "it runs from the far state directory: $bexe";; *) bad "shipped server's path: $bexe";; esac
if [ "$(on_b sha256sum "$bexe" | cut -d' ' -f1)" = "$(sha256sum "$(readlink -f "$(command -v "$SRV")")" | cut -d' ' -f1)" ] &&
   [ "$(on_b stat -c %a "$bexe")" = 700 ]; then ok "... the same bytes as ours, mode 0700"; else bad "the shipped copy differs"; fi
r --host bare run -- sh -c 'exit 4'
BX=$out
r --host bare wait --timeout 30 "$BX"
if [ $rc = 4 ]; then ok "run and wait in the shipped server"; else bad "run in the shipped server ($rc: $err)"; fi
r --host bare stop --grace 1
stamp=$(on_b stat -c %Y:%i "$bexe")
r --host bare start
if [ $rc = 0 ] && [ "$(on_b stat -c %Y:%i "$bexe")" = "$stamp" ] &&
   [ "$(on_b sh -c "'ls -d /tmp/bare/ship-*/persist-server | wc -l'")" = 1 ]; then
	ok "the next start on B uses the copy there: nothing shipped again"
else
	bad "second start on B ($rc: $err)"
fi
r --host bare stop --grace 1
# A copy there that is not ours (another user's, planted) is never run:
# ours is shipped over it.
on_b chown 65534 "$bexe"
r --host bare start
if [ $rc = 0 ] && [ "$(on_b stat -c %u "$bexe")" = 0 ] && [ "$(on_b stat -c %Y:%i "$bexe")" != "$stamp" ] &&
   check_b_comm "$out" persist-server; then
	ok "a copy on B owned by another user is not run: ours is shipped over it"
else
	bad "a planted copy on B ($rc: $err)"
fi
r --host bare stop --grace 1
# Through the relay as through the forward.
on_b rm -rf /tmp/bare/ship-*
out=$(PERSIST_SSH_RELAY=1 timeout "$TO" ${PERSISTCTL_WRAP:-} "$P" --state "$A" --host bare start 2>"$T/err"); rc=$?; err=$(cat "$T/err")
if [ $rc = 0 ] && check_b_comm "$out" persist-server &&
   [ "$(on_b sh -c "'ls -d /tmp/bare/ship-*/persist-server | wc -l'")" = 1 ]; then
	ok "PERSIST_SSH_RELAY=1: ours is shipped and started through the relay"
else
	bad "shipping through the relay ($rc: $err)"
fi
r --host bare stop --grace 1

echo "tests/ssh: $passed passed, $failed failed"
[ $failed = 0 ]
