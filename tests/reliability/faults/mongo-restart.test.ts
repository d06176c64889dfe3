/**
 * Fault: MongoDB (runs, journals, steering, thread bindings) drops every connection in the middle of a step: its
 * server process is killed (SIGKILL) and started again on the same port with its data, as a crashed and restarted
 * mongod keeps its data files. Workers and the bot reconnect by themselves; the run must lose and duplicate
 * nothing and finish, and a teammate's steering sent once MongoDB is back must be applied.
 *
 * Fast suite: down 3 s (shorter than the driver's 10 s server-selection and buffering timeouts, so operations
 * wait). Long suite: down 30 s, so operations in flight fail and the runner has to recover from the errors.
 */
import { describe, expect, it } from "vitest";
import { useDeployment } from "../support/deployment.ts";
import { describeLong } from "../support/flags.ts";
import { expectRunSurvived } from "../support/invariants.ts";
import { waitMidStep } from "../support/run-watch.ts";

function mongoRestartCase(channel: string, downMs: number, steps: number) {
  const d = useDeployment({ workers: 2, workerConcurrency: 2 });

  it(`loses nothing when MongoDB drops its connections mid-step for ${downMs / 1000} s`, async () => {
    const started = await d.startRun(channel, { steps, parallel: 2 });
    const runId = started.run.id;
    await waitMidStep(d.redisClient, runId, 2, 120_000);
    await d.mongo.restart(downMs, "crash");
    const guidance = ["add target encoding of the categorical columns"];
    await d.reply(started, guidance[0]!);
    const end = await d.waitForEnd(runId, 400_000);
    expect(end.status, end.error ?? "").toBe("finished");
    await expectRunSurvived(d, started, `MongoDB killed and restarted, ${downMs / 1000} s down`, { guidance });
  }, 600_000);
}

describe("fault: MongoDB connection dropped and restored", () => {
  mongoRestartCase("CMONGO", 3_000, 6);
});

describeLong("fault: MongoDB down longer than the driver waits", () => {
  mongoRestartCase("CMONGOLONG", 30_000, 10);
});
