# SPDX-License-Identifier: MIT
# libtransport: the controller side of a syscall connection, memory
# transports, the remote allocator.  Depends on libfar, libnear and libbsd,
# all found through pkg-config; its tests also drive the real server loop.
{ lib, stdenv, pkg-config, mandoc, cmocka, libbsd, libnear, libfar, persist-server }:

stdenv.mkDerivation {
  pname = "libtransport";
  version = "0.1.0";

  # This layer's directory only, without in-tree build output.
  src = builtins.path {
    name = "libtransport-source";
    path = ../libtransport;
    filter = path: type:
      !(type == "directory" && dirOf path == toString ../libtransport
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
  # The tests (only they) link the server loop, libpserver.a found as
  # pkg-config `pserver`, as their peer: persist-server is a check input,
  # a host library linked into the test programs, which are not installed.
  # So it is there only when doCheck is, and libtransport's runtime closure
  # does not hold it (neither libtransport.so nor libtransport.pc name it).
  checkInputs = [ persist-server ];
  # libtransport.pc requires libfar, libnear and libbsd (privately:
  # pkg-config needs their .pc files all the same), and <transport/conn.h>
  # includes libnear's headers, so a project that builds with libtransport
  # gets all three.
  propagatedBuildInputs = [ libfar libnear libbsd ];

  makeFlags = [ "PREFIX=$(out)" ];
  doCheck = true;
  checkTarget = "check";

  meta = {
    description = "persist: the controller side of a syscall connection, memory transports and a remote allocator";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
