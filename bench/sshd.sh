#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench's far host: runs CMD... with a real OpenSSH sshd on 127.0.0.1
# (its own port, host key and authorized keys; UsePAM no) inside its own pid
# and mount namespaces with its own /tmp (tests/ssh/far_host.sh, as for
# tests/ssh), and stops it when CMD ends, however it ends: ending the namespace's
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
. "$TOP/tests/ssh/far_host.sh"
cleanup() {
	far_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 700 "$T"
far_keys || exit 1
PORT=$(far_port)
far_sshd_cfg "$T/sshd_config" "$PORT"
far_ssh_cfg far "$PORT"
far_start "$T/sshd_config" "$TOP" || exit 1
PERSIST_SSH="ssh -F $T/ssh_config"
BENCH_SSH_DEST=far
BENCH_SSH_DIR=$T
export PERSIST_SSH BENCH_SSH_DEST BENCH_SSH_DIR
unset PERSIST_STATE_DIR XDG_RUNTIME_DIR PERSIST_FAR_SERVER PERSIST_SSH_RELAY BENCH_SSH_SKIP || true
far_up far || { echo "bench: the bench's sshd did not come up on 127.0.0.1:$PORT" >&2; exit 1; }
"$@"
rc=$?
exit $rc
