/**
 * Warm interpreters for the runs an executor serves: per run (its input directory and memory limit) a set
 * of WarmParents, each running one script at a time, so a run with `parallel` K keeps up to K of them. A
 * script takes an idle interpreter; when none is free it runs cold while one more starts. An interpreter that dies,
 * hangs or reports pollution is dropped and replaced on demand; if none can be started, the reason is
 * logged once and the run's scripts run cold (the caller's ordinary path).
 *
 * Per script, as in a cold run: the script sees /workspace/solution.py, ./input read-only and an empty
 * ./working; time limit (SIGINT, then SIGKILL), output ceiling, memory (the sandbox's cgroup or RLIMIT_AS),
 * file-size cap. Afterwards what it wrote in ./working is moved to the node's own working directory.
 */
import { chmodSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cp, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Logger } from "../../../src/logger.ts";
import { CappedOutput } from "../../../src/search/output.ts";
import type { ExecutionResult, ScriptJob } from "../../../src/search/types.ts";
import { MEMORY_ERROR, signalName } from "../process.ts";
import { WarmParent, type JobEnd, type WarmLauncher } from "./parent.ts";
import { StringDecoder } from "node:string_decoder";

const SCRIPT_NAME = "solution.py";
const WORKSPACE = "/workspace";

export interface WarmPoolOptions {
  launcher: WarmLauncher;
  logger: Logger;
  graceMs: number;
  outputCeiling: number;
  /** An idle interpreter is stopped after this long. Default 10 minutes. */
  idleMs?: number;
  /** Longest start (sandbox + imports). Default 120 s. */
  startTimeoutMs?: number;
}

interface Scope {
  key: string;
  inputDir: string;
  memoryMb: number;
  idle: WarmParent[];
  all: Set<WarmParent>;
  starting: number;
  /** Starts in flight. */
  pending: Set<Promise<void>>;
  /** Why warm mode does not work for this run (scripts run cold), or null. */
  broken: string | null;
  idleTimers: Map<WarmParent, NodeJS.Timeout>;
  workspaceParent: string;
}


export class WarmPool {
  private readonly scopes = new Map<string, Scope>();
  private closed = false;

  constructor(private readonly opts: WarmPoolOptions) {}

  private scopeFor(inputDir: string, memoryMb: number, workspaceParent: string): Scope {
    const key = `${resolve(inputDir)}\n${memoryMb}`;
    let scope = this.scopes.get(key);
    if (!scope) {
      scope = { key, inputDir: resolve(inputDir), memoryMb, idle: [], all: new Set(), starting: 0, pending: new Set(), broken: null, idleTimers: new Map(), workspaceParent };
      this.scopes.set(key, scope);
    }
    return scope;
  }

  /** Starts an interpreter for a run ahead of its first script (or waits for one starting). Never throws. */
  prepare(inputDir: string, memoryMb: number, workspaceParent: string): Promise<void> {
    const scope = this.scopeFor(inputDir, memoryMb, workspaceParent);
    if (scope.all.size > 0 || scope.broken) return Promise.resolve();
    if (scope.pending.size > 0) return Promise.race(scope.pending);
    return this.startOne(scope);
  }

