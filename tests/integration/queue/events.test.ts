import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import {
  EVENTS_STREAM,
  EventConsumer,
  eventIdFor,
  followEvents,
  publishEvent,
  readEvents,
  type EventConsumerOptions,
  type EventEntry,
  type StoredRunEvent,
} from "../../../src/queue/events.ts";
import type { RunEvent } from "../../../src/search/types.ts";
import { useRedisServer } from "../../support/redis.ts";
import { delay, waitFor } from "./helpers.ts";

const r = useRedisServer();
const consumers: EventConsumer[] = [];
afterEach(async () => {
  for (const c of consumers.splice(0)) await c.stop();
});

function consumer(opts: Partial<EventConsumerOptions> & { group: string; consumer: string }): EventConsumer {
  const c = new EventConsumer({ redis: r.redis, logger: silentLogger, blockMs: 200, ...opts });
  consumers.push(c);
  return c;
}

const at = "2024-01-01T00:00:00.000Z";
function stepStarted(runId: string, nodeId: number): StoredRunEvent {
  const e: RunEvent = { type: "step.started", runId, at, nodeId, action: { kind: "draft" } };
  return { ...e, id: eventIdFor(e) };
}

describe("publishEvent", () => {
  it("adds an event id once to the global and the run's stream", async () => {
    const e = stepStarted("run-1", 0);
    expect(e.id).toBe("run-1:step.started:0");
    const first = await publishEvent(r.redis, e);
    expect(first.published).toBe(true);
    expect(first.entryId).toMatch(/^\d+-\d+$/);
    const second = await publishEvent(r.redis, { ...e, at: "2024-01-02T00:00:00.000Z" }); // a resumed worker re-emits
    expect(second).toEqual({ published: false, entryId: null, runEntryId: null });
    expect(await r.redis.xlen(EVENTS_STREAM)).toBe(1);
    expect(await r.redis.xlen("aide:events:run-1")).toBe(1);
    expect(await r.redis.ttl("aide:events:run-1")).toBeGreaterThan(0);
    const events = await readEvents(r.redis, "run-1");
    expect(events.map((x) => x.event)).toEqual([e]);
  });

  it("readEvents returns the last events oldest first, and pages from an entry id", async () => {
    for (let i = 0; i < 5; i++) await publishEvent(r.redis, stepStarted("run-2", i));
    await publishEvent(r.redis, stepStarted("run-other", 0));
    const last3 = await readEvents(r.redis, "run-2", undefined, 3);
    expect(last3.map((x) => (x.event as { nodeId: number }).nodeId)).toEqual([2, 3, 4]);
    const all = await readEvents(r.redis, "run-2", "0", 100);
    expect(all).toHaveLength(5);
    const after = await readEvents(r.redis, "run-2", all[1]!.entryId, 2);
    expect(after.map((x) => (x.event as { nodeId: number }).nodeId)).toEqual([2, 3]);
  });
});

