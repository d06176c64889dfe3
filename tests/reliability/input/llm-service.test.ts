/**
 * Bad input, part 6: a broken model endpoint as a team sees it. Runs started in Slack with the openai coder, the
 * runner in the process and the fake OpenAI server answering 500s, then something that is not a chat completion:
 * each run fails with the reason in its events, the thread and the card. Then the endpoint recovers and the next
 * run finishes (the bot, the runner and the coder are healthy).
 */
import { describe, expect, it } from "vitest";
import type { FakeReply, RecordedRequest } from "../../fakes/openai-server.ts";
import { messageText } from "../../e2e/slack/support.ts";
import { SLACK_USERS, until, useChatWorld } from "../security/world.ts";
import { buildZip, tinyTaskFiles, tinyTaskScript } from "./archives.ts";

let behaviour: FakeReply = { status: 500 };
const good = (req: RecordedRequest): FakeReply =>
  req.body?.tools
    ? {
        tool: "submit_review",
        args: { is_bug: false, summary: "The baseline ran.", metric: null, lower_is_better: false },
      }
    : `Majority baseline.\n\n\`\`\`python\n${tinyTaskScript()}\n\`\`\`\n`;

const world = useChatWorld({
  runner: { executor: "sandbox" },
  openai: (req) => (typeof behaviour === "function" ? behaviour(req) : behaviour),
});

async function runInSlack(channel: string): Promise<{ runId: string; cardTs: string }> {
  world.files.route("/tiny.zip", {
    kind: "file",
    body: buildZip(Object.entries(tinyTaskFiles()).map(([name, data]) => ({ name, data }))),
  });
  await world.sender.command({
    text: `start Predict y. Metric: accuracy. ${world.files.url("/tiny.zip")} --steps 2`,
    user_id: SLACK_USERS.starter.id,
    user_name: "ada",
    channel_id: channel,
    response_url: world.slack.responseUrl(),
  });
  const run = await world.runIn("slack", channel, 30_000);
  const card = await until(
    () => world.slack.messages.find((m) => m.channel === channel && m.threadTs === null),
    10_000,
    "the card",
  );
  return { runId: run.id, cardTs: card.ts };
}

describe("a broken model endpoint, seen from Slack", () => {
  it.each([
    [
      "500 on every request",
      { status: 500 } as FakeReply,
      /The model endpoint at http:\/\/127\.0\.0\.1:\d+\/v1 kept failing \(HTTP 500\) after 2 attempts\./,
    ],
    [
      "an HTML page instead of a completion",
      { raw: "<html>Service Unavailable</html>", contentType: "text/html" } as FakeReply,
      /answered with something that is not a chat completion; check the base URL/,
    ],
  ])(
    "%s: the run fails with the reason in the thread, and a run after recovery finishes",
    async (_what, reply, expected) => {
      behaviour = reply;
      const channel = `CLLM${Math.random().toString(36).slice(2, 7).toUpperCase()}`;
      const { runId, cardTs } = await runInSlack(channel);
      const done = await world.waitForEnd(runId, 60_000);
      expect(done.status).toBe("failed");
      expect(done.error).toMatch(expected);
      const post = await until(
        () => world.slack.thread(channel, cardTs).find((m) => /The run failed/.test(m.text)),
        15_000,
        "the failure post",
      );
      expect(messageText(post)).toMatch(expected);
      expect(messageText(post)).not.toMatch(/TypeError|undefined|Cannot read|AIDESECRET/);

      behaviour = good;
      const again = await runInSlack(`${channel}OK`);
      const ok = await world.waitForEnd(again.runId, 120_000);
      expect(ok.status).toBe("finished");
      expect(ok.progress.bestNodeId).not.toBeNull();
    },
    200_000,
  );
});
