# SPDX-License-Identifier: MIT
# Evaluates flake.nix's `outputs` without the flakes feature: outputs is
# called with the stand-in nixpkgs (a test fixture) as its nixpkgs input,
# and every output is checked for both systems.  Evaluation fails (throw)
# on the first thing missing; on success it returns a summary, and the
# drvPath of each package (instantiated, not built).
let
  flake = import ../../flake.nix;
  nixpkgs = { outPath = ./stand-in; lib = import ./stand-in/lib.nix; };
  self = flake.outputs { inherit self nixpkgs; } // { outPath = ../..; };

  systems = [ "x86_64-linux" "aarch64-linux" ];
  layers = [ "libnear" "persist-server" "libfar" "libhandle" "libtransport" "libpersist" "persistctl" ];
  packages = layers ++ [ "persist-all" "default" ];
  checks = layers;

  need = what: cond: if cond then true else throw "flake outputs: ${what}";
  isDrv = v: builtins.isAttrs v && v ? type && v.type == "derivation";

  perSystem = system:
    let
      pkgs = self.packages.${system} or (throw "flake outputs: no packages.${system}");
      # The overlay applied to the stand-in for this system, as a user would.
      direct = import ../../nix { pkgs = import ./stand-in { inherit system; }; };
      drvs = builtins.listToAttrs (map (name: {
        inherit name;
        value = assert need "packages.${system}.${name} is a derivation" (pkgs ? ${name} && isDrv pkgs.${name});
          pkgs.${name}.drvPath;
      }) packages);
    in
    assert need "flake.nix has a nixpkgs input" (flake.inputs.nixpkgs ? url);
    assert builtins.all (n: need "checks.${system}.${n}" (isDrv self.checks.${system}.${n})) checks;
    assert need "devShells.${system}.default" (isDrv self.devShells.${system}.default);
    assert need "devShells.${system}.default.drvPath" (builtins.isString self.devShells.${system}.default.drvPath);
    # The flake builds exactly what nix/default.nix builds.
    assert builtins.all (n: need "packages.${system}.${n} is nix/default.nix's ${n}"
      (pkgs.${n}.drvPath == direct.${n}.drvPath)) (layers ++ [ "persist-all" ]);
    assert need "packages.${system}.default is persist-all" (pkgs.default.drvPath == pkgs.persist-all.drvPath);
    assert builtins.all (n: need "meta.platforms of ${n} names ${system}"
      (builtins.elem system pkgs.${n}.meta.platforms)) layers;
    assert need "packages.${system}.libnear is built for ${system}" (pkgs.libnear.system == system);
    drvs;
in
assert need "overlays.default is an overlay" (builtins.isFunction self.overlays.default);
{
  systems = builtins.listToAttrs (map (s: { name = s; value = perSystem s; }) systems);
  devShellPackages = map (p: p.pname or p.name) self.devShells.x86_64-linux.default.packages;
}
