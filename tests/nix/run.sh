#!/bin/sh
# SPDX-License-Identifier: MIT
# The offline proof of nix/ and flake.nix (see Makefile).  Run by `make check`.
set -eu
cd "$(dirname "$0")"
HERE=$(pwd)
TOP=$(cd ../.. && pwd)
SCRATCH=$HERE/build
# The layers in dependency order, each with the persist layers its closure
# must hold (and no other), then those it takes as check inputs only (its
# tests use them; its derivation depends on them, its closure must not hold
# them).  A new layer is one line here, one in flake-eval.nix, one in
# build.nix's without-libnear if it needs libnear, and its consumer in
# section 6.
LAYERS="
libnear:
persist-server:libnear
libfar:libnear
libhandle:libnear,libfar
libtransport:libnear,libfar:persist-server
libpersist:libnear,libfar,libhandle,libtransport,persist-server
persistctl:libnear,libfar,libhandle,libtransport,persist-server,libpersist
"
ALL_LAYERS="libnear persist-server libfar libhandle libtransport libpersist persistctl"
say() { printf '%s\n' "nix: $*"; }
fail() { printf '%s\n' "nix: FAIL: $*" >&2; exit 1; }
t0=$(date +%s)

# --- Nix itself: Debian's nix-bin, a local store under /nix, no daemon.
if ! command -v nix-build >/dev/null 2>&1; then
	command -v apt-get >/dev/null 2>&1 ||
		fail "nix-build is missing; install Nix (Debian: nix-bin)"
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	say "installing nix-bin"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get install -y -qq nix-bin </dev/null >/dev/null 2>&1 ||
		{ $SUDO apt-get update -qq </dev/null && $SUDO apt-get install -y -qq nix-bin </dev/null >/dev/null; }
fi
if [ "$(id -u)" = 0 ]; then
	mkdir -p /nix
elif ! [ -w /nix/store ] || ! [ -w /nix/var/nix/db ]; then
	say "SKIPPED: a local Nix store needs root or a writable /nix (run make check as root, as CI does)"
	exit 0
fi
# Builds run as the nixbld users when Debian's nix-setup-systemd made them
# (as in a real installation), as the caller otherwise.
if getent group nixbld 2>/dev/null | grep -q ':.*nixbld[0-9]'; then
	BUG=nixbld
else
	BUG=""
fi
# Local store, no daemon, no sandbox (the stand-in uses the host's /usr),
# no binary cache, no channels.
export NIX_REMOTE="" NIX_PATH="" NIX_CONFIG=""
OPTS="--option sandbox false --option substituters '' --option build-users-group '$BUG'"
OPTS="$OPTS --option fallback false --option experimental-features ''"
nixb() { eval "nix-build $OPTS \"\$@\""; }
nixi() { eval "nix-instantiate $OPTS \"\$@\""; }
say "$(nix-build --version), local store /nix/store, sandbox off, no substituters, build users: ${BUG:-none (the caller)}"
layers=$(echo "$LAYERS" | sed -n 's/:.*//p')
deps_of() { echo "$LAYERS" | sed -n "s/^$1://p" | cut -d: -f1 | tr ',' ' '; }
checkdeps_of() { echo "$LAYERS" | sed -n "s/^$1:[^:]*://p" | tr ',' ' '; }

# --- 1. flake.nix's outputs, called with the stand-in nixpkgs, for both systems.
say "evaluating flake.nix outputs with the stand-in nixpkgs"
summary=$(nixi --eval --strict --json flake-eval.nix) || fail "flake outputs do not evaluate"
for sys in x86_64-linux aarch64-linux; do
	for p in $layers persist-all default; do
		echo "$summary" | grep -q "\"$sys\":{[^}]*\"$p\":\"/nix/store/[^\"]*\.drv\"" ||
			fail "packages.$sys.$p missing from the flake's outputs"
	done
done
for p in gcc pkg-config cmocka libbsd sqlite gdb valgrind python3; do
	echo "$summary" | grep -q "\"$p\"" || fail "devShells.default lacks $p"
done
say "ok: packages.{x86_64,aarch64}-linux.{$(echo $layers | tr ' ' ,),persist-all,default}, checks, devShells.default, overlays.default"

