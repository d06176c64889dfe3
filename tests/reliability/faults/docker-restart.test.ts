/**
 * Fault: the Docker daemon that runs the scripts' containers restarts while a script runs in one. The daemon is a
 * private one started by the test (its own socket and data; the machine's shared daemon is never touched), with the
 * sandbox image loaded into it; the worker uses it through DOCKER_HOST and the docker executor. The script in flight
 * dies with the daemon; the run must not fail for it, must lose and duplicate no node, and must finish.
 *
 * Fast suite: down 2 s. Long suite: down 20 s.
 */
import { beforeAll, afterAll, describe, expect, it } from "vitest";
import { DOCKER_SETUP_TIMEOUT_MS, ensureDockerSandbox } from "../../support/docker.ts";
import { useDeployment } from "../support/deployment.ts";
import { describeLong } from "../support/flags.ts";
import { expectRunSurvived } from "../support/invariants.ts";
import { PRIVATE_DOCKER_HOST, startPrivateDocker, type PrivateDocker } from "../support/private-docker.ts";
import { sleep, waitMidStep } from "../support/run-watch.ts";

function dockerRestartCase(channel: string, downMs: number, steps: number) {
  let docker: PrivateDocker;
  beforeAll(async () => {
    await ensureDockerSandbox(); // the shared daemon and its sandbox image, which the private daemon copies
    docker = await startPrivateDocker();
  }, DOCKER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await docker?.stop();
  }, 120_000);
  const d = useDeployment({
    workers: 1,
    workerConcurrency: 2,
    executor: "docker",
    workerEnv: { DOCKER_HOST: PRIVATE_DOCKER_HOST },
  });

  it(`loses nothing when the Docker daemon restarts mid-step, down ${downMs / 1000} s`, async () => {
    const started = await d.startRun(channel, { steps, parallel: 1 });
    const runId = started.run.id;
    await waitMidStep(d.redisClient, runId, 1, 180_000);
    await sleep(500);
    const before = docker.pid;
    await docker.restart(downMs);
    expect(docker.pid).not.toBe(before);
    const end = await d.waitForEnd(runId, 400_000);
    expect(end.status, end.error ?? "").toBe("finished");
    const buggy = (await d.store.loadJournal(runId)).filter((n) => n.buggy).length;
    await expectRunSurvived(d, started, `Docker daemon restarted mid-step, ${downMs / 1000} s down`, {
      extra: { "buggy nodes": buggy },
    });
  }, 900_000);
}

describe("fault: the Docker daemon restarted mid-run", () => {
  dockerRestartCase("CDOCKER", 2_000, 5);
});

describeLong("fault: the Docker daemon down for a while", () => {
  dockerRestartCase("CDOCKERLONG", 20_000, 8);
});
