# SPDX-License-Identifier: MIT
# libfar: namespaces as identities (/proc/PID/ns, kcmp) and far identifiers.
# Depends on libnear only, found through pkg-config.
{ lib, stdenv, pkg-config, mandoc, cmocka, libnear }:

stdenv.mkDerivation {
  pname = "libfar";
  version = "0.1.0";

  # This layer's directory only, without in-tree build output.
  src = builtins.path {
    name = "libfar-source";
    path = ../libfar;
    filter = path: type:
      !(type == "directory" && dirOf path == toString ../libfar
        && builtins.match "build(-.*)?" (baseNameOf path) != null);
  };

  nativeBuildInputs = [ pkg-config ];
  # The checkPhase lints the man pages with mandoc and checks that they
  # name every exported function (man-check, libnear/mk/common.mk);
  # `make install` puts them in $out/share/man (section 3 pages with a
  # link per function), in out: one output per layer, as nixpkgs
  # leaves share/man of a package that declares no man output.
  nativeCheckInputs = [ mandoc ];
  buildInputs = [ cmocka ];
  # libfar.pc requires libnear (privately) and <far/far.h> includes libnear's
  # headers, so a project that builds with libfar gets libnear too.
  propagatedBuildInputs = [ libnear ];

  makeFlags = [ "PREFIX=$(out)" ];
  doCheck = true;
  checkTarget = "check";

  meta = {
    description = "persist: namespaces as identities (kcmp, /proc/PID/ns) and far identifiers";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
