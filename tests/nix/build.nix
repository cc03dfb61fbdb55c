# SPDX-License-Identifier: MIT
# What tests/nix builds: nix/default.nix composed from the stand-in nixpkgs
# (a test fixture; see stand-in/default.nix), exactly as a nixpkgs user
# composes it from the real one.
{ system ? builtins.currentSystem }:

let
  standIn = import ./stand-in { inherit system; };
  persist = import ../../nix { pkgs = standIn; };
in
persist // {
  # The layers above libnear, given no libnear: they must fail to build,
  # which shows they find libnear only through their declared input, never
  # on the host.  A layer whose other persist inputs would bring libnear
  # (libfar and persist-server propagate it) is given none of them either.
  without-libnear = {
    persist-server = standIn.callPackage ../../nix/persist-server.nix { libnear = null; };
    libfar = standIn.callPackage ../../nix/libfar.nix { libnear = null; };
    libhandle = standIn.callPackage ../../nix/libhandle.nix { libnear = null; libfar = null; };
    libtransport = standIn.callPackage ../../nix/libtransport.nix {
      libnear = null; libfar = null; persist-server = null;
    };
    libpersist = standIn.callPackage ../../nix/libpersist.nix {
      libnear = null; libfar = null; libhandle = null; libtransport = null; persist-server = null;
    };
    # persistctl's one persist input is libpersist, which brings libnear.
    persistctl = standIn.callPackage ../../nix/persistctl.nix { libpersist = null; };
  };

  # Downstream Nix projects: each program of tests/pkgconfig built as a
  # package whose one persist input is the layer it uses (libnear comes
  # through propagatedBuildInputs), with nothing but pkg-config on the
  # module line the README gives for it (pc); its check runs it.
  consumers = builtins.mapAttrs
    (module: { layer, pc ? module }: standIn.stdenv.mkDerivation {
      pname = "${module}-consumer";
      version = "0";
      src = builtins.path {
        name = "${module}-consumer-source";
        path = ../pkgconfig;
        filter = path: type: baseNameOf path == "${module}-consumer.c";
      };
      nativeBuildInputs = [ standIn.pkg-config ];
      buildInputs = [ persist.${layer} ];
      # The -rpath stands for nixpkgs' ld-wrapper, which adds one for every
      # -L in the store by itself; the stand-in has no wrapper.
      buildPhase = ''
        cc -Wall -Wextra -Werror -o consumer ${module}-consumer.c \
          $(pkg-config --cflags --libs ${pc}) \
          $(pkg-config --libs-only-L ${pc} | sed 's/-L/-Wl,-rpath,/g')
      '';
      doCheck = true;
      checkPhase = "./consumer";
      installPhase = ''mkdir -p "$out/bin" && cp consumer "$out/bin/${module}-consumer"'';
    })
    {
      libnear.layer = "libnear";
      pserver.layer = "persist-server";
      libfar.layer = "libfar";
      # It calls near_local_sysif_init itself: libnear on its line.
      libhandle = { layer = "libhandle"; pc = "libhandle libnear"; };
      libtransport.layer = "libtransport";
      # Its check starts the persist-server compiled into libpersist (from
      # the store: a runtime dependency) and spawns a child in it.
      libpersist.layer = "libpersist";
    };
}
