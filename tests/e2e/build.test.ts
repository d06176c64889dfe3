/**
 * The compiled build (scripts/build.mjs) as bin/aide.mjs uses it in a checkout: dist/ is built when missing,
 * rebuilt after any change of a source or asset (exactly: even an edit dated back), concurrent `aide` processes
 * do not race, a build killed while holding the lock does not block the next, and a broken source is one clear
 * failure. Each test works on a copy of the checkout in a temporary directory (node_modules linked), never on
 * the repository's own dist/.
 */
import { execFile, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "../..");
const COPIED = [
  "src",
  "runner",
  "bots",
  "cli",
  "config",
  "examples",
  "bin",
  "scripts/build.mjs",
  "tsconfig.json",
  "tsconfig.build.json",
  "package.json",
];

let root: string;
const dist = (rel = "") => join(root, "dist", rel);

async function aide(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(root, "bin/aide.mjs"), ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Rewrites the version `aide --version` prints, in the copy's cli/main.ts. */
function setVersion(v: string): void {
  const file = join(root, "cli/main.ts");
  writeFileSync(file, readFileSync(file, "utf8").replace(/\.version\("[^"]*"\)/, `.version("${v}")`));
}

function filesUnder(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? filesUnder(dir, r) : [r];
  });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "aide-build-"));
  for (const rel of COPIED) {
    cpSync(join(REPO, rel), join(root, rel), { recursive: true, filter: (p) => !p.includes("__pycache__") });
  }
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the compiled build in a checkout", () => {
  it("builds dist/ on the first `aide` run, with the assets beside their modules and nothing else", async () => {
    expect(existsSync(dist())).toBe(false);
    const r = await aide(["--version"]);
    expect(r).toEqual({ code: 0, stdout: "0.1.0\n", stderr: "" });
    const built = filesUnder(dist());
    for (const f of [
      "cli/main.js",
      "cli/main.js.map",
      "src/config.js",
      "runner/executors/warm/server.py",
      "src/runs/sandbox-packages.py",
      "src/web/assets/tree.js",
      "src/web/assets/tree.css",
      "config/default.yaml",
      "bots/slack/manifest.yaml",
      "examples/loan-default/task.md",
      "examples/loan-default/input/train.csv",
      ".build-stamp.json",
    ]) {
      expect(built).toContain(f);
    }
    expect(built.filter((f) => f.endsWith(".ts"))).toEqual([]);
    expect(built.filter((f) => f.endsWith(".md") && !f.startsWith("examples/"))).toEqual([]);
    // Every non-TypeScript, non-Markdown file of the code trees is copied (the offline coder's Python templates too).
    for (const tree of ["src", "runner", "bots", "cli"]) {
      for (const f of filesUnder(join(root, tree)).filter((f) => !f.endsWith(".ts") && !f.endsWith(".md")))
        expect(built).toContain(`${tree}/${f}`);
    }
    // The rewritten imports point at .js files.
    expect(readFileSync(dist("cli/main.js"), "utf8")).toContain('import("./commands/run.js")');
    expect(readdirSync(dist()).filter((n) => n.startsWith(".") && n !== ".build-stamp.json")).toEqual([]);
  });

  it("leaves a fresh dist/ alone", async () => {
    const before = statSync(dist(".build-stamp.json")).mtimeMs;
    const r = await aide(["--version"]);
    expect(r.code).toBe(0);
    expect(statSync(dist(".build-stamp.json")).mtimeMs).toBe(before);
  });

  it("runs the current sources after an edit, even one dated back to before the build", async () => {
    setVersion("1.2.3");
    expect((await aide(["--version"])).stdout).toBe("1.2.3\n");
    setVersion("4.5.6");
    utimesSync(join(root, "cli/main.ts"), new Date("2001-01-01"), new Date("2001-01-01"));
    expect((await aide(["--version"])).stdout).toBe("4.5.6\n");
  });

  it("copies a new asset and removes what its source no longer has", async () => {
    writeFileSync(join(root, "src/web/assets/extra.css"), "body { color: red }\n");
    await aide(["--version"]);
    expect(readFileSync(dist("src/web/assets/extra.css"), "utf8")).toBe("body { color: red }\n");
    rmSync(join(root, "src/web/assets/extra.css"));
    await aide(["--version"]);
    expect(existsSync(dist("src/web/assets/extra.css"))).toBe(false);
    expect(existsSync(dist("src/web/assets/tree.css"))).toBe(true);
  });

  it("concurrent `aide` processes after an edit all run the new code, and leave no lock or staging behind", async () => {
    setVersion("7.7.7");
    const results = await Promise.all(Array.from({ length: 6 }, () => aide(["--version"])));
    expect(results).toEqual(Array.from({ length: 6 }, () => ({ code: 0, stdout: "7.7.7\n", stderr: "" })));
    expect(readdirSync(dist()).filter((n) => n.startsWith("."))).toEqual([".build-stamp.json"]);
  });

  it("takes over the lock of a build whose process is gone", async () => {
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((r) => dead.once("exit", r));
    writeFileSync(dist(".build-lock"), String(dead.pid));
    setVersion("8.8.8");
    const r = await aide(["--version"]);
    expect(r).toEqual({ code: 0, stdout: "8.8.8\n", stderr: "" });
    expect(existsSync(dist(".build-lock"))).toBe(false);
  });

  it("a source that does not compile is one failure naming it, and runs nothing stale", async () => {
    const file = join(root, "cli/main.ts");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, `${good}\nexport const broken = ;\n`);
    const r = await aide(["--version"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^aide: could not build dist\/ from the sources: tsc failed/);
    expect(r.stderr).toContain("cli/main.ts");
    expect(existsSync(dist(".build-stamp.json"))).toBe(false);
    writeFileSync(file, good);
    expect((await aide(["--version"])).stdout).toBe("8.8.8\n");
  });

  it("`node scripts/build.mjs` prints one line; --if-stale prints nothing when dist/ is fresh", async () => {
    const script = join(root, "scripts/build.mjs");
    const full = await run(process.execPath, [script]);
    expect(full.stdout).toMatch(/^aide build: dist\/ from \d+ modules and \d+ assets \(\d+ files\) in [\d.]+ s\n$/);
    expect(full.stderr).toBe("");
    const again = await run(process.execPath, [script, "--if-stale"]);
    expect(again).toEqual({ stdout: "", stderr: "" });
  });
});
