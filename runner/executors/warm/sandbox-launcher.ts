/**
 * Starts a warm interpreter inside bubblewrap with the same isolation as a cold sandbox run (no network,
 * no capabilities, read-only system, ./input read-only, only ./working writable, a private /tmp), in a
 * per-interpreter cgroup carrying the script's memory and pids limits (one script runs at a time), or with
 * RLIMIT_AS set in each script's process where no cgroup is writable.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Logger } from "../../../src/logger.ts";
import { createJobCgroup } from "../cgroup.ts";
import { bwrapArgs, type Prepared } from "../bwrap-spec.ts";
import { joinCgroupLines } from "../process.ts";
import { cleanEnv, DEFAULT_PIDS_MAX, fileSizeBytes, SANDBOX_HOME } from "../workspace.ts";
import { CONTROL_DIR, SERVER_PIDS, type WarmLaunchArgs, type WarmLauncher, type WarmSandbox } from "./parent.ts";
import { PRELOAD_MODULES, REQUIRED_MODULES, type ServerOptions } from "./protocol.ts";

const DIAGNOSTIC_CHARS = 4000;

export interface SandboxLauncherOptions {
  /** What the executor found of bubblewrap and Python here. */
  prepared: Prepared;
  logger: Logger;
  threads?: number;
  fileSizeMb?: number;
  pidsMax?: number;
  memoryLimit?: "auto" | "rlimit";
}

export class SandboxWarmLauncher implements WarmLauncher {
  readonly kind = "sandbox";
  private cgroupsUsable = true;

  constructor(private readonly opts: SandboxLauncherOptions) {}

  scriptEnv(): Record<string, string> {
    return cleanEnv(SANDBOX_HOME, this.opts.threads);
  }

  serverOptions(): ServerOptions {
    // The control directory too: its socket is gone once the server connected, and the sandbox's (capability-less)
    // root owns it, so a script could leave files there.
    return {
      preload: PRELOAD_MODULES,
      required: REQUIRED_MODULES,
      scratch: ["/tmp", "/dev/shm", CONTROL_DIR],
      home: SANDBOX_HOME,
    };
  }

  rlimits(memoryMb: number): Record<string, number> {
    const limits: Record<string, number> = { FSIZE: fileSizeBytes(this.opts.fileSizeMb), CORE: 0 };
    if (!this.cgroupsUsable) limits.AS = Math.max(1, Math.floor(memoryMb)) * 1024 * 1024;
    return limits;
  }

  async prepareWorking(): Promise<void> {
    // Host root owns it, which is the sandbox's (capability-less) root: writable inside, nothing to change.
  }

  async launch(args: WarmLaunchArgs): Promise<WarmSandbox> {
    const { logger } = this.opts;
    const memoryBytes = Math.max(1, Math.floor(args.memoryMb)) * 1024 * 1024;
    const cgroup =
      (this.opts.memoryLimit ?? "auto") === "auto"
        ? await createJobCgroup({ memoryBytes, pidsMax: (this.opts.pidsMax ?? DEFAULT_PIDS_MAX) + SERVER_PIDS }, logger)
        : null;
    this.cgroupsUsable = cgroup !== null;
    const env = this.scriptEnv();
    const { bwrap, python } = this.opts.prepared;
    const sandbox = bwrapArgs(this.opts.prepared, {
      memoryBytes,
      workspaceDir: args.workspace,
      inputDir: args.inputDir,
      workingDir: join(args.workspace, "working"),
      extraMounts: ["--bind", args.controlDir, CONTROL_DIR],
      env,
      command: [python, ...args.pythonArgs],
    });
    // Join the cgroup before anything else runs, then exec bubblewrap (as process.ts does for cold runs).
    const prologue = [...joinCgroupLines(cgroup?.procsFiles ?? []), 'exec "$@"'];
    const child = spawn("/bin/sh", ["-c", prologue.join("\n"), "aide-warm", bwrap, ...sandbox], {
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let diagnostics = "";
    const keep = (chunk: Buffer) => {
      diagnostics = (diagnostics + chunk.toString("utf8")).slice(-DIAGNOSTIC_CHARS);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const ended = new Promise<string>((resolve) => {
      child.once("error", (err) => resolve(`bubblewrap could not start: ${err.message}`));
      child.once("exit", (code, sig) => resolve(sig ? `killed by ${sig}` : `exit code ${code}`));
    });
    const pgid = child.pid;
    let destroyed: Promise<void> | null = null;
    return {
      ended,
      diagnostics: () => diagnostics,
      oomKills: async () => (cgroup ? cgroup.oomKills() : null),
      destroy: () => {
        destroyed ??= (async () => {
          if (pgid !== undefined) {
            try {
              process.kill(-pgid, "SIGKILL");
            } catch {
              // gone
            }
          }
          await ended;
          await cgroup?.destroy();
        })();
        return destroyed;
      },
    };
  }
}
