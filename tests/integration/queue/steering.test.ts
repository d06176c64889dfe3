import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { signalSteer, SteerSignals } from "../../../src/queue/steering.ts";
import { useRedisServer } from "../../support/redis.ts";
import { delay } from "./helpers.ts";

const r = useRedisServer();
const open: SteerSignals[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function signals(pollMs = 2_000): SteerSignals {
  const s = new SteerSignals({ redis: r.redis, logger: silentLogger, pollMs });
  open.push(s);
  return s;
}

/** Resolves to the elapsed ms when `p` settles, or "pending" after `ms`. */
async function settlesWithin(p: Promise<void>, ms: number): Promise<number | "pending"> {
  const t = Date.now();
  return Promise.race([p.then(() => Date.now() - t), delay(ms).then(() => "pending" as const)]);
}

describe("steering signals", () => {
  it("a signal wakes a waiter via pub/sub and bumps the sequence", async () => {
    const s = signals(60_000); // no polling help: pub/sub alone
    expect(await s.seq("run-1")).toBe(0);
    const waiting = s.wait("run-1");
    expect(await settlesWithin(waiting, 200)).toBe("pending");
    expect(await signalSteer(r.redis, "run-1")).toBe(1);
    expect(await settlesWithin(waiting, 1_000)).not.toBe("pending");
    expect(await s.seq("run-1")).toBe(1);
  });

  it("a signal for another run does not wake the waiter", async () => {
    const s = signals(60_000);
    const waiting = s.wait("run-2");
    await delay(100);
    await signalSteer(r.redis, "run-3");
    expect(await settlesWithin(waiting, 300)).toBe("pending");
    await signalSteer(r.redis, "run-2");
    expect(await settlesWithin(waiting, 1_000)).not.toBe("pending");
  });

  it("a signal sent before wait (after the runner read the sequence) is not lost", async () => {
    const s = signals(60_000);
    const seen = await s.seq("run-4");
    await signalSteer(r.redis, "run-4"); // arrives while the runner reads MongoDB
    expect(await settlesWithin(s.wait("run-4", undefined, seen), 500)).not.toBe("pending");
  });

  it("a missed pub/sub message still wakes the waiter through the polled counter", async () => {
    const s = signals(100);
    const waiting = s.wait("run-5");
    await delay(100);
    await r.redis.incr("aide:steer-seq:run-5"); // counter moved, no message published
    expect(await settlesWithin(waiting, 1_000)).not.toBe("pending");
  });

  it("abort and close resolve waiters", async () => {
    const s = signals(60_000);
    const ac = new AbortController();
    const a = s.wait("run-6", ac.signal);
    const b = s.wait("run-7");
    await delay(50);
    ac.abort();
    expect(await settlesWithin(a, 500)).not.toBe("pending");
    expect(await settlesWithin(b, 100)).toBe("pending");
    await s.close();
    expect(await settlesWithin(b, 500)).not.toBe("pending");
  });

  it("many waiters on one run all wake, and later waits still work after unsubscribing", async () => {
    const s = signals(60_000);
    const ws = [s.wait("run-8"), s.wait("run-8"), s.wait("run-8")];
    await delay(100);
    await signalSteer(r.redis, "run-8");
    expect(await settlesWithin(Promise.all(ws).then(() => {}), 1_000)).not.toBe("pending");
    const again = s.wait("run-8");
    await delay(100);
    await signalSteer(r.redis, "run-8");
    expect(await settlesWithin(again, 1_000)).not.toBe("pending");
  });
});
