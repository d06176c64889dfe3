/**
 * The Discord bot end to end, without the privileged MessageContent intent: the real discord.js client against
 * the fake Discord (REST + gateway), real Redis, a MongoDB, an in-process runner (bubblewrap sandbox, offline
 * coder). Slash commands, buttons, mentions and `/aide steer` steer; plain thread replies arrive without content
 * and are ignored.
 */
import { describe, expect, it } from "vitest";
import {
  PERMS,
  MEMBER_PERMISSIONS,
  waitFor,
  type FakeInteraction,
  type FakeMessage,
} from "../../fakes/discord/index.ts";
import { LOAN_TASK, textOf, useDiscordWorld, waitForBotMessage, waitForStatus } from "./support.ts";

const world = useDiscordWorld({ messageContent: false });

/** Ephemeral answers of an interaction: the deferred ephemeral reply and ephemeral follow-ups. */
function ephemeralTexts(it: FakeInteraction): string[] {
  const out: string[] = [];
  if (it.original && (it.callbacks[0]?.data?.flags ?? 0) & 64) out.push(textOf(it.original));
  for (const f of it.followups) if (f.interaction?.ephemeral) out.push(textOf(f));
  return out;
}

function buttonIds(m: FakeMessage): string[] {
  return m.components.flatMap((row: any) => row.components.map((c: any) => String(c.custom_id)));
}

function card(id: string): FakeMessage {
  return world.discord.state.messages.get(id)!;
}