# --- 2. Versions in nix/ follow the layers' Makefiles.
for l in $layers; do
	mk=$(sed -n 's/^VERSION *:= *//p' "$TOP/$l/Makefile")
	nv=$(nixi --eval build.nix -A "$l.version" | tr -d '"')
	[ "$mk" = "$nv" ] || fail "nix/$l.nix has version $nv, $l/Makefile $mk"
done
say "ok: nix/*.nix versions match the Makefiles"

# --- 3. Each layer builds and passes its tests, in dependency order, each in
# its own store path.  Built afresh each run: outputs left by an earlier run
# are deleted first (unless something else still uses them: then they stay,
# and the log says so).  build/result-LAYER roots each output while in use.
mkdir -p "$SCRATCH"
rm -f "$SCRATCH"/result-*
for l in persist-all $(echo $layers | tr ' ' '\n' | tac); do
	for o in $(nix-store -q --outputs "$(nixi build.nix -A $l 2>/dev/null)"); do
		# With whatever unrooted paths refer to it (an older persist-all).
		[ -e "$o" ] && nix-store --delete $(nix-store -q --referrers-closure "$o") >/dev/null 2>&1 || true
	done
done
built() { # layer -> store path; the build log goes to build/LAYER.log
	s=$(date +%s)
	nixb build.nix -A "$1" --out-link "$SCRATCH/result-$1" >"$SCRATCH/$1.out" 2>"$SCRATCH/$1.log" ||
		{ tail -40 "$SCRATCH/$1.log" >&2; fail "nix-build of $1 failed (log: $SCRATCH/$1.log)"; }
	say "built $1 in $(( $(date +%s) - s ))s: $(cat "$SCRATCH/$1.out")" >&2
	cat "$SCRATCH/$1.out"
}
outs=""
for l in $layers; do
	o=$(built "$l")
	echo "$outs" | grep -qx "$o" && fail "$l shares its store path with another layer"
	outs="$outs$o
"
	eval "out_$(echo "$l" | tr - _)=\$o"
	if grep -q 'checkPhase' "$SCRATCH/$l.log"; then
		# cmocka suites, or shell tests alone (persistctl's).
		grep -q 'PASSED\|^== [0-9]* passed, 0 failed$' "$SCRATCH/$l.log" ||
			fail "$l: checkPhase ran no passing test"
		# Shell tests (persistctl's test) end with "== N passed,
		# 0 failed"; none may have skipped a check for a missing tool.
		sh_ok=""
		if grep -q '^== tests/test_.*\.sh$' "$SCRATCH/$l.log"; then
			grep -q '^== [0-9]* passed, 0 failed$' "$SCRATCH/$l.log" ||
				fail "$l: a shell test did not pass"
			# (A check that needs root, as mounting a tmpfs does, is
			# skipped by the unprivileged build user: that is no
			# missing tool.)
			if grep '^skip ' "$SCRATCH/$l.log" | grep -qv ': not root'; then
				grep '^skip ' "$SCRATCH/$l.log" >&2; fail "$l: a shell test skipped a check"
			fi
			sh_ok=", $(sed -n 's/^== \([0-9]*\) passed, 0 failed$/\1/p' "$SCRATCH/$l.log" | paste -sd+) shell checks"
		fi
		say "ok: $l checkPhase passed ($(grep -c '^\[  PASSED  \]' "$SCRATCH/$l.log") cmocka suites$sh_ok)"
	else
		say "ok: $l was still in use, not rebuilt (its checkPhase passed when it was built)"
	fi
done
out() { eval "echo \$out_$(echo "$1" | tr - _)"; }
all=$(built persist-all)

# The derivation of each layer takes those of its declared layers (and its
# check inputs) as inputs: directly, except persistctl's, whose one direct
# persist input is libpersist (the others come through it).
for l in $layers; do
	drv=$(nixi build.nix -A "$l" 2>/dev/null)
	if [ "$l" = persistctl ]; then
		refs=$(nix-store -q --references "$drv")
		echo "$refs" | grep -qx "$(nixi build.nix -A libpersist 2>/dev/null)" ||
			fail "persistctl.drv does not take libpersist.drv as an input"
		refs=$(nix-store -qR "$drv")
	else
		refs=$(nix-store -q --references "$drv")
	fi
	for d in $(deps_of "$l") $(checkdeps_of "$l"); do
		echo "$refs" | grep -qx "$(nixi build.nix -A "$d" 2>/dev/null)" ||
			fail "$l.drv does not take $d.drv as an input"
	done
