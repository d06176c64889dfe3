/**
 * Whole runs through Slack: `/aide start` -> root card -> new bests in the thread -> final summary with files;
 * steering replies, buttons and permissions; a rate-limit storm. Real Bolt app, fake Slack Web API, real Redis,
 * MongoDB-protocol server, in-process runner with the sandbox executor and the offline coder.
 */
import { describe, expect, it } from "vitest";
import type { StoredRunEvent } from "../../../src/queue/events.ts";
import type { RunRecord } from "../../../src/store/types.ts";
import type { FakeMessage } from "../../fakes/slack-api.ts";
import { buttonsOf, messageText, STARTER, STRANGER, until, useSlackBot } from "./support.ts";

const h = useSlackBot({ runner: true });
const RUN_TIMEOUT = 150_000;

async function startRun(
  channel: string,
  steps: number,
): Promise<{ run: RunRecord; card: FakeMessage; ackMs: number; responseUrl: string }> {
  const responseUrl = h.fake.responseUrl();
  const res = await h.sender.command({
    text: `start Predict loan default. Metric: ROC AUC, higher is better. Submit id,default. ${h.dataUrl} --steps ${steps}`,
    user_id: STARTER.id,
    user_name: STARTER.name,
    channel_id: channel,
    response_url: responseUrl,
  });
  expect(res.status).toBe(200);
  const run = await until(() => h.runIn(channel), 10_000, "the run to be saved");
  const card = await until(
    () => h.fake.messages.find((m) => m.channel === channel && m.threadTs === null),
    10_000,
    "the root card",
  );
  return { run, card, ackMs: res.elapsedMs, responseUrl };
}

function threadOf(card: FakeMessage): FakeMessage[] {
  return h.fake.thread(card.channel, card.ts);
}

async function waitForEnd(runId: string): Promise<StoredRunEvent> {
  return h.waitForEvent(
    runId,
    (e) => e.type === "run.finished" || e.type === "run.failed",
    RUN_TIMEOUT,
    "the end of the run",
  );
}

/** The final summary posted and the card showing the end. */
async function waitForSummary(card: FakeMessage): Promise<FakeMessage> {
  const summary = await until(
    () =>
      threadOf(card).find(
        (m) =>
          /^Run \S+ (finished|stopped|ended)/i.test(m.text) ||
          m.blocks.some((b) => b.type === "header" && /^Run \S+ /.test(b.text.text)),
      ),
    90_000,
    "the final summary",
  );
  await until(
    () =>
      /finished|stopped/i.test(messageText(h.fake.message(card.channel, card.ts)!)) &&
      buttonsOf(h.fake.message(card.channel, card.ts)!).length === 0,
    15_000,
    "the final card",
  );
  return summary;
}

function callsFor(channel: string) {
  return h.fake.calls.filter((c) => c.args.channel === channel || c.args.channel_id === channel);
}

