/**
 * Security: only permitted people stop a run or change its budget. RunService's rule (src/runs/steer-parse.ts
 * isPrivilegedSteer): `stop`, `pause`, `resume` and `more N` belong to the run's starter, the configured admins
 * (SLACK_ADMINS, DISCORD_ADMINS) and, on Discord, members with an admin permission (Manage Server); anyone in the
 * channel may add guidance (README "Who may do what").
 *
 * A stranger tries every way the two platforms offer: Slack buttons, `/aide stop <run>`, thread replies, a mention
 * in the thread; Discord buttons, `/aide stop`, `/aide steer` in the thread, a mention in the thread. Each attempt
 * must be refused with a message naming who may do it, seen by the stranger only (Slack ephemeral, Discord
 * ephemeral interaction reply, or a reply mentioning them where the platform has no private answer), and change
 * nothing: no steering message saved, the run's status and step budget as they were. Then an admin and the
 * starter do the same and it works. Runs stay queued (no runner), so nothing moves on its own.
 */
import { describe, expect, it } from "vitest";
import { MEMBER_PERMISSIONS, PERMS, waitFor, type FakeInteraction } from "../../fakes/discord/index.ts";
import { textOf } from "../../e2e/discord/support.ts";
import { messageText } from "../../e2e/slack/support.ts";
import type { RunRecord } from "../../../src/store/types.ts";
import { SLACK_USERS, until, useChatWorld } from "./world.ts";

const world = useChatWorld({ discord: true });
const TASK = "Predict loan default. Metric: ROC AUC. Submit id,default.";
const REFUSAL =
  /Only the run's starter \(Ada\) or an admin can (stop this run|change its budget|pause this run|resume this run)/;

async function snapshot(runId: string): Promise<{ status: string; totalSteps: number; steers: number }> {
  const run = await world.store.requireRun(runId);
  return {
    status: run.status,
    totalSteps: run.progress.totalSteps,
    steers: (await world.store.listSteers(runId)).length,
  };
}

