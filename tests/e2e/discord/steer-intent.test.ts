/**
 * With the MessageContent intent enabled, a plain reply in a run's thread (no mention, no slash command) steers
 * the run: guidance reaches the coder and changes later steps, and the runner's confirmation is posted.
 */
import { GatewayIntentBits } from "discord.js";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../fakes/discord/index.ts";
import { LOAN_TASK, textOf, useDiscordWorld, waitForBotMessage, waitForStatus } from "./support.ts";

const world = useDiscordWorld({ messageContent: true });

describe("Discord with the MessageContent intent", () => {
  it("takes plain thread replies as guidance that changes later steps, and confirms it", async () => {
    const d = world.discord;
    expect(d.gateway.intents() & GatewayIntentBits.MessageContent).toBe(GatewayIntentBits.MessageContent);
    const start = d.slashCommand({ user: world.ada }, "start", { task: LOAN_TASK, data: world.dataUrl, steps: 2 });
    await waitFor(() => start.original, 15_000, "the start reply");
    const runId = /`(r\w+)`/.exec(textOf(start.original!))![1]!;
    const threadId = d.botMessages(d.channel.id).find((m) => m.components.length > 0 && textOf(m).includes(runId))!.id;

    // A plain message in the channel (no mention) is not for the bot: no answer.
    d.sendMessage({ user: world.bob }, d.channel.id, "just chatting");

    d.sendMessage({ user: world.bob }, threadId, "use a random forest");
    const queued = await waitForBotMessage(
      world,
      threadId,
      (m) => /Guidance noted/.test(textOf(m)),
      10_000,
      "the queued note",
    );
    expect(queued.content).toMatch(/use a random forest/);
    await waitForBotMessage(
      world,
      threadId,
      (m) => /Guidance applied/.test(textOf(m)) && /Bob/.test(textOf(m)),
      60_000,
      "the confirmation",
    );

    // An unknown thread command ("verbose maybe") gets help, not guidance.
    d.sendMessage({ user: world.bob }, threadId, "verbose maybe");
    await waitForBotMessage(
      world,
      threadId,
      (m) => /"verbose" takes on or off/.test(textOf(m)),
      10_000,
      "the help for a bad reply",
    );

    await waitForStatus(world, runId, ["finished"], 90_000);
    const journal = await world.store.loadJournal(runId);
    expect(journal).toHaveLength(2);
    // Without guidance the second draft is histogram gradient boosting; with it, a random forest.
    expect(journal[1]!.code).toMatch(/RandomForest/);
    await waitForBotMessage(world, threadId, (m) => /finished all its steps/.test(textOf(m)), 20_000, "the summary");
    // Only the bot's messages in the channel: the card (no answer to "just chatting").
    expect(d.botMessages(d.channel.id)).toHaveLength(1);
  }, 150_000);
});