describe("Discord: /aide from the slash command to the final summary", () => {
  it("answers a malformed command with the help text, only to its author", async () => {
    const d = world.discord;
    const bad = d.slashCommand({ user: world.bob }, "start", { task: "predict something", steps: 5 });
    await waitFor(() => ephemeralTexts(bad).length > 0 && bad, 10_000, "the help reply");
    expect(bad.callbacks[0]).toMatchObject({ type: 5, data: { flags: 64 } });
    expect(ephemeralTexts(bad).join("\n")).toMatch(/needs data[\s\S]*\/aide start/);

    const unknown = d.slashCommand({ user: world.bob }, "frobnicate", {});
    await waitFor(() => ephemeralTexts(unknown).length > 0 && unknown, 10_000, "the help reply");
    expect(ephemeralTexts(unknown).join("\n")).toMatch(/Unknown command "frobnicate"[\s\S]*\/aide status/);

    // A mention in the channel with nonsense: help, as a normal reply mentioning the author (no interaction).
    d.sendMessage({ user: world.bob }, d.channel.id, "please do a thing", { mention: true });
    const reply = await waitForBotMessage(
      world,
      d.channel.id,
      (m) => /Unknown command "please"/.test(textOf(m)),
      10_000,
      "help after a mention",
    );
    expect(reply.content).toContain(`<@${world.bob.id}>`);
    expect(reply.allowed_mentions).toEqual({ parse: [], users: [world.bob.id] });
    // Nothing was started.
    expect(d.state.threads()).toHaveLength(0);
  });

  it("runs from /aide start with an attached file: deferred, card edited, thread, new best with the script, summary with chart, files and a mention", async () => {
    const d = world.discord;
    const file = d.rest.addAttachment("loan-default.tar.gz", world.archive, "application/gzip");
    const callsBefore = d.calls.length;
    const start = d.slashCommand({ user: world.ada }, "start", { task: LOAN_TASK, file, steps: 1 });

    await waitFor(() => start.original, 15_000, "the start reply");
    expect(start.callbacks[0]).toMatchObject({ type: 5, data: { flags: 64 } });
    expect(start.callbacks[0]!.at - start.createdAt).toBeLessThan(3000);
    expect(textOf(start.original!)).toMatch(/Started run `r\w+`: 1 steps?, 1 data source/);

    const cardMsg = d.botMessages(d.channel.id).find((m) => m.components.length > 0)!;
    expect(cardMsg.embeds[0].title).toBe(`AIDE: ${LOAN_TASK}`);
    const runId = /Run `(\w+)`/.exec(textOf(cardMsg))![1]!;
    expect(buttonIds(cardMsg)).toEqual([`aide:pause:${runId}`, `aide:stop:${runId}`, `aide:more10:${runId}`]);
    const thread = d.state.channels.get(cardMsg.id)!;
    expect(thread.type).toBe(11);
    expect(thread.parent_id).toBe(d.channel.id);
    expect(thread.name).toMatch(/^AIDE: Predict loan default/);

    const summary = await waitForBotMessage(
      world,
      thread.id,
      (m) => m.files.some((f) => f.name === "submission.csv"),
      90_000,
      "the final summary",
    );
    const run = await waitForStatus(world, runId, ["finished"], 10_000);
    expect(run.progress.nodes).toBe(1);
    // The runner fetched the attachment from the CDN link.
    expect(run.links[0]).toBe(file.url);

    // New best: metric, plan, a snippet within limits and the full script attached.
    const best = d.botMessages(thread.id).filter((m) => /New best: node 0/.test(textOf(m)));
    expect(best.length).toBeGreaterThanOrEqual(1);
    const bestText = best.map((m) => m.content).join("\n");
    // The attached data holds rows out: the holdout score stands beside the script's own validation number.
    expect(bestText).toMatch(/roc_auc: holdout 0\.\d+ · validation 0\.\d+/);
    expect(bestText).toMatch(/\*\*Plan:\*\*/);
    expect(bestText).toContain("```python");
    for (const m of best) expect(m.content.length).toBeLessThanOrEqual(2000);
    // A long best is split over messages; the script goes with the last of them, before the summary.
    const beforeSummary = d.botMessages(thread.id).filter((m) => m !== summary);
    const script = beforeSummary.flatMap((m) => m.files).find((f) => f.name.endsWith(".py"))!;
    expect(script.data.toString("utf8")).toMatch(/AIDE_METRIC/);

    // Summary: chart PNG (shown in the embed), best script, submission, and the starter mentioned.
    const names = summary.files.map((f) => f.name);
    expect(names.some((n) => n.endsWith(".png"))).toBe(true);
    expect(names.some((n) => n.endsWith(".py"))).toBe(true);
    expect(names).toContain("submission.csv");
    const png = summary.files.find((f) => f.name.endsWith("_metric.png"))!;
    expect(png.data.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(summary.embeds[0].image.url).toBe(`attachment://${png.name}`);
    expect(
      summary.files
        .find((f) => f.name === "submission.csv")!
        .data.toString("utf8")
        .split("\n")[0],
    ).toBe("id,default");
    expect(summary.content).toContain(`<@${world.ada.id}>`);
    expect(summary.allowed_mentions).toEqual({ parse: [], users: [world.ada.id] });
    expect(summary.mentions.map((u) => u.id)).toEqual([world.ada.id]);

    // The card ends edited in place: finished, no buttons.
    await waitFor(
      () => /Finished/.test(textOf(card(cardMsg.id))) && card(cardMsg.id).components.length === 0,
      10_000,
      "the final card",
    );
    expect(card(cardMsg.id).edits.length).toBeGreaterThanOrEqual(2);

    // Everything after the interaction reply went through the bot token on channel endpoints, never the
    // interaction webhook (whose token dies after 15 minutes).
    const calls = d.calls.slice(callsBefore);
    const webhook = calls.filter((c) => c.path.startsWith("/webhooks/"));
    expect(webhook.every((c) => c.path.endsWith("/messages/@original") && c.rawPath.endsWith("%40original"))).toBe(
      true,
    );
    const threadPosts = calls.filter((c) => c.method === "POST" && c.path === `/channels/${thread.id}/messages`);
    expect(threadPosts.length).toBeGreaterThanOrEqual(2);
    expect(threadPosts.every((c) => c.headers.authorization === `Bot ${d.token}`)).toBe(true);
    expect(calls.filter((c) => c.method === "POST" && /\/threads$/.test(c.path))).toHaveLength(1);
  }, 120_000);

  it("steers with /aide steer, mentions and buttons; refuses a stranger's stop (ephemeral) and keeps going; survives a 429", async () => {
    const d = world.discord;
    const start = d.slashCommand({ user: world.ada }, "start", { task: LOAN_TASK, data: world.dataUrl, steps: 6 });
    await waitFor(() => start.original, 15_000, "the start reply");
    const runId = /`(r\w+)`/.exec(textOf(start.original!))![1]!;
    const cardMsg = d.botMessages(d.channel.id).find((m) => buttonIds(m).includes(`aide:stop:${runId}`))!;
    const threadId = cardMsg.id;
    // The next two posts in the thread are rate limited (429 with retry-after): they must still arrive, once.
    d.rest.rateLimit({
      method: "POST",
      path: new RegExp(`^/channels/${threadId}/messages$`),
      times: 2,
      retryAfterSec: 0.4,
    });

    // Guidance with the slash command inside the thread, before the first step ends.
    const steer = d.slashCommand({ user: world.bob }, "steer", { text: "use a random forest" }, threadId);
    await waitFor(() => ephemeralTexts(steer).length > 0, 10_000, "the steer reply");
    expect(ephemeralTexts(steer)[0]).toMatch(/Guidance noted: "use a random forest"/);

    // A plain reply without a mention carries no content without the intent: ignored, nothing posted for it.
    d.sendMessage({ user: world.bob }, threadId, "stop");

    // A stranger's Stop button: refused, only to them, and the run continues.
    await waitForBotMessage(world, threadId, (m) => /New best: node 0/.test(textOf(m)), 60_000, "the first best");
    const refused = d.clickButton({ user: world.bob }, cardMsg.id, `aide:stop:${runId}`);
    await waitFor(() => ephemeralTexts(refused).length > 0, 10_000, "the refusal");
    expect(refused.callbacks[0]).toMatchObject({ type: 6 });
    expect(ephemeralTexts(refused)[0]).toMatch(/Only the run's starter \(Ada\) or an admin can stop this run/);
    expect((await world.store.requireRun(runId)).status).toBe("running");

    // The starter pauses with the button, asks for status with a mention, resumes with the button.
    const pause = d.clickButton({ user: world.ada }, cardMsg.id, `aide:pause:${runId}`);
    await waitFor(() => pause.callbacks.length > 0, 5000, "the pause ack");
    await waitForBotMessage(
      world,
      threadId,
      (m) => /Ada asked to pause/.test(textOf(m)),
      10_000,
      "the pause acknowledgement",
    );
    await waitForStatus(world, runId, ["paused"], 60_000);
    await waitFor(
      () => buttonIds(card(cardMsg.id)).includes(`aide:resume:${runId}`) && /Paused/.test(textOf(card(cardMsg.id))),
      10_000,
      "a paused card",
    );
    d.sendMessage({ user: world.ada }, threadId, "status", { mention: true });
    await waitForBotMessage(
      world,
      threadId,
      (m) => m.embeds.some((e) => /Status: Paused|Paused/.test(JSON.stringify(e.fields ?? []))),
      10_000,
      "the status reply",
    );
    d.clickButton({ user: world.ada }, cardMsg.id, `aide:resume:${runId}`);
    await waitForBotMessage(
      world,
      threadId,
      (m) => /Ada resumed the run/.test(textOf(m)),
      10_000,
      "the resume acknowledgement",
    );

    // A member with Manage Server may stop it.
    await waitForStatus(world, runId, ["running"], 10_000);
    const stop = d.clickButton(
      { user: world.root, permissions: MEMBER_PERMISSIONS | PERMS.ManageGuild },
      cardMsg.id,
      `aide:stop:${runId}`,
    );
    await waitFor(() => stop.callbacks.length > 0, 5000, "the stop ack");
    const done = await waitForStatus(world, runId, ["stopped"], 90_000);
    const summary = await waitForBotMessage(
      world,
      threadId,
      (m) => /was stopped/.test(textOf(m)),
      30_000,
      "the summary",
    );
    expect(summary.content).toContain(`<@${world.ada.id}>`);
    expect(ephemeralTexts(stop)).toEqual([]);

    // The guidance changed later steps: the offline coder turned it into random forests.
    const journal = await world.store.loadJournal(runId);
    expect(journal.length).toBeGreaterThanOrEqual(2);
    expect(journal.length).toBeLessThan(6);
    expect(journal.slice(1).some((n) => /RandomForest/.test(n.code))).toBe(true);
    expect(done.finishReason).toBe("stopped");

    // Confirmations in the thread: guidance applied, paused, resumed.
    const texts = d.botMessages(threadId).map(textOf).join("\n");
    expect(texts).toMatch(/Guidance applied/);
    expect(texts).toMatch(/\*\*Paused\*\*/);
    expect(texts).toMatch(/\*\*Resumed\*\*/);

    // The 429s were retried: both requests were answered 429 and then sent again, and every best was posted once.
    const threadPosts = d.calls.filter((c) => c.method === "POST" && c.path === `/channels/${threadId}/messages`);
    expect(threadPosts.filter((c) => c.status === 429)).toHaveLength(2);
    const bests = d.botMessages(threadId).filter((m) => /^### New best: node (\d+)/m.test(m.content));
    const ids = bests.map((m) => /New best: node (\d+)/.exec(m.content)![1]);
    expect(new Set(ids).size).toBe(ids.length);
    // Each thread post is ours and within limits.
    for (const m of d.botMessages(threadId)) expect(m.content.length).toBeLessThanOrEqual(2000);
  }, 180_000);
});
