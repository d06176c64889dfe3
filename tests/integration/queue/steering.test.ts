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

function signals(): SteerSignals {
  const s = new SteerSignals({ redis: r.redis, logger: silentLogger });
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
    const s = signals();
    expect(await s.seq("run-1")).toBe(0);
    const waiting = s.wait("run-1");
    expect(await settlesWithin(waiting, 200)).toBe("pending");
    expect(await signalSteer(r.redis, "run-1")).toBe(1);
    expect(await settlesWithin(waiting, 1_000)).not.toBe("pending");
    expect(await s.seq("run-1")).toBe(1);
  });

  it("a signal for another run does not wake the waiter", async () => {
    const s = signals();
    const waiting = s.wait("run-2");
    await delay(100);
    await signalSteer(r.redis, "run-3");
    expect(await settlesWithin(waiting, 300)).toBe("pending");
    await signalSteer(r.redis, "run-2");
    expect(await settlesWithin(waiting, 1_000)).not.toBe("pending");
  });

  it("a signal sent before wait (after the runner read the sequence) is not lost", async () => {
    const s = signals();
    const seen = await s.seq("run-4");
    await signalSteer(r.redis, "run-4"); // arrives while the runner reads MongoDB
    expect(await settlesWithin(s.wait("run-4", undefined, seen), 500)).not.toBe("pending");
  });

  it("nothing polls: a counter that moves without a message does not wake the waiter", async () => {
    const s = signals();
    const waiting = s.wait("run-5");
    await delay(100);
    await r.redis.incr("aide:steer-seq:run-5"); // counter moved, no message published
    expect(await settlesWithin(waiting, 2_500)).toBe("pending");
    await signalSteer(r.redis, "run-5");
    expect(await settlesWithin(waiting, 1_000)).not.toBe("pending");
  });

  it("a message missed while the subscriber was disconnected wakes the waiter once it is back", async () => {
    const s = signals();
    const waiting = s.wait("run-9");
    await delay(100);
    // The message is lost (it is never published); only the counter moved, then the subscriber reconnects.
    await r.redis.incr("aide:steer-seq:run-9");
    await r.redis.call("CLIENT", "KILL", "TYPE", "pubsub");
    expect(await settlesWithin(waiting, 5_000)).not.toBe("pending");
  });

  it("abort and close resolve waiters", async () => {
    const s = signals();
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
    const s = signals();
    const ws = [s.wait("run-8"), s.wait("run-8"), s.wait("run-8")];
    await delay(100);
    await signalSteer(r.redis, "run-8");
    expect(
      await settlesWithin(
        Promise.all(ws).then(() => {}),
        1_000,
      ),
    ).not.toBe("pending");
    const again = s.wait("run-8");
    await delay(100);
    await signalSteer(r.redis, "run-8");
    expect(await settlesWithin(again, 1_000)).not.toBe("pending");
  });
});
