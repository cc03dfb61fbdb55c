# SPDX-License-Identifier: MIT
# TEST FIXTURE: the few functions of nixpkgs' `lib` that nix/ and flake.nix
# use, with nixpkgs' semantics.
rec {
  licenses.mit = { spdxId = "MIT"; shortName = "mit"; fullName = "MIT License"; free = true; };

  fix = f: let x = f x; in x;
  foldl' = builtins.foldl';
  # A package's output (nixpkgs' getOutput): the stand-in's packages have
  # one output, so this is the package itself.
  getOutput = output: pkg:
    if ! pkg ? outputSpecified || ! pkg.outputSpecified then pkg.${output} or pkg.out or pkg else pkg;
  getBin = getOutput "bin";
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);

  # As in nixpkgs: the function's formal arguments are taken from `set`,
  # explicit `args` win; a missing argument without a default is an error.
  callPackageWith = set: fn: args:
    let
      f = if builtins.isFunction fn then fn else import fn;
      auto = builtins.intersectAttrs (builtins.functionArgs f) set;
      missing = builtins.filter (n: !(builtins.functionArgs f).${n} && !((auto // args) ? ${n}))
        (builtins.attrNames (builtins.functionArgs f));
    in
    if missing != [ ] then throw "callPackage: no value for ${toString missing}"
    else f (auto // args);
}
