# SPDX-License-Identifier: MIT
# Host B for the ssh tests and the bench's ssh rows (sourced, not run): a
# real OpenSSH sshd on 127.0.0.1 with its own port, host key and authorized
# keys (UsePAM no), inside its own pid and mount namespaces with its own
# /tmp, so that B's pids, /proc and files are not ours.  The caller sets T
# (a private directory NOT under /tmp: B has its own /tmp and sshd must
# still read T) and sources this file; then:
#   far_keys                       host and user keys, authorized_keys
#   far_port                       prints a free port on 127.0.0.1
#   far_sshd_cfg FILE PORT [PATH]  an sshd config (PATH: sshd's SetEnv PATH
#                                  gets PATH first)
#   far_ssh_cfg HOST PORT          appends "Host HOST" to $T/ssh_config and
#                                  its key to $T/known_hosts
#   far_start CFG TOP              sshd -D -f CFG in B's namespaces; TOP (the
#                                  build, when under /tmp) is bound back into
#                                  B's fresh /tmp; sets FAR_NSPID
#   far_up HOST                    waits (20 s at most) until ssh HOST true
#                                  works; 1 and sshd's log on stderr if not
#   far_stop                       ends B (its init, then all of B's pids)

far_keys() {
	ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$T/userkey" || return 1
	cp "$T/userkey.pub" "$T/authorized_keys"
}

far_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

far_sshd_cfg() {
	cat >"$1" <<EOF
Port $2
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
	[ -z "${3:-}" ] || echo "SetEnv PATH=$3:/usr/bin:/bin:/usr/sbin:/sbin" >>"$1"
}

far_ssh_cfg() {
	cat >>"$T/ssh_config" <<EOF
Host $1
	HostName 127.0.0.1
	Port $2
	User root
	IdentityFile $T/userkey
	IdentitiesOnly yes
	UserKnownHostsFile $T/known_hosts
	StrictHostKeyChecking yes
	BatchMode yes
	LogLevel ERROR
EOF
	echo "[127.0.0.1]:$2 $(cut -d' ' -f1,2 "$T/hostkey.pub")" >>"$T/known_hosts"
}

far_start() {
	mkdir -p /run/sshd "$T/hosttmp"
	/usr/sbin/sshd -t -f "$1" || { echo "sshd rejects its config $1" >&2; return 1; }
	unshare --pid --fork --mount-proc --kill-child sh -c '
		case $3 in /tmp/*) mount --bind /tmp "$2/hosttmp" || exit 1 ;; esac
		mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 1
		case $3 in /tmp/*) mkdir -p "$3" && mount --bind "$2/hosttmp${3#/tmp}" "$3" || exit 1 ;; esac
		/usr/sbin/sshd -D -e -f "$1" 2>"$2/sshd.log" &
		wait' sh "$1" "$T" "$2" &
	FAR_NSPID=$!
}

far_up() {
	for _i in $(seq 1 200); do
		timeout 10 ssh -F "$T/ssh_config" "$1" true 2>/dev/null && return 0
		sleep 0.1
	done
	echo "the sshd of host B did not come up:" >&2
	cat "$T/sshd.log" >&2
	return 1
}

far_stop() {
	[ -n "${FAR_NSPID:-}" ] && kill -KILL "$FAR_NSPID" 2>/dev/null # --kill-child: B ends
	[ -n "${FAR_NSPID:-}" ] && wait "$FAR_NSPID" 2>/dev/null
	FAR_NSPID=
}
