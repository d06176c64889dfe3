/**
 * Fault: the chat platform's API has a bad spell while a run goes on: every Web API call and file upload is
 * answered HTTP 500 or HTTP 429 (Retry-After) in turns. A teammate steers meanwhile. Once the API answers again,
 * every new best, the steering confirmation, the final summary and its files must be in the thread exactly once,
 * the card must show the end, and the run must finish (it never waits for chat).
 *
 * Fast suite: 5 s of failures. Long suite: 60 s (AIDE_CHAT_OUTAGE_SEC), longer than the Web API client's own
 * retries last.
 */
import { describe, expect, it } from "vitest";
import { useDeployment } from "../support/deployment.ts";
import { describeLong } from "../support/flags.ts";
import { expectRunSurvived } from "../support/invariants.ts";
import { waitMidStep } from "../support/run-watch.ts";

const LONG_OUTAGE_SEC = Number(process.env.AIDE_CHAT_OUTAGE_SEC ?? "60");

function chatOutageCase(channel: string, outageMs: number, steps: number) {
  const d = useDeployment({ workers: 1, workerConcurrency: 2 });

  it(`posts every message once after ${outageMs / 1000} s of HTTP 500 and 429 answers`, async () => {
    const started = await d.startRun(channel, { steps, parallel: 2 });
    const runId = started.run.id;
    await waitMidStep(d.redisClient, runId, 1, 120_000);
    const callsBefore = d.slack.calls.length;
    const outage = d.slack.fail({
      methods: ["*"],
      times: Infinity,
      durationMs: outageMs,
      kind: "outage",
      retryAfterSec: 1,
    });
    const guidance = ["try a random forest with balanced class weights"];
    await d.reply(started, guidance[0]!);
    await new Promise((r) => setTimeout(r, outageMs));
    const end = await d.waitForEnd(runId, 300_000);
    expect(end.status, end.error ?? "").toBe("finished");
    const during = d.slack.calls.slice(callsBefore);
    const failed500 = during.filter((c) => c.status === 500).length;
    const failed429 = during.filter((c) => c.status === 429).length;
    expect(outage.used).toBeGreaterThan(0);
    expect(failed500).toBeGreaterThan(0);
    expect(failed429).toBeGreaterThan(0);
    await expectRunSurvived(d, started, `chat API answering 500/429 for ${outageMs / 1000} s`, {
      guidance,
      chatTimeoutMs: 300_000,
      extra: { "calls answered 500": failed500, "calls answered 429": failed429 },
    });
  }, 900_000);
}

describe("fault: the chat API fails with 500s and 429s", () => {
  chatOutageCase("COUTAGE", 5_000, 6);
});

describeLong("fault: the chat API fails for a minute", () => {
  chatOutageCase("COUTAGELONG", LONG_OUTAGE_SEC * 1000, 10);
});
