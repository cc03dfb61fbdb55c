# SPDX-License-Identifier: MIT
# bash completion for persistctl(1): commands, their options, and the ids
# and names of the children (from 'persistctl ps --json', which writes one
# child per line) and the names of kept fds (from 'persistctl fds --json').
# Installed as PREFIX/share/bash-completion/completions/persistctl, where
# bash-completion loads it on first use; or source it from ~/.bashrc.

# The persistctl being completed, with the --state DIR given before the
# command (the children are those of that directory).
_persistctl_run() {
	local prog=${COMP_WORDS[0]} i
	local -a global=()

	[[ $prog == */* && -x $prog ]] || prog=persistctl
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		--state) global=(--state "${COMP_WORDS[i + 1]}"); ((i++)) ;;
		--state=*) global=("${COMP_WORDS[i]}") ;;
		-*) ;;
		*) break ;;
		esac
	done
	"$prog" "${global[@]}" "$@" 2>/dev/null </dev/null
}

# Ids and names of the children (names once each).
_persistctl_children() {
	_persistctl_run ps --json |
		sed -n 's/^ *{"id": \([0-9]*\), "name": \(null\|"\([^"\\]*\)"\).*/\1 \3/p' |
		tr ' ' '\n' | awk 'NF && !seen[$0]++'
}

_persistctl_fd_names() {
	_persistctl_run fds --json | sed -n 's/^ *{"name": "\([^"\\]*\)".*/\1/p'
}

_persistctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="start run restart ps wait kill logs status stop listen fds close recover-store help"
	local cmd="" cmdi=0 i nargs=0 opts=""

	COMPREPLY=()
	# The command: the first word that is neither an option nor its value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--state) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]} cmdi=$i; break ;;
		esac
	done
	if [[ -z $cmd ]]; then
		case $prev in
		--state) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--state --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	# run: after '--' (or the first operand), the command and its files.
	if [[ $cmd == run ]]; then
		for ((i = cmdi + 1; i < COMP_CWORD; i++)); do
			if [[ ${COMP_WORDS[i]} == -- ]]; then
				if ((i == COMP_CWORD - 1)); then
					COMPREPLY=($(compgen -c -- "$cur"))
				else
					COMPREPLY=($(compgen -f -- "$cur"))
				fi
				return
			fi
		done
	fi

	# Option values.
	case $cmd:$prev in
	ps:--state | ps:-s)
		COMPREPLY=($(compgen -W "intent running exited killed lost" -- "$cur")); return ;;
	ps:--name | ps:-n)
		COMPREPLY=($(compgen -W "$(_persistctl_children | grep -v '^[0-9]')" -- "$cur")); return ;;
	run:--cwd | run:-C)
		COMPREPLY=($(compgen -d -- "$cur")); return ;;
	run:--stdin | run:-i)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	run:--fd | run:-f)
		COMPREPLY=($(compgen -W "$(_persistctl_fd_names)" -- "$cur")); return ;;
	run:--env | run:-e)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -e -S = -- "$cur")); return ;;
	run:--name | run:-n | *:--grace | *:-g | *:--timeout | *:-t)
		return ;;
	esac

	case $cmd in
	start | status | fds) opts="--json" ;;
	run) opts="--name --env --cwd --stdin --fd --json --" ;;
	restart) opts="--grace --json" ;;
	ps) opts="--state --name --json" ;;
	wait) opts="--timeout --json" ;;
	logs) opts="--follow --stdout --stderr" ;;
	stop) opts="--grace --json" ;;
	listen) opts="--json" ;;
	recover-store) opts="--force" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
		return
	fi
	# Operands: how many come before this word.
	for ((i = cmdi + 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--grace | --timeout | --state | --name | -g | -t | -s | -n) ((i++)) ;;
		-*) ;;
		*) ((nargs++)) ;;
		esac
	done
	case $cmd in
	restart | wait | logs)
		((nargs == 0)) && COMPREPLY=($(compgen -W "$(_persistctl_children)" -- "$cur")) ;;
	kill)
		if ((nargs == 0)); then
			COMPREPLY=($(compgen -W "$(_persistctl_children)" -- "$cur"))
		elif ((nargs == 1)); then
			COMPREPLY=($(compgen -W "TERM KILL INT HUP QUIT USR1 USR2 STOP CONT" -- "$cur"))
		fi ;;
	close)
		((nargs == 0)) && COMPREPLY=($(compgen -W "$(_persistctl_fd_names)" -- "$cur")) ;;
	esac
}
complete -F _persistctl persistctl
