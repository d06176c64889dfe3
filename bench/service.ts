import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { silentLogger } from "../src/logger.ts";
import { EventConsumer, publishEvent } from "../src/queue/events.ts";
import { startRedisServer } from "../src/services/redis-server.ts";
import type { Executor, SolutionNode } from "../src/search/types.ts";
import { InstantCoder, median, perStepMs } from "./overhead.ts";
import { loadConfig } from "../src/config.ts";
import { executeRun } from "../src/runs/execute.ts";

const SLEEP_SCRIPT = (sec: number) => `import time
time.sleep(${sec})
open("./working/submission.csv", "w").write("id,y\\n1,0\\n")
print('AIDE_METRIC {"name": "score", "value": 1, "lower_is_better": false}')
`;

/** Steps per minute of a whole search whose scripts each sleep `sleepSec`, at a given parallelism. */
export async function stepsPerMinute(
  executor: Executor,
  parallel: number,
  steps: number,
  sleepSec: number,
): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "aide-bench-parallel-"));
  await mkdir(join(dir, "input"));
  await writeFile(join(dir, "input", "sample_submission.csv"), "id,y\n1,0\n");
  const config = loadConfig({ env: {}, overrides: { search: { steps, parallel } } });
  const t = performance.now();
  await executeRun({
    runId: `bench-parallel-${parallel}`,
    task: "Predict y.",
    inputDir: join(dir, "input"),
    runDir: join(dir, "run"),
    config,
    coder: new InstantCoder(SLEEP_SCRIPT(sleepSec)),
    executor,
    sink: { nodeFinished: async () => {}, event: async () => {} },
    logger: silentLogger,
  });
  return steps / ((performance.now() - t) / 60_000);
}

/** Per-step overhead of an executor with a trivial script, reusing the overhead benchmark's search. */
export const executorStepMs = (executor: Executor) => perStepMs(executor, 15);

function fakeNode(id: number): SolutionNode {
  return {
    id,
    parentId: null,
    step: id,
    stage: "draft",
    plan: "p",
    code: "print(1)\n".repeat(40),
    metric: { name: "auc", value: 0.5 + id / 1e4, lowerIsBetter: false },
    buggy: false,
    analysis: "a",
    execTimeMs: 1,
    exitCode: 0,
    timedOut: false,
    killed: false,
    output: "x".repeat(2000),
    submissionOk: true,
    submissionPath: null,
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    coder: "bench",
    createdAt: "",
    finishedAt: "",
  };
}

/** Latency from publishing a best.improved event to a consumer group's handler receiving it. */
export async function eventLatency(n: number): Promise<{ medianMs: number; p95Ms: number }> {
  const dir = await mkdtemp(join(tmpdir(), "aide-bench-redis-"));
  const server = await startRedisServer({ dir });
  const pub = new Redis(server.url);
  const sub = new Redis(server.url, { maxRetriesPerRequest: null });
  const latencies: number[] = [];
  const sentAt = new Map<string, number>();
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  const consumer = new EventConsumer({
    redis: sub,
    group: "bench",
    consumer: "bench-1",
    logger: silentLogger,
    startId: "$",
    blockMs: 1000,
  });
  await consumer.start(async (e) => {
    const t0 = sentAt.get(e.id);
    if (t0 !== undefined) latencies.push(performance.now() - t0);
    if (latencies.length === n) resolveAll();
  });
  for (let i = 0; i < n; i++) {
    const id = `bench:best.improved:${i}`;
    sentAt.set(id, performance.now());
    await publishEvent(pub, {
      type: "best.improved",
      runId: "bench",
      at: new Date().toISOString(),
      node: fakeNode(i),
      previous: null,
      id,
    });
    await new Promise((r) => setTimeout(r, 5));
  }
  await all;
  await consumer.stop();
  pub.disconnect();
  sub.disconnect();
  await server.stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  return { medianMs: median(latencies), p95Ms: sorted[Math.floor(sorted.length * 0.95)]! };
}
