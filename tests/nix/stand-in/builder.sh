# SPDX-License-Identifier: MIT
# TEST FIXTURE: the stand-in stdenv's builder, run by the host's /bin/sh.
# The standard phases of nixpkgs' generic builder, reduced to what a plain
# Makefile project needs: unpack, build, check (if doCheck), install, and
# the propagation of propagatedBuildInputs.
set -eu

# The host's tools, after the declared native inputs (as in nixpkgs, where
# they come first on PATH).
p=""
for d in $nativeBuildInputs; do [ -d "$d/bin" ] && p="$p$d/bin:"; done
export PATH="$p/usr/bin:/bin"

# pkg-config finds the .pc files of the declared inputs and nothing else:
# PKG_CONFIG_LIBDIR replaces the default search path (/usr/lib/...,
# /usr/local/lib/...), so a lower layer can only come from its store path.
# The inputs, and what they propagate (nix-support/propagated-build-inputs),
# transitively, as nixpkgs' setup does.
inputs=""
add() {
	for d; do
		case " $inputs " in *" $d "*) continue ;; esac
		inputs="$inputs $d"
		[ -f "$d/nix-support/propagated-build-inputs" ] &&
			add $(cat "$d/nix-support/propagated-build-inputs")
	done
	return 0
}
add $buildInputs $propagatedBuildInputs
pc=""
for d in $inputs; do
	for s in lib/pkgconfig share/pkgconfig; do
		[ -d "$d/$s" ] && pc="$pc${pc:+:}$d/$s"
	done
done
export PKG_CONFIG_LIBDIR="$pc" PKG_CONFIG_PATH=""
export HOME=/homeless-shelter SOURCE_DATE_EPOCH=315532800
unset CC CFLAGS LDFLAGS PREFIX DESTDIR

echo "stand-in stdenv: $name"
echo "  PKG_CONFIG_LIBDIR=$PKG_CONFIG_LIBDIR"

# unpackPhase
cp -r "$src" source
chmod -R u+w source
cd source

# buildPhase ($makeFlags is split on whitespace, as nixpkgs does); a
# derivation may give its own phase as a string, as in nixpkgs.
echo "== buildPhase"
if [ -n "${buildPhase:-}" ]; then eval "$buildPhase"; else make $makeFlags ${buildFlags:-}; fi

# checkPhase
if [ -n "$doCheck" ]; then
	echo "== checkPhase"
	if [ -n "${checkPhase:-}" ]; then eval "$checkPhase"
	else make $makeFlags ${checkFlags:-} ${checkTarget:-check}; fi
fi

# installPhase
echo "== installPhase"
if [ -n "${installPhase:-}" ]; then eval "$installPhase"
else make $makeFlags ${installFlags:-} ${installTargets:-install}; fi
[ -d "$out" ] || { echo "installPhase did not create \$out" >&2; exit 1; }

# fixupPhase, the part that matters here: record what is propagated.
if [ -n "$propagatedBuildInputs" ]; then
	mkdir -p "$out/nix-support"
	echo $propagatedBuildInputs > "$out/nix-support/propagated-build-inputs"
fi
