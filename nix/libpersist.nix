# SPDX-License-Identifier: MIT
# libpersist: persistent threads, spawning in them, the crash-safe state
# store (SQLite) and recovery, and the session (<persist/session.h>;
# persistctl is nix/persistctl.nix).  The top layer:
# depends on libtransport, libhandle, libfar, libnear, the server loop
# (pserver), sqlite3 and libbsd, all found through pkg-config.
{ lib, stdenv, pkg-config, mandoc, cmocka, sqlite, libbsd
, libnear, libfar, libhandle, libtransport, persist-server }:

stdenv.mkDerivation {
  pname = "libpersist";
  version = "0.1.0";

  # This layer's directory only, without in-tree build output.
  src = builtins.path {
    name = "libpersist-source";
    path = ../libpersist;
    filter = path: type:
      !(type == "directory" && dirOf path == toString ../libpersist
        && builtins.match "build(-.*)?" (baseNameOf path) != null);
  };

  nativeBuildInputs = [ pkg-config ];
  # The checkPhase lints the man pages with mandoc and checks that they
  # name every exported function (man-check, libnear/mk/common.mk);
  # `make install` puts them in $out/share/man (section 3 pages with a
  # link per function), in out: one output per layer, as nixpkgs
  # leaves share/man of a package that declares no man output.
  nativeCheckInputs = [ mandoc ];
  # persist-server is a build input AND a runtime dependency, unlike for
  # libtransport: libpersist.so links the server loop
  # (libpserver.a, for persist_clone_persistent), and it execs the
  # persist-server executable (persist_server_start, persist_make_persistent,
  # persist_session_open), whose path the Makefile compiles in from
  # `pkg-config --variable=persist_server pserver`: its store path here.  So
  # libpersist's runtime closure holds persist-server (found by Nix's
  # reference scan of that string; $PERSIST_SERVER_EXE still overrides it).
  # It is propagated with the other layers below: libpersist.pc requires
  # pserver privately, since a static link of libpersist.a needs
  # libpserver.a.  cmocka is for the tests.
  buildInputs = [ cmocka ];
  # The checkPhase runs the library's tests against real persist-server
  # processes (the one compiled in, from the store) and SQLite files in
  # /tmp (the tests' own choice; Nix's sandbox provides a writable /tmp).
  # All of them run; none is skipped.
  # libpersist.pc requires libtransport, libhandle, libfar, libnear, pserver,
  # sqlite3 and libbsd (privately: pkg-config needs their .pc files all the same),
  # and <persist/thread.h> includes libnear's, libhandle's and
  # libtransport's headers, so a project that builds with libpersist gets
  # them all.
  propagatedBuildInputs = [ libtransport libhandle libfar libnear persist-server sqlite libbsd ];

  makeFlags = [ "PREFIX=$(out)" ];
  doCheck = true;
  checkTarget = "check";

  meta = {
    description = "persist: persistent threads, spawning in them, the crash-safe state store, recovery and the session";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
