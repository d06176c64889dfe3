/**
 * The BullMQ queue of runs. One job per run (job id = run id); the job carries only the run id, the run's
 * details live in MongoDB.
 *
 * Crash recovery: a worker that dies (SIGKILL, OOM, lost host) stops renewing its job lock. Once the lock has
 * expired, the next stalled check of any live worker moves the job back to `wait` and another worker takes it;
 * it reloads the journal from MongoDB and continues. A job can be recovered this way `maxStalledCount` times
 * before BullMQ fails it ("job stalled more than allowable limit"). Note that stalled recoveries do not consume
 * `attempts`; `attempts` only count errors thrown by the processor.
 *
 * Exclusivity: BullMQ's lock (renewed every lockDuration/2) keeps a job on one worker. Because a lock can be
 * lost while its worker still runs (event loop blocked longer than lockDuration, Redis unreachable), the
 * runner also holds a run lease (`withRunLease`) so two workers never execute the same run at once.
 */
import { randomUUID } from "node:crypto";
import { DelayedError, Queue, Worker, type ConnectionOptions, type Job, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import { AideError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { assertRunId, keys, RUN_QUEUE_NAME } from "./keys.ts";
import { LuaScript } from "./script.ts";

export { RUN_QUEUE_NAME };

export interface RunJobData {
  runId: string;
}

export type RunJob = Job<RunJobData, void, "run">;
export type RunProcessor = (job: RunJob, token?: string) => Promise<void>;
export type RunQueue = Queue<RunJobData, void, "run">;
export type RunWorker = Worker<RunJobData, void, "run">;

/** BullMQ connection options for a Redis URL (BullMQ wants `maxRetriesPerRequest: null`). */
export function bullConnection(url: string): ConnectionOptions {
  return { url, maxRetriesPerRequest: null };
}

/**
 * Job options for runs. `attempts` covers errors thrown by the processor (e.g. MongoDB briefly unreachable);
 * crashes are covered by the workers' `maxStalledCount`. Finished jobs are kept for a while (bounded) so a
 * second enqueue of a finished run stays a no-op and `aide status` can show the job's state.
 */
export const RUN_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: "exponential", delay: 10_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 1_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 5_000 },
};

/**
 * Stalled-job timing for production. A SIGKILLed worker's run is picked up again after its lock expires
 * (<= lockDuration) plus up to two stalled checks (a job is first marked, then moved on the next check):
 * about 60-120 s. The lock is renewed every 30 s, so a pause (GC, a slow Redis, a blocked event loop) has to
 * exceed a minute before a live worker loses its run. Ten recoveries per run before BullMQ gives up.
 */
export const RUN_WORKER_DEFAULTS = {
  lockDurationMs: 60_000,
  stalledIntervalMs: 30_000,
  maxStalledCount: 10,
} as const;

export function createRunQueue(
  connection: ConnectionOptions,
  opts: { logger?: Logger; jobOptions?: JobsOptions } = {},
): RunQueue {
  const queue = new Queue<RunJobData, void, "run">(RUN_QUEUE_NAME, {
    connection,
    defaultJobOptions: { ...RUN_JOB_OPTIONS, ...opts.jobOptions },
  });
  queue.on("error", (err) => opts.logger?.error({ err }, "run queue: redis error"));
  return queue;
}

export interface EnqueueResult {
  jobId: string;
  /** False when a job for this run already existed (advisory: two racing enqueues may both say true, but only one job exists). */
  created: boolean;
  /** The state of the existing job when `created` is false. */
  state?: string;
}

/**
 * Enqueues a run. Job id = run id, so enqueueing a run that already has a job is a no-op. A run whose job is
 * completed or failed (and still kept) is only enqueued again with `requeueFinished: true` (e.g. `more` after
 * the run finished, or a manual resume of a failed run).
 */
