/**
 * Runs one command under the limits every executor shares: a clean environment, a wall-clock limit
 * (SIGINT, then SIGKILL), an abort signal that does the same, a memory limit (per-job cgroup when one is
 * writable, else RLIMIT_AS), a pids cap (cgroup only), a file-size cap (RLIMIT_FSIZE), and stdout+stderr
 * merged in arrival order into a capped buffer. The executors only decide what command runs.
 */
import type { ExecutionResult } from "../../src/search/types.ts";
import { spawn } from "node:child_process";
import { constants as osConstants, availableParallelism } from "node:os";
import { readdirSync, readFileSync } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { CappedOutput } from "../../src/search/output.ts";
import { ExecutorError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { createJobCgroup, type JobCgroup } from "./cgroup.ts";

export const DEFAULT_GRACE_MS = 2000;
/** Characters of output after which a run is killed outright (output beyond the cap is discarded anyway). */
export const DEFAULT_OUTPUT_CEILING = 512 * 1024 * 1024;
export const DEFAULT_FILE_SIZE_MB = 8192;
export const DEFAULT_PIDS_MAX = 512;

/**
 * The only variables a script sees. Nothing of this process's environment is copied, so API keys and
 * tokens cannot leak in.
 */
export function cleanEnv(home: string, threads = defaultThreads()): Record<string, string> {
  const t = String(threads);
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    OMP_NUM_THREADS: t,
    OPENBLAS_NUM_THREADS: t,
    MKL_NUM_THREADS: t,
    NUMEXPR_NUM_THREADS: t,
  };
}

function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export type MemoryMechanism = "cgroup-v1" | "cgroup-v2" | "rlimit" | "none";

export interface LimitedRun {
  command: string;
  args: string[];
  /** Host working directory of the spawned process. */
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
  outputCap: number;
  signal?: AbortSignal;
  logger: Logger;
  /** "auto": per-job cgroup when writable, else RLIMIT_AS. "rlimit": RLIMIT_AS only. */
  memoryLimit?: "auto" | "rlimit";
  graceMs?: number;
  outputCeiling?: number;
  fileSizeMb?: number;
  pidsMax?: number;
  /**
   * The command reports its child's death by signal N as exit code 128+N (bubblewrap does); map such
   * codes back to signal names.
   */
  exitCodeEncodesSignal?: boolean;
  /**
   * Command names (as in /proc/PID/comm) spared the interrupt, so that e.g. bubblewrap's own processes
   * stay alive while the script handles SIGINT and prints its traceback.
   */
  spareFromInterrupt?: string[];
}

export interface LimitedRunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  outOfMemory: boolean;
  /** Killed because it printed more than the output ceiling. */
  outputCeilingHit: boolean;
  durationMs: number;
  output: string;
  outputCapped: boolean;
  memoryMechanism: MemoryMechanism;
}

let prlimitPath: Promise<string | null> | null = null;

/** Absolute path of an executable found on this process's PATH (plus the usual system dirs), or null. */
export async function findExecutable(name: string): Promise<string | null> {
  if (name.includes("/")) return (await isExecutable(name)) ? name : null;
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/bin", "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, 1 /* X_OK */);
    return true;
  } catch {
    return false;
  }
}

/** Single-quotes a string for /bin/sh. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Members of a process group, read from /proc. */
function groupMembers(pgid: number): Array<{ pid: number; comm: string }> {
  const members: Array<{ pid: number; comm: string }> = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const open = stat.indexOf("(");
      const close = stat.lastIndexOf(")");
      // after ") ": state ppid pgrp ...
      const fields = stat.slice(close + 2).split(" ");
      if (Number(fields[2]) === pgid) members.push({ pid: Number(entry), comm: stat.slice(open + 1, close) });
    } catch {
      // exited meanwhile
    }
  }
  return members;
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // group already gone
  }
}

/** How Python and native code say they ran out of memory, in a script's last output. */
export const MEMORY_ERROR = /\b\w*MemoryError\b|Cannot allocate memory|std::bad_alloc|Unable to allocate/;

/** The name of signal number `n` (SIGKILL for 9), or null. */
export function signalName(n: number): string | null {
  for (const [name, value] of Object.entries(osConstants.signals)) if (value === n) return name;
  return null;
}

/** Runs the command and resolves once it and everything it started are gone. */
/** The executor-facing result of a limited run whose script worked in `workingDir`. */
export function toExecutionResult(r: LimitedRunResult, workingDir: string): ExecutionResult {
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    timedOut: r.timedOut,
    outOfMemory: r.outOfMemory,
    durationMs: r.durationMs,
    output: r.output,
    outputCapped: r.outputCapped,
    workingDir,
  };
}

