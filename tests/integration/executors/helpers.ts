import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { Logger } from "../../../src/logger.ts";
import type { ScriptJob } from "../../../src/search/types.ts";

export interface Scratch {
  root: string;
  inputDir: string;
  job(name: string, code: string, overrides?: Partial<ScriptJob>): ScriptJob;
  cleanup(): void;
}

/** A temporary task: input/train.csv plus one node directory per job. */
export function makeScratch(prefix: string): Scratch {
  const root = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const inputDir = join(root, "input");
  mkdirSync(inputDir);
  writeFileSync(join(inputDir, "train.csv"), "id,x,y\n1,0.5,1\n2,1.5,0\n3,2.5,1\n");
  let n = 0;
  return {
    root,
    inputDir,
    job(name, code, overrides = {}) {
      n += 1;
      return {
        nodeId: n,
        code,
        inputDir,
        nodeDir: join(root, `node-${n}-${name}`),
        timeoutMs: 30_000,
        memoryMb: 1024,
        outputCap: 100_000,
        ...overrides,
      };
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Host pids whose command line contains `marker`. */
export function pidsWithMarker(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(marker) && processAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // exited
    }
  }
  return found;
}

export async function waitFor<T>(
  probe: () => T | null | undefined,
  timeoutMs: number,
  everyMs = 50,
): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = probe();
    if (v !== null && v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return null;
}

/** Alive and not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The snippet scripts use to print the environment names they see, one JSON line. */
export const ENV_DUMP = `import os, json
print("ENV=" + json.dumps(dict(os.environ)))
`;

export const ALLOWED_ENV = new Set([
  "PATH",
  "HOME",
  "LANG",
  "PYTHONUNBUFFERED",
  "PYTHONDONTWRITEBYTECODE",
  "OMP_NUM_THREADS",
  "OPENBLAS_NUM_THREADS",
  "MKL_NUM_THREADS",
  "NUMEXPR_NUM_THREADS",
  // set by the kernel/exec for the cwd (bubblewrap's --chdir, and Python itself does not add it)
  "PWD",
]);

export function parseEnvDump(output: string): Record<string, string> {
  const line = output.split("\n").find((l) => l.startsWith("ENV="));
  if (!line) throw new Error(`no ENV= line in output:\n${output}`);
  return JSON.parse(line.slice(4)) as Record<string, string>;
}

/** A logger whose JSON lines are kept for assertions. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: "debug" },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  ) as unknown as Logger;
  return { logger, lines };
}

/** Sets OPENAI_API_KEY in this process while `body` runs, then restores it. */
export async function withSecretInEnv<T>(secret: string, body: () => Promise<T>): Promise<T> {
  const before = process.env.OPENAI_API_KEY;
  process.env.OPENAI_API_KEY = secret;
  try {
    return await body();
  } finally {
    if (before === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = before;
  }
}
