/**
 * One warm interpreter: a sandbox (bubblewrap or a container, started by a WarmLauncher) whose main process
 * is the fork server (server.py), connected to this process over a unix socket in a directory bound into
 * the sandbox. It runs one script at a time. Everything is pushed: the connection, READY, each script's
 * output and exit arrive as socket events, and the sandbox's end as a process or container event.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, rm, unlink } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExecutorError } from "../../../src/errors.ts";
import type { Logger } from "../../../src/logger.ts";
import { pidAlive } from "../../../src/services/process-utils.ts";
import {
  encodeFrame,
  FrameReader,
  FrameType,
  SERVER_SOURCE,
  type ExitReport,
  type RunSpec,
  type ServerOptions,
} from "./protocol.ts";

/** Where the control socket's directory appears inside the sandbox. */
export const CONTROL_DIR = "/aide-ctl";
const SOCKET_NAME = "ctl.sock";
/** Processes a warm sandbox holds besides the script's (the server, its spare child, an init): added to the pids cap. */
export const SERVER_PIDS = 4;

export interface WarmSandbox {
  /** Resolves (never rejects) with a reason once the sandbox's main process has ended. */
  readonly ended: Promise<string>;
  /** Kernel out-of-memory kills inside the sandbox so far, or null when this sandbox cannot tell. */
  oomKills(): Promise<number | null>;
  /** The last lines the sandbox printed itself (the server's stderr), for error messages. */
  diagnostics(): string;
  /** Kills everything in the sandbox and frees what it held. Never throws. */
  destroy(): Promise<void>;
}

export interface WarmLaunchArgs {
  /** Host directory holding the control socket; bind it at CONTROL_DIR. */
  controlDir: string;
  /** Host directory to bind read-only at /workspace; its `working/` is bound read-write over it. */
  workspace: string;
  inputDir: string;
  memoryMb: number;
  /** Arguments of python3: `-c <server source> <socket> <options>`. */
  pythonArgs: string[];
}

/** How one kind of sandbox starts a warm interpreter, and what its scripts get. */
export interface WarmLauncher {
  readonly kind: string;
  launch(args: WarmLaunchArgs): Promise<WarmSandbox>;
  /** The scripts' environment, as in a cold run. */
  scriptEnv(): Record<string, string>;
  /** Limits the server's child sets on itself before the script runs. */
  rlimits(memoryMb: number): Record<string, number>;
  serverOptions(): ServerOptions;
  /** Makes `<workspace>/working` writable by the sandbox's user (and nothing else). */
  prepareWorking(dir: string): Promise<void>;
}

export interface JobHandlers {
  onStarted(): void;
  onOutput(chunk: Buffer): void;
}

/** How a job on this interpreter ended: the server's report, or why the interpreter went away first. */
export type JobEnd = { exit: ExitReport; started: true } | { exit: null; started: boolean; reason: string };

export interface WarmParentOptions {
  launcher: WarmLauncher;
  inputDir: string;
  memoryMb: number;
  /** Directory under which the interpreter's workspace is created (same filesystem as the node dirs). */
  workspaceParent: string;
  logger: Logger;
  startTimeoutMs: number;
}

let seq = 0;
let swept = false;

/**
 * Removes control directories left by executor processes that died without cleaning up (their sandboxes
 * died with them). Once per process; a directory's name carries its creator's pid.
 */
async function sweepStaleControlDirs(): Promise<void> {
  if (swept) return;
  swept = true;
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const m = /^aide-warm-ctl-(\d+)-/.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1])))
      await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
}

export class WarmParent {
  readonly id: string;
  readonly workspace: string;
  private socket: Socket | null = null;
  private readonly reader = new FrameReader();
  private current: { job: number; handlers: JobHandlers; started: boolean; done: (end: JobEnd) => void } | null = null;
  private goneReason: string | null = null;
  private readonly goneWaiters: Array<(reason: string) => void> = [];
  private nextJob = 1;
  busy = false;
  polluted = false;
  /** The sandbox's OOM-kill count after the last script (null: unknown yet, or the sandbox cannot tell). */
  lastOomKills: number | null = null;
  importMs: number | null = null;

  private constructor(
    private readonly sandbox: WarmSandbox,
    private readonly controlDir: string,
    workspace: string,
    id: string,
    private readonly logger: Logger,
  ) {
    this.workspace = workspace;
    this.id = id;
    void sandbox.ended.then((reason) => this.markGone(`the sandbox ended: ${reason}`));
  }

  get alive(): boolean {
    return this.goneReason === null;
  }

