/**
 * Runs scripts in Docker containers built from the sandbox image (runner/image/), set up as
 * container-spec.ts describes (no network, memory / CPU / pids limits, read-only root, no capabilities,
 * uid 1000, ./input read-only, ./working writable), watched by the script supervisor (SIGINT then SIGKILL at
 * the time limit or on abort, output capped). The layout and limits mirror the bubblewrap executor
 * (sandbox.ts): `job.nodeDir/solution.py` plus `job.nodeDir/working/`. Every container is removed
 * afterwards, whatever happened.
 */
import { chmod } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import Dockerode from "dockerode";
import { ExecutorError } from "../../src/errors.ts";
import type { ExecutionResult, Executor, ScriptJob } from "../../src/search/types.ts";
import {
  containerCreateOptions,
  isUnreachable,
  makeWritableForSandbox,
  NODE_LABEL,
  PingTimeout,
  removeContainer,
  statusCode,
} from "./container-spec.ts";
import { abortError, drain, ScriptSupervisor, toExecutionResult, type SupervisedResult } from "./script-supervisor.ts";
import { DockerWarmLauncher } from "./warm/docker-launcher.ts";
import type { WarmLauncher } from "./warm/parent.ts";
import { WarmModeExecutor, type WarmModeOptions } from "./warm/runs.ts";
import {
  DEFAULT_FILE_SIZE_MB,
  DEFAULT_PIDS_MAX,
  defaultThreads,
  inputDirOf,
  SCRIPT_NAME,
  WORKSPACE,
  writeNodeFiles,
} from "./workspace.ts";

export { NODE_LABEL, OWNER_LABEL } from "./container-spec.ts";
export const DEFAULT_DOCKER_IMAGE = "aide-sandbox:latest";
/** How long a ping may take before the daemon counts as not answering. */
const PING_TIMEOUT_MS = 5000;

export interface DockerExecutorOptions extends WarmModeOptions {
  /** Image to run; default AIDE_SANDBOX_IMAGE or aide-sandbox:latest. */
  image?: string;
  /** Client to use; default `new Dockerode()` (DOCKER_HOST or /var/run/docker.sock). */
  docker?: Dockerode;
  /** CPUs a script may use (NanoCpus); also sets the thread caps. Default min(4, cores). */
  cpus?: number;
  /** Maximum processes/threads in a container. Default 512. */
  pidsLimit?: number;
  /** Largest file a script may write (RLIMIT_FSIZE). Default 8192 MB. */
  fileSizeMb?: number;
  /** Run a minimal init (docker-init) as pid 1 that forwards signals and reaps zombies. Default true. */
  init?: boolean;
}

export interface DockerCheck {
  ok: boolean;
  /** Why Docker cannot run scripts here, fit for a user; absent when ok. */
  reason?: string;
}

interface ModemAddress {
  socketPath?: string;
  host?: string;
  port?: string | number;
  protocol?: string;
}

/** Where the client sends its requests, for messages: unix:///var/run/docker.sock or tcp://host:port. */
export function daemonAddress(docker: Dockerode): string {
  const modem = docker.modem as unknown as ModemAddress;
  if (modem.socketPath) return `unix://${modem.socketPath}`;
  if (modem.host) return `${modem.protocol ?? "http"}://${modem.host}${modem.port ? `:${modem.port}` : ""}`;
  return process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
}

export function defaultImage(): string {
  return process.env.AIDE_SANDBOX_IMAGE || DEFAULT_DOCKER_IMAGE;
}

function unreachableMessage(docker: Dockerode, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const why = code === "EACCES" || code === "EPERM" ? " (permission denied: run as root or join the docker group)" : "";
  return `Docker daemon not reachable at ${daemonAddress(docker)}${why}; start it (scripts/start-docker.sh) or use the sandbox executor.`;
}

function missingImageMessage(image: string): string {
  return `sandbox image ${image} not found; build it with runner/image/build-image.sh`;
}

