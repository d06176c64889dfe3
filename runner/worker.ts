import { existsSync, statSync } from "node:fs";
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { checkBudgetPriced, createCoder } from "../src/coders/index.ts";
import type { Config } from "../src/config.ts";
import { AideError, DataError, userMessageOf } from "../src/errors.ts";
import type { Logger } from "../src/logger.ts";
import { bullConnection, createRunWorker, withRunLease, type RunWorker } from "../src/queue/run-queue.ts";
import { SteerSignals } from "../src/queue/steering.ts";
import { executeRun } from "../src/runs/execute.ts";
import type { Coder, Executor, SolutionNode } from "../src/search/types.ts";
import { IllegalTransitionError, TERMINAL_STATUSES, type Store } from "../src/store/index.ts";
import type { RunRecord } from "../src/store/types.ts";
import { fetchDatasets } from "../src/workspace/datasets.ts";
import { OutageTolerantExecutor, untilAnswered } from "./infrastructure.ts";
import { StoreInbox, StoreSink } from "./run-bridge.ts";

export interface RunnerOptions {
  config: Config;
  store: Store;
  redisUrl: string;
  /** Where runs' input data and node files are kept: `<dataDir>/runs/<runId>/`. */
  dataDir: string;
  executor: Executor;
  logger: Logger;
  /** Runs this worker drives at once. */
  concurrency?: number;
  /** BullMQ lock (and run lease) duration; a dead worker's runs are picked up after about this long. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  workerId?: string;
  /**
   * How long a script whose container engine went away (a Docker daemon restart) is tried again before its run
   * fails with the executor's message. Default 10 minutes.
   */
  executorOutageMs?: number;
  /** Builds each run's coder from the run's configuration. Default: the configured coder (src/coders). */
  createCoder?: (config: Config, logger: Logger) => Coder;
  /**
   * Headers for a data download from `url` (a chat platform's token for its private file links, e.g.
   * bots/slack/files.ts); sent to that URL only. The runner decides nothing about hosts or tokens. Default: none.
   */
  headersFor?: (url: URL) => Record<string, string> | undefined;
}

const DATA_READY = ".data-ready";

/**
 * A runner: takes run jobs from the queue and drives each run's search to its end, with the run's journal,
 * steering and events in MongoDB and Redis. A run is only driven while this worker holds its lease; a worker
 * that dies leaves a stalled job that another worker picks up, reloading the journal and continuing after the
 * last finished node.
 */
export class Runner {
  readonly workerId: string;
  private readonly redis: Redis;
  private readonly signals: SteerSignals;
  private worker: RunWorker | null = null;
  private readonly active = new Map<string, AbortController>();
  private readonly executor: Executor;

  constructor(private readonly opts: RunnerOptions) {
    this.workerId = opts.workerId ?? `${hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`;
    this.executor = new OutageTolerantExecutor(opts.executor, {
      logger: opts.logger,
      maxWaitMs: opts.executorOutageMs ?? 10 * 60_000,
    });
    this.redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
    this.signals = new SteerSignals({ redis: this.redis, logger: opts.logger });
  }

  start(): void {
    const lockMs = this.opts.lockDurationMs ?? this.opts.config.runner.lockDurationSec * 1000;
    const processor = withRunLease((job, held) => this.drive(job.data.runId, held.signal), {
      redis: this.redis,
      workerId: this.workerId,
      ttlMs: lockMs,
      busyRetryMs: Math.max(1000, Math.floor(lockMs / 2)),
      logger: this.opts.logger,
    });
    this.worker = createRunWorker(processor, {
      concurrency: this.opts.concurrency ?? this.opts.config.runner.concurrency,
      connection: bullConnection(this.opts.redisUrl),
      lockDurationMs: lockMs,
      stalledIntervalMs: this.opts.stalledIntervalMs ?? Math.max(1000, Math.floor(lockMs / 2)),
      logger: this.opts.logger,
    });
    this.opts.logger.info({ workerId: this.workerId, executor: this.opts.executor.name }, "runner started");
  }

