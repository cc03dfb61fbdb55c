# SPDX-License-Identifier: MIT
# persistctl: the command line of libpersist's session.  A program outside
# the library, built against libpersist found through pkg-config (which
# brings every layer below it), like any other client.
{ lib, stdenv, pkg-config, sqlite, python3, mandoc, libpersist }:

stdenv.mkDerivation {
  pname = "persistctl";
  version = "0.1.0";

  # This directory only, without in-tree build output.
  src = builtins.path {
    name = "persistctl-source";
    path = ../persistctl;
    filter = path: type:
      !(type == "directory" && dirOf path == toString ../persistctl
        && builtins.match "build(-.*)?" (baseNameOf path) != null);
  };

  nativeBuildInputs = [ pkg-config ];
  # Linked with -lpersist and an rpath to it: libpersist (and through it
  # every layer below, and the persist-server it starts) is in persistctl's
  # runtime closure.  Nothing is propagated: persistctl is a program, not a
  # library anyone builds against.
  buildInputs = [ libpersist ];
  # The checkPhase runs tests/test_persistctl.sh: the real persistctl
  # against temporary state directories in /tmp and real servers (the
  # persist-server libpersist was built with, from the store).  It reads
  # `ps --json` and `status --json` with python3 and runs PRAGMA
  # integrity_check with the sqlite3 command (the CLI: sqlite's bin output).
  # All of them run; none is skipped.  The check lints persistctl(1) with
  # mandoc; tests/test_completion.sh runs the completion in bash (stdenv's).
  nativeCheckInputs = [ python3 (lib.getBin sqlite) mandoc ];

  makeFlags = [ "PREFIX=$(out)" ];
  doCheck = true;
  checkTarget = "check";

  meta = {
    description = "persist: persistctl, run commands as children of a persistent server that outlives every controller crash";
    license = lib.licenses.mit;
    platforms = [ "x86_64-linux" "aarch64-linux" ];
    mainProgram = "persistctl";
  };
}