  /** Stops the interpreters kept for a run's input directory. */
  async release(inputDir: string): Promise<void> {
    const dir = resolve(inputDir);
    const gone = [...this.scopes.values()].filter((s) => s.inputDir === dir);
    for (const scope of gone) this.scopes.delete(scope.key);
    await Promise.all(gone.map((s) => this.stopScope(s)));
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.scopes.values()];
    this.scopes.clear();
    await Promise.all(all.map((s) => this.stopScope(s)));
  }

  private async stopScope(scope: Scope): Promise<void> {
    scope.broken ??= "released";
    for (const t of scope.idleTimers.values()) clearTimeout(t);
    scope.idleTimers.clear();
    await Promise.all([...scope.all].map((p) => p.destroy()));
    scope.all.clear();
    scope.idle = [];
  }

  private startOne(scope: Scope): Promise<void> {
    scope.starting++;
    const started = performance.now();
    const start = WarmParent.start({
      launcher: this.opts.launcher,
      inputDir: scope.inputDir,
      memoryMb: scope.memoryMb,
      workspaceParent: scope.workspaceParent,
      logger: this.opts.logger,
      startTimeoutMs: this.opts.startTimeoutMs ?? 120_000,
    }).then(
      (parent) => {
        scope.starting--;
        if (scope.broken || this.closed) {
          void parent.destroy();
          return;
        }
        this.opts.logger.debug({ parent: parent.id, ms: Math.round(performance.now() - started), importMs: parent.importMs, kind: this.opts.launcher.kind }, "warm interpreter ready");
        scope.all.add(parent);
        void parent.gone().then(() => this.forget(scope, parent));
        this.giveBack(scope, parent);
      },
      (err: unknown) => {
        scope.starting--;
        const reason = (err as { userMessage?: string }).userMessage ?? (err as Error).message;
        if (!scope.broken) {
          scope.broken = reason;
          this.opts.logger.warn({ err, executor: this.opts.launcher.kind }, `warm mode unavailable, running scripts cold: ${reason}`);
        }
      },
    );
    scope.pending.add(start);
    void start.finally(() => scope.pending.delete(start));
    return start;
  }

  private forget(scope: Scope, parent: WarmParent): void {
    scope.all.delete(parent);
    scope.idle = scope.idle.filter((p) => p !== parent);
    clearTimeout(scope.idleTimers.get(parent));
    scope.idleTimers.delete(parent);
    void parent.destroy();
  }

  /** Parks a free interpreter for the next script (stopped after idleMs unused). */
  private giveBack(scope: Scope, parent: WarmParent): void {
    if (!parent.alive || parent.polluted) {
      this.forget(scope, parent);
      return;
    }
    parent.busy = false;
    scope.idle.push(parent);
    const timer = setTimeout(() => {
      if (!parent.busy) this.forget(scope, parent);
    }, this.opts.idleMs ?? 600_000);
    timer.unref();
    scope.idleTimers.set(parent, timer);
  }

  /**
   * A free interpreter for the scope, or null. With none free, one more is started in the background and
   * this script runs cold: a script never waits for scikit-learn to be imported, so warm mode is never slower
   * than a cold run, and the run's later scripts find the interpreters ready.
   */
  private acquire(scope: Scope): WarmParent | null {
    if (scope.broken || this.closed) return null;
    const idle = scope.idle.pop();
    if (idle) {
      clearTimeout(scope.idleTimers.get(idle));
      scope.idleTimers.delete(idle);
      idle.busy = true;
      return idle;
    }
    const busy = [...scope.all].filter((p) => p.busy).length;
    if (scope.starting + scope.all.size <= busy) void this.startOne(scope);
    return null;
  }

  /**
   * Runs the job on a warm interpreter. Resolves null when none can serve it now (the caller runs it cold):
   * none is free yet, or warm mode does not work for this run (the reason was logged once).
   */
  async run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult | null> {
    const nodeDir = resolve(job.nodeDir);
    const scope = this.scopeFor(job.inputDir, job.memoryMb, dirname(nodeDir));
    for (let attempt = 0; attempt < 3; attempt++) {
      if (signal?.aborted) return null;
      const parent = this.acquire(scope);
      if (!parent) return null;
      const outcome = await this.runOn(parent, job, nodeDir, signal);
      this.giveBack(scope, parent);
      if (outcome) return outcome;
      // The interpreter went away before the script started: try another.
    }
    return null;
  }

  private async runOn(parent: WarmParent, job: ScriptJob, nodeDir: string, signal?: AbortSignal): Promise<ExecutionResult | null> {
    const { logger, launcher } = this.opts;
    const ceiling = this.opts.outputCeiling;
    const graceMs = this.opts.graceMs;
    const workingDir = join(nodeDir, "working");
    const scratch = join(parent.workspace, "working");
    // A handful of tiny synchronous file operations: each takes microseconds, less than an async round trip.
    mkdirSync(workingDir, { recursive: true });
    writeFileSync(join(nodeDir, SCRIPT_NAME), job.code);
    const script = join(parent.workspace, SCRIPT_NAME);
    rmSync(script, { force: true });
    try {
      linkSync(join(nodeDir, SCRIPT_NAME), script);
    } catch {
      writeFileSync(script, job.code);
    }
    chmodSync(script, 0o644);
    emptyDir(scratch);
    await launcher.prepareWorking(scratch);
    const oomBefore = parent.lastOomKills;

    const output = new CappedOutput(job.outputCap);
    const decoder = new StringDecoder("utf8");
    let seen = 0;
    let ceilingHit = false;
    let timedOut = false;
    let aborted = false;
    let killSent = false;
    let started = 0;
    let timeLimit: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let hangTimer: NodeJS.Timeout | undefined;

    const kill = (): void => {
      killSent = true;
      parent.signal("SIGKILL");
      // A server that does not answer a SIGKILL request within the grace time is hung: end the sandbox.
      hangTimer ??= setTimeout(() => {
        logger.warn({ parent: parent.id, nodeId: job.nodeId }, "warm interpreter does not answer: stopping its sandbox");
        void parent.destroy();
      }, graceMs + 1000);
    };
    const interrupt = (): void => {
      parent.signal("SIGINT");
      killTimer ??= setTimeout(kill, graceMs);
    };
    const onAbort = (): void => {
      aborted = true;
      interrupt();
    };
    const append = (text: string): void => {
      seen += text.length;
      if (ceilingHit) return;
      output.append(text);
      if (seen > ceiling) {
        ceilingHit = true;
        logger.warn({ nodeId: job.nodeId, ceiling }, "script output exceeded the ceiling: killing it");
        kill();
      }
    };

    let end: JobEnd;
    try {
      end = await parent.run(
        {
          script: `${WORKSPACE}/${SCRIPT_NAME}`,
          cwd: WORKSPACE,
          env: launcher.scriptEnv(),
          rlimits: launcher.rlimits(job.memoryMb),
        },
        {
          onStarted: () => {
            started = performance.now();
            signal?.addEventListener("abort", onAbort, { once: true });
            if (signal?.aborted) onAbort();
            if (Number.isFinite(job.timeoutMs) && job.timeoutMs <= 2 ** 31 - 1) {
              timeLimit = setTimeout(() => {
                timedOut = true;
                interrupt();
              }, Math.max(0, job.timeoutMs));
            }
          },
          onOutput: (chunk) => append(decoder.write(chunk)),
        },
      );
    } finally {
      clearTimeout(timeLimit);
      clearTimeout(killTimer);
      clearTimeout(hangTimer);
      signal?.removeEventListener("abort", onAbort);
    }
    const durationMs = started ? performance.now() - started : 0;
    const rest = decoder.end();
    if (rest) append(rest);
    if (!end.started) {
      logger.info({ parent: parent.id, reason: end.reason }, "warm interpreter gone before the script started; trying another");
      return null;
    }

    let exitCode: number | null = null;
    let sig: string | null = null;
    let text = output.text;
    if (end.exit) {
      exitCode = end.exit.code;
      sig = end.exit.signal !== null ? (signalName(end.exit.signal) ?? `SIG${end.exit.signal}`) : null;
    } else {
      sig = "SIGKILL";
      text += `\n[aide executor: the warm interpreter stopped while the script ran (${end.reason})]\n`;
    }
    let outOfMemory = false;
    const oomAfter = await parent.oomKills();
    parent.lastOomKills = oomAfter;
    if (oomBefore !== null && oomAfter !== null && oomAfter > oomBefore) outOfMemory = true;
    else if (sig === "SIGKILL" && end.exit && !end.exit.killedByServer && !killSent) outOfMemory = true;
    else if (!timedOut && (exitCode !== 0 || sig !== null)) outOfMemory = MEMORY_ERROR.test(output.text.slice(-4000));
    if (ceilingHit) text += `\n[aide executor: output exceeded ${ceiling} characters; the script was killed]\n`;

    await moveEntries(scratch, workingDir);
    logger.debug({ nodeId: job.nodeId, parent: parent.id, exitCode, signal: sig, timedOut, aborted, oom: outOfMemory, ms: Math.round(durationMs) }, "warm run finished");
    return {
      exitCode,
      signal: sig,
      timedOut,
      outOfMemory,
      durationMs: Math.round(durationMs),
      output: text,
      outputCapped: output.capped || ceilingHit,
      workingDir,
    };
  }
}

function emptyDir(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true });
    return;
  }
  for (const n of names) rmSync(join(dir, n), { recursive: true, force: true });
}

/** Moves what a script wrote in the interpreter's ./working into the node's own working directory. */
async function moveEntries(from: string, to: string): Promise<void> {
  let names: string[] = [];
  try {
    names = readdirSync(from);
  } catch {
    return;
  }
  for (const name of names) {
    const src = join(from, name);
    const dst = join(to, name);
    rmSync(dst, { recursive: true, force: true });
    try {
      renameSync(src, dst);
    } catch {
      // another filesystem: copy, then remove
      await cp(src, dst, { recursive: true, verbatimSymlinks: true });
      await rm(src, { recursive: true, force: true });
    }
  }
}