done
say "ok: each layer's derivation takes its lower layers' derivations (and libtransport persist-server's, for its tests; libpersist persist-server's, at run time too) as inputs; persistctl's takes libpersist's"

# --- 4. Closures: each layer's holds its declared lower layers and no other.
for l in $layers; do
	closure=$(nix-store -qR "$(out "$l")")
	echo "$closure" | sed "s/^/nix:   closure of $l: /"
	for other in $ALL_LAYERS; do
		[ "$other" = "$l" ] && continue
		case " $(deps_of "$l") " in
		*" $other "*)
			echo "$closure" | grep -qx "$(out "$other")" ||
				fail "$other is not in $l's closure" ;;
		*)
			if echo "$closure" | grep -q -- "-$other-[0-9]"; then fail "$l's closure holds $other"; fi ;;
		esac
	done
done
say "ok: persist-server's closure holds libnear and none of libfar, libhandle, libtransport, libpersist"
say "ok: libtransport's closure holds libnear and libfar, not persist-server (a check input only)"
say "ok: libpersist's closure holds libnear, libfar, libhandle, libtransport and persist-server (it execs it)"
say "ok: persistctl's closure holds libpersist and every layer below it"
say "ok: every layer's closure holds exactly its declared lower layers"

# --- 5. The installed outputs work from their store paths.
near=$(out libnear) psrv=$(out persist-server)
# Linked statically where the toolchain has glibc's libc.a (nixpkgs' has):
# libnear is then inside it; linked dynamically, it must be the store's.
if ldd "$psrv/bin/persist-server" >/dev/null 2>&1; then
	ldd "$psrv/bin/persist-server" | grep -q "libnear.so.0 => $near/lib/libnear.so.0" ||
		fail "persist-server does not load libnear from $near"
else
	say "ok: persist-server is linked statically (libnear and libc inside it)"