describe("a run in Slack", () => {
  it(
    "runs from /aide start to the final summary: card edited in place, new bests with snippet and script, summary with chart, script and submission",
    async () => {
      const channel = "CRUN";
      const callsBefore = h.fake.calls.length;
      const { run, card, ackMs, responseUrl } = await startRun(channel, 6);
      expect(ackMs).toBeLessThan(3000);
      expect(run.options.steps).toBe(6);
      expect(run.owner).toMatchObject({ userId: STARTER.id, displayName: "Ada" });
      // The starter's answer went through the command's response_url.
      const answer = await until(
        () => h.fake.responses.find((r) => responseUrl.endsWith(r.path)),
        10_000,
        "the command's answer",
      );
      expect(answer.body.text).toContain(`Started run`);

      const end = await waitForEnd(run.id);
      expect(end.type).toBe("run.finished");
      const summary = await waitForSummary(card);
      await h.bot.surface.flush();

      // The card: one top-level message, edited in place (never re-posted), at most about once a second.
      const root = h.fake.message(channel, card.ts)!;
      expect(h.fake.messages.filter((m) => m.channel === channel && m.threadTs === null)).toHaveLength(1);
      expect(root.updatedAt.length).toBeGreaterThanOrEqual(3);
      const gaps = root.updatedAt.slice(1).map((t, i) => t - root.updatedAt[i]!);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900);
      expect(messageText(root)).toMatch(/Finished/);
      expect(messageText(root)).toContain("6 of 6");

      // New bests in the thread: metric, change, plan, a code snippet, the full script attached.
      const thread = threadOf(card);
      const bests = thread.filter((m) => /New best/.test(m.text));
      const bestEvents = (await h.events(run.id)).filter((e) => e.type === "best.improved");
      expect(bests.length).toBe(bestEvents.length);
      expect(bests.length).toBeGreaterThanOrEqual(1);
      for (const b of bests) {
        const text = messageText(b);
        // The snippet is the script's head: the offline coder's recipe and its configuration block.
        expect(text).toMatch(/```\n# AIDE_OFFLINE_RECIPE[\s\S]*\nMODEL = [\s\S]*```/);
        expect(text).toMatch(/Change/);
        expect(text).toMatch(/Plan:/);
        expect(b.blocks.length).toBeLessThanOrEqual(50);
      }
      const files = h.fake.filesIn(channel, card.ts);
      for (const e of bestEvents) {
        const node = (e as Extract<StoredRunEvent, { type: "best.improved" }>).node;
        const script = files.find((f) => f.name === `best_node_${node.id}.py`);
        expect(script?.content?.toString("utf8")).toBe(node.code.endsWith("\n") ? node.code : `${node.code}\n`);
      }

      // The final summary: chart PNG, best script, submission; the starter mentioned.
      expect(summary.text).toContain(`<@${STARTER.id}>`);
      expect(messageText(summary)).toContain(`<@${STARTER.id}>`);
      const png = files.find((f) => f.name === `aide_${run.id}_metric.png`);
      expect(png?.content?.subarray(1, 4).toString("latin1")).toBe("PNG");
      const submission = files.find((f) => f.name === "submission.csv");
      expect(submission?.content?.toString("utf8").split("\n")[0]).toBe("id,default");
      const done = await h.store.requireRun(run.id);
      expect(files.some((f) => f.name === `best_node_${done.progress.bestNodeId}.py`)).toBe(true);
      // The summary is the last message of the thread.
      expect(thread.at(-1)!.ts).toBe(summary.ts);

      // What a whole run costs in Slack calls (printed for the record).
      const calls = h.fake.calls.slice(callsBefore).filter((c) => c.ok);
      const byMethod: Record<string, number> = {};
      for (const c of calls) byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
      const posted = h.fake.messages.filter((m) => m.channel === channel);
      console.log(
        `[slack e2e] a 6-step run: ${JSON.stringify(byMethod)}; messages posted: ${posted.length} (1 root card + ${posted.length - 1} in the thread: ` +
          `${bests.length} new bests, 1 summary); card edits: ${root.updatedAt.length}; files: ${files.map((f) => f.name).join(", ")}`,
      );
      expect(callsFor(channel).every((c) => c.ok)).toBe(true);
    },
    RUN_TIMEOUT + 60_000,
  );

  it(
    "takes a steering reply in the thread: later nodes follow the guidance, and the bot confirms it",
    async () => {
      const channel = "CSTEER";
      const { run, card } = await startRun(channel, 4);
      // Once the first step is under way, a teammate (not the starter: anyone may guide) replies in the thread.
      await h.waitForEvent(run.id, (e) => e.type === "step.started", 60_000, "the first step");
      const ts = `${Math.floor(Date.now() / 1000)}.000777`;
      const res = await h.sender.event({
        type: "message",
        channel,
        user: STRANGER.id,
        text: "use a random forest",
        ts,
        thread_ts: card.ts,
        event_ts: ts,
        channel_type: "channel",
      });
      expect(res.status).toBe(200);
      // The immediate answer: queued; then the confirmation once the runner applied it.
      await until(
        () => threadOf(card).find((m) => /random forest/i.test(messageText(m)) && !/New best/.test(m.text)),
        10_000,
        "the queued acknowledgement",
      );
      const applied = await h.waitForEvent(run.id, (e) => e.type === "steer.applied", 90_000, "steer.applied");
      await until(
        () => threadOf(card).filter((m) => /random forest/i.test(messageText(m))).length >= 2,
        20_000,
        "the applied confirmation",
      );

      const end = await waitForEnd(run.id);
      expect(end.type).toBe("run.finished");
      const events = await h.events(run.id);
      const appliedAt = events.findIndex((e) => e.id === applied.id);
      const startedAfter = new Set(
        events
          .slice(appliedAt)
          .filter((e) => e.type === "step.started")
          .map((e) => (e as Extract<StoredRunEvent, { type: "step.started" }>).nodeId),
      );
      const later = (await h.store.loadJournal(run.id)).filter((n) => startedAfter.has(n.id));
      expect(later.length).toBeGreaterThanOrEqual(1);
      // The first node drafted after the guidance is a random forest (unguided, the second draft would be gradient boosting).
      expect(later[0]!.code).toMatch(/RandomForest/);
      expect(later.filter((n) => /RandomForest/.test(n.code)).length).toBeGreaterThanOrEqual(
        Math.ceil(later.length / 2),
      );
      await waitForSummary(card);
    },
    RUN_TIMEOUT + 60_000,
  );

  it(
    "buttons: pause and resume by the starter, +10 steps, a stranger's Stop refused ephemerally while the run goes on, Stop by the starter",
    async () => {
      const channel = "CBUTTONS";
      const { run, card } = await startRun(channel, 4);
      await h.waitForEvent(run.id, (e) => e.type === "run.started", 60_000, "run.started");
      const buttons = buttonsOf(h.fake.message(channel, card.ts)!);
      expect(buttons.map((b) => b.action_id).sort()).toEqual(["aide_more10", "aide_pause", "aide_stop"]);
      expect(buttons.every((b) => b.value === run.id)).toBe(true);
      const click = (userId: string, actionId: string) =>
        h.sender.clickButton({ userId, channel, messageTs: card.ts, actionId, value: run.id });

      // A stranger cannot stop someone else's run.
      const refused = await click(STRANGER.id, "aide_stop");
      expect(refused.status).toBe(200);
      expect(refused.elapsedMs).toBeLessThan(3000);
      const eph = await until(
        () => h.fake.ephemerals.find((e) => e.channel === channel && e.user === STRANGER.id),
        10_000,
        "the refusal",
      );
      expect(messageText(eph)).toMatch(/Only the run's starter/);

      // The starter pauses: the runner pauses at the next step boundary and the card offers Resume.
      expect((await click(STARTER.id, "aide_pause")).status).toBe(200);
      await h.waitForEvent(run.id, (e) => e.type === "run.paused", 90_000, "run.paused");
      await until(
        () => buttonsOf(h.fake.message(channel, card.ts)!).some((b) => b.action_id === "aide_resume"),
        10_000,
        "a Resume button",
      );
      expect((await h.store.requireRun(run.id)).status).toBe("paused");

      // +10 steps, then resume.
      expect((await click(STARTER.id, "aide_more10")).status).toBe(200);
      await until(
        async () => (await h.store.requireRun(run.id)).progress.totalSteps === 14,
        30_000,
        "14 steps in total",
      );
      expect((await click(STARTER.id, "aide_resume")).status).toBe(200);
      await until(async () => (await h.store.requireRun(run.id)).status === "running", 30_000, "the run running again");
      await until(
        () => /of 14/.test(messageText(h.fake.message(channel, card.ts)!)),
        15_000,
        "the card showing 14 steps",
      );
      await until(
        () => buttonsOf(h.fake.message(channel, card.ts)!).some((b) => b.action_id === "aide_pause"),
        10_000,
        "a Pause button again",
      );
      // Each click was acknowledged in the thread.
      const thread = messageText({
        text: threadOf(card)
          .map((m) => m.text)
          .join("\n"),
        blocks: threadOf(card).map((m) => m.blocks),
      });
      expect(thread).toMatch(/asked to pause/);
      expect(thread).toMatch(/added 10 steps/);
      expect(thread).toMatch(/resumed/);

      // The stranger's stop did nothing; the starter's stops the run.
      expect((await click(STARTER.id, "aide_stop")).status).toBe(200);
      const end = await waitForEnd(run.id);
      expect(end.type === "run.finished" && end.reason).toBe("stopped");
      const done = await h.store.requireRun(run.id);
      expect(done.status).toBe("stopped");
      expect(done.progress.nodes).toBeLessThan(14);
      await waitForSummary(card);
    },
    RUN_TIMEOUT + 60_000,
  );

  it(
    "survives a rate-limit storm: edits coalesce, every new best and the final summary arrive",
    async () => {
      const channel = "CSTORM";
      const { run, card } = await startRun(channel, 3);
      await h.waitForEvent(run.id, (e) => e.type === "run.started", 60_000, "run.started");
      // From now on Slack answers 429 (Retry-After: 1) to many edits and posts, and fails a few with 500.
      const limited = h.fake.fail({
        methods: ["chat.update", "chat.postMessage"],
        times: 8,
        kind: "rate_limited",
        retryAfterSec: 1,
      });
      const broken = h.fake.fail({
        methods: ["chat.postMessage", "files.completeUploadExternal"],
        times: 2,
        kind: "http",
        status: 500,
      });
      const end = await waitForEnd(run.id);
      expect(end.type).toBe("run.finished");
      const summary = await waitForSummary(card);
      await h.bot.surface.flush();
      expect(limited.used).toBe(8);
      expect(broken.used).toBe(2);

      const events = await h.events(run.id);
      const bestEvents = events.filter((e) => e.type === "best.improved");
      const thread = threadOf(card);
      const bests = thread.filter((m) => /New best/.test(m.text));
      // Nothing lost, nothing doubled, and in order.
      expect(bests.length).toBe(bestEvents.length);
      for (const [i, e] of bestEvents.entries()) {
        const node = (e as Extract<StoredRunEvent, { type: "best.improved" }>).node;
        expect(bests[i]!.text).toContain(`node ${node.id}`);
      }
      expect(thread.at(-1)!.ts).toBe(summary.ts);
      const files = h.fake.filesIn(channel, card.ts);
      expect(files.some((f) => f.name === "submission.csv")).toBe(true);
      expect(files.some((f) => f.name.endsWith(".png"))).toBe(true);
      // Edits paced: never more accepted edits than card-changing events, never two within a second. (How many
      // are coalesced depends on how fast events arrive, so it is not asserted here; render.test.ts covers it.)
      const root = h.fake.message(channel, card.ts)!;
      const cardEvents = events.length;
      expect(root.updatedAt.length).toBeLessThanOrEqual(cardEvents);
      const gaps = root.updatedAt.slice(1).map((t, i) => t - root.updatedAt[i]!);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900);
      expect(messageText(root)).toMatch(/Finished/);
      // The 429s were answered and retried, not dropped.
      const rateLimited = h.fake.calls.filter((c) => c.status === 429);
      expect(rateLimited.length).toBe(8);
    },
    RUN_TIMEOUT + 60_000,
  );
});
