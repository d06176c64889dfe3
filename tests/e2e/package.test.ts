/**
 * What a user installs: `npm pack` of this checkout, installed into a fresh prefix, runs `aide --help` and
 * `aide run --help` as plain compiled JavaScript, with no TypeScript loader or compiler in the installed tree.
 *
 * Slow on purpose (about a minute: the install resolves every production dependency, from npm's cache when it
 * has them), which is why it is one test with a long timeout rather than several.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "../..");
const tmp = mkdtempSync(join(tmpdir(), "aide-package-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The environment without anything that could load a TypeScript loader into node. */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k === "NODE_OPTIONS" || k.startsWith("VITEST") || k.startsWith("TSX")) delete env[k];
  return env;
}

describe("the npm package", () => {
  it("installs from `npm pack` and runs `aide --help` and `aide run --help` without tsx or TypeScript", async () => {
    const env = plainEnv();
    await run("npm", ["pack", "--pack-destination", tmp, "--loglevel=error"], { cwd: REPO, env });
    const tarballs = readdirSync(tmp).filter((f) => f.endsWith(".tgz"));
    expect(tarballs).toEqual(["aide-in-chat-0.1.0.tgz"]);
    const tgz = join(tmp, tarballs[0]!);

    const listed = (await run("tar", ["-tzf", tgz])).stdout
      .split("\n")
      .filter(Boolean)
      .map((p) => p.replace(/^package\//, ""));
    expect(listed).toContain("bin/aide.mjs");
    expect(listed).toContain("dist/cli/main.js");
    expect(listed).toContain("dist/config/default.yaml");
    expect(listed).toContain("dist/runner/executors/warm/server.py");
    expect(listed).toContain("npm-shrinkwrap.json");
    expect(
      listed.filter(
        (p) =>
          p.endsWith(".ts") ||
          p.startsWith("src/") ||
          p.startsWith("tests/") ||
          p.startsWith("scripts/") ||
          p.startsWith("dist/."),
      ),
    ).toEqual([]);

    // npm honours the packed npm-shrinkwrap.json (the tested dependency tree) only for packages from a registry;
    // for a local tarball it resolves the ranges afresh, and `overrides` apply only in the project that
    // declares them: so the prefix declares the package's own pins, as a project installing the tarball would.
    const packed = JSON.parse((await run("tar", ["-xzOf", tgz, "package/package.json"])).stdout) as {
      overrides?: Record<string, string>;
      bin?: unknown;
    };
    expect(packed.bin).toEqual({ aide: "bin/aide.mjs" });
    const prefix = join(tmp, "prefix");
    mkdirSync(prefix);
    writeFileSync(join(prefix, "package.json"), JSON.stringify({ private: true, overrides: packed.overrides }));
    await run(
      "npm",
      ["install", "--prefix", prefix, tgz, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
      { cwd: tmp, env, timeout: 150_000 },
    );
    const installed = join(prefix, "node_modules");
    expect(existsSync(join(installed, "aide-in-chat", "dist", "cli", "main.js"))).toBe(true);
    // No TypeScript loader or compiler in the installed tree: the command cannot be running TypeScript.
    for (const dev of ["tsx", "typescript", "vitest", "esbuild"]) expect(existsSync(join(installed, dev))).toBe(false);
    const lock = JSON.parse(readFileSync(join(installed, ".package-lock.json"), "utf8")) as {
      packages: Record<string, unknown>;
    };
    expect(Object.keys(lock.packages).filter((p) => /node_modules\/(tsx|typescript)$/.test(p))).toEqual([]);

    const aide = join(installed, ".bin", "aide");
    const help = await run(aide, ["--help"], { cwd: tmp, env });
    expect(help.stderr).toBe("");
    expect(help.stdout).toContain("Usage: aide [options] [command]");
    for (const command of ["run", "runner", "submit", "slack", "discord", "web", "demo"])
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
    const runHelp = await run(aide, ["run", "--help"], { cwd: tmp, env });
    expect(runHelp.stderr).toBe("");
    expect(runHelp.stdout).toContain("Usage: aide run [options]");
    expect(runHelp.stdout).toContain("--task");
    expect(runHelp.stdout).toContain("--coder");
    // The installed copy has no sources beside dist/, so it never builds: no stamp, no lock, no staging.
    expect(readdirSync(join(installed, "aide-in-chat", "dist")).filter((n) => n.startsWith("."))).toEqual([]);
  }, 180_000); // npm pack (which builds dist/ when stale) and an install of every production dependency: up to ~2 minutes.
});