  /** Starts the sandbox and resolves once the server has imported the stack and is ready for scripts. */
  static async start(opts: WarmParentOptions): Promise<WarmParent> {
    const id = `${process.pid}-${++seq}-${randomBytes(3).toString("hex")}`;
    await sweepStaleControlDirs();
    const controlDir = await mkdtemp(join(tmpdir(), `aide-warm-ctl-${process.pid}-`));
    await chmod(controlDir, 0o755);
    const workspace = join(opts.workspaceParent, `.aide-warm-${id}`);
    await mkdir(join(workspace, "input"), { recursive: true });
    await mkdir(join(workspace, "working"), { recursive: true });
    const socketPath = join(controlDir, SOCKET_NAME);
    const server = createServer();
    const connected = new Promise<Socket>((resolve) => server.once("connection", resolve));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, 0o666);
    const options = opts.launcher.serverOptions();
    let sandbox: WarmSandbox;
    try {
      sandbox = await opts.launcher.launch({
        controlDir,
        workspace,
        inputDir: opts.inputDir,
        memoryMb: opts.memoryMb,
        pythonArgs: ["-c", SERVER_SOURCE, `${CONTROL_DIR}/${SOCKET_NAME}`, JSON.stringify(options)],
      });
    } catch (err) {
      server.close();
      await Promise.all([
        rm(controlDir, { recursive: true, force: true }),
        rm(workspace, { recursive: true, force: true }),
      ]);
      throw err;
    }
    const parent = new WarmParent(sandbox, controlDir, workspace, id, opts.logger);
    parent.lastOomKills = await sandbox.oomKills();
    try {
      const socket = await parent.race(connected, server, opts.startTimeoutMs, "connect");
      parent.attach(socket);
      // Nobody else may connect: the listening socket disappears once the server is in.
      server.close();
      await unlink(socketPath).catch(() => undefined);
      await parent.race(parent.ready(), null, opts.startTimeoutMs, "import numpy, pandas and scikit-learn");
      return parent;
    } catch (err) {
      server.close();
      await parent.destroy();
      throw err;
    }
  }

  private readyResolve: (() => void) | null = null;
  private readyPromise: Promise<void> | null = null;

  private ready(): Promise<void> {
    this.readyPromise ??= new Promise<void>((resolve) => (this.readyResolve = resolve));
    return this.readyPromise;
  }

  /** Resolves with `p`, or throws when the sandbox ends first or `timeoutMs` passes. */
  private async race<T>(p: Promise<T>, server: Server | null, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const failed = (why: string) => {
      const diag = this.sandbox.diagnostics().trim();
      const last = diag
        .split("\n")
        .filter((l) => l.trim())
        .pop();
      return new ExecutorError(
        `The warm interpreter did not start (${what}): ${why}${last ? ` (${last.trim().slice(0, 300)})` : ""}.`,
        {
          detail: diag || undefined,
        },
      );
    };
    try {
      return await Promise.race([
        p,
        this.gone().then((reason) => Promise.reject(failed(reason))),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(failed(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
        }),
        ...(server
          ? [new Promise<never>((_, reject) => server.once("error", (err) => reject(failed(err.message))))]
          : []),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) this.onFrame(frame.type, frame.job, frame.payload);
    });
    socket.on("error", (err) => this.logger.debug({ err, parent: this.id }, "warm interpreter: socket error"));
    socket.on("close", () => this.markGone("its connection closed"));
  }

  private onFrame(type: number, job: number, payload: Buffer): void {
    switch (type) {
      case FrameType.READY:
        this.ready();
        this.readyResolve?.();
        return;
      case FrameType.LOG: {
        const text = payload.toString("utf8");
        try {
          const info = JSON.parse(text) as { importMs?: number; missing?: string[] };
          if (typeof info.importMs === "number") this.importMs = info.importMs;
          this.logger.debug({ parent: this.id, ...info }, "warm interpreter: imports done");
        } catch {
          this.logger.debug({ parent: this.id, text }, "warm interpreter says");
        }
        return;
      }
      case FrameType.POLLUTED:
        this.polluted = true;
        this.logger.info(
          { parent: this.id, detail: payload.toString("utf8") },
          "warm interpreter polluted by a script: replacing it",
        );
        return;
    }
    const cur = this.current;
    if (!cur || cur.job !== job) return;
    if (type === FrameType.STARTED) {
      cur.started = true;
      cur.handlers.onStarted();
    } else if (type === FrameType.OUTPUT) cur.handlers.onOutput(payload);
    else if (type === FrameType.EXIT) {
      this.current = null;
      cur.done({ exit: JSON.parse(payload.toString("utf8")) as ExitReport, started: true });
    }
  }

  private markGone(reason: string): void {
    if (this.goneReason !== null) return;
    this.goneReason = reason;
    const cur = this.current;
    this.current = null;
    cur?.done({ exit: null, started: cur.started, reason });
    for (const w of this.goneWaiters.splice(0)) w(reason);
  }

  /** Resolves with the reason once this interpreter is gone. */
  gone(): Promise<string> {
    if (this.goneReason !== null) return Promise.resolve(this.goneReason);
    return new Promise((resolve) => this.goneWaiters.push(resolve));
  }

  oomKills(): Promise<number | null> {
    return this.sandbox.oomKills();
  }

  /** Runs one script; resolves when it has ended and its output is complete, or the interpreter is gone. */
  run(spec: RunSpec, handlers: JobHandlers): Promise<JobEnd> {
    if (this.current) throw new Error("warm interpreter already runs a script");
    if (!this.alive || !this.socket)
      return Promise.resolve({ exit: null, started: false, reason: this.goneReason ?? "not connected" });
    const job = this.nextJob++;
    return new Promise<JobEnd>((done) => {
      this.current = { job, handlers, started: false, done };
      this.socket!.write(encodeFrame(FrameType.RUN, job, spec));
    });
  }

  /** Sends a signal to the running script's process group (SIGKILL also kills everything it left). */
  signal(sig: "SIGINT" | "SIGKILL"): void {
    const cur = this.current;
    if (!cur || !this.socket || !this.alive) return;
    this.socket.write(encodeFrame(FrameType.SIGNAL, cur.job, { signal: sig === "SIGINT" ? 2 : 9 }));
  }

  /** Stops the server and its sandbox and removes its directories. Never throws. */
  async destroy(): Promise<void> {
    if (this.socket && this.alive) this.socket.end(encodeFrame(FrameType.QUIT, 0, Buffer.alloc(0)));
    this.markGone("destroyed");
    this.socket?.destroy();
    await this.sandbox.destroy();
    await Promise.all([
      rm(this.controlDir, { recursive: true, force: true }).catch(() => undefined),
      rm(this.workspace, { recursive: true, force: true }).catch(() => undefined),
    ]);
  }
}
