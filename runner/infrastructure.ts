/**
 * Outages of the service's own infrastructure are not the run's fault: MongoDB dropping its connections or
 * restarting, the Docker daemon restarting under a running script. A run must neither fail nor lose anything for
 * them; it waits until the part answers again and carries on.
 *
 * - `isInfrastructureFailure(err)`: a dropped or refused connection somewhere in the error's cause chain, or one
 *   of the MongoDB driver's errors for an unreachable server.
 * - `untilAnswered(what, op, ...)`: repeats an idempotent operation (every Store write the runner makes is one:
 *   upserts on `_id`, `$set`, status changes filtered on the status) while it fails that way.
 * - `OutageTolerantExecutor`: runs a script again, from a clean working directory, when its execution failed
 *   because the container engine went away (for at most `maxWaitMs`, then the error stands and the run fails
 *   with its message).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../src/logger.ts";
import type { ExecutionResult, Executor, RunScope, ScriptJob } from "../src/search/types.ts";
import { abortReason, sleep } from "../src/util/sleep.ts";

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTCONN",
  "EAI_AGAIN",
]);
const MONGO_OUTAGE_NAMES = new Set([
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoServerSelectionError",
  "MongooseServerSelectionError",
  "MongoPoolClearedError",
  "MongoNotConnectedError",
]);
const OUTAGE_MESSAGE = new RegExp(
  [
    "socket hang up",
    "buffering timed out",
    "connection (?:is )?closed",
    "connection .* (?:closed|reset)",
    "not reachable",
    "Client network socket disconnected",
    // A Docker daemon shutting down still answers for a moment, with HTTP 500s from its containerd client.
    "client connection is closing",
    "transport is closing",
    "daemon is shutting down",
  ].join("|"),
  "i",
);

/** True when the error (or any error it was caused by) is a lost or refused connection to a service. */
export function isInfrastructureFailure(err: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === "object" && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const { name, code, message, errorLabels } = e as {
      name?: string;
      code?: unknown;
      message?: string;
      errorLabels?: unknown;
    };
    if (name === "AbortError") return false;
    if (name && MONGO_OUTAGE_NAMES.has(name)) return true;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    if (Array.isArray(errorLabels) && errorLabels.includes("ResetPool")) return true;
    if (typeof message === "string" && OUTAGE_MESSAGE.test(message)) return true;
  }
  return false;
}

export interface OutageOptions {
  logger: Logger;
  /** Stops waiting (rejects with its reason). */
  signal?: AbortSignal;
  /** Give up (rethrow the last error) after this long. Default: never. */
  maxWaitMs?: number;
  /** First wait between attempts; doubles up to 10 s. Default 250 ms. */
  firstDelayMs?: number;
}

/**
 * Runs `op`, and again after a pause each time it fails with an infrastructure failure, until it succeeds, the
 * signal aborts or `maxWaitMs` has passed. Other errors are rethrown at once. `op` must be idempotent.
 */
export async function untilAnswered<T>(what: string, op: () => Promise<T>, opts: OutageOptions): Promise<T> {
  const started = Date.now();
  let delay = opts.firstDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (!isInfrastructureFailure(err)) throw err;
      if (opts.maxWaitMs !== undefined && Date.now() - started >= opts.maxWaitMs) throw err;
      if (attempt === 1 || attempt % 10 === 0) {
        opts.logger.warn(
          { what, attempt, reason: (err as Error).message },
          "a service is not answering; waiting for it",
        );
      }
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

/**
 * An executor that survives its engine going away mid-script (a Docker daemon restart kills the container): the
 * script runs again once the engine answers, from an empty working directory, so nothing of the interrupted run
 * is mistaken for the new one's output.
 */
export class OutageTolerantExecutor implements Executor {
  readonly name: string;
  readonly prepareRun?: (scope: RunScope) => Promise<void>;
  readonly releaseRun?: (scope: RunScope) => Promise<void>;

  constructor(
    private readonly inner: Executor,
    private readonly opts: { logger: Logger; maxWaitMs: number },
  ) {
    this.name = inner.name;
    if (inner.prepareRun) this.prepareRun = (scope) => inner.prepareRun!(scope);
    if (inner.releaseRun) this.releaseRun = (scope) => inner.releaseRun!(scope);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  async run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult> {
    let first = true;
    return untilAnswered(
      `script of node ${job.nodeId}`,
      async () => {
        if (!first) await rm(join(job.nodeDir, "working"), { recursive: true, force: true });
        first = false;
        return this.inner.run(job, signal);
      },
      { logger: this.opts.logger, signal, maxWaitMs: this.opts.maxWaitMs, firstDelayMs: 1000 },
    );
  }
}
