/**
 * Fault: Redis (queue, run leases, event streams, steering signals) goes down in the middle of a step and comes
 * back on the same port. It runs as docker-compose.yml runs it, with its append-only file, so what it acknowledged
 * before going down is still there. A teammate steers while it is down. The workers and the bot reconnect by
 * themselves; the run must lose and duplicate nothing and finish.
 *
 * Fast suite: a graceful restart (SIGTERM, 1 s down). Long suite: also a crash (SIGKILL) with Redis down for longer
 * than a run lock, so every worker loses its claim on the run and the run is taken up again from MongoDB's journal.
 */
import { describe, expect, it } from "vitest";
import { useDeployment } from "../support/deployment.ts";
import { describeLong } from "../support/flags.ts";
import { expectRunSurvived } from "../support/invariants.ts";
import { waitMidStep } from "../support/run-watch.ts";

function redisRestartCase(channel: string, how: "graceful" | "crash", downMs: number, steps: number) {
  const d = useDeployment({ workers: 2, workerConcurrency: 2 });

  it(`loses nothing when Redis is ${how === "crash" ? "killed (SIGKILL)" : "restarted"} mid-step and down for ${downMs / 1000} s`, async () => {
    const started = await d.startRun(channel, { steps, parallel: 2 });
    const runId = started.run.id;
    await waitMidStep(d.redisClient, runId, 2, 120_000);
    await d.redis.takeDown(how);
    const guidance = ["use gradient boosting with more trees"];
    // The reply is saved in MongoDB at once; its wake-up signal waits in the bot's Redis client until Redis is back.
    const replied = d.reply(started, guidance[0]!);
    await new Promise((r) => setTimeout(r, downMs));
    await d.redis.bringUp();
    await replied;
    const end = await d.waitForEnd(runId, 300_000);
    expect(end.status, end.error ?? "").toBe("finished");
    await expectRunSurvived(
      d,
      started,
      `Redis ${how === "crash" ? "SIGKILL" : "restart"} (AOF), ${downMs / 1000} s down`,
      { guidance },
    );
  }, 600_000);
}

describe("fault: Redis restarted mid-run", () => {
  redisRestartCase("CREDIS", "graceful", 1_000, 6);
});

describeLong("fault: Redis killed and down longer than a run lock", () => {
  redisRestartCase("CREDISLONG", "crash", 20_000, 10);
});
