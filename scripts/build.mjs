#!/usr/bin/env node
/**
 * The compiled build: src/, runner/, bots/ and cli/ compiled by tsc (tsconfig.build.json) to dist/ at the same
 * relative paths, with every other file of those trees that the code reads at run time (Python, CSS and JS
 * assets, YAML, JSON; not Markdown) beside its module, and config/ and examples/ whole (src/config.ts and
 * cli/commands/demo.ts find them relative to the code). Prints one line.
 *
 *   node scripts/build.mjs             # build (npm run build); emit only, as tsx runs code: types are `npm run typecheck`'s
 *   node scripts/build.mjs --check     # also type-check the compiled trees; fail without touching dist/ on an error
 *   node scripts/build.mjs --if-stale  # only when dist/ is missing or stale, silent when it is not (ensure-deps.sh)
 *
 * bin/aide.mjs calls ensureBuilt() in a checkout, so a clone, `npm run demo` and the tests need no build step.
 * Staleness is exact: dist/.build-stamp.json lists every input (path, mtime, ctime, size) as it was when the
 * build began; any difference (an edit, a file added or removed, even one dated back) makes dist/ stale. Builds
 * take a lock (dist/.build-lock, released by the holder or taken over when its process is gone), compile into a
 * staging directory and move each changed file into place with rename(), so concurrent `aide` processes never
 * read a half-written file; the stamp is removed before and written after, so no process runs a half-updated
 * dist/ as fresh.
 */
