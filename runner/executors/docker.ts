/**
 * Runs scripts in Docker containers built from the sandbox image (runner/image/): no network (network
 * mode "none"), a memory limit without swap, CPU and pids caps, a read-only root filesystem with a tmpfs
 * /tmp, no capabilities, no-new-privileges, a non-root user (1000:1000), the task input read-only at
 * ./input and the node's working/ writable at ./working, cwd /workspace and a clean environment. The
 * layout and limits mirror the bubblewrap executor (sandbox.ts): `job.nodeDir/solution.py` plus
 * `job.nodeDir/working/`, SIGINT then SIGKILL at the time limit or on abort, output capped.
 * Every container is removed afterwards, whatever happened.
 */
import { availableParallelism } from "node:os";
import { chmod, chown, mkdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import Dockerode from "dockerode";
import { DataError, ExecutorError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { CappedOutput } from "../../src/search/output.ts";
import type { ExecutionResult, Executor, RunScope, ScriptJob } from "../../src/search/types.ts";
import { MEMORY_ERROR } from "./process.ts";
import { DockerWarmLauncher } from "./warm/docker-launcher.ts";
import { WarmPool } from "./warm/pool.ts";
import { workspaceParentOf } from "./warm/scope.ts";

export const DEFAULT_DOCKER_IMAGE = "aide-sandbox:latest";
/** Label set on every container this executor creates; its value is the node id. */
export const NODE_LABEL = "aide.node";
/** Label set on every container this executor creates; its value is the host pid of the creator. */
export const OWNER_LABEL = "aide.owner-pid";
const CONTAINER_ROOT = "/workspace";
const SCRIPT_NAME = "solution.py";
/** uid:gid scripts run as; the image's `sandbox` user. */
const SANDBOX_UID = 1000;
const SANDBOX_GID = 1000;

const DEFAULT_GRACE_MS = 2000;
const DEFAULT_PIDS_LIMIT = 512;
const DEFAULT_OUTPUT_CEILING = 512 * 1024 * 1024;
const DEFAULT_FILE_SIZE_MB = 8192;
/** How long a ping may take before the daemon counts as not answering. */
const PING_TIMEOUT_MS = 5000;
/** After the container exits, how long to wait for the rest of its output before giving up on it. */
const STREAM_DRAIN_MS = 3000;


export interface DockerExecutorOptions {
  logger: Logger;
  /** Image to run; default AIDE_SANDBOX_IMAGE or aide-sandbox:latest. */
  image?: string;
  /** Client to use; default `new Dockerode()` (DOCKER_HOST or /var/run/docker.sock). */
  docker?: Dockerode;
  /** CPUs a script may use (NanoCpus); also sets the thread caps. Default min(4, cores). */
  cpus?: number;
  /** Maximum processes/threads in a container. Default 512. */
  pidsLimit?: number;
  /** Time between SIGINT and SIGKILL when a run is stopped. Default 2000 ms. */
  graceMs?: number;
  /** Output characters after which a run is killed. Default 512 Mi. */
  outputCeiling?: number;
  /** Largest file a script may write (RLIMIT_FSIZE). Default 8192 MB. */
  fileSizeMb?: number;
  /** Run a minimal init (docker-init) as pid 1 that forwards signals and reaps zombies. Default true. */
  init?: boolean;
  /**
   * Warm mode: per run, long-lived containers whose main process has imported numpy, pandas and
   * scikit-learn and forks a fresh child per script (one script at a time per container). Falls back to a
   * container per script, with the reason logged, when it cannot start. Default false here; the
   * configuration (`execution.warm`) turns it on.
   */
  warm?: boolean;
  /** An idle warm container is removed after this many ms. Default 10 minutes. */
  warmIdleMs?: number;
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

function statusCode(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** A failure to talk to the daemon at all (as opposed to an HTTP error from it). */
function isUnreachable(err: unknown): boolean {
  if (statusCode(err) !== undefined) return false;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return (
    err instanceof PingTimeout ||
    ["ENOENT", "ECONNREFUSED", "ECONNRESET", "EACCES", "EPERM", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"].includes(
      code ?? "",
    )
  );
}

class PingTimeout extends Error {}

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
    if (isUnreachable(err)) throw new ExecutorError(unreachableMessage(docker, err), { cause: err, detail: (err as Error).message });
    throw new ExecutorError(`Docker could not inspect the sandbox image ${image}.`, { cause: err, detail: (err as Error).message });
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException("The run was aborted", "AbortError");
}

const SIGNALS: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
  24: "SIGXCPU",
  25: "SIGXFSZ",
};

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

function defaultCpus(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** The only variables a script sees; nothing of this process's environment is passed on. */
export function containerEnv(threads: number): string[] {
  const t = String(Math.max(1, Math.floor(threads)));
  return [
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "HOME=/tmp",
    "LANG=C.UTF-8",
    "PYTHONUNBUFFERED=1",
    "PYTHONDONTWRITEBYTECODE=1",
    `OMP_NUM_THREADS=${t}`,
    `OPENBLAS_NUM_THREADS=${t}`,
    `MKL_NUM_THREADS=${t}`,
    `NUMEXPR_NUM_THREADS=${t}`,
  ];
}

let checkCache: Promise<DockerCheck> | null = null;

export class DockerExecutor implements Executor {
  readonly name: string;
  private readonly docker: Dockerode;
  private readonly image: string;
  private ready: Promise<void> | null = null;
  private warnedInputMode = false;
  private warmPool: WarmPool | null = null;

  constructor(private readonly opts: DockerExecutorOptions) {
    this.image = opts.image ?? defaultImage();
    this.docker = opts.docker ?? new Dockerode();
    this.name = opts.warm ? `docker (${this.image}, warm)` : `docker (${this.image})`;
  }

  private pool(): WarmPool {
    const cpus = this.opts.cpus ?? defaultCpus();
    this.warmPool ??= new WarmPool({
      launcher: new DockerWarmLauncher({
        docker: this.docker,
        image: this.image,
        logger: this.opts.logger,
        cpus,
        pidsLimit: this.opts.pidsLimit ?? DEFAULT_PIDS_LIMIT,
        fileSizeMb: this.opts.fileSizeMb ?? DEFAULT_FILE_SIZE_MB,
        env: containerEnv(Math.ceil(cpus)),
        labels: { [OWNER_LABEL]: String(process.pid) },
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
      await this.prepare();
      await this.pool().prepare(resolve(scope.inputDir), scope.memoryMb, workspaceParentOf(scope.runDir));
    } catch (err) {
      this.opts.logger.debug({ err }, "warm container not prepared");
    }
  }

  async releaseRun(scope: RunScope): Promise<void> {
    if (!this.opts.warm) return;
    // prepareRun may still be waiting for the daemon check: wait the same way, so a container it is starting for
    // this run is removed too instead of idling on.
    await this.prepare().catch(() => undefined);
    await this.pool().release(scope.inputDir);
  }

  /** Removes every warm container. */
  async close(): Promise<void> {
    await this.warmPool?.close();
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

    const inputDir = resolve(job.inputDir);
    let inputMode: number;
    try {
      const st = await stat(inputDir);
      if (!st.isDirectory()) throw new Error("not a directory");
      inputMode = st.mode;
    } catch {
      throw new DataError(`The task's input directory ${inputDir} does not exist.`);
    }
    if ((inputMode & 0o005) !== 0o005 && !this.warnedInputMode) {
      this.warnedInputMode = true;
      logger.warn({ inputDir, mode: (inputMode & 0o777).toString(8) }, "the input directory is not world-readable; scripts run as uid 1000 may not read it");
    }
    if (this.opts.warm) {
      const warm = await this.pool().run({ ...job, inputDir }, signal);
      if (warm) return warm;
    }
    const nodeDir = resolve(job.nodeDir);
    const workingDir = join(nodeDir, "working");
    const scriptPath = join(nodeDir, SCRIPT_NAME);
    await mkdir(workingDir, { recursive: true });
    await writeFile(scriptPath, job.code);
    await chmod(scriptPath, 0o644);
    await this.makeWritableForSandbox(workingDir);

    const memoryBytes = Math.max(6, Math.floor(job.memoryMb)) * 1024 * 1024;
    const cpus = this.opts.cpus ?? defaultCpus();
    const fileBytes = Math.floor((this.opts.fileSizeMb ?? DEFAULT_FILE_SIZE_MB) * 1024 * 1024);
    const create: Dockerode.ContainerCreateOptions = {
      Image: this.image,
      // stderr joins stdout at the file descriptor: Docker copies two pipes independently, which
      // reorders prints around a traceback; one pipe keeps the order the script wrote in.
      Cmd: ["/bin/sh", "-c", `exec python3 ${CONTAINER_ROOT}/${SCRIPT_NAME} 2>&1`],
      WorkingDir: CONTAINER_ROOT,
      User: `${SANDBOX_UID}:${SANDBOX_GID}`,
      Env: containerEnv(Math.ceil(cpus)),
      Hostname: "aide-sandbox",
      NetworkDisabled: true,
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: false,
      Tty: false,
      Labels: { [NODE_LABEL]: String(job.nodeId), [OWNER_LABEL]: String(process.pid) },
      HostConfig: {
        NetworkMode: "none",
        Memory: memoryBytes,
        MemorySwap: memoryBytes,
        NanoCpus: Math.round(cpus * 1e9),
        PidsLimit: this.opts.pidsLimit ?? DEFAULT_PIDS_LIMIT,
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${Math.max(16, Math.floor(job.memoryMb))}m,mode=1777` },
        ShmSize: Math.min(Math.floor(memoryBytes / 2), 1024 * 1024 * 1024),
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Init: this.opts.init ?? true,
        Ulimits: [
          { Name: "core", Soft: 0, Hard: 0 },
          { Name: "fsize", Soft: fileBytes, Hard: fileBytes },
        ],
        Binds: [
          `${inputDir}:${CONTAINER_ROOT}/input:ro`,
          `${workingDir}:${CONTAINER_ROOT}/working:rw`,
          `${scriptPath}:${CONTAINER_ROOT}/${SCRIPT_NAME}:ro`,
        ],
        // Output is read from the attach stream; nothing is kept on the daemon's disk.
        LogConfig: { Type: "none", Config: {} },
        AutoRemove: false,
        Privileged: false,
      },
    };

    logger.debug({ nodeId: job.nodeId, nodeDir, image: this.image, timeoutMs: job.timeoutMs, memoryMb: job.memoryMb }, "docker run");
    let container: Dockerode.Container;
    try {
      container = await this.docker.createContainer(create);
    } catch (err) {
      throw this.dockerError(err, "Docker could not create the script's container.");
    }
    try {
      const r = await this.runContainer(container, job, signal);
      logger.debug(
        { nodeId: job.nodeId, container: container.id.slice(0, 12), exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, oom: r.outOfMemory, ms: r.durationMs },
        "docker run finished",
      );
      return { ...r, workingDir };
    } finally {
      await this.removeContainer(container);
    }
  }

  /** The working directory must be writable by the sandbox user (uid 1000), whoever runs this process. */
  private async makeWritableForSandbox(dir: string): Promise<void> {
    try {
      await chown(dir, SANDBOX_UID, SANDBOX_GID);
      await chmod(dir, 0o755);
    } catch {
      // Not root (e.g. a member of the docker group): let anyone write, as a shared scratch dir would.
      await chmod(dir, 0o777);
    }
  }

  private dockerError(err: unknown, what: string): ExecutorError {
    if (err instanceof ExecutorError) return err;
    if (isUnreachable(err)) return new ExecutorError(unreachableMessage(this.docker, err), { cause: err, detail: (err as Error).message });
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
  ): Promise<Omit<ExecutionResult, "workingDir">> {
    const { logger } = this.opts;
    const graceMs = this.opts.graceMs ?? DEFAULT_GRACE_MS;
    const ceiling = this.opts.outputCeiling ?? DEFAULT_OUTPUT_CEILING;
    const output = new CappedOutput(job.outputCap);
    const id = container.id.slice(0, 12);
    let seen = 0;
    let outputCeilingHit = false;
    let timedOut = false;
    let aborted = false;
    let killedByUs = false;
    let timeLimit: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const kill = (sig: "SIGINT" | "SIGKILL"): void => {
      if (sig === "SIGKILL") killedByUs = true;
      container.kill({ signal: sig }).catch((err: unknown) => {
        // 409/304: it has already stopped.
        if (statusCode(err) !== 409 && statusCode(err) !== 304) logger.debug({ err, container: id, sig }, "docker kill failed");
      });
    };
    const interrupt = (): void => {
      kill("SIGINT");
      killTimer ??= setTimeout(() => kill("SIGKILL"), graceMs);
    };
    const onAbort = (): void => {
      aborted = true;
      logger.debug({ container: id }, "run aborted: interrupting");
      interrupt();
    };

    const demux = new DockerStreamDemuxer((text) => {
      seen += text.length;
      if (outputCeilingHit) return;
      output.append(text);
      if (seen > ceiling) {
        outputCeilingHit = true;
        logger.warn({ container: id, ceiling }, "script output exceeded the ceiling: killing it");
        kill("SIGKILL");
      }
    });

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

    let started = 0;
    try {
      if (signal?.aborted) throw abortError(signal);
      try {
        await container.start();
      } catch (err) {
        throw this.dockerError(err, "Docker could not start the script's container.");
      }
      started = performance.now();
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
      // setTimeout cannot wait longer than 2^31-1 ms (it would fire at once); treat more as no limit.
      if (Number.isFinite(job.timeoutMs) && job.timeoutMs <= 2 ** 31 - 1) {
        timeLimit = setTimeout(() => {
          timedOut = true;
          logger.debug({ container: id, timeoutMs: job.timeoutMs }, "time limit reached: interrupting");
          interrupt();
        }, Math.max(0, job.timeoutMs));
      }

      let waited: { StatusCode?: number };
      try {
        waited = (await container.wait()) as { StatusCode?: number };
      } catch (err) {
        throw this.dockerError(err, "Lost track of the script's container.");
      }
      const durationMs = performance.now() - started;
      clearTimeout(timeLimit);
      clearTimeout(killTimer);
      signal?.removeEventListener("abort", onAbort);

      // The stream ends once the container's stdio closes; give late output a moment, not forever.
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([streamDone, new Promise<void>((r) => (drainTimer = setTimeout(r, STREAM_DRAIN_MS)))]);
      clearTimeout(drainTimer);
      demux.end();

      let state: Dockerode.ContainerInspectInfo["State"] | null = null;
      try {
        state = (await container.inspect()).State;
      } catch (err) {
        logger.debug({ err, container: id }, "docker inspect after the run failed");
      }
      const rawCode = state?.ExitCode ?? waited.StatusCode ?? null;
      let exitCode: number | null = rawCode;
      let sig: string | null = null;
      // The container's exit code encodes a death by signal N as 128+N (as a shell or docker-init does).
      if (rawCode !== null && rawCode > 128 && rawCode < 128 + 65) {
        sig = SIGNALS[rawCode - 128] ?? `SIG${rawCode - 128}`;
        exitCode = null;
      }

      let outOfMemory = state?.OOMKilled === true;
      // A SIGKILL nobody here sent: inside a container with no other processes of ours, the OOM killer.
      if (!outOfMemory && sig === "SIGKILL" && !killedByUs && !timedOut && !aborted) outOfMemory = true;
      if (!outOfMemory && !timedOut && (exitCode !== 0 || sig !== null)) outOfMemory = MEMORY_ERROR.test(output.text.slice(-4000));

      let text = output.text;
      if (outputCeilingHit) text += `\n[aide executor: output exceeded ${ceiling} characters; the script was killed]\n`;
      if (outOfMemory && state?.OOMKilled) text += `\n[aide executor: the script was killed for exceeding the ${job.memoryMb} MB memory limit]\n`;
      return {
        exitCode,
        signal: sig,
        timedOut,
        outOfMemory,
        durationMs: Math.round(durationMs),
        output: text,
        outputCapped: output.capped || outputCeilingHit,
      };
    } finally {
      clearTimeout(timeLimit);
      clearTimeout(killTimer);
      signal?.removeEventListener("abort", onAbort);
      stream.removeAllListeners("data");
      (stream as unknown as { destroy?: () => void }).destroy?.();
    }
  }

  /** Removes the container (killing it if it still runs). Retries briefly; never throws. */
  private async removeContainer(container: Dockerode.Container): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await container.remove({ force: true, v: true });
        return;
      } catch (err) {
        const code = statusCode(err);
        if (code === 404) return; // already gone
        // 409: removal already in progress; anything else may be transient.
        if (attempt >= 20 || isUnreachable(err)) {
          this.opts.logger.warn({ err, container: container.id.slice(0, 12) }, "could not remove a script container");
          return;
        }
        await new Promise((r) => setTimeout(r, 100 * Math.min(attempt + 1, 5)));
      }
    }
  }
}
