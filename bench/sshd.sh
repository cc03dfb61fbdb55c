#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench's far host: runs CMD... with a real OpenSSH sshd on 127.0.0.1
# (its own port, host key and authorized keys; UsePAM no) inside its own pid
# and mount namespaces with its own /tmp, as tests/ssh/test_ssh.sh starts
# it, and stops it when CMD ends, however it ends: ending the namespace's
# init ends everything on "host B".  CMD gets PERSIST_SSH="ssh -F CFG" and
# BENCH_SSH_DEST=far (BENCH_SSH_DIR: a directory of ours, not under /tmp);
# when sshd cannot run here (not root, no sshd) it gets BENCH_SSH_SKIP with
# the reason instead, and the ssh rows say so.
#   sh bench/sshd.sh TOPDIR CMD...   (TOPDIR: the tree, bound back into B's
#                                     /tmp when it lives under /tmp)
set -u
TOP=$(cd "$1" && pwd) || exit 1
shift
skip() {
	BENCH_SSH_SKIP=$1
	export BENCH_SSH_SKIP
	shift
	exec "$@"
}
if [ "$(id -u)" != 0 ]; then
	skip "needs root (sshd in its own pid and mount namespaces)" "$@"
fi
for x in /usr/sbin/sshd ssh ssh-keygen unshare python3; do
	command -v "$x" >/dev/null 2>&1 || skip "$x missing (make deps)" "$@"
done
unshare --pid --fork --mount-proc true 2>/dev/null ||
	skip "unshare --pid --fork --mount-proc fails here (no namespaces)" "$@"
# Not under /tmp: B has its own /tmp, and sshd must still read this.
T=$(mktemp -d /var/tmp/persist-bench-ssh.XXXXXX) || exit 1
NSPID=
cleanup() {
	[ -n "$NSPID" ] && kill -KILL "$NSPID" 2>/dev/null # --kill-child: B ends
	[ -n "$NSPID" ] && wait "$NSPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p /run/sshd
chmod 700 "$T"
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || exit 1
ssh-keygen -q -t ed25519 -N '' -f "$T/userkey" || exit 1
cp "$T/userkey.pub" "$T/authorized_keys"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PidFile none
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowStreamLocalForwarding yes
EOF
cat >"$T/ssh_config" <<EOF
Host far
	HostName 127.0.0.1
	Port $PORT
	User root
	IdentityFile $T/userkey
	IdentitiesOnly yes
	UserKnownHostsFile $T/known_hosts
	StrictHostKeyChecking yes
	BatchMode yes
	LogLevel ERROR
EOF
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$T/hostkey.pub")" >"$T/known_hosts"
/usr/sbin/sshd -t -f "$T/sshd_config" || { echo "bench: sshd rejects its config" >&2; exit 1; }
mkdir -p "$T/hosttmp"
unshare --pid --fork --mount-proc --kill-child sh -c '
	case $3 in /tmp/*) mount --bind /tmp "$2/hosttmp" || exit 1 ;; esac
	mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 1
	case $3 in /tmp/*) mkdir -p "$3" && mount --bind "$2/hosttmp${3#/tmp}" "$3" || exit 1 ;; esac
	/usr/sbin/sshd -D -e -f "$1" 2>"$2/sshd.log" &
	wait' sh "$T/sshd_config" "$T" "$TOP" &
NSPID=$!
PERSIST_SSH="ssh -F $T/ssh_config"
BENCH_SSH_DEST=far
BENCH_SSH_DIR=$T
export PERSIST_SSH BENCH_SSH_DEST BENCH_SSH_DIR
unset PERSIST_STATE_DIR XDG_RUNTIME_DIR PERSIST_FAR_SERVER PERSIST_SSH_RELAY BENCH_SSH_SKIP || true
up=0
for i in $(seq 1 200); do
	if timeout 10 ssh -F "$T/ssh_config" far true 2>/dev/null; then up=1; break; fi
	sleep 0.1
done
if [ $up != 1 ]; then
	echo "bench: the bench's sshd did not come up on 127.0.0.1:$PORT:" >&2
	cat "$T/sshd.log" >&2
	exit 1
fi
"$@"
rc=$?
exit $rc
