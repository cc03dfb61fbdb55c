# SPDX-License-Identifier: MIT
# libpersist: persistent threads, spawning in them, the crash-safe state
# store (SQLite) and recovery, and the persistctl command.  The top layer:
# depends on libtransport, libhandle, libfar, libnear, the server loop
# (pserver), sqlite3 and libbsd, all found through pkg-config.
{ lib, stdenv, pkg-config, cmocka, sqlite, libbsd, python3
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
  # persist-server is a build input AND a runtime dependency, unlike for
  # libtransport: libpersist.so and persistctl link the server loop
  # (libpserver.a, for persist_clone_persistent), and they exec the
  # persist-server executable (persist_server_start, persist_make_persistent,
  # persistctl start), whose path the Makefile compiles in from
  # `pkg-config --variable=persist_server pserver`: its store path here.  So
  # libpersist's runtime closure holds persist-server (found by Nix's
  # reference scan of that string; $PERSIST_SERVER_EXE still overrides it).
  # It is propagated with the other layers below: libpersist.pc requires
  # pserver privately, since a static link of libpersist.a needs
  # libpserver.a.  cmocka is for the tests.
  buildInputs = [ cmocka ];
  # The checkPhase runs the library's tests against real persist-server
  # processes (the one compiled in, from the store) and SQLite files in
  # /tmp (the tests' own choice; Nix's sandbox provides a writable /tmp),
  # and tests/test_persistctl.sh drives persistctl: it reads `ps --json`
  # and `status --json` with python3, and runs PRAGMA integrity_check with
  # the sqlite3 command (the CLI: sqlite's bin output).  All of them run;
  # none is skipped.
  nativeCheckInputs = [ python3 (lib.getBin sqlite) ];
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
    description = "persist: persistent threads, spawning in them, the crash-safe state store and recovery, and persistctl";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
    mainProgram = "persistctl";
  };
}