export async function enqueueRun(
  queue: RunQueue,
  runId: string,
  opts: { requeueFinished?: boolean; jobOptions?: JobsOptions } = {},
): Promise<EnqueueResult> {
  assertRunId(runId);
  const existing = await queue.getJob(runId);
  if (existing) {
    const state = await existing.getState();
    const finished = state === "completed" || state === "failed";
    if (!(finished && opts.requeueFinished)) return { jobId: runId, created: false, state };
    await existing.remove();
  }
  await queue.add("run", { runId }, { ...opts.jobOptions, jobId: runId });
  return { jobId: runId, created: true };
}

export interface RunWorkerOptions {
  concurrency: number;
  connection: ConnectionOptions;
  /** Default 60 s (RUN_WORKER_DEFAULTS). The lock is renewed every half of it. */
  lockDurationMs?: number;
  /** Default 30 s. */
  stalledIntervalMs?: number;
  /** Default 10. */
  maxStalledCount?: number;
  logger?: Logger;
  /** Start taking jobs immediately. Default true. */
  autorun?: boolean;
}

/** A BullMQ worker for runs, with stalled-job recovery tuned for long runs (see RUN_WORKER_DEFAULTS). */
export function createRunWorker(processor: RunProcessor, opts: RunWorkerOptions): RunWorker {
  const lockDuration = opts.lockDurationMs ?? RUN_WORKER_DEFAULTS.lockDurationMs;
  const worker = new Worker<RunJobData, void, "run">(RUN_QUEUE_NAME, processor, {
    connection: opts.connection,
    concurrency: opts.concurrency,
    lockDuration,
    lockRenewTime: Math.floor(lockDuration / 2),
    stalledInterval: opts.stalledIntervalMs ?? RUN_WORKER_DEFAULTS.stalledIntervalMs,
    maxStalledCount: opts.maxStalledCount ?? RUN_WORKER_DEFAULTS.maxStalledCount,
    autorun: opts.autorun ?? true,
  });
  const log = opts.logger;
  worker.on("error", (err) => log?.error({ err }, "run worker: error"));
  worker.on("stalled", (jobId) =>
    log?.warn({ runId: jobId }, "run worker: run stalled (its worker died or lost its lock); requeued"),
  );
  worker.on("failed", (job, err) =>
    log?.error({ runId: job?.id, err, attemptsMade: job?.attemptsMade }, "run worker: run job failed"),
  );
  return worker;
}

// ---------------------------------------------------------------------------------------------------------
// Run lease: SET NX PX with a per-acquisition token; renew and release only by the token's owner.

export interface RunLease {
  runId: string;
  workerId: string;
  key: string;
  /** `<workerId>|<uuid>`: unique per acquisition, so a restarted worker with the same id is still a stranger. */
  token: string;
}