import { spawnSync } from "node:child_process";
import {
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  copyFileSync,
  rmdirSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const DIST = join(ROOT, "dist");
const STAMP = join(DIST, ".build-stamp.json");
const LOCK = join(DIST, ".build-lock");
const STAGING_PREFIX = ".staging-";
/** Compiled by tsc; their other files are copied beside the output. */
const CODE_DIRS = ["src", "runner", "bots", "cli"];
/** Copied whole. */
const DATA_DIRS = ["config", "examples"];
/** What else decides the output. */
const BUILD_FILES = ["tsconfig.json", "tsconfig.build.json", "scripts/build.mjs"];
const LOCK_WAIT_MS = 180_000;
/** A lock this old is taken over even if its pid looks alive (pids are recycled, containers have their own). */
const LOCK_STALE_MS = 300_000;

export class BuildError extends Error {}

/** Editor files, Python caches, dot files: never inputs. */
const ignored = (name) =>
  name.startsWith(".") ||
  name === "__pycache__" ||
  name === "node_modules" ||
  name.endsWith("~") ||
  name.endsWith(".pyc");

/** Files under `dir` (relative to ROOT, `/`-separated), recursively, minus ignored names. */
function walk(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(join(ROOT, dir), { withFileTypes: true });
  } catch (err) {
    if (err.code === "ENOENT") return out;
    throw err;
  }
  for (const e of entries) {
    if (ignored(e.name)) continue;
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(rel, out);
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** The build's inputs: what tsc compiles, what is copied (`asset`), and the build's own configuration. */
function inputs() {
  const files = [];
  for (const dir of CODE_DIRS) {
    for (const rel of walk(dir)) {
      if (rel.endsWith(".md")) continue;
      files.push({ rel, asset: !rel.endsWith(".ts") });
    }
  }
  for (const dir of DATA_DIRS) for (const rel of walk(dir)) files.push({ rel, asset: true });
  for (const rel of BUILD_FILES) files.push({ rel, asset: false });
  return files;
}

/** Each input with what identifies its version; any edit, even one that dates the file back, changes ctime. */
function manifest(files) {
  const m = {};
  for (const { rel } of files) {
    const s = statSync(join(ROOT, rel), { bigint: true });
    m[rel] = `${s.mtimeNs}:${s.ctimeNs}:${s.size}`;
  }
  return JSON.stringify(m);
}

function readStamp() {
  try {
    return readFileSync(STAMP, "utf8");
  } catch {
    return null;
  }
}

/** Whether dist/ was built from the inputs as they are now. */
export function isFresh() {
  const stamp = readStamp();
  return stamp !== null && stamp === manifest(inputs());
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

/** Takes dist/.build-lock (created with its holder's pid in one step, by link()); returns its release. */
function lock() {
  mkdirSync(DIST, { recursive: true });
  const mine = `${LOCK}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  const deadline = Date.now() + LOCK_WAIT_MS;
  try {
    for (;;) {
      try {
        linkSync(mine, LOCK);
        return () => rmSync(LOCK, { force: true });
      } catch (err) {
        if (err.code !== "EEXIST") throw err;
      }
      let holder = NaN,
        age = 0;
      try {
        holder = Number(readFileSync(LOCK, "utf8"));
        age = Date.now() - statSync(LOCK).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (!alive(holder) || age > LOCK_STALE_MS) {
        rmSync(LOCK, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new BuildError(`another build (pid ${holder}) still holds ${LOCK}`);
      sleep(30 + Math.random() * 40);
    }
  } finally {
    rmSync(mine, { force: true });
  }
}

function tscPath() {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
  } catch {
    throw new BuildError("TypeScript is not installed (a devDependency): run npm install");
  }
}

function compile(outDir, check) {
  const args = [tscPath(), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", outDir, "--pretty", "false"];
  if (!check) args.push("--noCheck");
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new BuildError(`tsc failed (exit ${r.status}):\n${(r.stdout + r.stderr).trim()}`);
}

/** Files under an absolute directory, relative to it. */
function filesUnder(dir, rel = "", out = []) {
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) filesUnder(dir, r, out);
    else out.push(r);
  }
  return out;
}

function sameContent(a, b) {
  try {
    return statSync(a).size === statSync(b).size && readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** Moves the staged build into dist/ file by file (unchanged files stay), then removes what it no longer has. */
function install(staging) {
  const built = new Set(filesUnder(staging));
  for (const rel of built) {
    const from = join(staging, rel),
      to = join(DIST, rel);
    if (sameContent(from, to)) continue;
    mkdirSync(dirname(to), { recursive: true });
    renameSync(from, to);
  }
  const prune = (rel) => {
    let left = 0;
    for (const e of readdirSync(join(DIST, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && e.name.startsWith("."))
        left++; // the stamp, the lock, staging directories
      else if (e.isDirectory() && prune(r) === 0) rmdirSync(join(DIST, r));
      else if (!e.isDirectory() && !built.has(r)) unlinkSync(join(DIST, r));
      else left++;
    }
    return left;
  };
  prune("");
  return built.size;
}

/**
 * Builds dist/ (with `ifStale`, only when it is not fresh). Returns null when nothing was built, else the
 * line saying what was.
 */
export function build({ ifStale = false, check = false } = {}) {
  const started = performance.now();
  const release = lock();
  try {
    if (ifStale && isFresh()) return null;
    const files = inputs();
    const stamp = manifest(files);
    rmSync(STAMP, { force: true });
    // Left by a build that was killed (a live one's is its own: a lock taken over too eagerly must not hurt).
    for (const name of readdirSync(DIST)) {
      if (name.startsWith(STAGING_PREFIX) && !alive(Number(name.slice(STAGING_PREFIX.length))))
        rmSync(join(DIST, name), { recursive: true, force: true });
    }
    const staging = join(DIST, `${STAGING_PREFIX}${process.pid}`);
    try {
      compile(staging, check);
      const assets = files.filter((f) => f.asset);
      for (const { rel } of assets) {
        mkdirSync(dirname(join(staging, rel)), { recursive: true });
        copyFileSync(join(ROOT, rel), join(staging, rel));
      }
      const total = install(staging);
      const tmp = `${STAMP}.${process.pid}`;
      writeFileSync(tmp, stamp);
      renameSync(tmp, STAMP);
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      return `aide build: dist/ from ${files.length - assets.length - BUILD_FILES.length} modules and ${assets.length} assets (${total} files${check ? ", type-checked" : ""}) in ${secs} s`;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  } finally {
    release();
  }
}

/** For bin/aide.mjs: builds when stale (about a second); the line goes to stderr when `announce`. */
export function ensureBuilt({ announce = false } = {}) {
  if (isFresh()) return;
  const line = build({ ifStale: true });
  if (line && announce) process.stderr.write(`${line}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !["--if-stale", "--check"].includes(a));
  if (unknown.length) {
    process.stderr.write(`build: unknown argument ${unknown[0]} (use --if-stale or --check)\n`);
    process.exit(2);
  }
  try {
    const line = build({ ifStale: args.includes("--if-stale"), check: args.includes("--check") });
    if (line) process.stdout.write(`${line}\n`);
  } catch (err) {
    process.stderr.write(`aide build: ${err instanceof BuildError ? err.message : err.stack}\n`);
    process.exit(1);
  }
}
