# SPDX-License-Identifier: MIT
# The persist packages (every layer, and persist-all), composed from a
# nixpkgs package set:
#   nix-build nix -A persist-server        (with <nixpkgs>)
#   import ./nix { pkgs = import nixpkgs { system = "aarch64-linux"; }; }
{ pkgs ? import <nixpkgs> { } }:

let
  overlay = import ./overlay.nix;
  extended = pkgs.appendOverlays [ overlay ];
in
# The overlay's attribute names, taken from the extended set (the overlay's
# values are not evaluated here, only its names).
builtins.intersectAttrs (overlay { } { }) extended