const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`);

const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

export async function acquireRunLease(
  redis: Redis,
  runId: string,
  workerId: string,
  ttlMs: number,
): Promise<RunLease | null> {
  assertRunId(runId);
  if (!workerId || workerId.includes("|"))
    throw new AideError("queue", "Invalid worker id.", { detail: JSON.stringify(workerId) });
  const lease: RunLease = { runId, workerId, key: keys.runLease(runId), token: `${workerId}|${randomUUID()}` };
  const ok = await redis.set(lease.key, lease.token, "PX", Math.max(1, Math.floor(ttlMs)), "NX");
  return ok === "OK" ? lease : null;
}

/** Extends the lease to `ttlMs` from now; false when it is no longer ours (expired, or taken by another worker). */
export async function renewRunLease(redis: Redis, lease: RunLease, ttlMs: number): Promise<boolean> {
  const r = await RENEW.run(redis, [lease.key], [lease.token, Math.max(1, Math.floor(ttlMs))]);
  return r === 1;
}

/** Deletes the lease if it is still ours; false when it was not (nothing is deleted then). */
export async function releaseRunLease(redis: Redis, lease: RunLease): Promise<boolean> {
  const r = await RELEASE.run(redis, [lease.key], [lease.token]);
  return r === 1;
}

/** The worker id holding a run's lease, or null. */
export async function runLeaseHolder(redis: Redis, runId: string): Promise<string | null> {
  const token = await redis.get(keys.runLease(runId));
  return token ? token.slice(0, token.lastIndexOf("|")) : null;
}

export interface HeldRunLease {
  lease: RunLease;
  /** Aborted when the lease is lost (taken over, or not renewable for a whole TTL); the run must stop then. */
  signal: AbortSignal;
  /** Stops renewing and releases the lease (if still ours). */
  release(): Promise<void>;
}

/**
 * Acquires a run lease and keeps renewing it every `ttlMs / 3` until released. Returns null when another
 * worker holds it. If a renewal finds the lease gone, or renewals keep failing for a whole TTL, `signal`
 * aborts: someone else may be running the run now.
 */
export async function holdRunLease(
  redis: Redis,
  runId: string,
  workerId: string,
  opts: { ttlMs: number; logger?: Logger },
): Promise<HeldRunLease | null> {
  const lease = await acquireRunLease(redis, runId, workerId, opts.ttlMs);
  if (!lease) return null;
  const controller = new AbortController();
  let lastRenewed = Date.now();
  let released = false;
  const lost = (why: string) => {
    if (controller.signal.aborted) return;
    opts.logger?.error({ runId, workerId }, `run lease lost: ${why}`);
    clearInterval(timer);
    controller.abort(new AideError("queue", "This worker lost its claim on the run.", { detail: why }));
  };
  const timer = setInterval(
    () => {
      const started = Date.now();
      renewRunLease(redis, lease, opts.ttlMs).then(
        (ok) => {
          if (released) return;
          if (ok) lastRenewed = started;
          else lost("lease expired or taken by another worker");
        },
        (err) => {
          if (released) return;
          opts.logger?.warn({ err, runId }, "run lease: renewal failed");
          if (Date.now() - lastRenewed >= opts.ttlMs) lost("could not renew for a whole TTL");
        },
      );
    },
    Math.max(10, Math.floor(opts.ttlMs / 3)),
  );
  timer.unref();
  return {
    lease,
    signal: controller.signal,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await releaseRunLease(redis, lease);
    },
  };
}

/**
 * From inside the processor: puts the run's job back (delayed by `delayMs`, default 0 = at once) without
 * counting a failed attempt or a stall, and ends the processor. Use it for a graceful shutdown: stop the run
 * at a step boundary, then `return requeueRunJob(job, token)`; another worker continues it right away instead
 * of after lockDuration. `token` is the processor's second argument.
 */
export async function requeueRunJob(job: RunJob, token: string | undefined, delayMs = 0): Promise<never> {
  await job.moveToDelayed(Date.now() + delayMs, token);
  throw new DelayedError();
}

/**
 * Wraps a run processor with a run lease: the inner processor runs only while this worker holds
 * `aide:run-lease:<runId>`. When another worker holds it (a false stall: the old worker is still alive), the
 * job is put back as delayed for `busyRetryMs` without consuming an attempt, and tried again then.
 */
export function withRunLease(
  inner: (job: RunJob, held: HeldRunLease) => Promise<void>,
  opts: { redis: Redis; workerId: string; ttlMs: number; busyRetryMs?: number; logger?: Logger },
): RunProcessor {
  return async (job, token) => {
    const runId = job.data.runId;
    const held = await holdRunLease(opts.redis, runId, opts.workerId, { ttlMs: opts.ttlMs, logger: opts.logger });
    if (!held) {
      const holder = await runLeaseHolder(opts.redis, runId);
      opts.logger?.warn({ runId, holder }, "run is held by another worker; retrying later");
      return requeueRunJob(job, token, opts.busyRetryMs ?? opts.ttlMs);
    }
    try {
      await inner(job, held);
    } finally {
      await held.release().catch((err) => opts.logger?.warn({ err, runId }, "run lease: release failed"));
    }
  };
}
