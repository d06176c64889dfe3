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
import { cleanEnv, DEFAULT_FILE_SIZE_MB, DEFAULT_PIDS_MAX } from "../process.ts";
import { CONTROL_DIR, type WarmLaunchArgs, type WarmLauncher, type WarmSandbox } from "./parent.ts";
import { PRELOAD_MODULES, REQUIRED_MODULES, type ServerOptions } from "./protocol.ts";

const SANDBOX_HOME = "/tmp/home";
const DIAGNOSTIC_CHARS = 4000;

export interface SandboxLauncherOptions {
  bwrap: string;
  python: string;
  /** bwrap arguments around the interpreter (namespaces, system mounts, /proc, /dev, /tmp), for a memory size. */
  baseArgs: (memoryBytes: number) => string[];
  logger: Logger;
  threads?: number;
  fileSizeMb?: number;
  pidsMax?: number;
  memoryLimit?: "auto" | "rlimit";
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
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
    return { preload: PRELOAD_MODULES, required: REQUIRED_MODULES, scratch: ["/tmp", "/dev/shm", CONTROL_DIR], home: SANDBOX_HOME };
  }

  rlimits(memoryMb: number): Record<string, number> {
    const limits: Record<string, number> = { FSIZE: Math.floor((this.opts.fileSizeMb ?? DEFAULT_FILE_SIZE_MB) * 1024 * 1024), CORE: 0 };
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
        ? await createJobCgroup({ memoryBytes, pidsMax: (this.opts.pidsMax ?? DEFAULT_PIDS_MAX) + 4 }, logger)
        : null;
    this.cgroupsUsable = cgroup !== null;
    const env = this.scriptEnv();
    const bwrapArgs = [
      ...this.opts.baseArgs(memoryBytes),
      "--ro-bind",
      args.workspace,
      "/workspace",
      "--ro-bind",
      args.inputDir,
      "/workspace/input",
      "--bind",
      join(args.workspace, "working"),
      "/workspace/working",
      "--bind",
      args.controlDir,
      CONTROL_DIR,
      "--remount-ro",
      "/",
      "--chdir",
      "/workspace",
      "--clearenv",
      ...Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]),
      this.opts.python,
      ...args.pythonArgs,
    ];
    // Join the cgroup before anything else runs, then exec bubblewrap (as process.ts does for cold runs).
    const prologue = [...(cgroup?.procsFiles ?? []).map((f) => `echo $$ > ${shQuote(f)} || exit 125`), 'exec "$@"'];
    const child = spawn("/bin/sh", ["-c", prologue.join("\n"), "aide-warm", this.opts.bwrap, ...bwrapArgs], {
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
