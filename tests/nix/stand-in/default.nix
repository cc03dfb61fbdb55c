# SPDX-License-Identifier: MIT
# TEST FIXTURE, not packaging: a minimal stand-in for the part of nixpkgs
# that nix/*.nix and flake.nix use, so they can be built offline with the
# host's toolchain.  Called like nixpkgs: import ./. { system; overlays; }.
#
# - stdenv.mkDerivation: builtins.derivation running builder.sh (unpack,
#   build, check if doCheck, install) with the host's /bin/sh, make, gcc and
#   coreutils; checkInputs and nativeCheckInputs join buildInputs and
#   nativeBuildInputs when doCheck is set, as in nixpkgs.  pkg-config sees only the .pc files of the derivation's
#   declared inputs and what they propagate (PKG_CONFIG_LIBDIR), never the
#   host's default path.
# - cmocka, libbsd, sqlite: store paths holding a copy of the host's .pc file,
#   which points at the host's headers and libraries under /usr; sqlite also
#   holds bin/sqlite3, wrapping the host's CLI (nixpkgs' sqlite has it in its
#   bin output).
# - pkg-config, gcc, gnumake, gdb, valgrind, python3, mandoc: store paths wrapping
#   the host's.
# - callPackage, appendOverlays, extend, symlinkJoin, mkShell.
{ system ? builtins.currentSystem, overlays ? [ ], ... }:

let
  lib = import ./lib.nix;

  # Host files, in the multiarch directory of the system asked for.
  multiarch = {
    x86_64-linux = "x86_64-linux-gnu";
    aarch64-linux = "aarch64-linux-gnu";
  }.${system};
  hostPc = name: "/usr/lib/${multiarch}/pkgconfig/${name}.pc";

  # A raw derivation run by the host's /bin/sh.
  shDerivation = name: script: attrs: derivation ({
    inherit name system;
    builder = "/bin/sh";
    args = [ "-euc" script ];
    PATH = "/usr/bin:/bin";
  } // attrs);

  # A library from the host: its .pc files copied into the store path.
  # With bins: $out/bin/NAME execs the host's, as in hostTool.
  hostLibrary = pname: pcs: bins: shDerivation "host-${pname}" ''
    mkdir -p "$out/lib/pkgconfig"
    for pc in $pcs; do cp "$pc" "$out/lib/pkgconfig/"; done
    for b in $bins; do
      mkdir -p "$out/bin"
      printf '#!/bin/sh\nexec %s "$@"\n' "$b" > "$out/bin/''${b##*/}"
      chmod +x "$out/bin/''${b##*/}"
    done
  '' { pcs = map hostPc pcs; inherit bins; } // { inherit pname; };

  # A tool from the host: $out/bin/NAME execs the host's.
  hostTool = pname: bins: shDerivation "host-${pname}" ''
    mkdir -p "$out/bin"
    for b in $bins; do
      printf '#!/bin/sh\nexec %s "$@"\n' "$b" > "$out/bin/''${b##*/}"
      chmod +x "$out/bin/''${b##*/}"
    done
  '' { inherit bins; } // { inherit pname; };

  mkDerivation = { pname, version, meta ? { }, passthru ? { }, doCheck ? false
                 , buildInputs ? [ ], checkInputs ? [ ]
                 , nativeBuildInputs ? [ ], nativeCheckInputs ? [ ], ... }@args:
    let
      drvArgs = removeAttrs args [ "meta" "passthru" "checkInputs" "nativeCheckInputs" ];
      drv = derivation ({
        name = "${pname}-${version}";
        inherit system;
        builder = "/bin/sh";
        args = [ ./builder.sh ];
        propagatedBuildInputs = [ ];
        makeFlags = [ ];
      } // drvArgs // {
        # As in nixpkgs: the check inputs are build inputs when doCheck is
        # set, and nothing otherwise.
        inherit doCheck;
        buildInputs = buildInputs ++ (if doCheck then checkInputs else [ ]);
        nativeBuildInputs = nativeBuildInputs ++ (if doCheck then nativeCheckInputs else [ ]);
      });
    in
    drv // passthru // { inherit meta pname version; };

  base = self: {
    inherit lib system;
    callPackage = lib.callPackageWith self;
    appendOverlays = more: import ./. { inherit system; overlays = overlays ++ more; };
    extend = overlay: self.appendOverlays [ overlay ];

    stdenv = {
      inherit mkDerivation;
      hostPlatform = { inherit system; isLinux = true; };
      buildPlatform = { inherit system; isLinux = true; };
      cc = self.gcc;
    };

    pkg-config = hostTool "pkg-config" [ "/usr/bin/pkg-config" ];
    gcc = hostTool "gcc" [ "/usr/bin/gcc" "/usr/bin/cc" ];
    gnumake = hostTool "gnumake" [ "/usr/bin/make" ];
    gdb = hostTool "gdb" [ "/usr/bin/gdb" ];
    valgrind = hostTool "valgrind" [ "/usr/bin/valgrind" ];
    python3 = hostTool "python3" [ "/usr/bin/python3" ];
    mandoc = hostTool "mandoc" [ "/usr/bin/mandoc" ];
    cmocka = hostLibrary "cmocka" [ "cmocka" ] [ ];
    libbsd = hostLibrary "libbsd" [ "libbsd" ] [ ];
    sqlite = hostLibrary "sqlite" [ "sqlite3" ] [ "/usr/bin/sqlite3" ];

    symlinkJoin = { name, paths, ... }: shDerivation name ''
      mkdir -p "$out"
      # First one wins on a collision, as with nixpkgs' lndir.
      for p in $paths; do cp -rsn "$p/." "$out/"; chmod -R u+w "$out"; done
    '' { inherit paths; };

    # nixpkgs' mkShell is not meant to be built; neither is this one.
    mkShell = { packages ? [ ], ... }: shDerivation "nix-shell" ''
      echo "mkShell is for nix-shell/nix develop, not for building" >&2; exit 1
    '' { inherit packages; };
  };
in
lib.fix (self: builtins.foldl' (super: overlay: super // overlay self super) (base self) overlays)
