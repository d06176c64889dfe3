/**
 * Runs one command on the host (bubblewrap, or the unsafe local executor) as a process group under the
 * limits: a memory limit (per-job cgroup when one is writable, else RLIMIT_AS), a pids cap (cgroup only), a
 * file-size cap (RLIMIT_FSIZE), and stdout+stderr merged in arrival order. The script supervisor
 * (script-supervisor.ts) applies the time limit, the abort signal and the output ceiling to the group and
 * reads the end. The executors only decide what command runs.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { ExecutorError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { createJobCgroup, type JobCgroup } from "./cgroup.ts";
import { abortError, drain, ScriptSupervisor, type SupervisedResult } from "./script-supervisor.ts";
import { DEFAULT_PIDS_MAX, fileSizeBytes } from "./workspace.ts";

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

export interface LimitedRunResult extends SupervisedResult {
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

/** /bin/sh lines that move the shell into a job's cgroups (before it execs anything), or exit 125. */
export function joinCgroupLines(procsFiles: string[]): string[] {
  return procsFiles.map(
    (f) => `echo $$ > ${shQuote(f)} || { echo "aide executor: cannot join cgroup ${f}"; exit 125; }`,
  );
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

/** Runs the command and resolves once it and everything it started are gone. */
export async function runLimited(run: LimitedRun): Promise<LimitedRunResult> {
  const { logger } = run;
  if (run.signal?.aborted) throw abortError(run.signal);
  const memoryBytes = Math.max(1, Math.floor(run.memoryMb)) * 1024 * 1024;
  const fileBytes = fileSizeBytes(run.fileSizeMb);

  prlimitPath ??= findExecutable("prlimit");
  const prlimit = await prlimitPath;

  let cgroup: JobCgroup | null = null;
  if ((run.memoryLimit ?? "auto") === "auto") {
    cgroup = await createJobCgroup({ memoryBytes, pidsMax: run.pidsMax ?? DEFAULT_PIDS_MAX }, logger);
  }
  const memoryMechanism: MemoryMechanism = cgroup
    ? cgroup.version === 1
      ? "cgroup-v1"
      : "cgroup-v2"
    : prlimit
      ? "rlimit"
      : "none";

  // A small /bin/sh prologue: merge stderr into stdout (one pipe keeps arrival order), join the job's
  // cgroups before anything else runs, then exec the command under rlimits.
  const prologue = ["exec 2>&1", ...joinCgroupLines(cgroup?.procsFiles ?? []), 'exec "$@"'];
  const limited: string[] = [];
  if (prlimit) {
    limited.push(prlimit, `--fsize=${fileBytes}`, "--core=0");
    if (!cgroup) limited.push(`--as=${memoryBytes}`);
    limited.push("--");
  } else {
    logger.warn("prlimit (util-linux) not found: no file-size cap, and no memory cap without a cgroup");
  }
  limited.push(run.command, ...run.args);

  const child = spawn("/bin/sh", ["-c", prologue.join("\n"), "aide-sh", ...limited], {
    cwd: run.cwd,
    env: run.env,
    detached: true, // the child leads its own process group, so the whole tree can be signalled
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pgid = child.pid;

  const killEverything = async (): Promise<void> => {
    if (pgid !== undefined) signalGroup(pgid, "SIGKILL");
    for (const pid of (await cgroup?.pids()) ?? []) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
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
  };

  const supervisor = new ScriptSupervisor({
    timeoutMs: run.timeoutMs,
    memoryMb: run.memoryMb,
    outputCap: run.outputCap,
    graceMs: run.graceMs,
    outputCeiling: run.outputCeiling,
    signal: run.signal,
    logger,
    context: { pid: pgid },
    interrupt,
    kill: () => void killEverything(),
  });

  // 'close' may follow 'exit' in the same tick: listen to both from the start.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", (err) => reject(err));
    child.once("exit", (code, sig) => resolve({ code, sig }));
  });
  try {
    if (pgid !== undefined) {
      // (without a pid, 'error' follows)
      child.stdout.setEncoding("utf8");
      child.stderr.setEncoding("utf8");
      child.stdout.on("data", (text: string) => supervisor.append(text));
      child.stderr.on("data", (text: string) => supervisor.append(text));
      supervisor.start();
    }
    const status = await exited;
    supervisor.ended();
    // Whatever the script left running (daemons, stray children) dies with it; that also closes the pipes
    // they may hold.
    void killEverything();
    if (!(await drain(closed))) {
      child.stdout.destroy();
      child.stderr.destroy();
    }
    const result = supervisor.result({
      code: status.code,
      signal: status.sig,
      codeEncodesSignal: run.exitCodeEncodesSignal,
      oomKilled: (await cgroup?.oomKilled()) === true,
    });
    return { ...result, memoryMechanism };
  } catch (err) {
    throw new ExecutorError("Could not start the script's process.", { cause: err, detail: (err as Error).message });
  } finally {
    supervisor.ended();
    if (pgid !== undefined) signalGroup(pgid, "SIGKILL");
    await cgroup?.destroy();
  }
}
