import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import {
  acquireRunLease,
  createRunQueue,
  createRunWorker,
  enqueueRun,
  holdRunLease,
  releaseRunLease,
  renewRunLease,
  requeueRunJob,
  runLeaseHolder,
  withRunLease,
  type RunQueue,
  type RunWorker,
} from "../../../src/queue/run-queue.ts";
import { useRedisServer } from "../../support/redis.ts";
import { delay, waitFor } from "./helpers.ts";

const r = useRedisServer();
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

function queue(): RunQueue {
  const q = createRunQueue(r.bullConnection());
  closers.push(() => q.close());
  return q;
}

function worker(...args: Parameters<typeof createRunWorker>): RunWorker {
  const w = createRunWorker(...args);
  closers.push(() => w.close(true));
  return w;
}

describe("run queue", () => {
  it("enqueueing a run twice makes one job (job id = run id)", async () => {
    const q = queue();
    expect(await enqueueRun(q, "run-a")).toEqual({ jobId: "run-a", created: true });
    const again = await enqueueRun(q, "run-a");
    expect(again.created).toBe(false);
    expect(again.state).toBe("waiting");
    expect(await q.getJobCounts("waiting", "active", "delayed")).toMatchObject({ waiting: 1, active: 0, delayed: 0 });
    // Racing enqueues (both may see no job yet) still make one job: BullMQ ignores an add with an existing id.
    await Promise.all([enqueueRun(q, "run-a2"), enqueueRun(q, "run-a2"), enqueueRun(q, "run-a2")]);
    expect((await q.getJobCounts("waiting")).waiting).toBe(2);
    const job = await q.getJob("run-a");
    expect(job?.data).toEqual({ runId: "run-a" });
    expect(job?.opts.attempts).toBeGreaterThan(1);
  });

  it("refuses run ids BullMQ or our keys cannot take", async () => {
    const q = queue();
    await expect(enqueueRun(q, "a:b")).rejects.toThrow(/Invalid run id/);
    await expect(enqueueRun(q, "123")).rejects.toThrow(/Invalid run id/);
  });

  it("a worker processes a run; a finished run is re-enqueued only on request", async () => {
    const q = queue();
    const seen: string[] = [];
    worker(async (job) => void seen.push(job.data.runId), { concurrency: 2, connection: r.bullConnection() });
    await enqueueRun(q, "run-b");
    await waitFor(async () => (await q.getJobState("run-b")) === "completed", 10_000, "completed");
    expect(seen).toEqual(["run-b"]);
    expect((await enqueueRun(q, "run-b")).created).toBe(false);
    await delay(200);
    expect(seen).toEqual(["run-b"]);
    expect((await enqueueRun(q, "run-b", { requeueFinished: true })).created).toBe(true);
    await waitFor(() => seen.length === 2, 10_000, "second processing");
  });

  it("a second worker does not get a run while the first holds it (lock renewed past lockDuration)", async () => {
    const q = queue();
    const calls: string[] = [];
    const opts = { concurrency: 1, connection: r.bullConnection(), lockDurationMs: 1_000, stalledIntervalMs: 300 };
    let release!: () => void;
    const running = new Promise<void>((res) => (release = res));
    worker(async () => {
      calls.push("A");
      await running;
    }, opts);
    await enqueueRun(q, "run-c");
    await waitFor(() => calls.length === 1, 10_000, "worker A took the job");
    worker(async () => void calls.push("B"), opts);
    await delay(3_500); // several lock durations and stalled checks
    expect(calls).toEqual(["A"]);
    expect(await q.getJobState("run-c")).toBe("active");
    release();
    await waitFor(async () => (await q.getJobState("run-c")) === "completed", 10_000, "completed");
    expect(calls).toEqual(["A"]);
  });

  it("a run whose worker is SIGKILLed is picked up by another worker after the lock expires, and completed once", async () => {
    const LOCK_MS = 2_000;
    const STALLED_MS = 1_000;
    const q = queue();
    const child = spawnChildWorker(r.url, { LOCK_MS, STALLED_MS, LEASE_MS: LOCK_MS });
    await child.line("READY");
    await enqueueRun(q, "run-d");
    await child.line("TOOK run-d");
    expect(await runLeaseHolder(r.redis, "run-d")).toBe("child");

    const parentCalls: string[] = [];
    worker(
      withRunLease(
        async (job, held) => {
          parentCalls.push(job.data.runId);
          expect(held.lease.workerId).toBe("parent");
          await r.redis.rpush("test:took:run-d", "parent");
        },
        { redis: r.redis, workerId: "parent", ttlMs: LOCK_MS, busyRetryMs: 300 },
      ),
      { concurrency: 1, connection: r.bullConnection(), lockDurationMs: LOCK_MS, stalledIntervalMs: STALLED_MS },
    );
    await delay(500);
    expect(parentCalls).toEqual([]); // the child still holds it

    const killedAt = Date.now();
    child.kill();
    await waitFor(async () => (await q.getJobState("run-d")) === "completed", 20_000, "recovered job completed");
    const recoveryMs = Date.now() - killedAt;
    expect(recoveryMs).toBeGreaterThanOrEqual(LOCK_MS - 500);
    expect(parentCalls).toEqual(["run-d"]);
    expect(await r.redis.lrange("test:took:run-d", 0, -1)).toEqual(["child", "parent"]);
    const job = await q.getJob("run-d");
    expect(job?.stalledCounter).toBe(1);
    expect(job?.finishedOn).toBeTruthy();
    expect(await runLeaseHolder(r.redis, "run-d")).toBe(null);
    await delay(500);
    expect(parentCalls).toEqual(["run-d"]);
  });

  it("withRunLease delays the job while another worker holds the run's lease", async () => {
    const q = queue();
    const foreign = await acquireRunLease(r.redis, "run-e", "elsewhere", 60_000);
    const calls: number[] = [];
    worker(
      withRunLease(async () => void calls.push(Date.now()), {
        redis: r.redis,
        workerId: "w1",
        ttlMs: 5_000,
        busyRetryMs: 300,
      }),
      { concurrency: 1, connection: r.bullConnection() },
    );
    await enqueueRun(q, "run-e");
    await waitFor(async () => (await q.getJobState("run-e")) === "delayed", 10_000, "delayed");
    await delay(800);
    expect(calls).toEqual([]);
    await releaseRunLease(r.redis, foreign!);
    await waitFor(async () => (await q.getJobState("run-e")) === "completed", 10_000, "completed");
    expect(calls).toHaveLength(1);
    const job = await q.getJob("run-e");
    expect(job?.attemptsMade).toBe(1);
  });
  it("requeueRunJob hands a run back at once (graceful shutdown) without a stall or a failed attempt", async () => {
    const q = queue();
    let calls = 0;
    worker(
      async (job, token) => {
        calls++;
        if (calls === 1) return requeueRunJob(job, token);
      },
      { concurrency: 1, connection: r.bullConnection(), lockDurationMs: 30_000 },
    );
    await enqueueRun(q, "run-g");
    await waitFor(async () => (await q.getJobState("run-g")) === "completed", 5_000, "completed after requeue");
    expect(calls).toBe(2);
    const job = await q.getJob("run-g");
    expect(job?.stalledCounter).toBe(0);
    expect(job?.failedReason).toBeFalsy();
  });
});

