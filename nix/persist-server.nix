# SPDX-License-Identifier: MIT
# persist-server: the server loop (libpserver.a, <pserver/pserver.h>,
# pserver.pc) and the persist-server executable.  Depends on libnear only,
# found through pkg-config like any outside project would find it.
{ lib, stdenv, pkg-config, mandoc, cmocka, libnear }:

stdenv.mkDerivation {
  pname = "persist-server";
  version = "0.1.0";

  # This layer's directory only, without in-tree build output.
  src = builtins.path {
    name = "persist-server-source";
    path = ../persist-server;
    filter = path: type:
      !(type == "directory" && dirOf path == toString ../persist-server
        && builtins.match "build(-.*)?" (baseNameOf path) != null);
  };

  nativeBuildInputs = [ pkg-config ];
  # The checkPhase lints the man pages with mandoc and checks that they
  # name every exported function (man-check, libnear/mk/common.mk);
  # `make install` puts them in $out/share/man (section 3 pages with a
  # link per function), in out: one output per layer, as nixpkgs
  # leaves share/man of a package that declares no man output.
  nativeCheckInputs = [ mandoc ];
  # cmocka for the tests.  The executable needs nothing but libnear and
  # libc (statically linked where libc.a is there, as it is here).
  buildInputs = [ cmocka ];
  # pserver.pc requires libnear and <pserver/pserver.h> includes libnear's
  # headers, so a project that builds with persist-server gets libnear too.
  propagatedBuildInputs = [ libnear ];

  makeFlags = [ "PREFIX=$(out)" ];
  doCheck = true;
  checkTarget = "check";

  meta = {
    description = "persist: the persist-server executable and the server loop to embed in CLONE_VM children";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
    mainProgram = "persist-server";
  };
}
