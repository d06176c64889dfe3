/**
 * The shared delivery of chat calls (src/runs/chat/delivery.ts) on its own, with a made-up platform whose
 * failures are plain objects: per-channel order, edit coalescing and pacing, retries that honour retry-after,
 * backoff, and giving up with a coded DeliveryError.
 */
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../../src/logger.ts";
import {
  Delivery,
  DeliveryError,
  retryDelayMs,
  tunedDelivery,
  type Failure,
  type RetryInfo,
  type DeliveryOptions,
} from "../../../../src/runs/chat/delivery.ts";

/** What the fake platform throws: `{ retryAfterMs }` for a 429, `{ down: true }` for a 5xx, `{ refused }` for a 4xx. */
type FakeError = { retryAfterMs?: number; down?: boolean; refused?: string };

function classify(err: unknown): Failure {
  const e = err as FakeError;
  if (e.refused) return { retryable: false, reason: e.refused };
  if (e.retryAfterMs !== undefined) return { retryable: true, retryAfterMs: e.retryAfterMs, reason: "rate limited" };
  return { retryable: Boolean(e.down), reason: e.down ? "server error" : "unknown" };
}

function delivery(over: Partial<DeliveryOptions> = {}): { d: Delivery; retries: RetryInfo[] } {
  const retries: RetryInfo[] = [];
  const d = new Delivery({
    platform: "Fake",
    logger: silentLogger,
    classify,
    limits: { editIntervalMs: 100 },
    retry: { retries: 3, minDelayMs: 20, maxDelayMs: 200, jitter: false },
    onRetry: (info) => retries.push(info),
    ...over,
  });
  return { d, retries };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A call that fails with the given errors first, then succeeds with `value`; records when each attempt started. */
function flaky<T>(errors: FakeError[], value: T): { call: () => Promise<T>; attempts: number[] } {
  const attempts: number[] = [];
  const t0 = Date.now();
  return {
    attempts,
    call: async () => {
      attempts.push(Date.now() - t0);
      const e = errors.shift();
      if (e) throw e;
      return value;
    },
  };
}

describe("per-channel order", () => {
  it("runs one channel's tasks one after another in the order queued, other channels alongside", async () => {
    const { d } = delivery();
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`${name}+`);
      await sleep(ms);
      log.push(`${name}-`);
      return name;
    };
    const results = await Promise.all([
      d.inOrder("A", task("a1", 60)),
      d.inOrder("A", task("a2", 5)),
      d.inOrder("B", task("b1", 10)),
      d.inOrder("A", task("a3", 5)),
    ]);
    expect(results).toEqual(["a1", "a2", "b1", "a3"]);
    const a = log.filter((l) => l.startsWith("a"));
    expect(a).toEqual(["a1+", "a1-", "a2+", "a2-", "a3+", "a3-"]);
    // B did not wait for A's slow first task.
    expect(log.indexOf("b1-")).toBeLessThan(log.indexOf("a1-"));
  });

  it("keeps the order when a call is rate limited and retried, and a failed task does not stop the queue", async () => {
    const { d, retries } = delivery();
    const order: string[] = [];
    const first = flaky([{ retryAfterMs: 80 }], "first");
    const p1 = d.inOrder("C", async () => order.push(await d.send("message", first.call, "C")));
    const p2 = d.inOrder("C", async () => {
      throw new Error("broken task");
    });
    const p3 = d.inOrder("C", async () => order.push(await d.send("message", async () => "third", "C")));
    await p1;
    await expect(p2).rejects.toThrow("broken task");
    await p3;
    expect(order).toEqual(["first", "third"]);
    expect(first.attempts).toHaveLength(2);
    expect(first.attempts[1]! - first.attempts[0]!).toBeGreaterThanOrEqual(75);
    expect(retries).toEqual([expect.objectContaining({ what: "message", attempt: 1, delayMs: 80 })]);
  });

  it("paces posts of a channel to its rate", async () => {
    const { d } = delivery({ limits: { editIntervalMs: 100, postsPerChannel: { max: 2, perMs: 200 } } });
    const t0 = Date.now();
    const at: number[] = [];
    await Promise.all(
      [1, 2, 3].map(() => d.inOrder("P", () => d.send("message", async () => at.push(Date.now() - t0), "P"))),
    );
    expect(at).toHaveLength(3);
    expect(at[1]!).toBeLessThan(100);
    expect(at[2]!).toBeGreaterThanOrEqual(190);
  });
});

