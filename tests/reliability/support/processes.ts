/**
 * `aide` commands as child processes, the way an operator runs them (`node bin/aide.mjs runner`, `... slack`),
 * for the fault and load tests: each child's stderr goes to a log file of its own, its start-up line is awaited,
 * and it can be killed with any signal (SIGKILL included) and its peak memory read from /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";

export const REPO_ROOT = join(import.meta.dirname, "..", "..", "..");
export const AIDE_BIN = join(REPO_ROOT, "bin", "aide.mjs");

/** Variables of the test process that must not leak into a child and change what it connects to. */
const SCRUBBED = [
  "REDIS_URL",
  "MONGODB_URI",
  "AIDE_DATA_DIR",
  "AIDE_CONFIG",
  "AIDE_EXECUTOR",
  "AIDE_CODER",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "DOCKER_HOST",
  "PORT",
];

export interface AideProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Where its stderr and stdout go. */
  readonly logFile: string;
  /** Resolves when the process has exited (code or signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote so far. */
  log(): string;
  /** Waits until its output matches `pattern` and returns the match. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends a signal and waits for the exit (SIGKILL after `graceMs` if it still lives). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** Peak resident memory (VmHWM) in MB, or null once it has exited. */
  peakRssMb(): number | null;
}

/** Peak resident set size of a live process, from /proc/<pid>/status (VmHWM), in MB. */
export function peakRssMb(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Starts `node bin/aide.mjs <args>` with a clean service environment plus `env`. */
export function spawnAide(name: string, args: string[], env: Record<string, string>, logDir: string): AideProcess {
  return spawnNode(name, [AIDE_BIN, ...args], env, logDir);
}

/** Starts `node <nodeArgs>` (a script and its arguments) with a clean service environment plus `env`. */
export function spawnNode(name: string, nodeArgs: string[], env: Record<string, string>, logDir: string): AideProcess {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUBBED.includes(k)) base[k] = v;
  const logFile = join(logDir, `${name}.log`);
  const out = createWriteStream(logFile, { flags: "a" });
  const child = spawn(process.execPath, nodeArgs, {
    cwd: REPO_ROOT,
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString("utf8");
    out.write(chunk);
    for (const l of listeners) l();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  let done = false;
  // A test process that ends (or fails to set up) never leaves its children behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      process.removeListener("exit", killOnExit);
      done = true;
      out.end();
      resolve({ code, signal });
      for (const l of listeners) l();
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  return {
    name,
    pid,
    child,
    logFile,
    exited,
    log: () => text,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(text);
          if (m) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`${name} exited before printing ${pattern}; its output:\n${text.slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`${name} did not print ${pattern} within ${timeoutMs} ms; its output:\n${text.slice(-3000)}`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM", graceMs = 10_000) {
      if (done) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    peakRssMb: () => (done ? null : peakRssMb(pid)),
  };
}
