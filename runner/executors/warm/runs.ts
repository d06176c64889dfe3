/**
 * An executor's warm mode, the same for every executor with warm interpreters (bubblewrap, Docker): its
 * WarmPool, made on first use once the executor's own check has passed, behind the executor's prepareRun,
 * releaseRun and close (WarmModeExecutor) and in front of its cold path (WarmRuns.run).
 */
import type { Logger } from "../../../src/logger.ts";
import type { ExecutionResult, RunScope, ScriptJob } from "../../../src/search/types.ts";
import type { WarmLauncher } from "./parent.ts";
import { WarmPool } from "./pool.ts";
import { workspaceParentOf } from "./scope.ts";

/** The options of an executor that has warm interpreters (its own options extend these). */
export interface WarmModeOptions {
  logger: Logger;
  /**
   * Warm mode: per run, long-lived interpreters (each in its own sandbox) that have imported numpy, pandas and
   * scikit-learn and fork a fresh child per script, one script at a time. Falls back to cold runs, with the
   * reason logged, when none can start. Default false here; the configuration (`execution.warm`) turns it on.
   */
  warm?: boolean;
  /** Time between SIGINT and SIGKILL when a run is stopped. Default 2000 ms. */
  graceMs?: number;
  /** Output characters after which a run is killed. Default 512 Mi. */
  outputCeiling?: number;
  /** An idle warm interpreter is stopped after this many ms. Default 10 minutes. */
  warmIdleMs?: number;
}

/** The warm interpreters of one executor, for all the runs it serves. */
export class WarmRuns {
  private pool: WarmPool | null = null;
  private making: Promise<WarmPool> | null = null;

  /** `launcher` checks that the executor can run here, then gives the launcher of its interpreters. */
  constructor(
    private readonly opts: WarmModeOptions,
    private readonly launcher: () => Promise<WarmLauncher>,
  ) {}

  private get(): Promise<WarmPool> {
    if (this.pool) return Promise.resolve(this.pool);
    this.making ??= this.launcher().then(
      (launcher) => {
        const { logger, graceMs, outputCeiling, warmIdleMs } = this.opts;
        this.pool ??= new WarmPool({ launcher, logger, graceMs, outputCeiling, idleMs: warmIdleMs });
        return this.pool;
      },
      (err: unknown) => {
        // Tried again next time: the user may start the daemon or install the package meanwhile.
        this.making = null;
        throw err;
      },
    );
    return this.making;
  }

  /** Starts an interpreter for the run ahead of its first script. Never throws. */
  async prepareRun(scope: RunScope): Promise<void> {
    if (!this.opts.warm) return;
    try {
      // With the pool made, the run's scope is registered at once, before any releaseRun can look for it.
      const pool = this.pool ?? (await this.get());
      await pool.prepare(scope.inputDir, scope.memoryMb, workspaceParentOf(scope.runDir));
    } catch (err) {
      this.opts.logger.debug({ err }, "warm interpreter not prepared");
    }
  }

  /**
   * Stops the run's interpreters. prepareRun may still be waiting for the executor's check: that is waited
   * for too, so an interpreter it is starting for this run is stopped rather than left to idle for ten minutes
   * (and keep a finished `aide run` alive).
   */
  async releaseRun(scope: RunScope): Promise<void> {
    if (!this.opts.warm) return;
    await this.making?.catch(() => undefined);
    await this.pool?.release(scope.inputDir);
  }

  /** Stops every interpreter. */
  async close(): Promise<void> {
    await this.making?.catch(() => undefined);
    await this.pool?.close();
  }

  /** Runs the job warm, or resolves null: warm mode is off, or no interpreter can serve it now (run it cold). */
  async run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult | null> {
    if (!this.opts.warm) return null;
    return (await this.get()).run(job, signal);
  }
}

/**
 * The base of an executor with warm interpreters: prepareRun, releaseRun and close over its WarmRuns; `run`
 * tries `this.warm.run` before its cold path.
 */
export abstract class WarmModeExecutor {
  protected readonly warm: WarmRuns;

  constructor(opts: WarmModeOptions) {
    this.warm = new WarmRuns(opts, () => this.warmLauncher());
  }

  /** Checks that this executor can run here, then gives the launcher of its warm interpreters. */
  protected abstract warmLauncher(): Promise<WarmLauncher>;

  prepareRun(scope: RunScope): Promise<void> {
    return this.warm.prepareRun(scope);
  }

  releaseRun(scope: RunScope): Promise<void> {
    return this.warm.releaseRun(scope);
  }

  /** Stops every warm interpreter. */
  close(): Promise<void> {
    return this.warm.close();
  }
}
