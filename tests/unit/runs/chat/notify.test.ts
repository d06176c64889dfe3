import { describe, expect, it } from "vitest";
import { NotifyThrottle, notifyKey } from "../../../../src/runs/chat/notify.ts";
import type { RunRecord } from "../../../../src/store/types.ts";
import { useRedisServer } from "../../../support/redis.ts";

const r = useRedisServer();

function run(followers: string[], id = "r0000abcd"): RunRecord {
  return { id, followers, origin: { platform: "slack", channel: "C1", thread: "1.1" } } as RunRecord;
}

describe("notify throttle", () => {
  it("mentions the followers at most once per interval per run, agreed across processes", async () => {
    const a = new NotifyThrottle({ redis: r.redis, intervalSec: 300 });
    const b = new NotifyThrottle({ redis: r.client(), intervalSec: 300 });
    expect(await a.mentionsForBest(run(["U1", "U2", "U1"]), "e1")).toEqual(["U1", "U2"]);
    // Another bot process, another new best within the interval: nobody is pinged.
    expect(await b.mentionsForBest(run(["U1", "U2"]), "e2")).toEqual([]);
    // A retry of the event that took the slot gets its mentions again.
    expect(await b.mentionsForBest(run(["U1", "U2"]), "e1")).toEqual(["U1", "U2"]);
    // Another run has its own slot.
    expect(await a.mentionsForBest(run(["U3"], "r0000beef"), "e3")).toEqual(["U3"]);
    const ttl = await r.redis.ttl(notifyKey("slack", "r0000abcd"));
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it("mentions again after the interval, always with interval 0, and never without followers", async () => {
    const t = new NotifyThrottle({ redis: r.redis, intervalSec: 1 });
    expect(await t.mentionsForBest(run(["U1"]), "e1")).toEqual(["U1"]);
    expect(await t.mentionsForBest(run(["U1"]), "e2")).toEqual([]);
    await new Promise((res) => setTimeout(res, 1100));
    expect(await t.mentionsForBest(run(["U1"]), "e3")).toEqual(["U1"]);
    const always = new NotifyThrottle({ redis: r.redis, intervalSec: 0 });
    expect(await always.mentionsForBest(run(["U1"]), "e4")).toEqual(["U1"]);
    expect(await always.mentionsForBest(run(["U1"]), "e5")).toEqual(["U1"]);
    expect(await t.mentionsForBest(run([]), "e6")).toEqual([]);
  });

  it("mentions every follower in the final summary, throttle or not", async () => {
    const t = new NotifyThrottle({ redis: r.redis, intervalSec: 300 });
    await t.mentionsForBest(run(["U1"]), "e1");
    expect(t.finalMentions(run(["U1", "U2"]))).toEqual(["U1", "U2"]);
  });
});