  /** Stops taking jobs; runs in flight are interrupted and left to another worker (their journals are kept). */
  async close(): Promise<void> {
    for (const c of this.active.values()) c.abort(new AideError("shutdown", "The runner is shutting down."));
    await this.worker?.close(true);
    await this.signals.close();
    this.redis.disconnect();
  }

  /** Drives one run from wherever its journal is. Never throws for problems of the run itself. */
  async drive(runId: string, leaseSignal: AbortSignal): Promise<void> {
    const { store, logger } = this.opts;
    // MongoDB not answering is no reason to give the job up: wait for it while this worker holds the run.
    const outage = { logger, signal: leaseSignal };
    let run = await untilAnswered("run", () => store.getRun(runId), outage);
    if (!run) {
      logger.warn({ runId }, "job for an unknown run; dropped");
      return;
    }
    if (TERMINAL_STATUSES.includes(run.status)) return;
    if (run.status === "queued") run = await untilAnswered("run start", () => this.markRunning(runId), outage);
    const controller = new AbortController();
    const onLeaseLost = () => controller.abort(leaseSignal.reason);
    leaseSignal.addEventListener("abort", onLeaseLost, { once: true });
    this.active.set(runId, controller);
    const attempt = `${this.workerId}-${Date.now()}`;
    const log = logger.child({ runId, workerId: this.workerId });
    try {
      const runDir = join(this.opts.dataDir, "runs", runId);
      const inputDir = join(runDir, "input");
      const runOutage = { logger: log, signal: controller.signal };
      const journal = await untilAnswered("journal", () => store.loadJournal(runId), runOutage);
      const sink = new StoreSink({
        store,
        redis: this.redis,
        runId,
        attempt,
        logger: log,
        journal,
        onBest: (n) => this.saveSubmission(runDir, runId, n),
        onRefit: (r) => this.saveSubmission(runDir, runId, { id: r.nodeId, submissionPath: r.submissionPath }, true),
        outage: runOutage,
      });
      const config: Config = {
        ...this.opts.config,
        coder: run.options.coder === "openai" ? "openai" : "offline",
        search: {
          ...this.opts.config.search,
          steps: run.progress.totalSteps,
          parallel: run.options.parallel,
          ...(run.options.holdout !== undefined ? { holdout: run.options.holdout } : {}),
        },
        execution: { ...this.opts.config.execution, timeoutSec: run.options.timeoutSec },
      };
      const budget = run.options.budgetUsd !== null ? { usd: run.options.budgetUsd } : undefined;
      try {
        // A dollar budget over an unpriced model could not be kept: refused before any data is fetched.
        checkBudgetPriced(budget, config, "submit the run without --budget");
        await this.prepareData(run, runDir, inputDir, controller.signal);
      } catch (err) {
        if (controller.signal.aborted) throw err;
        await sink.event({ type: "run.failed", runId, at: new Date().toISOString(), error: userMessageOf(err) });
        log.warn({ err }, "run failed at start");
        return;
      }
      const steers = await untilAnswered("steering", () => store.listSteers(runId), runOutage);
      const applied = steers.filter((s) => s.appliedAt !== null);
      const guidance = applied.flatMap((s) => (s.command.kind === "guidance" ? [s.command.text] : []));
      log.info(
        { resumedNodes: journal.length, totalSteps: run.progress.totalSteps, executor: this.executor.name },
        journal.length ? "resuming run" : "starting run",
      );
      await executeRun({
        runId,
        task: run.task,
        inputDir,
        runDir,
        config,
        coder: (this.opts.createCoder ?? createCoder)(config, log),
        executor: this.executor,
        sink,
        logger: log,
        inbox: new StoreInbox(store, this.signals, runId, runOutage),
        budget,
        metricHint: run.options.metric ?? undefined,
        resumeFrom: journal,
        guidance,
        startPaused: run.status === "paused",
        signal: controller.signal,
        holdoutRecord: {
          load: () => untilAnswered("holdout plan", () => store.loadHoldoutPlan(runId), runOutage),
          save: async (json) => {
            await untilAnswered("holdout plan", () => store.saveHoldoutPlan(runId, json), runOutage);
          },
        },
      });
    } catch (err) {
      if (controller.signal.aborted) {
        // Lost lease or shutdown: leave the run as it is for the worker that picks the job up next.
        log.warn(
          { reason: userMessageOf(controller.signal.reason) },
          "run interrupted; another worker will continue it",
        );
        throw err;
      }
      // The Search emitted run.failed already, unless the failure was in emitting the final events: make sure
      // the run does not stay "running" for ever.
      log.error({ err }, "run failed");
      const now = await store.getRun(runId);
      if (now && !TERMINAL_STATUSES.includes(now.status)) {
        await store
          .transition(runId, ["queued", "running", "paused"], "failed", { error: userMessageOf(err) })
          .catch(() => undefined);
      }
    } finally {
      leaseSignal.removeEventListener("abort", onLeaseLost);
      this.active.delete(runId);
    }
  }

