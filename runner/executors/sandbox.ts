/**
 * Runs scripts inside bubblewrap: new user, pid, net, ipc, uts and cgroup namespaces (no network beyond
 * an empty loopback), no capabilities, a read-only system, the task input read-only at ./input and the
 * node's working/ writable at ./working. Limits and output handling come from ./process.ts.
 */
import { execFile } from "node:child_process";
import { lstat, mkdir, readdir, readlink, realpath, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { DataError, ExecutorError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import type { ExecutionResult, Executor, RunScope, ScriptJob } from "../../src/search/types.ts";
import { cleanEnv, DEFAULT_GRACE_MS, DEFAULT_OUTPUT_CEILING, findExecutable, runLimited, toExecutionResult } from "./process.ts";
import { WarmPool } from "./warm/pool.ts";
import { SandboxWarmLauncher } from "./warm/sandbox-launcher.ts";
import { workspaceParentOf } from "./warm/scope.ts";

export const DEFAULT_PYTHON = "/usr/bin/python3";
/** Where the job's directory appears inside the sandbox; scripts run with this as their cwd. */
export const SANDBOX_ROOT = "/workspace";
const SANDBOX_HOME = "/tmp/home";
const SCRIPT_NAME = "solution.py";

const INSTALL_HINT = "Install it with `apt-get install bubblewrap` (Debian/Ubuntu) or `dnf install bubblewrap`";
const PYTHON_HINT = "Install it with `apt-get install python3 python3-sklearn python3-pandas python3-numpy`";

export interface SandboxOptions {
  logger: Logger;
  /** Interpreter used inside the sandbox. Default /usr/bin/python3 (not whatever python3 is first on PATH). */
  pythonPath?: string;
  /** bubblewrap binary; default `bwrap` from PATH. */
  bwrapPath?: string;
  /** Time between SIGINT and SIGKILL when a run is stopped. Default 2000 ms. */
  graceMs?: number;
  /** Largest file a script may write (RLIMIT_FSIZE). Default 8192 MB. */
  fileSizeMb?: number;
  /** Maximum processes/threads per run (cgroup pids controller, where available). Default 512. */
  pidsMax?: number;
  /** Output characters after which a run is killed. Default 512 Mi. */
  outputCeiling?: number;
  /** Thread caps (OMP/OpenBLAS/MKL) for scripts. Default min(4, cores). */
  threads?: number;
  /**
   * "auto" (default): a per-job cgroup when one is writable, else RLIMIT_AS. "rlimit" forces RLIMIT_AS
   * (used by tests to cover machines without writable cgroups).
   */
  memoryLimit?: "auto" | "rlimit";
  /**
   * Warm mode: one long-lived interpreter per run (inside its own sandbox) that has imported numpy, pandas
   * and scikit-learn and forks a fresh child per script. Falls back to cold runs, with the reason logged,
   * when it cannot start. Default false here; the configuration (`execution.warm`) turns it on.
   */
  warm?: boolean;
  /** An idle warm interpreter is stopped after this many ms. Default 10 minutes. */
  warmIdleMs?: number;
}

export interface SandboxCheck {
  ok: boolean;
  /** Why the sandbox cannot run here, fit for a user; "" when ok. */
  reason: string;
  bwrapPath: string | null;
  pythonPath: string;
}

export interface Prepared {
  bwrap: string;
  python: string;
  systemArgs: string[];
  supportsSize: boolean;
}

function execFileText(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  return new Promise((res) => {
    execFile(file, args, { timeout: timeoutMs, env: cleanEnv("/tmp", 1), encoding: "utf8" }, (err, stdout, stderr) =>
      res({ ok: !err, out: `${stdout}${stderr}`.trim() || (err ? err.message : "") }),
    );
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function under(path: string, dirs: string[]): boolean {
  return dirs.some((d) => path === d || path.startsWith(`${d}/`));
}

/**
 * Read-only views of the host the interpreter needs: /usr, the merged-/usr symlinks (or real dirs on
 * older layouts), a few /etc files (BLAS alternatives, the dynamic loader's cache, time zone, fonts,
 * Python's and matplotlib's config), and the interpreter's own prefix when it lives outside /usr (a venv
 * or pyenv build).
 */
async function systemArgs(python: string): Promise<string[]> {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const top of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    try {
      const st = await lstat(top);
      if (st.isSymbolicLink()) args.push("--symlink", await readlink(top), top);
      else if (st.isDirectory()) args.push("--ro-bind", top, top);
    } catch {
      // not on this system
    }
  }
  const etc = [
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/fonts",
    "/etc/matplotlibrc",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
  ];
  try {
    for (const name of await readdir("/etc")) if (/^python3/.test(name)) etc.push(`/etc/${name}`);
  } catch {
    // no /etc listing; the fixed list is enough
  }
  for (const path of etc) args.push("--ro-bind-try", path, path);

  const system = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
  const prefixes = new Set<string>();
  for (const p of [python, await realpath(python)]) {
    if (!under(p, system)) prefixes.add(dirname(dirname(p)));
  }
  for (const prefix of prefixes) args.push("--ro-bind", prefix, prefix);
  return args;
}

/** The bwrap arguments around the interpreter, excluding the job's own mounts. */
export function sandboxArgs(p: Prepared, memoryBytes: number | null): string[] {
  const args = [
    "--unshare-all",
    "--die-with-parent",
    "--cap-drop",
    "ALL",
    "--hostname",
    "aide-sandbox",
    ...p.systemArgs,
    "--proc",
    "/proc",
    "--dev",
    "/dev",
  ];
  if (p.supportsSize && memoryBytes !== null) args.push("--size", String(memoryBytes));
  args.push("--tmpfs", "/tmp", "--dir", SANDBOX_HOME);
  return args;
}

let checkCache: Promise<SandboxCheck> | null = null;

export class SandboxExecutor implements Executor {
  readonly name: string;
  private prepared: Promise<Prepared> | null = null;
  private warmPool: WarmPool | null = null;

  constructor(private readonly opts: SandboxOptions) {
    this.name = opts.warm ? "sandbox (bubblewrap, warm)" : "sandbox (bubblewrap)";
  }

  private async pool(): Promise<WarmPool> {
    const p = await this.prepare();
    this.warmPool ??= new WarmPool({
      launcher: new SandboxWarmLauncher({
        bwrap: p.bwrap,
        python: p.python,
        baseArgs: (memoryBytes) => sandboxArgs(p, memoryBytes),
        logger: this.opts.logger,
        threads: this.opts.threads,
        fileSizeMb: this.opts.fileSizeMb,
        pidsMax: this.opts.pidsMax,
        memoryLimit: this.opts.memoryLimit,
      }),
      logger: this.opts.logger,
      graceMs: this.opts.graceMs ?? DEFAULT_GRACE_MS,
      outputCeiling: this.opts.outputCeiling ?? DEFAULT_OUTPUT_CEILING,
      idleMs: this.opts.warmIdleMs,
    });
    return this.warmPool;
  }

  async prepareRun(scope: RunScope): Promise<void> {
    if (!this.opts.warm) return;
    try {
      await (await this.pool()).prepare(scope.inputDir, scope.memoryMb, workspaceParentOf(scope.runDir));
    } catch (err) {
      this.opts.logger.debug({ err }, "warm interpreter not prepared");
    }
  }

  async releaseRun(scope: RunScope): Promise<void> {
    if (!this.opts.warm) return;
    // The pool may still be on its way (prepareRun waits for the sandbox check first): wait for it, in the same
    // order, so an interpreter that prepareRun is starting for this run is stopped too, rather than left to idle
    // for ten minutes and keep a finished `aide run` alive.
    const pool = await this.pool().catch(() => null);
    await pool?.release(scope.inputDir);
  }

  /** Stops every warm interpreter. */
  async close(): Promise<void> {
    await this.warmPool?.close();
  }

  /**
   * Whether bubblewrap can run a Python script here (it is installed, and user namespaces are allowed:
   * some containers forbid them). Runs a real sandboxed `python -c` once; the answer is cached for the
   * default paths.
   */
  static check(opts: { bwrapPath?: string; pythonPath?: string } = {}): Promise<SandboxCheck> {
    const run = async (): Promise<SandboxCheck> => {
      const pythonPath = opts.pythonPath ?? DEFAULT_PYTHON;
      const bwrapPath = await findExecutable(opts.bwrapPath ?? "bwrap");
      if (!bwrapPath) return { ok: false, reason: `bubblewrap (bwrap) is not installed. ${INSTALL_HINT}.`, bwrapPath, pythonPath };
      if (!(await exists(pythonPath))) {
        return { ok: false, reason: `Python was not found at ${pythonPath}. ${PYTHON_HINT}.`, bwrapPath, pythonPath };
      }
      const p: Prepared = { bwrap: bwrapPath, python: pythonPath, systemArgs: await systemArgs(pythonPath), supportsSize: false };
      const res = await execFileText(bwrapPath, [...sandboxArgs(p, null), pythonPath, "-c", "print('sandbox-ok')"], 20_000);
      if (res.ok && res.out.includes("sandbox-ok")) return { ok: true, reason: "", bwrapPath, pythonPath };
      return {
        ok: false,
        reason:
          `bubblewrap is installed but cannot create a sandbox here (${res.out.split("\n")[0] || "unknown error"}). ` +
          "Containers often forbid user namespaces: allow them (e.g. sysctl kernel.unprivileged_userns_clone=1, " +
          "or run the container with a seccomp/AppArmor profile that permits unshare), or use the unsafe local executor.",
        bwrapPath,
        pythonPath,
      };
    };
    if (opts.bwrapPath || opts.pythonPath) return run();
    checkCache ??= run();
    return checkCache;
  }

  private prepare(): Promise<Prepared> {
    this.prepared ??= (async () => {
      const bwrap = await findExecutable(this.opts.bwrapPath ?? "bwrap");
      if (!bwrap) throw new ExecutorError(`bubblewrap (bwrap) is not installed, so scripts cannot be sandboxed. ${INSTALL_HINT}.`);
      const python = this.opts.pythonPath ?? DEFAULT_PYTHON;
      if (!(await exists(python))) throw new ExecutorError(`Python was not found at ${python}. ${PYTHON_HINT}.`);
      const help = await execFileText(bwrap, ["--help"], 10_000);
      return { bwrap, python, systemArgs: await systemArgs(python), supportsSize: /--size\b/.test(help.out) };
    })();
    // A failed lookup is retried next time (the user may install the package meanwhile).
    this.prepared.catch(() => {
      this.prepared = null;
    });
    return this.prepared;
  }

  async run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult> {
    const p = await this.prepare();
    const inputDir = resolve(job.inputDir);
    if (!(await exists(inputDir))) throw new DataError(`The task's input directory ${inputDir} does not exist.`);
    if (this.opts.warm) {
      const warm = await (await this.pool()).run(job, signal);
      if (warm) return warm;
    }
    const nodeDir = resolve(job.nodeDir);
    const workingDir = join(nodeDir, "working");
    const scriptPath = join(nodeDir, SCRIPT_NAME);
    await mkdir(workingDir, { recursive: true });
    await writeFile(scriptPath, job.code);

    const memoryBytes = Math.max(1, Math.floor(job.memoryMb)) * 1024 * 1024;
    const env = cleanEnv(SANDBOX_HOME, this.opts.threads);
    const args = [
      ...sandboxArgs(p, memoryBytes),
      "--tmpfs",
      SANDBOX_ROOT,
      "--ro-bind",
      inputDir,
      `${SANDBOX_ROOT}/input`,
      "--bind",
      workingDir,
      `${SANDBOX_ROOT}/working`,
      "--ro-bind",
      scriptPath,
      `${SANDBOX_ROOT}/${SCRIPT_NAME}`,
      "--remount-ro",
      SANDBOX_ROOT,
      "--remount-ro",
      "/",
      "--chdir",
      SANDBOX_ROOT,
      "--clearenv",
      ...Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]),
      p.python,
      `${SANDBOX_ROOT}/${SCRIPT_NAME}`,
    ];
    this.opts.logger.debug({ nodeId: job.nodeId, nodeDir, timeoutMs: job.timeoutMs, memoryMb: job.memoryMb }, "sandbox run");
    const r = await runLimited({
      command: p.bwrap,
      args,
      cwd: nodeDir,
      env,
      timeoutMs: job.timeoutMs,
      memoryMb: job.memoryMb,
      outputCap: job.outputCap,
      signal,
      logger: this.opts.logger,
      graceMs: this.opts.graceMs,
      outputCeiling: this.opts.outputCeiling,
      fileSizeMb: this.opts.fileSizeMb,
      pidsMax: this.opts.pidsMax,
      memoryLimit: this.opts.memoryLimit,
      exitCodeEncodesSignal: true,
      spareFromInterrupt: ["bwrap"],
    });
    this.opts.logger.debug(
      { nodeId: job.nodeId, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, oom: r.outOfMemory, ms: r.durationMs, memory: r.memoryMechanism },
      "sandbox run finished",
    );
    return toExecutionResult(r, workingDir);
  }
}