describe("retries", () => {
  it("waits the platform's retry-after when it gives one, and backs off exponentially when it does not", async () => {
    const { d, retries } = delivery();
    const call = flaky([{ retryAfterMs: 120 }, { down: true }, { down: true }], "ok");
    expect(await d.send("message", call.call)).toBe("ok");
    expect(call.attempts).toHaveLength(4);
    expect(call.attempts[1]! - call.attempts[0]!).toBeGreaterThanOrEqual(115);
    expect(retries.map((r) => r.delayMs)).toEqual([120, 40, 80]);
    expect(retries.map((r) => r.failure.reason)).toEqual(["rate limited", "server error", "server error"]);
  });

  it("computes backoff within its bounds, jittered between 1 and 2 times", () => {
    const policy = {
      retries: 8,
      minDelayMs: 500,
      maxDelayMs: 30_000,
      factor: 2,
      jitter: false,
      maxRetryAfterMs: 60_000,
    };
    const down: Failure = { retryable: true, reason: "x" };
    expect([1, 2, 3, 4, 8, 20].map((n) => retryDelayMs(policy, down, n))).toEqual([
      500, 1000, 2000, 4000, 30_000, 30_000,
    ]);
    expect(retryDelayMs({ ...policy, jitter: true }, down, 2, () => 0.5)).toBe(1500);
    expect(retryDelayMs(policy, { retryable: true, retryAfterMs: 1234, reason: "429" }, 5)).toBe(1234);
  });

  it("gives up with a coded error: unavailable, rate_limited, rejected", async () => {
    const { d } = delivery();
    const down = flaky([{ down: true }, { down: true }, { down: true }, { down: true }, { down: true }], "never");
    const e1 = await d.send("message", down.call).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(DeliveryError);
    expect(e1).toMatchObject({ code: "unavailable", attempts: 4 });
    expect((e1 as DeliveryError).userMessage).toMatch(/Fake kept failing; the message was not sent after 4 attempts/);
    expect(down.attempts).toHaveLength(4);

    const limited = flaky(
      Array.from({ length: 5 }, () => ({ retryAfterMs: 5 })),
      "never",
    );
    await expect(d.send("edit", limited.call)).rejects.toMatchObject({ code: "rate_limited", attempts: 4 });

    const refused = flaky([{ refused: "channel_not_found" }], "never");
    const e3 = (await d.send("message", refused.call).catch((e: unknown) => e)) as DeliveryError;
    expect(e3).toMatchObject({ code: "rejected", attempts: 1 });
    expect(e3.message).toContain("channel_not_found");
    expect(refused.attempts).toHaveLength(1);
  });

  it("does not wait out a retry-after longer than the policy allows", async () => {
    const { d } = delivery({ retry: { retries: 3, maxRetryAfterMs: 1000 } });
    const call = flaky([{ retryAfterMs: 60_000 }], "never");
    const t0 = Date.now();
    await expect(d.send("message", call.call)).rejects.toMatchObject({ code: "rate_limited", attempts: 1 });
    expect(Date.now() - t0).toBeLessThan(500);
  });

  it("stops retrying when closed: the call ends as closed, at once", async () => {
    const { d } = delivery({ retry: { retries: 5, minDelayMs: 10_000, maxDelayMs: 10_000, jitter: false } });
    const call = flaky([{ down: true }, { down: true }], "never");
    const pending = d.send("message", call.call).catch((e: unknown) => e);
    await sleep(20);
    const t0 = Date.now();
    await d.close();
    expect(await pending).toMatchObject({ code: "closed" });
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(d.inOrder("A", async () => 1)).rejects.toMatchObject({ code: "closed" });
    await expect(d.edit("A", "m", async () => undefined)).rejects.toMatchObject({ code: "closed" });
  });
});