async function ping(docker: Dockerode): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PingTimeout(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Throws an ExecutorError fit for the user when the daemon does not answer or the image is missing. */
async function ensureReady(docker: Dockerode, image: string): Promise<void> {
  try {
    await ping(docker);
  } catch (err) {
    throw new ExecutorError(unreachableMessage(docker, err), { cause: err, detail: (err as Error).message });
  }
  try {
    await docker.getImage(image).inspect();
  } catch (err) {
    if (statusCode(err) === 404) throw new ExecutorError(missingImageMessage(image), { cause: err });
    if (isUnreachable(err))
      throw new ExecutorError(unreachableMessage(docker, err), { cause: err, detail: (err as Error).message });
    throw new ExecutorError(`Docker could not inspect the sandbox image ${image}.`, {
      cause: err,
      detail: (err as Error).message,
    });
  }
}

/**
 * Splits Docker's multiplexed attach stream (8-byte frame headers: stream type, 3 zero bytes, big-endian
 * length) into text, keeping frame order, so stdout and stderr are merged as the daemon received them.
 */
export class DockerStreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private readonly decoders = new Map<number, StringDecoder>();

  constructor(private readonly onText: (text: string, stream: "stdout" | "stderr") => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 8) {
      const type = this.pending.readUInt8(0);
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const payload = this.pending.subarray(8, 8 + size);
      this.pending = this.pending.subarray(8 + size);
      this.emit(type, payload);
    }
  }

  /** Flushes partial multi-byte characters at the end of the stream. */
  end(): void {
    for (const [type, decoder] of this.decoders) {
      const rest = decoder.end();
      if (rest) this.onText(rest, type === 2 ? "stderr" : "stdout");
    }
    this.decoders.clear();
  }

  private emit(type: number, payload: Buffer): void {
    let decoder = this.decoders.get(type);
    if (!decoder) {
      decoder = new StringDecoder("utf8");
      this.decoders.set(type, decoder);
    }
    const text = decoder.write(payload);
    if (text) this.onText(text, type === 2 ? "stderr" : "stdout");
  }
}

let checkCache: Promise<DockerCheck> | null = null;

export class DockerExecutor extends WarmModeExecutor implements Executor {
  readonly name: string;
  private readonly docker: Dockerode;
  private readonly image: string;
  private ready: Promise<void> | null = null;
  private warnedInputMode = false;

  constructor(private readonly opts: DockerExecutorOptions) {
    super(opts);
    this.image = opts.image ?? defaultImage();
    this.docker = opts.docker ?? new Dockerode();
    this.name = opts.warm ? `docker (${this.image}, warm)` : `docker (${this.image})`;
  }

  /** Warm containers, one per interpreter. */
  protected async warmLauncher(): Promise<WarmLauncher> {
    await this.prepare();
    const { docker, image } = this;
    return new DockerWarmLauncher({
      docker,
      image,
      logger: this.opts.logger,
      cpus: this.cpus(),
      pidsLimit: this.pidsLimit(),
      fileSizeMb: this.fileSizeMb(),
    });
  }

  private cpus(): number {
    return this.opts.cpus ?? defaultThreads();
  }

  private pidsLimit(): number {
    return this.opts.pidsLimit ?? DEFAULT_PIDS_MAX;
  }

  private fileSizeMb(): number {
    return this.opts.fileSizeMb ?? DEFAULT_FILE_SIZE_MB;
  }

  /**
   * Whether this executor can run scripts here: the daemon answers and the image exists. Used by the
   * `auto` executor choice. The answer is cached for the default client and image.
   */
  static check(opts: { docker?: Dockerode; image?: string } = {}): Promise<DockerCheck> {
    const run = async (): Promise<DockerCheck> => {
      try {
        await ensureReady(opts.docker ?? new Dockerode(), opts.image ?? defaultImage());
        return { ok: true };
      } catch (err) {
        return { ok: false, reason: err instanceof ExecutorError ? err.userMessage : (err as Error).message };
      }
    };
    if (opts.docker || opts.image) return run();
    checkCache ??= run();
    // A failure is not cached: the user may start the daemon or build the image meanwhile.
    void checkCache.then((r) => {
      if (!r.ok) checkCache = null;
    });
    return checkCache;
  }

  private prepare(): Promise<void> {
    this.ready ??= ensureReady(this.docker, this.image);
    this.ready.catch(() => {
      this.ready = null;
    });
    return this.ready;
  }

  async run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult> {
    if (signal?.aborted) throw abortError(signal);
    const { logger } = this.opts;
    await this.prepare();

    const { inputDir, mode } = await inputDirOf(job);
    if ((mode & 0o005) !== 0o005 && !this.warnedInputMode) {
      this.warnedInputMode = true;
      logger.warn(
        { inputDir, mode: (mode & 0o777).toString(8) },
        "the input directory is not world-readable; scripts run as uid 1000 may not read it",
      );
    }
    const warm = await this.warm.run({ ...job, inputDir }, signal);
    if (warm) return warm;
    const { nodeDir, workingDir, scriptPath } = await writeNodeFiles(job);
    await chmod(scriptPath, 0o644);
    await makeWritableForSandbox(workingDir);

    const create = containerCreateOptions({
      image: this.image,
      // stderr joins stdout at the file descriptor: Docker copies two pipes independently, which
      // reorders prints around a traceback; one pipe keeps the order the script wrote in.
      cmd: ["/bin/sh", "-c", `exec python3 ${WORKSPACE}/${SCRIPT_NAME} 2>&1`],
      cpus: this.cpus(),
      memoryMb: job.memoryMb,
      pidsLimit: this.pidsLimit(),
      fileSizeMb: this.fileSizeMb(),
      init: this.opts.init ?? true,
      inputDir,
      workingDir,
      extraBinds: [`${scriptPath}:${WORKSPACE}/${SCRIPT_NAME}:ro`],
      labels: { [NODE_LABEL]: String(job.nodeId) },
      autoRemove: false,
    });

    logger.debug(
      { nodeId: job.nodeId, nodeDir, image: this.image, timeoutMs: job.timeoutMs, memoryMb: job.memoryMb },
      "docker run",
    );
    let container: Dockerode.Container;
    try {
      container = await this.docker.createContainer(create);
    } catch (err) {
      throw this.dockerError(err, "Docker could not create the script's container.");
    }
    try {
      const r = await this.runContainer(container, job, signal);
      logger.debug(
        {
          nodeId: job.nodeId,
          container: container.id.slice(0, 12),
          exitCode: r.exitCode,
          signal: r.signal,
          timedOut: r.timedOut,
          oom: r.outOfMemory,
          ms: r.durationMs,
        },
        "docker run finished",
      );
      return toExecutionResult(r, workingDir);
    } finally {
      await removeContainer(container, logger);
    }
  }

