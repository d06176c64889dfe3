/**
 * The Slack surface on the shared delivery (src/runs/chat/delivery.ts), against the fake Web API over real HTTP
 * with the bot's own client options (one attempt per call, 429s handed back): Slack's Retry-After becomes the
 * delivery's wait, posts of a channel keep their order through a 429, rapid edits are coalesced, and what fails
 * for good is a DeliveryError with a code.
 */
import { webApi } from "@slack/bolt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slackClientOptions } from "../../../bots/slack/client.ts";
import { SlackSurface } from "../../../bots/slack/surface.ts";
import { silentLogger } from "../../../src/logger.ts";
import { DeliveryError, type RetryInfo } from "../../../src/runs/chat/delivery.ts";
import type { ChatMessage, ThreadRef } from "../../../src/runs/chat/types.ts";
import { startFakeSlackApi, type FakeSlackApi } from "../../fakes/slack-api.ts";

let fake: FakeSlackApi;
let surface: SlackSurface;
const retries: RetryInfo[] = [];

const text = (t: string): ChatMessage => ({ text: t, blocks: [{ kind: "text", text: t }] });

beforeAll(async () => {
  fake = await startFakeSlackApi({ botToken: "xoxb-surface-test" });
  const client = new webApi.WebClient(
    "xoxb-surface-test",
    slackClientOptions({ apiUrl: fake.apiUrl, logger: silentLogger }),
  );
  surface = new SlackSurface({
    client,
    logger: silentLogger,
    editIntervalMs: 300,
    retry: { retries: 2, minDelayMs: 50, maxDelayMs: 100 },
    onRetry: (r) => retries.push(r),
  });
});

afterAll(async () => {
  await surface?.close();
  await fake?.close();
});

describe("SlackSurface on the shared delivery", () => {
  it("waits Slack's Retry-After after a 429 and keeps the channel's posts in order", async () => {
    retries.length = 0;
    const where: ThreadRef = { platform: "slack", channel: "CORDER", thread: null };
    const root = await surface.post(where, text("root"));
    const thread: ThreadRef = { ...where, thread: root.messageId };
    const limited = fake.fail({ methods: ["chat.postMessage"], times: 1, kind: "rate_limited", retryAfterSec: 1 });
    const t0 = Date.now();
    await Promise.all(["one", "two", "three"].map((t) => surface.post(thread, text(t))));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(limited.used).toBe(1);
    expect(fake.thread("CORDER", root.messageId).map((m) => m.text)).toEqual(["one", "two", "three"]);
    expect(retries).toEqual([expect.objectContaining({ what: "message", attempt: 1, delayMs: 1000 })]);
    expect(fake.callsOf("chat.postMessage").filter((c) => c.status === 429)).toHaveLength(1);
  });

  it("retries a 500 with backoff, then gives up with code unavailable", async () => {
    retries.length = 0;
    const where: ThreadRef = { platform: "slack", channel: "CDOWN", thread: null };
    fake.fail({ methods: ["chat.postMessage"], times: 1, kind: "http", status: 500 });
    await surface.post(where, text("after one 500"));
    expect(retries.map((r) => r.failure.retryable)).toEqual([true]);
    expect(fake.messages.filter((m) => m.channel === "CDOWN").map((m) => m.text)).toEqual(["after one 500"]);

    const down = fake.fail({ methods: ["chat.postMessage"], times: 3, kind: "http", status: 503 });
    const err = await surface.post(where, text("never")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ code: "unavailable", attempts: 3 });
    expect(down.used).toBe(3);
  });

  it("does not retry an ok:false answer: code rejected, with Slack's error", async () => {
    const where: ThreadRef = { platform: "slack", channel: "CREFUSED", thread: null };
    const refused = fake.fail({ methods: ["chat.postMessage"], times: 1, kind: "error", error: "not_in_channel" });
    const err = (await surface.post(where, text("refused")).catch((e: unknown) => e)) as DeliveryError;
    expect(err).toMatchObject({ code: "rejected", attempts: 1 });
    expect(err.message).toContain("not_in_channel");
    expect(refused.used).toBe(1);
  });

  it("coalesces rapid edits through the delivery: one per interval, the latest content wins, a 429 retried", async () => {
    const ref = await surface.post({ platform: "slack", channel: "CEDIT", thread: null }, text("card 0"));
    fake.fail({ methods: ["chat.update"], times: 1, kind: "rate_limited", retryAfterSec: 1 });
    await surface.edit(ref, text("card 1"));
    for (let i = 2; i <= 9; i++) await surface.edit(ref, text(`card ${i}`));
    await surface.flush();
    const msg = fake.message("CEDIT", ref.messageId)!;
    expect(msg.text).toBe("card 9");
    expect([...msg.history.map((h) => h.text), msg.text]).toEqual(["card 0", "card 1", "card 9"]);
    expect(msg.updatedAt[1]! - msg.updatedAt[0]!).toBeGreaterThanOrEqual(290);
  });
});