describe("EventConsumer", () => {
  it("handles and acks each event; two groups each see every event", async () => {
    const slack: string[] = [];
    const discord: string[] = [];
    await consumer({ group: "slack", consumer: "s1" }).start(async (e) => void slack.push(e.id));
    await consumer({ group: "discord", consumer: "d1" }).start(async (e) => void discord.push(e.id));
    for (let i = 0; i < 4; i++) await publishEvent(r.redis, stepStarted("run-3", i));
    await waitFor(() => slack.length === 4 && discord.length === 4, 5_000, "both groups");
    expect(slack).toEqual([
      "run-3:step.started:0",
      "run-3:step.started:1",
      "run-3:step.started:2",
      "run-3:step.started:3",
    ]);
    expect(discord).toEqual(slack);
    await waitFor(
      async () => (await pendingCount("slack")) === 0 && (await pendingCount("discord")) === 0,
      5_000,
      "acked",
    );
    expect(await r.redis.exists("aide:handled:slack:run-3:step.started:0")).toBe(1);
  });

  it("two consumers of one group share the events; each event is handled once", async () => {
    const seen: string[] = [];
    await consumer({ group: "slack", consumer: "a" }).start(async (e) => void seen.push(e.id));
    await consumer({ group: "slack", consumer: "b" }).start(async (e) => void seen.push(e.id));
    for (let i = 0; i < 20; i++) await publishEvent(r.redis, stepStarted("run-4", i));
    await waitFor(() => seen.length >= 20, 5_000, "all events");
    await delay(300);
    expect(seen).toHaveLength(20);
    expect(new Set(seen).size).toBe(20);
  });

  it("a handler that throws leaves the entry pending; it is redelivered by XAUTOCLAIM and handled once", async () => {
    let attempts = 0;
    const effects: string[] = [];
    await consumer({ group: "slack", consumer: "s1", claimIdleMs: 300, claimIntervalMs: 100 }).start(
      async (e, meta) => {
        attempts++;
        if (attempts === 1) {
          expect(meta.redelivered).toBe(false);
          throw new Error("Slack said 500");
        }
        expect(meta.redelivered).toBe(true);
        effects.push(e.id);
      },
    );
    await publishEvent(r.redis, stepStarted("run-5", 0));
    await waitFor(() => attempts === 1, 5_000, "first attempt");
    expect(await pendingCount("slack")).toBe(1);
    await waitFor(() => effects.length === 1, 5_000, "redelivery");
    await waitFor(async () => (await pendingCount("slack")) === 0, 5_000, "acked");
    await delay(500);
    expect(effects).toEqual(["run-5:step.started:0"]);
    expect(attempts).toBe(2);
  });

  it("after a restart with the same consumer name, its pending entries are redelivered at once", async () => {
    const first = consumer({ group: "slack", consumer: "s1" });
    let fail = true;
    const effects: string[] = [];
    await first.start(async (e) => {
      if (fail) throw new Error("down");
      effects.push(e.id);
    });
    await publishEvent(r.redis, stepStarted("run-6", 0));
    await waitFor(async () => (await pendingCount("slack")) === 1, 5_000, "pending");
    await first.stop();
    fail = false;
    await consumer({ group: "slack", consumer: "s1" }).start(async (e, meta) => {
      expect(meta.redelivered).toBe(true);
      effects.push(e.id);
    });
    await waitFor(() => effects.length === 1, 5_000, "handled after restart");
    await waitFor(async () => (await pendingCount("slack")) === 0, 5_000, "acked");
    expect(effects).toEqual(["run-6:step.started:0"]);
  });

  it("entries of a dead consumer are claimed; one already marked handled is skipped and acked", async () => {
    await r.redis.xgroup("CREATE", EVENTS_STREAM, "slack", "$", "MKSTREAM");
    const a = stepStarted("run-7", 0);
    const b = stepStarted("run-7", 1);
    await publishEvent(r.redis, a);
    await publishEvent(r.redis, b);
    // A consumer that read both, posted `a` and marked it, then died before acking either.
    await r.redis.xreadgroup("GROUP", "slack", "dead", "COUNT", 10, "STREAMS", EVENTS_STREAM, ">");
    await r.redis.set(`aide:handled:slack:${a.id}`, "x");
    expect(await pendingCount("slack")).toBe(2);

    const effects: string[] = [];
    await consumer({ group: "slack", consumer: "alive", claimIdleMs: 200, claimIntervalMs: 100 }).start(
      async (e) => void effects.push(e.id),
    );
    await waitFor(async () => (await pendingCount("slack")) === 0, 5_000, "claimed and acked");
    expect(effects).toEqual([b.id]);
  });

  it("does not handle an event that another consumer of the group is still handling", async () => {
    const e = stepStarted("run-8", 0);
    await r.redis.set(`aide:handling:slack:${e.id}`, "someone-else", "PX", 1_000);
    const effects: string[] = [];
    await consumer({ group: "slack", consumer: "c", claimIdleMs: 200, claimIntervalMs: 100 }).start(
      async (x) => void effects.push(x.id),
    );
    await publishEvent(r.redis, e);
    await delay(600);
    expect(effects).toEqual([]); // left pending while the other handles it
    await waitFor(() => effects.length === 1, 5_000, "handled once the other consumer's lock lapsed");
    expect(effects).toEqual([e.id]);
  });

  it("gives up on an event after maxAttempts failures (logged, acked)", async () => {
    let attempts = 0;
    await consumer({ group: "slack", consumer: "c", claimIdleMs: 100, claimIntervalMs: 50, maxAttempts: 3 }).start(
      async () => {
        attempts++;
        throw new Error("channel deleted");
      },
    );
    await publishEvent(r.redis, stepStarted("run-9", 0));
    await waitFor(async () => attempts === 3 && (await pendingCount("slack")) === 0, 5_000, "given up");
    await delay(300);
    expect(attempts).toBe(3);
  });

  it("stop() ends a blocked read promptly", async () => {
    const c = consumer({ group: "slack", consumer: "c", blockMs: 10_000 });
    await c.start(async () => {});
    await delay(100);
    const t = Date.now();
    await c.stop();
    expect(Date.now() - t).toBeLessThan(1_000);
  });
});

describe("followEvents", () => {
  it("sees new events of its run only, from now, and stops on abort", async () => {
    await publishEvent(r.redis, stepStarted("run-f", 0)); // before following: not seen
    const got: EventEntry[] = [];
    const ac = new AbortController();
    const done = followEvents(r.redis, "run-f", (x) => void got.push(x), ac.signal, { blockMs: 200 });
    await delay(100);
    await publishEvent(r.redis, stepStarted("run-f", 1));
    await publishEvent(r.redis, stepStarted("run-g", 1));
    await publishEvent(r.redis, stepStarted("run-f", 2));
    await waitFor(() => got.length === 2, 5_000, "followed events");
    expect(got.map((x) => x.event.id)).toEqual(["run-f:step.started:1", "run-f:step.started:2"]);
    ac.abort();
    await done;
  });

  it("continues from an entry id and stops at a terminal event with `until`", async () => {
    const first = await publishEvent(r.redis, stepStarted("run-h", 0));
    await publishEvent(r.redis, stepStarted("run-h", 1));
    const got: string[] = [];
    const done = followEvents(r.redis, "run-h", (x) => void got.push(x.event.type), new AbortController().signal, {
      fromId: first.runEntryId!,
      until: (e) => e.type === "run.finished",
    });
    const fin: RunEvent = { type: "run.finished", runId: "run-h", at, best: null, reason: "steps" };
    await publishEvent(r.redis, { ...fin, id: eventIdFor(fin) });
    await done;
    expect(got).toEqual(["step.started", "run.finished"]);
  });
});

async function pendingCount(group: string): Promise<number> {
  const res = (await r.redis.xpending(EVENTS_STREAM, group)) as [number, ...unknown[]];
  return Number(res[0]);
}
