/**
 * The Slack app's front door, without a runner: signatures and timestamps, redelivered events, malformed
 * commands, mentions with files, commands that answer at once. Runs started here stay queued.
 */
import { describe, expect, it } from "vitest";
import { messageText, STARTER, STRANGER, until, useSlackBot } from "./support.ts";

const h = useSlackBot();

function appMention(channel: string, text: string, extra: Record<string, unknown> = {}) {
  const ts = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
  return { type: "app_mention", user: STARTER.id, text, ts, channel, event_ts: ts, ...extra };
}

describe("slack requests", () => {
  it("refuses a bad signature and a stale timestamp with 401, and nothing happens", async () => {
    const before = h.fake.calls.length;
    const bad = await h.sender.command(
      { text: `start Predict default ${h.dataUrl}`, user_id: STARTER.id, channel_id: "CSIG" },
      { secret: "not-the-secret" },
    );
    expect(bad.status).toBe(401);
    const forged = await h.sender.command(
      { text: `start Predict default ${h.dataUrl}`, user_id: STARTER.id, channel_id: "CSIG" },
      { signature: "v0=deadbeef" },
    );
    expect(forged.status).toBe(401);
    // Signed correctly, but 10 minutes old: a replay.
    const stale = await h.sender.command(
      { text: `start Predict default ${h.dataUrl}`, user_id: STARTER.id, channel_id: "CSIG" },
      { timestamp: Math.floor(Date.now() / 1000) - 600 },
    );
    expect(stale.status).toBe(401);
    const staleEvent = await h.sender.event(
      appMention("CSIG", `<@${h.fake.botUserId}> start Predict default ${h.dataUrl}`),
      { timestamp: Math.floor(Date.now() / 1000) - 600 },
    );
    expect(staleEvent.status).toBe(401);
    await new Promise((r) => setTimeout(r, 500));
    expect(await h.runIn("CSIG")).toBeNull();
    expect(h.fake.calls.slice(before).filter((c) => c.method !== "auth.test")).toEqual([]);
  });

  it("answers a malformed command with the help text, only to the requester, and starts nothing", async () => {
    const res = await h.sender.command({
      text: "start Predict default --steps lots",
      user_id: STARTER.id,
      channel_id: "CBAD",
    });
    expect(res.status).toBe(200);
    expect(res.elapsedMs).toBeLessThan(3000);
    const eph = await h.fake.waitFor(
      () => h.fake.ephemerals.find((e) => e.channel === "CBAD"),
      5000,
      "an ephemeral help message",
    );
    expect(eph.user).toBe(STARTER.id);
    const text = messageText(eph);
    expect(text).toContain("--steps");
    expect(text).toMatch(/\/aide start/);
    const unknown = await h.sender.command({ text: "frobnicate", user_id: STARTER.id, channel_id: "CBAD" });
    expect(unknown.status).toBe(200);
    await h.fake.waitFor(
      () => h.fake.ephemerals.filter((e) => e.channel === "CBAD").length >= 2,
      5000,
      "a second help message",
    );
    expect(messageText(h.fake.ephemerals.filter((e) => e.channel === "CBAD")[1]!)).toContain("frobnicate");
    expect(await h.runIn("CBAD")).toBeNull();
    expect(h.fake.messages.filter((m) => m.channel === "CBAD")).toEqual([]);
  });

  it("answers /aide help through the command's response_url, within 3 s", async () => {
    const responseUrl = h.fake.responseUrl();
    const res = await h.sender.command({
      text: "help",
      user_id: STRANGER.id,
      channel_id: "CHELP",
      response_url: responseUrl,
    });
    expect(res.status).toBe(200);
    expect(res.elapsedMs).toBeLessThan(3000);
    const reply = await h.fake.waitFor(
      () => h.fake.responses.find((r) => responseUrl.endsWith(r.path)),
      5000,
      "the help reply",
    );
    expect(reply.body.response_type).toBe("ephemeral");
    expect(messageText({ text: reply.body.text, blocks: reply.body.blocks ?? [] })).toMatch(/\/aide start/);
  });

  it("a redelivered event (same event_id, X-Slack-Retry-Num) does not start a second run or post twice", async () => {
    const event = appMention(
      "CRETRY",
      `<@${h.fake.botUserId}> Predict loan default, metric ROC AUC <${h.dataUrl}> --steps 3`,
    );
    const first = await h.sender.event(event);
    expect(first.status).toBe(200);
    expect(first.elapsedMs).toBeLessThan(3000);
    // Slack did not see the answer in time and sends the same event again, twice.
    const again = await h.sender.event(event, { eventId: first.eventId, retryNum: 1, retryReason: "http_timeout" });
    const third = await h.sender.event(event, { eventId: first.eventId, retryNum: 2, retryReason: "http_timeout" });
    expect(again.status).toBe(200);
    expect(third.status).toBe(200);
    const resolved = await until(() => h.runIn("CRETRY"), 5000, "the run");
    expect(resolved?.task).toMatch(/Predict loan default/);
    expect(resolved?.links).toEqual([h.dataUrl]);
    await h.fake.waitFor(
      () => h.fake.messages.filter((m) => m.channel === "CRETRY").length >= 2,
      5000,
      "the root card and the answer",
    );
    await new Promise((r) => setTimeout(r, 1000));
    const runs = await h.store.listRuns({ platform: "slack", channel: "CRETRY" });
    expect(runs).toHaveLength(1);
    const posted = h.fake.messages.filter((m) => m.channel === "CRETRY");
    // The root card (top-level) and the "Started run" answer under the mention: each once.
    expect(posted.filter((m) => m.threadTs === null)).toHaveLength(1);
    expect(posted.filter((m) => messageText(m).includes("Started run"))).toHaveLength(1);
  });

  it("a mention with attached files starts a run with the files as data", async () => {
    const event = appMention("CFILES", `<@${h.fake.botUserId}> predict who defaults on a loan --steps 2`, {
      files: [
        {
          id: "F1",
          name: "loan.tar.gz",
          size: 1234,
          mode: "hosted",
          url_private: h.files.url("/loan-default.tar.gz"),
          url_private_download: h.files.url("/loan-default.tar.gz?download=1"),
        },
      ],
    });
    const res = await h.sender.event(event);
    expect(res.status).toBe(200);
    const run = await until(() => h.runIn("CFILES"), 5000, "the run");
    expect(run?.task).toBe("predict who defaults on a loan");
    expect(run?.links).toEqual([h.files.url("/loan-default.tar.gz?download=1")]);
    expect(run?.owner).toMatchObject({ platform: "slack", userId: STARTER.id, displayName: "Ada" });
  });
});
