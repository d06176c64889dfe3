/**
 * Runs scripts inside bubblewrap, in the sandbox bwrap-spec.ts describes (namespaces without a network, no
 * capabilities, a read-only system, ./input read-only, only ./working writable), cold (a sandbox per script:
 * its limits from ./process.ts, watched by the script supervisor) or warm (warm/sandbox-launcher.ts).
 */
import { execFile } from "node:child_process";
import { ExecutorError } from "../../src/errors.ts";
import type { ExecutionResult, Executor, ScriptJob } from "../../src/search/types.ts";
import { exists } from "../../src/util/files.ts";
import { bwrapArgs, sandboxArgs, systemArgs, type Prepared } from "./bwrap-spec.ts";
import { findExecutable, runLimited } from "./process.ts";
import { toExecutionResult } from "./script-supervisor.ts";
import { WarmModeExecutor, type WarmModeOptions } from "./warm/runs.ts";
import type { WarmLauncher } from "./warm/parent.ts";
import { SandboxWarmLauncher } from "./warm/sandbox-launcher.ts";
import { cleanEnv, inputDirOf, SANDBOX_HOME, SCRIPT_NAME, WORKSPACE, writeNodeFiles } from "./workspace.ts";

export const DEFAULT_PYTHON = "/usr/bin/python3";

const INSTALL_HINT = "Install it with `apt-get install bubblewrap` (Debian/Ubuntu) or `dnf install bubblewrap`";
const PYTHON_HINT = "Install it with `apt-get install python3 python3-sklearn python3-pandas python3-numpy`";

export interface SandboxOptions extends WarmModeOptions {
  /** Interpreter used inside the sandbox. Default /usr/bin/python3 (not whatever python3 is first on PATH). */
  pythonPath?: string;
  /** bubblewrap binary; default `bwrap` from PATH. */
  bwrapPath?: string;
  /** Largest file a script may write (RLIMIT_FSIZE). Default 8192 MB. */
  fileSizeMb?: number;
  /** Maximum processes/threads per run (cgroup pids controller, where available). Default 512. */
  pidsMax?: number;
  /** Thread caps (OMP/OpenBLAS/MKL) for scripts. Default min(4, cores). */
  threads?: number;
  /**
   * "auto" (default): a per-job cgroup when one is writable, else RLIMIT_AS. "rlimit" forces RLIMIT_AS
   * (used by tests to cover machines without writable cgroups).
   */
  memoryLimit?: "auto" | "rlimit";
}

export interface SandboxCheck {
  ok: boolean;
  /** Why the sandbox cannot run here, fit for a user; "" when ok. */
  reason: string;
  bwrapPath: string | null;
  pythonPath: string;
}

function execFileText(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  return new Promise((res) => {
    execFile(file, args, { timeout: timeoutMs, env: cleanEnv("/tmp", 1), encoding: "utf8" }, (err, stdout, stderr) =>
      res({ ok: !err, out: `${stdout}${stderr}`.trim() || (err ? err.message : "") }),
    );
  });
}

let checkCache: Promise<SandboxCheck> | null = null;

export class SandboxExecutor extends WarmModeExecutor implements Executor {
  readonly name: string;
  private prepared: Promise<Prepared> | null = null;

  constructor(private readonly opts: SandboxOptions) {
    super(opts);
    this.name = opts.warm ? "sandbox (bubblewrap, warm)" : "sandbox (bubblewrap)";
  }

  protected async warmLauncher(): Promise<WarmLauncher> {
    const { logger, threads, fileSizeMb, pidsMax, memoryLimit } = this.opts;
    return new SandboxWarmLauncher({
      prepared: await this.prepare(),
      logger,
      threads,
      fileSizeMb,
      pidsMax,
      memoryLimit,
    });
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
      if (!bwrapPath)
        return { ok: false, reason: `bubblewrap (bwrap) is not installed. ${INSTALL_HINT}.`, bwrapPath, pythonPath };
      if (!(await exists(pythonPath))) {
        return { ok: false, reason: `Python was not found at ${pythonPath}. ${PYTHON_HINT}.`, bwrapPath, pythonPath };
      }
      const p: Prepared = {
        bwrap: bwrapPath,
        python: pythonPath,
        systemArgs: await systemArgs(pythonPath),
        supportsSize: false,
      };
      const res = await execFileText(
        bwrapPath,
        [...sandboxArgs(p, null), pythonPath, "-c", "print('sandbox-ok')"],
        20_000,
      );
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
      if (!bwrap)
        throw new ExecutorError(
          `bubblewrap (bwrap) is not installed, so scripts cannot be sandboxed. ${INSTALL_HINT}.`,
        );
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
    const { inputDir } = await inputDirOf(job);
    const warm = await this.warm.run(job, signal);
    if (warm) return warm;
    const { nodeDir, workingDir, scriptPath } = await writeNodeFiles(job);

    const env = cleanEnv(SANDBOX_HOME, this.opts.threads);
    const args = bwrapArgs(p, {
      memoryBytes: Math.max(1, Math.floor(job.memoryMb)) * 1024 * 1024,
      inputDir,
      workingDir,
      extraMounts: ["--ro-bind", scriptPath, `${WORKSPACE}/${SCRIPT_NAME}`],
      env,
      command: [p.python, `${WORKSPACE}/${SCRIPT_NAME}`],
    });
    this.opts.logger.debug(
      { nodeId: job.nodeId, nodeDir, timeoutMs: job.timeoutMs, memoryMb: job.memoryMb },
      "sandbox run",
    );
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
      {
        nodeId: job.nodeId,
        exitCode: r.exitCode,
        signal: r.signal,
        timedOut: r.timedOut,
        oom: r.outOfMemory,
        ms: r.durationMs,
        memory: r.memoryMechanism,
      },
      "sandbox run finished",
    );
    return toExecutionResult(r, workingDir);
  }
}