function slackTs(): string {
  return `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
}

describe("permissions in Slack", () => {
  let run: RunRecord;
  let cardTs = "";
  const channel = "CPERMS";

  async function expectRefused(what: string, act: () => Promise<unknown>): Promise<void> {
    const before = await snapshot(run.id);
    const ephemeralsBefore = world.slack.ephemerals.length;
    const postsBefore = world.slack.messages.length;
    await act();
    const refusal = await until(
      () => world.slack.ephemerals.slice(ephemeralsBefore).find((e) => e.user === SLACK_USERS.stranger.id),
      10_000,
      `the refusal of ${what}`,
    );
    expect(messageText(refusal), what).toMatch(REFUSAL);
    expect(refusal.channel).toBe(channel);
    // Nothing public, nothing saved, nothing changed.
    expect(
      world.slack.messages.slice(postsBefore).filter((m) => m.channel === channel && m.threadTs !== null),
      what,
    ).toEqual([]);
    expect(await snapshot(run.id), what).toEqual(before);
  }

  it("a stranger's stop and budget changes are refused on every path, with no change to the run", async () => {
    const res = await world.sender.command({
      text: `start ${TASK} ${world.dataUrl} --steps 5`,
      user_id: SLACK_USERS.starter.id,
      user_name: "ada",
      channel_id: channel,
      response_url: world.slack.responseUrl(),
    });
    expect(res.status).toBe(200);
    run = await world.runIn("slack", channel);
    cardTs = (
      await until(
        () => world.slack.messages.find((m) => m.channel === channel && m.threadTs === null),
        10_000,
        "the card",
      )
    ).ts;
    const stranger = SLACK_USERS.stranger;
    const reply = (text: string) => {
      const ts = slackTs();
      return world.sender.event({
        type: "message",
        channel,
        user: stranger.id,
        text,
        ts,
        thread_ts: cardTs,
        event_ts: ts,
        channel_type: "channel",
      });
    };

    await expectRefused("the Stop button", () =>
      world.sender.clickButton({
        userId: stranger.id,
        channel,
        messageTs: cardTs,
        actionId: "aide_stop",
        value: run.id,
      }),
    );
    await expectRefused("the Pause button", () =>
      world.sender.clickButton({
        userId: stranger.id,
        channel,
        messageTs: cardTs,
        actionId: "aide_pause",
        value: run.id,
      }),
    );
    await expectRefused('the reply "pause"', () => reply("pause"));
    await expectRefused('the reply "resume"', () => reply("resume"));
    await expectRefused("the +10 steps button", () =>
      world.sender.clickButton({
        userId: stranger.id,
        channel,
        messageTs: cardTs,
        actionId: "aide_more10",
        value: run.id,
      }),
    );
    await expectRefused("/aide stop <run>", () =>
      world.sender.command({ text: `stop ${run.id}`, user_id: stranger.id, channel_id: channel }),
    );
    await expectRefused('the reply "stop"', () => reply("stop"));
    await expectRefused('the reply "STOP!"', () => reply("STOP!"));
    await expectRefused('the reply "more 10"', () => reply("more 10"));
    await expectRefused('the reply "+500"', () => reply("+500"));
    await expectRefused('a mention "@aide stop" in the thread', () => {
      const ts = slackTs();
      return world.sender.event({
        type: "app_mention",
        channel,
        user: stranger.id,
        text: `<@${world.slack.botUserId}> stop`,
        ts,
        thread_ts: cardTs,
        event_ts: ts,
      });
    });
  });

  it("anyone may guide; an admin may add steps; the starter may stop", async () => {
    const before = await snapshot(run.id);
    const ts = slackTs();
    await world.sender.event({
      type: "message",
      channel,
      user: SLACK_USERS.stranger.id,
      text: "try gradient boosting",
      ts,
      thread_ts: cardTs,
      event_ts: ts,
      channel_type: "channel",
    });
    await until(async () => (await snapshot(run.id)).steers === before.steers + 1, 10_000, "the guidance to be saved");
    await world.sender.clickButton({
      userId: SLACK_USERS.admin.id,
      channel,
      messageTs: cardTs,
      actionId: "aide_more10",
      value: run.id,
    });
    await until(
      async () =>
        (await world.store.listSteers(run.id)).some(
          (s) => s.command.kind === "more" && s.author?.userId === SLACK_USERS.admin.id,
        ),
      10_000,
      "the admin's +10",
    );
    await world.sender.command({ text: `stop ${run.id}`, user_id: SLACK_USERS.starter.id, channel_id: channel });
    await until(async () => (await snapshot(run.id)).status === "stopped", 10_000, "the starter's stop");
    expect(
      world.slack.ephemerals.filter((e) => e.user !== SLACK_USERS.stranger.id && REFUSAL.test(messageText(e))),
    ).toEqual([]);
  });
});

/** Ephemeral answers of an interaction: the deferred ephemeral reply and ephemeral follow-ups. */
function ephemeralTexts(it: FakeInteraction): string[] {
  const out: string[] = [];
  if (it.original && (it.callbacks[0]?.data?.flags ?? 0) & 64) out.push(textOf(it.original));
  for (const f of it.followups) if (f.interaction?.ephemeral) out.push(textOf(f));
  return out;
}

describe("permissions in Discord", () => {
  it("a stranger's stop and budget changes are refused on every path; a Manage Server member and the starter succeed", async () => {
    const d = world.discord;
    const ada = d.user("Ada");
    const bob = d.user("Bob");
    const start = d.slashCommand({ user: ada }, "start", { task: TASK, data: world.dataUrl, steps: 5 });
    await waitFor(() => start.original, 15_000, "the start reply");
    const runId = /`(r\w+)`/.exec(textOf(start.original!))![1]!;
    const card = await waitFor(
      () => d.botMessages(d.channel.id).find((m) => JSON.stringify(m.components).includes(`aide:stop:${runId}`)),
      10_000,
      "the card",
    );
    const thread = card.id;

    const refusedInteraction = async (what: string, act: () => FakeInteraction) => {
      const before = await snapshot(runId);
      const it = act();
      const texts = await waitFor(
        () => ephemeralTexts(it).length > 0 && ephemeralTexts(it),
        10_000,
        `the refusal of ${what}`,
      );
      expect(texts.join("\n"), what).toMatch(REFUSAL);
      expect(await snapshot(runId), what).toEqual(before);
    };
    await refusedInteraction("the Stop button", () => d.clickButton({ user: bob }, card.id, `aide:stop:${runId}`));
    await refusedInteraction("the Pause button", () => d.clickButton({ user: bob }, card.id, `aide:pause:${runId}`));
    await refusedInteraction('/aide steer "pause" in the thread', () =>
      d.slashCommand({ user: bob }, "steer", { text: "pause" }, thread),
    );
    await refusedInteraction("the +10 button", () => d.clickButton({ user: bob }, card.id, `aide:more10:${runId}`));
    await refusedInteraction("/aide stop", () => d.slashCommand({ user: bob }, "stop", { run: runId }));
    await refusedInteraction('/aide steer "stop" in the thread', () =>
      d.slashCommand({ user: bob }, "steer", { text: "stop" }, thread),
    );
    await refusedInteraction('/aide steer "more 50" in the thread', () =>
      d.slashCommand({ user: bob }, "steer", { text: "more 50" }, thread),
    );

    // A mention in the thread has no private answer on Discord: the refusal is a reply that mentions the stranger.
    const before = await snapshot(runId);
    d.sendMessage({ user: bob }, thread, "stop", { mention: true });
    const answer = await waitFor(
      () => d.botMessages(thread).find((m) => REFUSAL.test(textOf(m))),
      10_000,
      "the refusal of a mention",
    );
    expect(answer.content).toContain(`<@${bob.id}>`);
    expect(await snapshot(runId)).toEqual(before);

    // A member with Manage Server adds steps; the starter stops.
    const root = d.user("Root");
    const more = d.clickButton(
      { user: root, permissions: MEMBER_PERMISSIONS | PERMS.ManageGuild },
      card.id,
      `aide:more10:${runId}`,
    );
    await waitFor(() => more.callbacks.length > 0, 10_000, "the admin's click");
    await until(
      async () =>
        (await world.store.listSteers(runId)).some((s) => s.command.kind === "more" && s.author?.userId === root.id),
      10_000,
      "the admin's +10",
    );
    expect(ephemeralTexts(more).join("\n")).not.toMatch(REFUSAL);
    d.slashCommand({ user: ada }, "stop", { run: runId });
    await until(async () => (await snapshot(runId)).status === "stopped", 10_000, "the starter's stop");
  });
});