describe("run lease", () => {
  it("is exclusive (NX), renewable and releasable only by its owner, and expires", async () => {
    const redis: Redis = r.redis;
    const a = await acquireRunLease(redis, "run-l", "worker-a", 300);
    expect(a).not.toBeNull();
    expect(await acquireRunLease(redis, "run-l", "worker-b", 300)).toBeNull();
    expect(await runLeaseHolder(redis, "run-l")).toBe("worker-a");

    // A stranger (even one with the same worker id, e.g. a restarted process) cannot renew or release it.
    const stranger = { ...a!, token: "worker-a|other" };
    expect(await renewRunLease(redis, stranger, 10_000)).toBe(false);
    expect(await releaseRunLease(redis, stranger)).toBe(false);
    expect(await runLeaseHolder(redis, "run-l")).toBe("worker-a");

    expect(await renewRunLease(redis, a!, 600)).toBe(true);
    expect(await redis.pttl("aide:run-lease:run-l")).toBeGreaterThan(300);
    await delay(700);
    expect(await runLeaseHolder(redis, "run-l")).toBeNull(); // expired
    expect(await renewRunLease(redis, a!, 600)).toBe(false);

    const b = await acquireRunLease(redis, "run-l", "worker-b", 5_000);
    expect(b).not.toBeNull();
    expect(await releaseRunLease(redis, a!)).toBe(false); // the old owner cannot drop b's lease
    expect(await releaseRunLease(redis, b!)).toBe(true);
    expect(await runLeaseHolder(redis, "run-l")).toBeNull();
  });

  it("holdRunLease keeps it alive and aborts when it is taken away", async () => {
    const held = await holdRunLease(r.redis, "run-h", "w", { ttlMs: 300 });
    expect(held).not.toBeNull();
    await delay(800); // longer than the TTL: renewed in the background
    expect(await runLeaseHolder(r.redis, "run-h")).toBe("w");
    expect(held!.signal.aborted).toBe(false);
    await r.redis.set("aide:run-lease:run-h", "thief|x"); // someone else took it
    await waitFor(() => held!.signal.aborted, 2_000, "lease lost");
    await held!.release();
    expect(await runLeaseHolder(r.redis, "run-h")).toBe("thief"); // release did not delete the thief's lease
  });
});

function spawnChildWorker(url: string, env: Record<string, number>) {
  const script = fileURLToPath(new URL("./child-worker.ts", import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, REDIS_URL: url, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += String(d)));
  child.stderr!.on("data", (d) => (err += String(d)));
  closers.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return {
    pid: child.pid!,
    async line(text: string) {
      await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`child worker exited (${child.exitCode}): ${err}`);
          return out.split("\n").includes(text);
        },
        15_000,
        `child line ${text}`,
      );
    },
    kill() {
      process.kill(child.pid!, "SIGKILL");
    },
  };
}