describe("edits", () => {
  it("sends at most one edit per interval per message; the latest content wins; the first is awaited", async () => {
    const { d } = delivery({ limits: { editIntervalMs: 150 } });
    const sent: Array<{ message: string; value: number; at: number }> = [];
    const t0 = Date.now();
    const edit = (message: string, value: number) =>
      d.edit("C", message, async () => {
        sent.push({ message, value, at: Date.now() - t0 });
        await sleep(10);
      });
    await edit("m1", 1);
    expect(sent).toHaveLength(1);
    for (let i = 2; i <= 20; i++) await edit("m1", i);
    await edit("m2", 100);
    await d.flush();
    expect(sent.filter((s) => s.message === "m1").map((s) => s.value)).toEqual([1, 20]);
    expect(sent.filter((s) => s.message === "m2").map((s) => s.value)).toEqual([100]);
    const m1 = sent.filter((s) => s.message === "m1");
    expect(m1[1]!.at - m1[0]!.at).toBeGreaterThanOrEqual(150);
  });

  it("keeps a channel's edit rate across its messages", async () => {
    const { d } = delivery({ limits: { editIntervalMs: 10, editsPerChannel: { max: 2, perMs: 300 } } });
    const t0 = Date.now();
    const at: Record<string, number> = {};
    for (const m of ["a", "b", "c"])
      await d.edit("C", m, async () => {
        at[m] = Date.now() - t0;
      });
    await d.flush();
    expect(at.a!).toBeLessThan(100);
    expect(at.b!).toBeLessThan(100);
    expect(at.c!).toBeGreaterThanOrEqual(290);
  });

  it("an edit that can go out now fails for its caller with a coded error after its retries", async () => {
    const { d } = delivery();
    const call = flaky(
      Array.from({ length: 4 }, () => ({ down: true })),
      undefined,
    );
    await expect(d.edit("C", "m", call.call)).rejects.toMatchObject({ code: "unavailable", attempts: 4 });
  });

  it("retries a parked edit after retry-after, with the newest content when newer content came meanwhile", async () => {
    const { d, retries } = delivery({ limits: { editIntervalMs: 50 } });
    const sent: string[] = [];
    let failNext = 0;
    const edit = (value: string) =>
      d.edit("C", "card", async () => {
        sent.push(value);
        if (failNext > 0) {
          failNext--;
          throw { retryAfterMs: 100 } satisfies FakeError;
        }
      });
    await edit("v1");
    failNext = 1;
    await edit("v2"); // parked: v1 just went out
    await sleep(80); // v2 fails (429)
    expect(sent).toEqual(["v1", "v2"]);
    expect(retries).toEqual([expect.objectContaining({ what: "edit", delayMs: 100 })]);
    await d.flush();
    expect(sent).toEqual(["v1", "v2", "v2"]);

    failNext = 1;
    await edit("v3"); // parked behind the interval, then fails
    await sleep(80);
    await edit("v4"); // newer content arrives while v3 waits for its retry
    await d.flush();
    expect(sent.slice(3)).toEqual(["v3", "v4"]);
  });

  it("gives a parked edit up after its retries and takes the next content fresh", async () => {
    const { d } = delivery({
      limits: { editIntervalMs: 10 },
      retry: { retries: 1, minDelayMs: 10, maxDelayMs: 10, jitter: false },
    });
    const sent: string[] = [];
    const failing = new Set(["v2"]);
    const edit = (value: string) =>
      d.edit("C", "card", async () => {
        sent.push(value);
        if (failing.has(value)) throw { down: true } satisfies FakeError;
      });
    await edit("v1");
    await edit("v2");
    await d.flush();
    expect(sent).toEqual(["v1", "v2", "v2"]);
    await edit("v3");
    await d.flush();
    expect(sent).toEqual(["v1", "v2", "v2", "v3"]);
  });

  it("close sends parked edits at once instead of waiting for their interval", async () => {
    const { d } = tuned();
    const sent: number[] = [];
    await d.edit("C", "m", async () => void sent.push(1));
    await d.edit("C", "m", async () => void sent.push(2));
    const t0 = Date.now();
    await d.close();
    expect(sent).toEqual([1, 2]);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

/** A Delivery with a long edit interval, as a surface builds it (platform limits + tuning). */
function tuned(): { d: Delivery } {
  return {
    d: tunedDelivery(
      { platform: "Fake", logger: silentLogger, classify, limits: { editIntervalMs: 10 } },
      { editIntervalMs: 60_000 },
    ),
  };
}
