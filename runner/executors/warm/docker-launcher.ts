/**
 * Starts a warm interpreter as one long-lived container per interpreter, whose main process is the fork
 * server. The container is set up exactly as a cold script's (no network, memory / CPU / pids limits, a
 * read-only root with a private /tmp, no capabilities, no-new-privileges, uid 1000, ./input read-only,
 * only ./working writable); since it runs one script at a time, its limits are the script's limits. The
 * control socket's directory is bound in; nothing else of the host is.
 */
import { chmod, chown } from "node:fs/promises";
import { join } from "node:path";
import type Dockerode from "dockerode";
import type { Logger } from "../../../src/logger.ts";
import { CONTROL_DIR, type WarmLaunchArgs, type WarmLauncher, type WarmSandbox } from "./parent.ts";
import { PRELOAD_MODULES, REQUIRED_MODULES, type ServerOptions } from "./protocol.ts";

const SANDBOX_UID = 1000;
const SANDBOX_GID = 1000;
/** Label on warm containers; its value is the creating process's pid. */
export const WARM_LABEL = "aide.warm";
const DIAGNOSTIC_CHARS = 4000;

export interface DockerLauncherOptions {
  docker: Dockerode;
  image: string;
  logger: Logger;
  cpus: number;
  pidsLimit: number;
  fileSizeMb: number;
  env: string[];
  /** Extra labels (the executor's owner label). */
  labels: Record<string, string>;
}

export class DockerWarmLauncher implements WarmLauncher {
  readonly kind = "docker";

  constructor(private readonly opts: DockerLauncherOptions) {}

  scriptEnv(): Record<string, string> {
    return Object.fromEntries(this.opts.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  }

  serverOptions(): ServerOptions {
    return { preload: PRELOAD_MODULES, required: REQUIRED_MODULES, scratch: ["/tmp", "/dev/shm"] };
  }

  rlimits(): Record<string, number> {
    return { FSIZE: Math.floor(this.opts.fileSizeMb * 1024 * 1024), CORE: 0 };
  }

  async prepareWorking(dir: string): Promise<void> {
    try {
      await chown(dir, SANDBOX_UID, SANDBOX_GID);
      await chmod(dir, 0o755);
    } catch {
      await chmod(dir, 0o777);
    }
  }

  async launch(args: WarmLaunchArgs): Promise<WarmSandbox> {
    const { docker, logger } = this.opts;
    const memoryBytes = Math.max(6, Math.floor(args.memoryMb)) * 1024 * 1024;
    const fileBytes = Math.floor(this.opts.fileSizeMb * 1024 * 1024);
    await this.prepareWorking(join(args.workspace, "working"));
    await chmod(args.workspace, 0o755);
    const container = await docker.createContainer({
      Image: this.opts.image,
      Cmd: ["python3", ...args.pythonArgs],
      WorkingDir: "/workspace",
      User: `${SANDBOX_UID}:${SANDBOX_GID}`,
      Env: this.opts.env,
      Hostname: "aide-sandbox",
      NetworkDisabled: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Labels: { ...this.opts.labels, [WARM_LABEL]: String(process.pid) },
      HostConfig: {
        NetworkMode: "none",
        Memory: memoryBytes,
        MemorySwap: memoryBytes,
        NanoCpus: Math.round(this.opts.cpus * 1e9),
        PidsLimit: this.opts.pidsLimit + 4,
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${Math.max(16, Math.floor(args.memoryMb))}m,mode=1777` },
        ShmSize: Math.min(Math.floor(memoryBytes / 2), 1024 * 1024 * 1024),
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Init: true,
        Ulimits: [
          { Name: "core", Soft: 0, Hard: 0 },
          { Name: "fsize", Soft: fileBytes, Hard: fileBytes },
        ],
        Binds: [
          `${args.workspace}:/workspace:ro`,
          `${args.inputDir}:/workspace/input:ro`,
          `${join(args.workspace, "working")}:/workspace/working:rw`,
          `${args.controlDir}:${CONTROL_DIR}:rw`,
        ],
        LogConfig: { Type: "none", Config: {} },
        // The server exits when this process goes away (its socket closes): the container goes with it.
        AutoRemove: true,
        Privileged: false,
      },
    });
    let diagnostics = "";
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true, logs: false });
      stream.on("data", (chunk: Buffer) => {
        // Frame headers (8 bytes) are left in: this text is only for error messages.
        diagnostics = (diagnostics + chunk.toString("utf8").replace(/[\x00-\x08]/g, "")).slice(-DIAGNOSTIC_CHARS);
      });
      stream.on("error", () => undefined);
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw err;
    }
    const ended = container.wait().then(
      (r: { StatusCode?: number }) => `container exited with code ${r.StatusCode ?? "?"}`,
      (err: Error) => `lost track of the container: ${err.message}`,
    );
    let destroyed: Promise<void> | null = null;
    return {
      ended,
      diagnostics: () => diagnostics,
      // Docker reports no per-script count: a script killed by SIGKILL nobody sent counts as out of memory.
      oomKills: async () => null,
      destroy: () => {
        destroyed ??= (async () => {
          for (let attempt = 0; attempt < 10; attempt++) {
            try {
              await container.remove({ force: true, v: true });
              return;
            } catch (err) {
              if ((err as { statusCode?: number }).statusCode === 404) return;
              await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
            }
          }
          logger.warn({ container: container.id.slice(0, 12) }, "could not remove a warm container");
        })();
        return destroyed;
      },
    };
  }
}
