/**
 * Fault: the worker driving a run is killed with SIGKILL in the middle of a step, again and again. Each time a
 * fresh `aide runner` takes its place; the run must move to a live worker, lose and duplicate no node, apply every
 * steering message sent in between, post every chat message once, and finish.
 */
import { describe, expect, it } from "vitest";
import { useDeployment } from "../support/deployment.ts";
import { describeLong } from "../support/flags.ts";
import { expectRunSurvived } from "../support/invariants.ts";
import { sleep, waitMidStep } from "../support/run-watch.ts";

function workerKillCase(channel: string, kills: number, steps: number) {
  const d = useDeployment({ workers: 2, workerConcurrency: 2 });

  it(`loses nothing when the driving worker is killed ${kills} times`, async () => {
    const started = await d.startRun(channel, { steps, parallel: 2 });
    const runId = started.run.id;
    const guidance: string[] = [];
    const killed: Array<{ node: number; pid: number }> = [];
    for (let k = 0; k < kills; k++) {
      const node = await waitMidStep(d.redisClient, runId, 1 + 2 * k, 120_000);
      const victim = await d.workerDriving(runId);
      expect(victim, `a worker holds run ${runId}`).not.toBeNull();
      await sleep(300);
      await victim!.stop("SIGKILL");
      killed.push({ node, pid: victim!.pid });
      // A teammate steers while the run has no live worker; the message must wait for the next one.
      const text = `try a random forest, attempt ${k + 1}`;
      await d.reply(started, text);
      guidance.push(text);
      await d.startWorker();
    }
    const end = await d.waitForEnd(runId, 300_000);
    expect(end.status, end.error ?? "").toBe("finished");
    const facts = await expectRunSurvived(d, started, "worker SIGKILL mid-step", {
      guidance,
      extra: { kills: killed.length },
    });
    expect(facts.events.filter((e) => e.type === "run.started").length).toBeGreaterThanOrEqual(kills + 1);
  }, 900_000);
}

describe("fault: workers killed with SIGKILL mid-step", () => {
  workerKillCase("CKILL", 2, 6);
});

describeLong("fault: workers killed with SIGKILL mid-step, again and again", () => {
  workerKillCase("CKILLLONG", 5, 12);
});