  /** queued -> running; also done when an earlier attempt went through and only its answer was lost. */
  private async markRunning(runId: string): Promise<RunRecord> {
    try {
      return await this.opts.store.transition(runId, ["queued"], "running");
    } catch (err) {
      if (err instanceof IllegalTransitionError && err.current === "running") return this.opts.store.requireRun(runId);
      throw err;
    }
  }

  /** Downloads and unpacks the run's data once; a resumed run reuses what is there. */
  private async prepareData(run: RunRecord, runDir: string, inputDir: string, signal: AbortSignal): Promise<void> {
    if (existsSync(join(runDir, DATA_READY))) return;
    await rm(inputDir, { recursive: true, force: true });
    await mkdir(inputDir, { recursive: true });
    const links = run.links.filter((l) => /^https?:\/\//i.test(l));
    const localDirs = run.links.filter((l) => l.startsWith("/") && existsSync(l) && statSync(l).isDirectory());
    const localFiles = run.links.filter((l) => l.startsWith("/") && existsSync(l) && statSync(l).isFile());
    const missing = run.links.filter((l) => l.startsWith("/") && !existsSync(l));
    if (missing.length) throw new DataError(`Data not found on the runner's machine: ${missing.join(", ")}`);
    for (const dir of localDirs)
      await cp(dir, inputDir, {
        recursive: true,
        dereference: false,
        verbatimSymlinks: true,
        filter: (src) => !statSync(src).isSymbolicLink(),
      });
    const d = this.opts.config.data;
    if (links.length || localFiles.length) {
      await fetchDatasets(links, inputDir, {
        download: {
          maxBytes: d.maxDownloadMb * 1024 * 1024,
          timeoutMs: d.downloadTimeoutSec * 1000,
          maxRedirects: d.maxRedirects,
          allowPrivateHosts: d.allowPrivateHosts,
          allowedAddresses: d.allowedAddresses,
        },
        unpack: { maxFiles: d.maxFiles, maxTotalBytes: d.maxUnpackedMb * 1024 * 1024 },
        localFiles,
        headersFor: this.opts.headersFor,
        logger: this.opts.logger,
        signal,
      });
    }
    await writeFile(join(runDir, DATA_READY), new Date().toISOString());
  }

  /** Keeps the best node's submission in MongoDB, so `aide export` and the bots can deliver it from anywhere. */
  private async saveSubmission(
    runDir: string,
    runId: string,
    node: Pick<SolutionNode, "id" | "submissionPath">,
    replace = false,
  ): Promise<void> {
    if (!node.submissionPath) return;
    const file = join(runDir, node.submissionPath);
    if (!existsSync(file)) {
      // A best announced again on resume, recorded by a worker on another machine: its files stayed there.
      this.opts.logger.warn(
        { runId, nodeId: node.id, file },
        "the best node's submission is not on this machine; not stored",
      );
      return;
    }
    await this.opts.store.saveSubmission(runId, node.id, file, { replace });
  }
}