  private dockerError(err: unknown, what: string): ExecutorError {
    if (err instanceof ExecutorError) return err;
    if (isUnreachable(err))
      return new ExecutorError(unreachableMessage(this.docker, err), { cause: err, detail: (err as Error).message });
    const message = (err as Error).message ?? String(err);
    if (statusCode(err) === 404 && /image/i.test(message)) {
      this.ready = null;
      return new ExecutorError(missingImageMessage(this.image), { cause: err, detail: message });
    }
    return new ExecutorError(what, { cause: err, detail: message });
  }

  private async runContainer(
    container: Dockerode.Container,
    job: ScriptJob,
    signal: AbortSignal | undefined,
  ): Promise<SupervisedResult> {
    const { logger } = this.opts;
    const id = container.id.slice(0, 12);
    const send = (sig: "SIGINT" | "SIGKILL"): void => {
      container.kill({ signal: sig }).catch((err: unknown) => {
        // 409/304: it has already stopped.
        if (statusCode(err) !== 409 && statusCode(err) !== 304)
          logger.debug({ err, container: id, sig }, "docker kill failed");
      });
    };
    const supervisor = new ScriptSupervisor({
      timeoutMs: job.timeoutMs,
      memoryMb: job.memoryMb,
      outputCap: job.outputCap,
      graceMs: this.opts.graceMs,
      outputCeiling: this.opts.outputCeiling,
      signal,
      logger,
      context: { container: id },
      interrupt: () => send("SIGINT"),
      kill: () => send("SIGKILL"),
    });
    const demux = new DockerStreamDemuxer((text) => supervisor.append(text));

    let stream: NodeJS.ReadWriteStream;
    try {
      // Attach before start, so not a byte of output is missed.
      stream = await container.attach({ stream: true, stdout: true, stderr: true, logs: false });
    } catch (err) {
      throw this.dockerError(err, "Docker could not attach to the script's container.");
    }
    const streamDone = new Promise<void>((resolveDone) => {
      stream.on("data", (chunk: Buffer | string) => demux.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk));
      stream.once("end", () => resolveDone());
      stream.once("close", () => resolveDone());
      stream.once("error", (err) => {
        logger.debug({ err, container: id }, "docker attach stream error");
        resolveDone();
      });
    });

    try {
      if (signal?.aborted) throw abortError(signal);
      try {
        await container.start();
      } catch (err) {
        throw this.dockerError(err, "Docker could not start the script's container.");
      }
      supervisor.start();
      let waited: { StatusCode?: number };
      try {
        waited = (await container.wait()) as { StatusCode?: number };
      } catch (err) {
        throw this.dockerError(err, "Lost track of the script's container.");
      }
      supervisor.ended();
      // The stream ends once the container's stdio closes; give late output a moment, not forever.
      await drain(streamDone);
      demux.end();

      let state: Dockerode.ContainerInspectInfo["State"] | null = null;
      try {
        state = (await container.inspect()).State;
      } catch (err) {
        logger.debug({ err, container: id }, "docker inspect after the run failed");
      }
      // docker-init (or the shell) reports a death by signal N as 128+N. Inside a container with no other
      // processes of ours, a SIGKILL nobody here sent is the OOM killer.
      return supervisor.result({
        code: state?.ExitCode ?? waited.StatusCode ?? null,
        signal: null,
        codeEncodesSignal: true,
        oomKilled: state?.OOMKilled === true,
        sigkillMeansOom: true,
      });
    } finally {
      supervisor.ended();
      stream.removeAllListeners("data");
      (stream as unknown as { destroy?: () => void }).destroy?.();
    }
  }
}