export async function runLimited(run: LimitedRun): Promise<LimitedRunResult> {
  const { logger } = run;
  if (run.signal?.aborted) throw abortError(run.signal);
  const graceMs = run.graceMs ?? DEFAULT_GRACE_MS;
  const ceiling = run.outputCeiling ?? DEFAULT_OUTPUT_CEILING;
  const memoryBytes = Math.max(1, Math.floor(run.memoryMb)) * 1024 * 1024;
  const fileBytes = Math.floor((run.fileSizeMb ?? DEFAULT_FILE_SIZE_MB) * 1024 * 1024);

  prlimitPath ??= findExecutable("prlimit");
  const prlimit = await prlimitPath;

  let cgroup: JobCgroup | null = null;
  if ((run.memoryLimit ?? "auto") === "auto") {
    cgroup = await createJobCgroup({ memoryBytes, pidsMax: run.pidsMax ?? DEFAULT_PIDS_MAX }, logger);
  }
  const memoryMechanism: MemoryMechanism = cgroup ? (cgroup.version === 1 ? "cgroup-v1" : "cgroup-v2") : prlimit ? "rlimit" : "none";

  // A small /bin/sh prologue: merge stderr into stdout (one pipe keeps arrival order), join the job's
  // cgroups before anything else runs, then exec the command under rlimits.
  const prologue = ["exec 2>&1"];
  for (const f of cgroup?.procsFiles ?? []) {
    prologue.push(`echo $$ > ${shQuote(f)} || { echo "aide executor: cannot join cgroup ${f}"; exit 125; }`);
  }
  prologue.push('exec "$@"');
  const limited: string[] = [];
  if (prlimit) {
    limited.push(prlimit, `--fsize=${fileBytes}`, "--core=0");
    if (!cgroup) limited.push(`--as=${memoryBytes}`);
    limited.push("--");
  } else {
    logger.warn("prlimit (util-linux) not found: no file-size cap, and no memory cap without a cgroup");
  }
  limited.push(run.command, ...run.args);

  const output = new CappedOutput(run.outputCap);
  let seen = 0;
  let timedOut = false;
  let aborted = false;
  let outputCeilingHit = false;
  let killTimer: NodeJS.Timeout | undefined;
  let timeLimit: NodeJS.Timeout | undefined;
  let closeFallback: NodeJS.Timeout | undefined;
  const started = performance.now();
  let durationMs = 0;

  const child = spawn("/bin/sh", ["-c", prologue.join("\n"), "aide-sh", ...limited], {
    cwd: run.cwd,
    env: run.env,
    detached: true, // the child leads its own process group, so the whole tree can be signalled
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pgid = child.pid;

  const killEverything = async (): Promise<void> => {
    if (pgid !== undefined) signalGroup(pgid, "SIGKILL");
    if (cgroup) {
      for (const pid of await cgroup.pids()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  };

  const interrupt = (): void => {
    if (pgid === undefined) return;
    const spare = run.spareFromInterrupt ?? [];
    if (spare.length === 0) signalGroup(pgid, "SIGINT");
    else {
      for (const m of groupMembers(pgid)) {
        if (spare.includes(m.comm)) continue;
        try {
          process.kill(m.pid, "SIGINT");
        } catch {
          // gone
        }
      }
    }
    killTimer ??= setTimeout(() => void killEverything(), graceMs);
  };

  const onAbort = (): void => {
    aborted = true;
    logger.debug({ pid: pgid }, "run aborted: interrupting");
    interrupt();
  };

  const onData = (chunk: string): void => {
    seen += chunk.length;
    if (outputCeilingHit) return;
    output.append(chunk);
    if (seen > ceiling) {
      outputCeilingHit = true;
      logger.warn({ pid: pgid, ceiling }, "script output exceeded the ceiling: killing it");
      void killEverything();
    }
  };

  try {
    const status = await new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
      child.once("error", (err) => reject(err));
      if (pgid === undefined) return; // 'error' follows
      child.stdout.setEncoding("utf8");
      child.stderr.setEncoding("utf8");
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      run.signal?.addEventListener("abort", onAbort, { once: true });
      if (run.signal?.aborted) onAbort(); // aborted while the cgroup was being set up
      // setTimeout cannot wait longer than 2^31-1 ms (it would fire at once); treat more as no limit.
      if (Number.isFinite(run.timeoutMs) && run.timeoutMs <= 2 ** 31 - 1) timeLimit = setTimeout(() => {
        timedOut = true;
        logger.debug({ pid: pgid, timeoutMs: run.timeoutMs }, "time limit reached: interrupting");
        interrupt();
      }, run.timeoutMs);

      let exited: { code: number | null; sig: NodeJS.Signals | null } | null = null;
      child.once("exit", (code, sig) => {
        durationMs = performance.now() - started;
        exited = { code, sig };
        clearTimeout(timeLimit);
        run.signal?.removeEventListener("abort", onAbort);
        // Whatever the script left running (daemons, stray children) dies with it; that also closes
        // the pipes they may hold.
        void killEverything();
        closeFallback = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          resolve({ code, sig });
        }, 3000);
      });
      child.once("close", (code, sig) => resolve(exited ?? { code, sig }));
    });

    let exitCode = status.code;
    let sig: string | null = status.sig;
    if (run.exitCodeEncodesSignal && exitCode !== null && exitCode > 128 && exitCode < 128 + 65) {
      const name = signalName(exitCode - 128);
      if (name) {
        sig = name;
        exitCode = null;
      }
    }

    let outOfMemory = false;
    if (cgroup && (await cgroup.oomKilled())) outOfMemory = true;
    else if (!timedOut && (exitCode !== 0 || sig !== null)) {
      outOfMemory = MEMORY_ERROR.test(output.text.slice(-4000));
    }

    let text = output.text;
    if (outputCeilingHit) text += `\n[aide executor: output exceeded ${ceiling} characters; the script was killed]\n`;
    return {
      exitCode,
      signal: sig,
      timedOut,
      aborted,
      outOfMemory,
      outputCeilingHit,
      durationMs: Math.round(durationMs),
      output: text,
      outputCapped: output.capped || outputCeilingHit,
      memoryMechanism,
    };
  } catch (err) {
    throw new ExecutorError("Could not start the script's process.", { cause: err, detail: (err as Error).message });
  } finally {
    clearTimeout(timeLimit);
    clearTimeout(killTimer);
    clearTimeout(closeFallback);
    run.signal?.removeEventListener("abort", onAbort);
    if (pgid !== undefined) signalGroup(pgid, "SIGKILL");
    await cgroup?.destroy();
  }
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException("The run was aborted", "AbortError");
}
