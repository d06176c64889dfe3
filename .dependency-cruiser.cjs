/**
 * The house rules on imports, as checks that fail (dependency-cruiser 17):
 *
 *   npx depcruise src bots runner cli --config .dependency-cruiser.cjs
 *
 * Only the runtime folders are cruised: tests/ and bench/ may import anything, and nothing here may import them
 * (not-to-tests), so no exclude is needed.
 * Folder-level cycles (src/runs <-> src/web, ...) are checked by scripts/check-folder-cycles.mjs on this same graph.
 *
 * Type-only imports count as imports: the swc parser records `import type` like any other import, so a rule
 * here holds for types too. Unused files are knip's job; the only orphan here is the browser script
 * src/web/assets/tree.js, read from disk, not imported.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "Module cycles make load order matter (an import can see another module half-initialised) and tie the " +
        "modules on the cycle into one unit that can only be understood, tested and changed together. Break it " +
        "by moving the shared part into a module both can import.",
      from: {},
      to: { circular: true },
    },
    {
      name: "src-not-to-apps",
      severity: "error",
      comment:
        "src/ is the core library; bots/ (Slack, Discord), runner/ (the worker and its executors) and cli/ are " +
        "the programs built on it. The core never depends on a program: what both need lives in src/.",
      from: { path: "^src/" },
      to: { path: "^(bots|runner|cli)/" },
    },
    {
      name: "bots-independent",
      severity: "error",
      comment:
        "The chat adapters (bots/slack, bots/discord) are independent: each depends on the shared chat layer " +
        "(src/runs/chat), never on another adapter, so either can change or go without touching the other. " +
        "What two adapters share goes to src/runs/chat.",
      from: { path: "^bots/([^/]+)/" },
      to: { path: "^bots/", pathNot: "^bots/$1/" },
    },
    {
      name: "search-no-io",
      severity: "error",
      comment:
        "src/search/ is the pure tree search: it reaches the coder, the runner and the store only through the " +
        "interfaces it is handed, so it runs the same with fakes in tests and is deterministic for a seed. It " +
        "imports its own modules, seedrandom and zod, the error types (src/errors.ts) and the Logger type " +
        "(src/logger.ts; type-only today, which swc cannot tell apart from a value import); no node builtins " +
        "(fs, child_process, net, http, ...) and no network, queue or database library.",
      from: { path: "^src/search/" },
      to: {
        pathNot: [
          "^src/search/",
          "^src/errors\\.ts$",
          "^src/logger\\.ts$",
          "^node_modules/seedrandom/",
          "^node_modules/@types/seedrandom/",
          "^node_modules/zod/",
        ],
      },
    },
    {
      name: "not-to-tests",
      severity: "error",
      comment:
        "tests/, bench/ and scripts/ are not part of the package and may import anything (fakes, devDependencies); " +
        "runtime code that imports them breaks when installed, and would pull them into this graph.",
      from: { path: "^(src|bots|runner|cli)/" },
      to: { path: "^(tests|bench|scripts)/" },
    },
    {
      name: "not-to-dev-dep",
      severity: "error",
      comment:
        "devDependencies are not installed with the package (npm install --omit=dev, the published tarball), " +
        "so runtime code that imports one breaks in production only. Move the package to dependencies, or keep " +
        "the import in tests/, bench/ or scripts/. Type packages (@types/*) are fine: they are erased.",
      from: { path: "^(src|bots|runner|cli)/" },
      to: { dependencyTypes: ["npm-dev"], pathNot: ["^node_modules/@types/"] },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment:
        "An import that does not resolve to a file is a typo, a missing package or a file that moved; it " +
        "also hides the edge from every other rule here.",
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: "no-non-package-json",
      severity: "error",
      comment:
        "A package imported but not listed in package.json works only while another package happens to pull " +
        "it in; list it under dependencies.",
      from: {},
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"] },
    },
  ],
  options: {
    // TypeScript 7 has no compiler API for dependency-cruiser's tsc parser; swc (@swc/core) parses .ts.
    parser: "swc",
    // Keep the graph to the project's own files; packages are leaves.
    doNotFollow: { path: "^node_modules/" },
    // No tsConfig: reading tsconfig.json needs the TypeScript API too, and it has no paths to map. The sources
    // import each other with .ts extensions (allowImportingTsExtensions); a .js specifier falls back to the .ts
    // file as tsc resolves it (dependency-cruiser's own retry: "./errors.js" resolves to src/errors.ts).
    // Packages resolve through their "exports" like Node's.
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
  },
};
