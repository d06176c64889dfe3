/**
 * A run worker in its own process, for the SIGKILL test. Takes one run job, holds the run lease, records that it
 * took the job (Redis list `test:took:<runId>` and a line `TOOK <runId>` on stdout), then hangs until killed.
 * Env: REDIS_URL, LOCK_MS, STALLED_MS, LEASE_MS.
 */
import { Redis } from "ioredis";
import { bullConnection, createRunWorker, withRunLease } from "../../../src/queue/run-queue.ts";

const url = process.env.REDIS_URL!;
const redis = new Redis(url, { maxRetriesPerRequest: null });
const worker = createRunWorker(
  withRunLease(
    async (job) => {
      await redis.rpush(`test:took:${job.data.runId}`, "child");
      process.stdout.write(`TOOK ${job.data.runId}\n`);
      await new Promise(() => {}); // a long run, until SIGKILL
    },
    { redis, workerId: "child", ttlMs: Number(process.env.LEASE_MS) },
  ),
  {
    concurrency: 1,
    connection: bullConnection(url),
    lockDurationMs: Number(process.env.LOCK_MS),
    stalledIntervalMs: Number(process.env.STALLED_MS),
  },
);
worker.on("ready", () => process.stdout.write("READY\n"));
