# SPDX-License-Identifier: MIT
# The nixpkgs overlay: every persist layer and persistctl as a package,
# built with the final package set's toolchain and libraries, plus
# persist-all (all of them in one tree).  Adding a layer is one line in
# `layers` (and its nix/<layer>.nix); default.nix and flake.nix take the
# names from here.
#   pkgs = import nixpkgs { overlays = [ (import ./nix/overlay.nix) ]; };
final: prev:
let
  layers = {
    libnear = final.callPackage ./libnear.nix { };
    persist-server = final.callPackage ./persist-server.nix { };
    libfar = final.callPackage ./libfar.nix { };
    libhandle = final.callPackage ./libhandle.nix { };
    libtransport = final.callPackage ./libtransport.nix { };
    libpersist = final.callPackage ./libpersist.nix { };
    persistctl = final.callPackage ./persistctl.nix { };
  };
in
layers // {
  persist-all = final.symlinkJoin {
    name = "persist-all-${final.libnear.version}";
    paths = map (name: final.${name}) (builtins.attrNames layers);
  };
}
