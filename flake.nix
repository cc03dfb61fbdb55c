# SPDX-License-Identifier: MIT
# persist as a flake: each layer as a package, the overlay, a dev shell.
#   nix build .#libnear    nix build .#persistctl    nix build  (every layer, persistctl)
#   nix run .#persistctl -- ps
#   nix flake check        nix develop
{
  description = "persist: run system calls in other processes, and keep them alive when the controller crashes";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system:
        f (import nixpkgs { inherit system; overlays = [ self.overlays.default ]; }));
      # Every package the overlay adds (only its names are evaluated here).
      persist = pkgs: builtins.intersectAttrs (self.overlays.default { } { }) pkgs;
    in
    {
      overlays.default = import ./nix/overlay.nix;

      packages = forAllSystems (pkgs: persist pkgs // { default = pkgs.persist-all; });

      # Each layer runs its own cmocka tests (doCheck): building it is the check.
      checks = forAllSystems (pkgs: removeAttrs (persist pkgs) [ "persist-all" ]);

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          # python3 and sqlite's CLI: persistctl's test uses them; mandoc
          # lints the man pages in `make check`.
          packages = with pkgs; [ gcc gnumake pkg-config cmocka libbsd sqlite gdb valgrind python3 mandoc ];
        };
      });
    };
}
