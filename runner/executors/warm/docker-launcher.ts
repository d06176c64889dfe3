/**
 * Starts a warm interpreter as one long-lived container per interpreter, whose main process is the fork
 * server. The container is the one a cold script gets (container-spec.ts); since it runs one script at a
 * time, its limits are the script's limits. The control socket's directory is bound in; nothing else of the
 * host is.
 */
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import type Dockerode from "dockerode";
import type { Logger } from "../../../src/logger.ts";
import {
  containerCreateOptions,
  containerEnv,
  makeWritableForSandbox,
  removeContainer,
  WARM_LABEL,
} from "../container-spec.ts";
import { fileSizeBytes } from "../workspace.ts";
import { CONTROL_DIR, SERVER_PIDS, type WarmLaunchArgs, type WarmLauncher, type WarmSandbox } from "./parent.ts";
import { PRELOAD_MODULES, REQUIRED_MODULES, type ServerOptions } from "./protocol.ts";

const DIAGNOSTIC_CHARS = 4000;

export interface DockerLauncherOptions {
  docker: Dockerode;
  image: string;
  logger: Logger;
  cpus: number;
  pidsLimit: number;
  fileSizeMb: number;
}

export class DockerWarmLauncher implements WarmLauncher {
  readonly kind = "docker";

  constructor(private readonly opts: DockerLauncherOptions) {}

  scriptEnv(): Record<string, string> {
    return containerEnv(this.opts.cpus);
  }

  serverOptions(): ServerOptions {
    return { preload: PRELOAD_MODULES, required: REQUIRED_MODULES, scratch: ["/tmp", "/dev/shm"] };
  }

  rlimits(): Record<string, number> {
    return { FSIZE: fileSizeBytes(this.opts.fileSizeMb), CORE: 0 };
  }

  prepareWorking(dir: string): Promise<void> {
    return makeWritableForSandbox(dir);
  }

  async launch(args: WarmLaunchArgs): Promise<WarmSandbox> {
    const { docker, logger } = this.opts;
    const workingDir = join(args.workspace, "working");
    await this.prepareWorking(workingDir);
    await chmod(args.workspace, 0o755);
    const container = await docker.createContainer(
      containerCreateOptions({
        image: this.opts.image,
        cmd: ["python3", ...args.pythonArgs],
        cpus: this.opts.cpus,
        memoryMb: args.memoryMb,
        pidsLimit: this.opts.pidsLimit + SERVER_PIDS,
        fileSizeMb: this.opts.fileSizeMb,
        init: true,
        workspaceDir: args.workspace,
        inputDir: args.inputDir,
        workingDir,
        extraBinds: [`${args.controlDir}:${CONTROL_DIR}:rw`],
        labels: { [WARM_LABEL]: String(process.pid) },
        // The server exits when this process goes away (its socket closes): the container goes with it.
        autoRemove: true,
      }),
    );
    let diagnostics = "";
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true, logs: false });
      stream.on("data", (chunk: Buffer) => {
        // Frame headers (8 bytes) are left in: this text is only for error messages.
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL and low bytes of docker's frame headers are dropped
        diagnostics = (diagnostics + chunk.toString("utf8").replace(/[\x00-\x08]/g, "")).slice(-DIAGNOSTIC_CHARS);
      });
      stream.on("error", () => undefined);
      await container.start();
    } catch (err) {
      await removeContainer(container, logger);
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
        destroyed ??= removeContainer(container, logger);
        return destroyed;
      },
    };
  }
}
