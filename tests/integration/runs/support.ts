import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import * as tar from "tar";
import { loadConfig, type Config } from "../../../src/config.ts";
import { silentLogger } from "../../../src/logger.ts";
import { followEvents, type StoredRunEvent } from "../../../src/queue/events.ts";
import { bullConnection, createRunQueue, enqueueRun, type RunQueue } from "../../../src/queue/run-queue.ts";
import { RunService, type Actor } from "../../../src/runs/service.ts";
import type { Store } from "../../../src/store/index.ts";
import type { RunOptions } from "../../../src/store/types.ts";

export const EXAMPLES = join(import.meta.dirname, "../../../examples");

export const starter: Actor = { platform: "slack", userId: "U-START", displayName: "Ada" };
export const stranger: Actor = { platform: "slack", userId: "U-OTHER", displayName: "Bob" };

export function runnerConfig(over: Record<string, unknown> = {}): Config {
  return loadConfig({ env: {}, overrides: { data: { allowPrivateHosts: true }, ...over } });
}

/** A tar.gz of an example task's input folder, as a user would upload it. */
export async function exampleArchive(task: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), "aide-archive-"));
  const file = join(dir, `${task}.tar.gz`);
  await tar.c({ gzip: true, file, cwd: join(EXAMPLES, task) }, ["input"]);
  const { readFileSync } = await import("node:fs");
  return readFileSync(file);
}

export function options(over: Partial<RunOptions> = {}): RunOptions {
  return { steps: 6, parallel: 1, coder: "offline", metric: null, timeoutSec: 120, budgetUsd: null, ...over };
}

export function service(
  store: Store,
  redisUrl: string,
): { runs: RunService; redis: Redis; queue: RunQueue; close(): Promise<void> } {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = createRunQueue(bullConnection(redisUrl));
  const runs = new RunService({
    store,
    redis,
    enqueue: async (id) => void (await enqueueRun(queue, id)),
    logger: silentLogger,
  });
  return {
    runs,
    redis,
    queue,
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}

/** Collects a run's events until it finishes or fails (or the timeout passes), calling `onEvent` for each. */
export async function collectUntilEnd(
  redis: Redis,
  runId: string,
  timeoutMs: number,
  onEvent: (e: StoredRunEvent) => void | Promise<void> = () => {},
): Promise<StoredRunEvent[]> {
  const events: StoredRunEvent[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    await followEvents(
      redis,
      runId,
      async (entry) => {
        events.push(entry.event);
        await onEvent(entry.event);
      },
      controller.signal,
      { fromId: "0", until: (e) => e.type === "run.finished" || e.type === "run.failed" },
    );
  } finally {
    clearTimeout(timer);
  }
  return events;
}