fi
"$psrv/bin/persist-server" --version >/dev/null || fail "persist-server --version"
for l in $layers; do
	for pc in "$(out "$l")"/lib/pkgconfig/*.pc; do
		[ -e "$pc" ] || continue # persistctl: a program, no .pc
		grep -q "^prefix=$(out "$l")\$" "$pc" || fail "$pc does not name its store path"
		[ -e "$all/lib/pkgconfig/${pc##*/}" ] || fail "persist-all lacks ${pc##*/}"
	done
done
[ -x "$all/bin/persist-server" ] || fail "persist-all lacks bin/persist-server"
# libpersist.so names persist-server's store path (the executable it
# starts), which is why that path is in libpersist's closure.  persistctl
# is a package of its own (libpersist installs none): it runs, and loads
# libpersist.so from libpersist's store path.
lp=$(out libpersist) pctl=$(out persistctl)
grep -q "$psrv/bin/persist-server" "$lp/lib/libpersist.so.0" ||
	fail "libpersist.so does not name $psrv/bin/persist-server"
ldd "$lp/lib/libpersist.so.0" | grep -q "libtransport.so.0 => $(out libtransport)/lib/libtransport.so.0" ||
	fail "libpersist.so does not load libtransport from its store path"
[ ! -e "$lp/bin/persistctl" ] || fail "libpersist still installs bin/persistctl"
"$pctl/bin/persistctl" --version | grep -q persistctl || fail "persistctl --version"
ldd "$pctl/bin/persistctl" | grep -q "libpersist.so.0 => $lp/lib/libpersist.so.0" ||
	fail "persistctl does not load libpersist from its store path"
[ -x "$all/bin/persistctl" ] || fail "persist-all lacks bin/persistctl"
# Each layer installs its own man pages in its out (a link per function).
for page in libnear:man3/near_syscall.3 libnear:man3/near_clone.3 persist-server:man1/persist-server.1 \
	libfar:man3/far_ns_of.3 libhandle:man3/handle_openat.3 libtransport:man3/transport_call.3 \
	libpersist:man3/persist_session_open.3 libpersist:man7/persist.7; do
	l=${page%%:*} f=${page#*:}
	[ -e "$(out "$l")/share/man/$f" ] || fail "$l does not install share/man/$f"
	[ -e "$all/share/man/$f" ] || fail "persist-all lacks share/man/$f"
done
[ ! -e "$near/share/man/man3/persist_session_open.3" ] || fail "libnear installs libpersist's pages"
say "ok: persist-server loads libnear from its store path; .pc files name their store paths; persist-all holds every layer and persistctl"
say "ok: each layer installs its own man pages under share/man (man 3 FUNCTION finds its page)"
say "ok: libpersist.so starts $psrv/bin/persist-server; persistctl runs and loads libpersist.so from $lp"

# --- 6. Downstream Nix projects: each consumer of tests/pkgconfig, with one
# layer as its input, builds with pkg-config alone and runs; its closure
# holds that layer's libraries and no layer it did not ask for.
for c in "libnear:libnear" "pserver:persist-server" "libfar:libfar" \
	"libhandle:libhandle" "libtransport:libtransport" "libpersist:libpersist"; do
	m=${c%%:*} l=${c#*:}
	nixb build.nix -A "consumers.$m" --out-link "$SCRATCH/result-consumer-$m" \
		>"$SCRATCH/consumer-$m.out" 2>"$SCRATCH/consumer-$m.log" ||
		{ tail -30 "$SCRATCH/consumer-$m.log" >&2; fail "the Nix consumer of $m does not build"; }
	ran=$(grep "^$m-consumer: " "$SCRATCH/consumer-$m.log" | head -1 | cut -d: -f2-)
	[ -n "$ran" ] || ran=" (still in use, not rebuilt: it ran when it was built)"
	closure=$(nix-store -qR "$(cat "$SCRATCH/consumer-$m.out")")
	echo "$closure" | grep -qx "$(out libnear)" || fail "$m-consumer's closure lacks libnear"
	for other in $ALL_LAYERS; do
		case " $l libnear $(deps_of "$l") " in *" $other "*) continue ;; esac
		if echo "$closure" | grep -q -- "-$other-[0-9]"; then fail "$m-consumer's closure holds $other"; fi
	done
	say "ok: a Nix package with buildInputs = [ $l ] builds $m-consumer with pkg-config alone; it runs:$ran"
done

# --- 7. Only declared inputs: a layer given no libnear does not build.
for l in $layers; do
	[ -n "$(deps_of "$l")" ] || continue
	if nixb --no-out-link build.nix -A "without-libnear.$l" >"$SCRATCH/without-$l.log" 2>&1; then
		fail "$l built without its libnear input (found libnear elsewhere)"
	fi
	# persistctl is given no libpersist (which would bring libnear).
	grep -q 'lib\(near\|persist\)[a-z0-9 ]* not found by pkg-config' "$SCRATCH/without-$l.log" ||
		{ cat "$SCRATCH/without-$l.log" >&2; fail "$l without libnear failed for another reason"; }
done
say "ok: without their libnear input, the upper layers do not find one on the host"

# --- 8. Sources: each layer's derivation depends on its own directory only.
src=$SCRATCH/src
rm -rf "$src"; mkdir -p "$src"
(cd "$TOP" && tar cf - --exclude='build' --exclude='build-*' nix $layers) | (cd "$src" && tar xf -)
sed -e "s|\./stand-in|$HERE/stand-in|" -e 's|\.\./\.\./nix|./.|g' build.nix > "$src/nix/build.nix"
drv() { nixi "$src/nix/build.nix" -A "$1" 2>/dev/null; }
snap() { for l in $layers; do printf '%s=%s ' "$l" "$(drv "$l")"; done; }
before=$(snap)
for l in $layers; do
	echo "/* changed */" >> "$(ls "$src/$l"/src/*.c | head -1)"
	mkdir -p "$src/$l/build" && echo stale > "$src/$l/build/junk.o"
	after=$(snap)
	for m in $layers; do
		b=$(echo "$before" | tr ' ' '\n' | sed -n "s/^$m=//p")
		a=$(echo "$after" | tr ' ' '\n' | sed -n "s/^$m=//p")
		case " $m $(deps_of "$m") $(checkdeps_of "$m") " in
		*" $l "*) [ "$a" != "$b" ] || fail "a change in $l does not rebuild $m" ;;
		*) [ "$a" = "$b" ] || fail "a change in $l rebuilds $m" ;;
		esac
	done
	before=$after
done
rm -rf "$src"
say "ok: a change in a layer rebuilds it and the layers above it, nothing else; build output is not source"

say "all passed in $(( $(date +%s) - t0 ))s"
