/**
 * Warm interpreters for the runs an executor serves: per run (its input directory and memory limit) a set
 * of WarmParents, each running one script at a time, so a run with `parallel` K keeps up to K of them. A
 * script takes an idle interpreter; when none is free it runs cold while one more starts. An interpreter that dies,
 * hangs or reports pollution is dropped and replaced on demand; if none can be started, the reason is
 * logged once and the run's scripts run cold (the caller's ordinary path).
 *
 * Per script, as in a cold run: the script sees /workspace/solution.py, ./input read-only and an empty
 * ./working; memory (the sandbox's cgroup or RLIMIT_AS) and file-size caps; the time limit (SIGINT, then
 * SIGKILL), abort and output ceiling of the script supervisor, which reads the end as for a cold run.
 * Afterwards what it wrote in ./working is moved to the node's own working directory.
 */
import { chmodSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cp, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { Logger } from "../../../src/logger.ts";
import type { ExecutionResult, ScriptJob } from "../../../src/search/types.ts";
import { DEFAULT_GRACE_MS, ScriptSupervisor, toExecutionResult } from "../script-supervisor.ts";
import { nodeFilesOf, SCRIPT_NAME, WORKSPACE } from "../workspace.ts";
import { WarmParent, type WarmLauncher } from "./parent.ts";

export interface WarmPoolOptions {
  launcher: WarmLauncher;
  logger: Logger;
  /** Time between SIGINT and SIGKILL when a script is stopped (the supervisor's default when absent). */
  graceMs?: number;
  /** Output characters after which a script is killed (the supervisor's default when absent). */
  outputCeiling?: number;
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
      scope = {
        key,
        inputDir: resolve(inputDir),
        memoryMb,
        idle: [],
        all: new Set(),
        starting: 0,
        pending: new Set(),
        broken: null,
        idleTimers: new Map(),
        workspaceParent,
      };
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
        this.opts.logger.debug(
          {
            parent: parent.id,
            ms: Math.round(performance.now() - started),
            importMs: parent.importMs,
            kind: this.opts.launcher.kind,
          },
          "warm interpreter ready",
        );
        scope.all.add(parent);
        void parent.gone().then(() => this.forget(scope, parent));
        this.giveBack(scope, parent);
      },
      (err: unknown) => {
        scope.starting--;
        const reason = (err as { userMessage?: string }).userMessage ?? (err as Error).message;
        if (!scope.broken) {
          scope.broken = reason;
          this.opts.logger.warn(
            { err, executor: this.opts.launcher.kind },
            `warm mode unavailable, running scripts cold: ${reason}`,
          );
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
    const scope = this.scopeFor(job.inputDir, job.memoryMb, dirname(nodeFilesOf(job).nodeDir));
    for (let attempt = 0; attempt < 3; attempt++) {
      if (signal?.aborted) return null;
      const parent = this.acquire(scope);
      if (!parent) return null;
      const outcome = await this.runOn(parent, job, signal);
      this.giveBack(scope, parent);
      if (outcome) return outcome;
      // The interpreter went away before the script started: try another.
    }
    return null;
  }

  private async runOn(parent: WarmParent, job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult | null> {
    const { logger, launcher } = this.opts;
    const graceMs = this.opts.graceMs;
    const { workingDir, scriptPath } = nodeFilesOf(job);
    const scratch = join(parent.workspace, "working");
    // A handful of tiny synchronous file operations: each takes microseconds, less than an async round trip.
    mkdirSync(workingDir, { recursive: true });
    writeFileSync(scriptPath, job.code);
    const script = join(parent.workspace, SCRIPT_NAME);
    rmSync(script, { force: true });
    try {
      linkSync(scriptPath, script);
    } catch {
      writeFileSync(script, job.code);
    }
    chmodSync(script, 0o644);
    emptyDir(scratch);
    await launcher.prepareWorking(scratch);
    const oomBefore = parent.lastOomKills;

    let hangTimer: NodeJS.Timeout | undefined;
    const supervisor = new ScriptSupervisor({
      timeoutMs: job.timeoutMs,
      memoryMb: job.memoryMb,
      outputCap: job.outputCap,
      graceMs,
      outputCeiling: this.opts.outputCeiling,
      signal,
      logger,
      context: { nodeId: job.nodeId, parent: parent.id },
      interrupt: () => parent.signal("SIGINT"),
      kill: () => {
        parent.signal("SIGKILL");
        // A server that does not answer a SIGKILL request within the grace time is hung: end the sandbox.
        hangTimer ??= setTimeout(
          () => {
            logger.warn(
              { parent: parent.id, nodeId: job.nodeId },
              "warm interpreter does not answer: stopping its sandbox",
            );
            void parent.destroy();
          },
          (graceMs ?? DEFAULT_GRACE_MS) + 1000,
        );
      },
    });
    const decoder = new StringDecoder("utf8");
    const end = await parent
      .run(
        {
          script: `${WORKSPACE}/${SCRIPT_NAME}`,
          cwd: WORKSPACE,
          env: launcher.scriptEnv(),
          rlimits: launcher.rlimits(job.memoryMb),
        },
        { onStarted: () => supervisor.start(), onOutput: (chunk) => supervisor.append(decoder.write(chunk)) },
      )
      .finally(() => {
        supervisor.ended();
        clearTimeout(hangTimer);
      });
    supervisor.append(decoder.end());
    if (!end.started) {
      logger.info(
        { parent: parent.id, reason: end.reason },
        "warm interpreter gone before the script started; trying another",
      );
      return null;
    }

    const oomAfter = await parent.oomKills();
    parent.lastOomKills = oomAfter;
    const oomKilled = oomBefore !== null && oomAfter !== null && oomAfter > oomBefore;
    const r = supervisor.result(
      end.exit
        ? // The server sends SIGKILL only when asked; the sandbox holds nothing else that could.
          { code: end.exit.code, signal: end.exit.signal, oomKilled, sigkillMeansOom: !end.exit.killedByServer }
        : {
            code: null,
            signal: "SIGKILL",
            oomKilled,
            note: `\n[aide executor: the warm interpreter stopped while the script ran (${end.reason})]\n`,
          },
    );
    await moveEntries(scratch, workingDir);
    logger.debug(
      {
        nodeId: job.nodeId,
        parent: parent.id,
        exitCode: r.exitCode,
        signal: r.signal,
        timedOut: r.timedOut,
        aborted: r.aborted,
        oom: r.outOfMemory,
        ms: r.durationMs,
      },
      "warm run finished",
    );
    return toExecutionResult(r, workingDir);
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
