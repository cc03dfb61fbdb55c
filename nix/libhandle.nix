# SPDX-License-Identifier: MIT
# libhandle: tasks, fd handles with ownership, task memory pointers, child
# handles, typed syscall wrappers.  Depends on libfar, libnear and libbsd
# (its sys/tree.h and sys/queue.h), all found through pkg-config.
{ lib, stdenv, pkg-config, mandoc, cmocka, libbsd, libnear, libfar }:

stdenv.mkDerivation {
  pname = "libhandle";
  version = "0.1.0";

  # This layer's directory only, without in-tree build output.
  src = builtins.path {
    name = "libhandle-source";
    path = ../libhandle;
    filter = path: type:
      !(type == "directory" && dirOf path == toString ../libhandle
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
  # libhandle.pc requires libfar, libnear and libbsd (privately: pkg-config
  # needs their .pc files all the same), and <handle/task.h> includes
  # libnear's and libfar's headers, so a project that builds with libhandle
  # gets all three.
  propagatedBuildInputs = [ libfar libnear libbsd ];

  makeFlags = [ "PREFIX=$(out)" ];
  doCheck = true;
  checkTarget = "check";

  meta = {
    description = "persist: tasks, fd handles with ownership, task memory pointers, child handles and typed syscall wrappers";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
