/**
 * Bad input, part 3: hostile data links through the real service path, as a team meets them: `/aide start` in
 * Slack (signed requests to the real Bolt app), RunService, the BullMQ queue, an in-process Runner downloading
 * with the guard on (private hosts refused, only the file server's 127.0.0.1 allowed: AIDE_DATA_ALLOWED_ADDRESSES)
 * and small limits. Each run must fail with the reason in its events and in the Slack thread ("The run failed:
 * ..."), its card must say Failed, and the service must stay healthy: a good run started afterwards finishes.
 * Links a chat user may not give at all (local paths, file: links) are refused before anything is queued.
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/errors.ts";
import type { StoredRunEvent } from "../../../src/queue/events.ts";
import { messageText } from "../../e2e/slack/support.ts";
import { SLACK_USERS, until, useChatWorld } from "../security/world.ts";
import { buildTar, buildZip, tinyTaskFiles } from "./archives.ts";

const world = useChatWorld({
  runner: { executor: "sandbox", concurrency: 4 },
  overrides: { data: { maxDownloadMb: 1, downloadTimeoutSec: 2, maxUnpackedMb: 64, maxFiles: 50 } },
});
const TASK = "Predict y. Metric: accuracy. Submit id,y.";
const task = Object.entries(tinyTaskFiles()).map(([name, data]) => ({ name, data }));

const CASES: Array<{
  what: string;
  path?: string;
  link?: string;
  route?: Parameters<typeof world.files.route>[1];
  expected: RegExp;
}> = [
  {
    what: "a link to a private address",
    link: "http://10.0.0.1/data.csv",
    expected: /refused: 10\.0\.0\.1 is a private address \(set AIDE_DATA_ALLOW_PRIVATE_HOSTS=1 to allow\)/,
  },
  {
    what: "a redirect to the cloud metadata address",
    path: "/to-metadata",
    route: { kind: "redirect", location: "http://169.254.169.254/latest/meta-data/" },
    expected: /169\.254\.169\.254 is a cloud metadata address \(always refused\)/,
  },
  {
    what: "a file over the download limit",
    path: "/huge.csv",
    route: { kind: "file", body: Buffer.alloc(2 * 1024 * 1024, 0x61) },
    expected: /larger than the 1 MB limit/,
  },
  { what: "a server that never answers", path: "/hang.csv", route: { kind: "hang" }, expected: /timed out after 2 s/ },
  {
    what: "a web page instead of a CSV",
    path: "/page.csv",
    route: {
      kind: "file",
      body: "<!doctype html><html><body>Log in to download</body></html>",
      contentType: "text/csv",
    },
    expected: /page\.csv is a web page, not a data file: use a direct download link/,
  },
  {
    what: "text named .zip",
    path: "/data.zip",
    route: { kind: "file", body: "Access denied\n" },
    expected: /data\.zip is named like a zip archive but holds text/,
  },
  {
    what: "a zip bomb",
    path: "/bomb.zip",
    route: { kind: "file", body: buildZip([...task, { name: "big.csv", data: Buffer.alloc(40 * 1024 * 1024) }]) },
    expected: /expands more than 200 times \(a zip bomb\?\)/,
  },
  {
    what: "a tar.gz with ../ entries",
    path: "/evil.tar.gz",
    route: { kind: "file", body: buildTar([...task, { name: "../../../../tmp/evil.csv", data: "x" }], { gzip: true }) },
    expected: /escapes the data directory/,
  },
];

async function startInSlack(channel: string, link: string): Promise<string> {
  const res = await world.sender.command({
    text: `start ${TASK} ${link} --steps 2`,
    user_id: SLACK_USERS.starter.id,
    user_name: "ada",
    channel_id: channel,
    response_url: world.slack.responseUrl(),
  });
  expect(res.status).toBe(200);
  return (await world.runIn("slack", channel, 30_000)).id;
}

describe("hostile data links through Slack and the runner", () => {
  it(`${CASES.length} bad links each fail their run with the reason in the events and the thread; a good run still finishes`, async () => {
    // Started one after the other (the bot paces its posts); the runner then works on several at once.
    const started: Array<{ c: (typeof CASES)[number]; channel: string; runId: string }> = [];
    for (const [i, c] of CASES.entries()) {
      if (c.path && c.route) world.files.route(c.path, c.route);
      const channel = `CDATA${i}`;
      started.push({ c, channel, runId: await startInSlack(channel, c.link ?? world.files.url(c.path!)) });
    }
    for (const { c, channel, runId } of started) {
      const done = await world.waitForEnd(runId, 60_000);
      expect(done.status, c.what).toBe("failed");
      expect(done.error ?? "", c.what).toMatch(c.expected);
      const events = await world.events(runId);
      const failed = events.find((e): e is Extract<StoredRunEvent, { type: "run.failed" }> => e.type === "run.failed");
      expect(failed?.error ?? "", c.what).toMatch(c.expected);
      expect(
        events.filter((e) => e.type === "step.started"),
        c.what,
      ).toEqual([]);
      // What the team sees: the reason in the thread, the card saying Failed.
      const card = world.slack.messages.find((m) => m.channel === channel && m.threadTs === null)!;
      const post = await until(
        () => world.slack.thread(channel, card.ts).find((m) => /The run failed/.test(m.text)),
        15_000,
        `the failure post for ${c.what}`,
      );
      expect(messageText(post), c.what).toMatch(c.expected);
      await until(
        () => /Failed/.test(messageText(world.slack.message(channel, card.ts)!)),
        15_000,
        `the failed card for ${c.what}`,
      );
    }

    // The service is healthy: a good data set, right after, gives a finished run.
    world.files.route("/good.zip", { kind: "file", body: buildZip(task) });
    const good = await startInSlack("CDATAGOOD", world.files.url("/good.zip"));
    const done = await world.waitForEnd(good, 120_000);
    expect(done.status).toBe("finished");
    expect((await world.store.loadJournal(good)).length).toBe(2);
  }, 240_000);

  it("links a chat user may not give (local paths, file: and other schemes) are refused before anything is queued", async () => {
    const actor = { platform: "slack" as const, userId: SLACK_USERS.starter.id, displayName: "Ada" };
    const origin = { platform: "slack" as const, channel: "CDATALOCAL", thread: null };
    const options = { steps: 2, parallel: 1, coder: "offline" as const, metric: null, timeoutSec: 60, budgetUsd: null };
    for (const link of [
      "/etc/passwd",
      "/root",
      "file:///etc/passwd",
      "ftp://x.test/d.csv",
      "gopher://x.test/",
      "../input",
    ]) {
      await expect(
        world.runs.start({ task: TASK, links: [link], options, actor, origin }),
        link,
      ).rejects.toBeInstanceOf(UsageError);
    }
    expect(await world.store.listRuns({ platform: "slack", channel: "CDATALOCAL" })).toEqual([]);
  });
});
