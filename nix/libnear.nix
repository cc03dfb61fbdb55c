# SPDX-License-Identifier: MIT
# libnear: raw syscalls, syscall and errno names, the wire protocol, the sysif
# interface.  The bottom layer: it needs nothing but a C toolchain (its name
# tables are generated from the kernel headers the compiler sees) and cmocka
# for its tests.
{ lib, stdenv, pkg-config, mandoc, cmocka }:

stdenv.mkDerivation {
  pname = "libnear";
  version = "0.1.0";

  # This layer's directory only, without in-tree build output: a change in
  # another layer does not change this source, so it does not rebuild libnear.
  src = builtins.path {
    name = "libnear-source";
    path = ../libnear;
    filter = path: type:
      !(type == "directory" && dirOf path == toString ../libnear
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

  makeFlags = [ "PREFIX=$(out)" ];
  doCheck = true;
  checkTarget = "check";

  meta = {
    description = "persist: raw syscalls, syscall and errno names, the wire protocol and the sysif interface";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
